/*
 * router.c -- maps a request path to its handler, and answers the two
 * operational endpoints itself.
 *
 *   /v1/chat/completions   chat.c      verify, forward, sign (chat_api.c)
 *   /v1/responses          chat.c      the same for each adapter.h API:
 *   /v1/messages                       responses.c, messages.c, ollama.c
 *   /api/chat
 *   /v1/models[/...]       chat.c      passed through (or the mock's list)
 *   /v1/chatseal/conversation  conversation.c  a lost reply, given back
 *   /v1/chatseal/...       sidecar.c   sign/verify for app servers
 *   /healthz               here        200 {"status":"ok",...}; while
 *                                      draining the server answers 503, so a
 *                                      load balancer stops sending traffic
 *   /metrics               here        Prometheus text (metrics.c)
 *   / and /NAME.EXT        static.c    the chat page, with --ui only
 *
 * Anything else is 404 not_found, as JSON: the gateway proxies only the
 * endpoints whose integrity it can vouch for (an unsigned completions or
 * responses API would be a bypass).  Paths are compared exactly; no
 * percent-decoding, so "/v1/chat%2Fcompletions" is simply not found.
 */
#include "api/router.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api/chat.h"
#include "api/conversation.h"
#include "core/cors.h"
#include "ops/metrics.h"
#include "api/sidecar.h"
#include "core/static.h"

static int get_or_head(cs_req *r)
{
    if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
        return 1;
    cs_req_header(r, "Allow", "GET, HEAD");
    cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, NULL);
    return 0;
}

static void healthz(cs_req *r)
{
    r->endpoint = "healthz";
    if (!get_or_head(r))
        return;
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I}", "status", "ok", "version", CHATSEAL_VERSION_STRING,
        "kid", chatseal_keyring_signing_kid(r->gw->ring), "open_streams",
        (json_int_t)(r->gw->metrics ? cs_metrics_open_streams(r->gw->metrics)
                                    : 0));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s) {
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    cs_req_header(r, "Cache-Control", "no-store");
    cs_req_reply(r, 200, "application/json", s, strlen(s));
    free(s);
}

static void metrics(cs_req *r)
{
    r->endpoint = "metrics";
    if (!get_or_head(r))
        return;
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    cs_metrics_render(r->gw->metrics, b);
    cs_req_header(r, "Cache-Control", "no-store");
    cs_req_reply_buffer(r, 200, "text/plain; version=0.0.4; charset=utf-8", b);
    evbuffer_free(b);
}

/*
 * GET /v1/models/{id} is forwarded by path, so the id must not be able to
 * name another path: behind a proxy that normalizes, "../.." or "%2e%2e"
 * reached /internal/... on the model server.  Real ids are short runs of
 * [A-Za-z0-9._:@+-] in at most five segments ("gpt-4o",
 * "meta-llama/Llama-3.1-8B-Instruct", "llama3.1:8b",
 * "accounts/fireworks/models/x"); no percent-encoding, no empty, "." or ".."
 * segment, and no query.  0 if the id is acceptable.
 */
static int bad_model_id(const cs_req *r, const char *id)
{
    size_t seg = 0, segs = 1, len = strlen(id);
    if (r->query || len == 0 || len > 256)
        return 1;
    for (size_t i = 0; i <= len; i++) {
        char c = id[i];
        if (c == '/' || c == '\0') {
            const char *s = id + i - seg;
            if (seg == 0 || (seg == 1 && s[0] == '.') ||
                (seg == 2 && s[0] == '.' && s[1] == '.') || ++segs > 6)
                return 1;
            seg = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._:@+-", c)))
            return 1;
        seg++;
    }
    return 0;
}

void cs_route(cs_req *r, void *arg)
{
    (void)arg;
    const char *p = r->path;
    if (!strcmp(r->method, "OPTIONS") &&
        cs_cors_preflight(&r->gw->cfg, r->headers, &r->resp_headers)) {
        r->endpoint = "cors";
        cs_req_reply(r, 204, NULL, "", 0);
        return;
    }
    const cs_adapter *ad = cs_adapter_find(p);
    if (ad && (ad->id == 0 || ad->read_request)) {
        cs_api_handle(r, ad);
    } else if (!strncmp(p, "/v1/models/", 11) && bad_model_id(r, p + 11)) {
        r->endpoint = "models";
        cs_req_error(r, CHATSEAL_E_INVALID_REQUEST,
                     "not a model id: letters, digits and ._:@+- in at most "
                     "five /-separated segments, no . or .. segment, no "
                     "percent-encoding, no query");
    } else if (!strcmp(p, "/v1/models") || !strncmp(p, "/v1/models/", 11)) {
        cs_models_handle(r);
    } else if (!strcmp(p, CS_CONVERSATION_PATH)) {
        cs_conversation_handle(r);
    } else if (!strncmp(p, CS_SIDECAR_PREFIX, strlen(CS_SIDECAR_PREFIX))) {
        cs_sidecar_handle(r);
    } else if (!strcmp(p, "/healthz")) {
        healthz(r);
    } else if (!strcmp(p, "/metrics")) {
        metrics(r);
    } else if (r->gw->cfg.ui && strchr(p + 1, '/') == NULL) {
        cs_static_handle(r);
    } else {
        r->endpoint = "other";
        cs_req_error(r, CHATSEAL_E_NOT_FOUND,
                     !strcmp(p, "/") ? "no page here: start chatseal serve "
                                       "with --ui DIR for the chat page"
                                     : "no such endpoint");
    }
}
