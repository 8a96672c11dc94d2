/*
 * chat.c -- the shared path of every chat API (adapter.h): POST
 * /v1/chat/completions, /v1/responses, /v1/messages, /api/chat.  Described
 * here for Chat Completions, the gateway's reason to exist; the other APIs
 * differ only in the adapter's steps (their body is mapped onto internal
 * messages and back, their reply assembled from their own JSON or stream).
 *
 * 1. Parse the body with the strict libchatseal parser (duplicate keys, lone
 *    surrogates, bad UTF-8 ... are refused with their own 400 code).
 * 2. Take the token from the Chatseal-Token header or the chatseal_token body
 *    field, the binding from the configured headers, and verify: exactly the
 *    messages the token covers, then only new messages of --tail-roles; no
 *    token only for a conversation of --fresh-roles.  Refusal: 403 (400 for
 *    an unreadable token) with the stable code and the report.  With a
 *    conversation id and a store, against the stored newest token
 *    (chat_entry.c: this step and the request's entry).
 * 3. Apply the request policy (policy/policy.c) to what the token does not
 *    cover: members and text of the new messages, top-level members; with
 *    --system-prompt the pinned prompt was put first before verifying.
 *    Forward chatseal_conv_canonical(conv): the canonical re-encoding of the
 *    values just verified, so the model cannot read anything the verifier
 *    did not (no parser differential), less the token field and what the
 *    policy drops.
 * 4. Sign the reply over the *already parsed* conversation plus the
 *    assistant message, with chatseal_conv_append + chatseal_sign: nothing
 *    the client sent is re-read, so nothing unverified is ever signed.
 *      - JSON reply: the body is canonicalized strictly (so the message we
 *        cut out is exactly what any JSON parser reads from what we send),
 *        choices[0].message is signed byte for byte, and the body goes back
 *        with "chatseal":{"token","count","kid"} and a Chatseal-Token header.
 *      - SSE (or NDJSON) reply: events pass through one by one as they
 *        arrive and the adapter assembles them (chat_api.c: assemble.c);
 *        `data: [DONE]` is held back until one last chat.completion.chunk
 *        with empty choices and "chatseal":{"token","count","kid","message"}
 *        has been sent.  A cut, an error event or a malformed event ends the
 *        stream with an error event (`data: {"error":...}`) and no token.
 *      - any non-2xx reply is passed through unchanged, without a token.
 *
 * The context lives until both sides are done: the client answer (or the
 * client left) and the upstream request (finished or cancelled).  A busy
 * counter keeps it alive while one of its own callbacks runs.
 */
#include "api/chat.h"
#include "api/chat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "core/errors.h"
#include "api/jspan.h"
#include "ops/log.h"
#include "policy/store.h"
#include "ops/metrics.h"
#include "policy/policy.h"
#include "upstream/sse.h"
#include "upstream/upstream.h"

#define PAUSE_AT (1024 * 1024)     /* client output backlog that pauses reads */
#define PASS_MAX (4 * 1024 * 1024) /* error bodies passed through */

/* ------------------------------------------------------------ helpers -- */

static int binding_header(cs_req *r, const char *name, char **out,
                          const char **why)
{
    *out = NULL;
    if (!name)
        return 0;
    size_t n = cs_headers_count(r->headers, name);
    if (n == 0)
        return 0;
    const char *v = cs_headers_get(r->headers, name);
    if (n > 1) {
        *why = "a binding header is repeated";
        return -1;
    }
    if (!*v)
        return 0;
    if (strlen(v) > CHATSEAL_BINDING_MAX) {
        *why = "a binding header is longer than 1024 bytes";
        return -1;
    }
    *out = strdup(v);
    return *out ? 0 : -1;
}

chatseal_error cs_request_options(cs_req *r, chatseal_options *opt, char **cid,
                                  char **prn, const char **why)
{
    const cs_config *cfg = &r->gw->cfg;
    *opt = (chatseal_options)CHATSEAL_OPTIONS_INIT;
    *cid = *prn = NULL;
    if (binding_header(r, cfg->conversation_header, cid, why) != 0)
        return CHATSEAL_E_INVALID_REQUEST;
    if (binding_header(r, cfg->principal_header, prn, why) != 0) {
        free(*cid);
        *cid = NULL;
        return CHATSEAL_E_INVALID_REQUEST;
    }
    opt->conversation_id = *cid;
    opt->principal = *prn;
    opt->purpose = cfg->purpose;
    opt->ttl = cfg->ttl;
    opt->leeway = cfg->leeway;
    opt->flags = r->gw->token_flags;
    opt->tail_roles = cfg->tail_roles;
    opt->fresh_roles = cfg->fresh_roles;
    return CHATSEAL_OK;
}

void cs_reply_verify_error(cs_req *r, chatseal_error err,
                           const chatseal_report *rep)
{
    const char *detail = rep ? chatseal_report_detail(rep) : NULL;
    char *rj = NULL, *extra = NULL;
    if (rep && chatseal_report_json(rep, &rj) == CHATSEAL_OK && rj) {
        size_t n = strlen(rj) + 16;
        extra = malloc(n);
        if (extra)
            snprintf(extra, n, "{\"report\":%s}", rj);
    }
    cs_req_error_ex(r, 0, err, detail && *detail ? detail : NULL, extra);
    free(extra);
    chatseal_free(rj);
}

void cs_chat_free(chat *c)
{
    chatseal_conv_free(c->conv);
    free(c->cid);
    free(c->prn);
    free(c->purpose);
    free(c->token_in);
    chatseal_free(c->body_token);
    chatseal_free(c->p_canon);
    free(c->p_member);
    chatseal_free(c->p_token);
    free(c->ctype);
    if (c->buf)
        evbuffer_free(c->buf);
    cs_sse_free(&c->sse);
    cs_ndjson_free(&c->nd);
    if (c->st)
        c->ad->stream_free(c->st);
    free(c);
}

void cs_chat_maybe_free(chat *c)
{
    if (!c->busy && !c->r && !c->up && !c->store_wait)
        cs_chat_free(c);
}

static void stop_upstream(chat *c)
{
    if (c->up) {
        cs_upstream_cancel(c->up);
        c->up = NULL;
    }
}

void cs_chat_stream_closed(chat *c)
{
    if (c->stream_open) {
        c->stream_open = 0;
        cs_metrics_streams(c->gw->metrics, -1);
    }
}

/* Takes the request from c for its one answer: after this no hook of c runs
 * for it, and c no longer holds it (the answer may free it at once). */
cs_req *cs_chat_release(chat *c)
{
    cs_req *r = c->r;
    c->r = NULL;
    r->on_abort = NULL;
    r->on_drain = NULL;
    return r;
}

/* Answers with an error (before anything was sent) and lets go of r. */
void cs_chat_answer_error(chat *c, chatseal_error e, const char *detail)
{
    if (!c->r)
        return;
    cs_req *r = cs_chat_release(c);
    cs_req_error(r, e, detail);
}

/* Ends a started stream with an error event; no token. */
void cs_chat_stream_error(chat *c, chatseal_error e, const char *detail,
                          int send_event)
{
    stop_upstream(c);
    c->mode = M_DRAIN;
    if (!c->r)
        return;
    cs_req *r = cs_chat_release(c);
    r->code = e;
    size_t n = 0;
    char *ev =
        send_event && c->st ? c->ad->stream_error(c->st, e, detail, &n) : NULL;
    if (ev)
        cs_req_stream_write(r, ev, n);
    free(ev);
    cs_chat_stream_closed(c);
    cs_req_stream_end(r, 1);
}

/* One event (SSE) or line (NDJSON) of the reply: the adapter says what it
 * is.  Non-zero stops the reader. */
static int on_event(void *arg, const char *raw, size_t rawlen,
                    const char *event, const char *data, size_t datalen)
{
    chat *c = arg;
    if ((c->mode != M_SSE && c->mode != M_NDJSON) || !c->r)
        return 1;
    char why[200];
    why[0] = '\0';
    switch (c->ad->stream_event(c->st, event, data, datalen, why, sizeof why)) {
    case CS_EV_PASS:
        cs_req_stream_write(c->r, raw, rawlen);
        break;
    case CS_EV_HOLD:
    case CS_EV_SKIP:
        break;
    case CS_EV_FINISH:
        cs_chat_finish_stream(c);
        return 1;
    case CS_EV_FAIL:
        cs_chat_stream_error(
            c, CHATSEAL_E_UPSTREAM_ERROR,
            why[0] ? why : "the upstream sent a malformed event", 1);
        return 1;
    case CS_EV_UPSTREAM:
        /* the client sees the upstream's own error event */
        cs_req_stream_write(c->r, raw, rawlen);
        cs_chat_stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                             "the upstream reported an error", 0);
        return 1;
    }
    if (!c->paused && cs_req_pending(c->r) > PAUSE_AT && c->up) {
        c->paused = 1;
        cs_upstream_pause(c->up, 1);
    }
    return 0;
}

static int on_sse(void *arg, const char *raw, size_t rawlen, const char *event,
                  const char *data, size_t datalen, int has_data)
{
    (void)has_data;
    return on_event(arg, raw, rawlen, event, data, datalen);
}

static int on_line(void *arg, const char *raw, size_t rawlen, const char *line,
                   size_t len)
{
    return on_event(arg, raw, rawlen, NULL, line, len);
}

/* ------------------------------------------------ upstream callbacks -- */

static int skip_upstream_header(const cs_headers *h, const char *name)
{
    static const char *const skip[] = {
        "Content-Length", "Content-Type", "Chatseal-Token",  "Date",
        "Server",         "X-Request-Id", "Content-Encoding"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcasecmp(name, skip[i]))
            return 1;
    return cs_http_is_hop_by_hop(h, name);
}

/* A 2xx streamed reply: the adapter's stream state and the reader. */
static void begin_stream(chat *c, cs_req *r, int ndjson)
{
    cs_adapter_ctx ctx = {c->gw->policy, (size_t)c->gw->cfg.max_response};
    size_t max = (size_t)c->gw->cfg.max_response;
    c->mode = ndjson ? M_NDJSON : M_SSE;
    c->st = c->ad->stream_new ? c->ad->stream_new(&ctx) : NULL;
    if (!c->st || (ndjson ? cs_ndjson_init(&c->nd, max)
                          : cs_sse_init(&c->sse, max)) != 0) {
        stop_upstream(c);
        cs_chat_answer_error(c, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    cs_headers_set(&r->resp_headers, "Cache-Control", "no-cache");
    cs_headers_set(&r->resp_headers, "X-Accel-Buffering", "no");
    cs_req_stream_begin(r, c->status, c->ctype);
    c->stream_open = 1;
    cs_metrics_streams(c->gw->metrics, 1);
}

static void on_head(void *arg, int status, const cs_headers *h)
{
    chat *c = arg;
    if (!c->r)
        return;
    c->busy++;
    cs_req *r = c->r;
    double ms = (double)(cs_now_ns() - c->t_sent) / 1e6;
    r->upstream_ms = ms;
    cs_metrics_upstream(c->gw->metrics, ms / 1000.0);
    c->status = status;
    const char *ct = cs_headers_get(h, "Content-Type");
    c->ctype = strdup(ct ? ct : "application/json");
    const char *ce = cs_headers_get(h, "Content-Encoding");
    int pass = c->plain || status < 200 || status >= 300;
    for (size_t i = 0; i < h->n; i++)
        if (!skip_upstream_header(h, h->v[i].name))
            cs_req_header(r, h->v[i].name, h->v[i].value);
    if (pass) {
        c->mode = M_PASS;
        if (ce)
            cs_req_header(r, "Content-Encoding", ce);
    } else if (ce && strcasecmp(ce, "identity") != 0) {
        stop_upstream(c);
        cs_chat_answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                             "the upstream sent a compressed reply");
    } else if (ct && !strncasecmp(ct, "text/event-stream", 17)) {
        begin_stream(c, r, 0);
    } else if (ct && c->ad->ndjson &&
               !strncasecmp(ct, "application/x-ndjson", 20)) {
        begin_stream(c, r, 1);
    } else {
        c->mode = M_JSON;
    }
    c->busy--;
    cs_chat_maybe_free(c);
}

static void on_body(void *arg, const char *data, size_t len)
{
    chat *c = arg;
    c->busy++;
    if (c->mode == M_JSON || c->mode == M_PASS) {
        size_t max =
            c->mode == M_PASS ? PASS_MAX : (size_t)c->gw->cfg.max_response;
        if (evbuffer_get_length(c->buf) + len > max) {
            stop_upstream(c);
            cs_chat_answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                                 "the upstream reply is over the size limit");
        } else {
            evbuffer_add(c->buf, data, len);
        }
    } else if (c->mode == M_SSE) {
        if (cs_sse_feed(&c->sse, data, len, on_sse, c) != 0 && c->mode == M_SSE)
            cs_chat_stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                                 "an upstream event is over the size limit", 1);
    } else if (c->mode == M_NDJSON) {
        if (cs_ndjson_feed(&c->nd, data, len, on_line, c) != 0 &&
            c->mode == M_NDJSON)
            cs_chat_stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                                 "an upstream line is over the size limit", 1);
    }
    c->busy--;
    cs_chat_maybe_free(c);
}

static void on_done(void *arg, chatseal_error err, const char *detail)
{
    chat *c = arg;
    c->up = NULL; /* the upstream request is gone after this callback */
    c->busy++;
    switch (c->mode) {
    case M_HEAD:
    case M_JSON:
    case M_PASS:
        if (err != CHATSEAL_OK) {
            cs_chat_answer_error(c, err, detail);
        } else if (c->mode == M_HEAD) {
            cs_chat_answer_error(c, CHATSEAL_E_UPSTREAM_ERROR, "no reply head");
        } else if (c->mode == M_JSON) {
            cs_chat_finish_json(c);
        } else if (c->r) {
            cs_req *r = cs_chat_release(c);
            if (c->status >= 400)
                r->code = CHATSEAL_E_UPSTREAM_ERROR;
            cs_req_reply_buffer(r, c->status, c->ctype, c->buf);
        }
        break;
    case M_SSE:
    case M_NDJSON:
        if (err != CHATSEAL_OK)
            cs_chat_stream_error(c, err, detail, 1);
        else if ((c->mode == M_SSE ? cs_sse_pending(&c->sse)
                                   : cs_ndjson_pending(&c->nd)) ||
                 !c->ad->stream_complete || !c->ad->stream_complete(c->st))
            cs_chat_stream_error(
                c, CHATSEAL_E_UPSTREAM_ERROR,
                "the upstream stream ended before the reply was "
                "complete",
                1);
        else
            cs_chat_finish_stream(
                c); /* finished without [DONE]: complete too */
        break;
    case M_DRAIN:
        break;
    }
    c->busy--;
    cs_chat_maybe_free(c);
}
static const cs_upstream_cbs chat_cbs = {on_head, on_body, on_done};

static void on_abort(cs_req *r)
{
    chat *c = r->hctx;
    c->r = NULL;
    cs_chat_stream_closed(c);
    stop_upstream(c);
    cs_chat_maybe_free(c);
}

static void on_drain(cs_req *r)
{
    chat *c = r->hctx;
    if (c->paused && c->up) {
        c->paused = 0;
        cs_upstream_pause(c->up, 0);
    }
}

/* Client headers that go on to the upstream: end-to-end ones, minus ours. */
static void forward_headers(const cs_req *r, cs_headers *out, int json)
{
    for (size_t i = 0; i < r->headers->n; i++) {
        const char *n = r->headers->v[i].name;
        if (!strcasecmp(n, "Chatseal-Token") ||
            (json && !strcasecmp(n, "Content-Type")) ||
            cs_http_is_hop_by_hop(r->headers, n))
            continue;
        cs_headers_add(out, n, strlen(n), r->headers->v[i].value,
                       strlen(r->headers->v[i].value));
    }
    if (json)
        cs_headers_add(out, "Content-Type", 12, "application/json", 16);
}

/* Takes `body` over (see cs_upstream_request). */
void cs_chat_start_upstream(cs_req *r, chat *c, const char *method, char *body,
                            size_t len)
{
    cs_headers h;
    cs_headers_init(&h);
    forward_headers(r, &h, body != NULL);
    c->r = r;
    c->buf = evbuffer_new();
    r->hctx = c;
    r->on_abort = on_abort;
    r->on_drain = on_drain;
    c->t_sent = cs_now_ns();
    if (c->buf)
        c->up = cs_upstream_request(c->gw->upstream, method, r->target, &h,
                                    body, len, &chat_cbs, c);
    else
        free(body);
    cs_headers_clear(&h);
    if (!c->up) {
        r->on_abort = NULL;
        r->on_drain = NULL;
        c->r = NULL;
        cs_chat_free(c);
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
    }
}

void cs_models_handle(cs_req *r)
{
    r->endpoint = "models";
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        cs_req_header(r, "Allow", "GET, HEAD");
        cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    chat *c = calloc(1, sizeof *c);
    if (!c) {
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    c->gw = r->gw;
    c->ad = &cs_api_chat;
    c->mode = M_HEAD;
    c->plain = 1; /* passed through as is, nothing to sign */
    cs_chat_start_upstream(r, c, "GET", NULL, 0);
}
