/*
 * chat.c -- POST /v1/chat/completions, the gateway's reason to exist.
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
 *      - SSE reply: events pass through one by one as they arrive; deltas are
 *        assembled (assemble.c); `data: [DONE]` is held back until one last
 *        chat.completion.chunk with empty choices and
 *        "chatseal":{"token","count","kid","message"} has been sent.  A cut,
 *        an error event or a malformed event ends the stream with an
 *        `data: {"error":...}` event and no token.
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

#include "api/assemble.h"
#include "core/errors.h"
#include "api/jspan.h"
#include "ops/log.h"
#include "policy/store.h"
#include "ops/metrics.h"
#include "policy/policy.h"
#include "upstream/sse.h"
#include "upstream/upstream.h"

#define HEADER_TOKEN_MAX 8192      /* longer tokens: body field only */
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
    chatseal_free(c->p_token);
    free(c->ctype);
    if (c->buf)
        evbuffer_free(c->buf);
    cs_sse_free(&c->sse);
    cs_assembly_free(c->as);
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

static void stream_closed(chat *c)
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
static void answer_error(chat *c, chatseal_error e, const char *detail)
{
    if (!c->r)
        return;
    cs_req *r = cs_chat_release(c);
    cs_req_error(r, e, detail);
}

/* Ends a started stream with an error event; no token. */
static void stream_error(chat *c, chatseal_error e, const char *detail,
                         int send_event)
{
    stop_upstream(c);
    c->mode = M_DRAIN;
    if (!c->r)
        return;
    cs_req *r = cs_chat_release(c);
    r->code = e;
    if (send_event) {
        char *ej = cs_error_json(e, detail, NULL);
        if (ej) {
            cs_req_stream_write(r, "data: ", 6);
            cs_req_stream_write(r, ej, strlen(ej));
            cs_req_stream_write(r, "\n\n", 2);
            free(ej);
        }
    }
    stream_closed(c);
    cs_req_stream_end(r, 1);
}

/* Errors of signing a reply that are ours, not the upstream's. */
static int keep_error(chatseal_error e)
{
    return e == CHATSEAL_E_NO_MEMORY || e == CHATSEAL_E_CRYPTO ||
           e == CHATSEAL_E_CONVERSATION_CONFLICT ||
           e == CHATSEAL_E_STORE_UNAVAILABLE;
}

/*
 * Appends the model's message to the verified conversation and signs.
 * When the request came with a token, through chatseal_extend: it verifies
 * that token once more (cheap: conv keeps the digests, and the clock is
 * pinned to the request's, so a token cannot expire in between) and reuses
 * its locators instead of one HMAC per message of the history: -10% CPU per
 * 200-message request, no measurable change on a 4-message one
 * (bench/gateway.py, alternated builds).  extend also takes an array of
 * messages; the model's reply is one object, and anything else goes the
 * other way, where chatseal_conv_append refuses it.
 */
static chatseal_error sign_reply(chat *c, const char *msg, size_t len,
                                 char **token)
{
    chatseal_error err;
    if (c->token_in && len && msg[0] == '{') {
        err = chatseal_extend(c->gw->ring, c->conv, c->token_in, msg, len,
                              &c->opt, token, NULL);
    } else {
        err = chatseal_conv_append(c->conv, msg, len);
        if (err == CHATSEAL_OK)
            err = chatseal_sign(c->gw->ring, c->conv,
                                chatseal_conv_count(c->conv), &c->opt, token);
    }
    if (err == CHATSEAL_OK) {
        cs_metrics_token(c->gw->metrics);
        if (c->r) {
            c->r->count = (long)chatseal_conv_count(c->conv);
            snprintf(c->r->kid, sizeof c->r->kid, "%s",
                     chatseal_keyring_signing_kid(c->gw->ring));
        }
    }
    return err;
}

static char *json_quote(const char *s)
{
    json_t *v = json_string(s);
    char *out = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    return out;
}

/* ------------------------------------------------------ the commit -- */

static const char *commit_why(chatseal_error e)
{
    return e == CHATSEAL_E_CONVERSATION_CONFLICT
               ? "another request advanced this conversation first: send "
                 "the history again with its newest reply"
               : "the conversation store did not answer: nothing was "
                 "committed, try again";
}

static void send_json(chat *c, const char *canon, size_t clen,
                      const char *token);
static void send_stream_end(chat *c, const char *canon, size_t clen,
                            const char *token);

/* The store's answer to the commit of a signed reply: only now does the
 * token exist for the client (with a store, a token is handed out only once
 * it is the conversation's newest). */
static void on_committed(void *arg, chatseal_error err)
{
    chat *c = arg;
    c->store_wait = 0;
    c->busy++;
    if (c->r && err != CHATSEAL_OK) {
        if (c->as)
            stream_error(c, err, commit_why(err), 1);
        else
            answer_error(c, err, commit_why(err));
    } else if (c->r) {
        if (c->as)
            send_stream_end(c, c->p_canon, c->p_clen, c->p_token);
        else
            send_json(c, c->p_canon, c->p_clen, c->p_token);
    }
    /* else: the client left while the commit was on its way; the record is
     * the conversation's newest all the same: GET /v1/chatseal/conversation
     * gives its message back (docs/GATEWAY.md, lost replies) */
    chatseal_free(c->p_canon);
    chatseal_free(c->p_token);
    c->p_canon = c->p_token = NULL;
    c->busy--;
    cs_chat_maybe_free(c);
}

/* Sends the reply now, or after the store has made token the newest.
 * Takes canon and token over; msg is the signed message inside canon. */
static void deliver(chat *c, char *canon, size_t clen, const char *msg,
                    size_t mlen, char *token)
{
    if (!c->use_store) {
        if (c->as)
            send_stream_end(c, canon, clen, token);
        else
            send_json(c, canon, clen, token);
        chatseal_free(canon);
        chatseal_free(token);
        return;
    }
    c->p_canon = canon;
    c->p_clen = clen;
    c->p_token = token;
    c->store_wait = 1;
    c->mode = M_DRAIN; /* upstream bytes after the end are not ours */
    cs_store_cas(c->gw->store, c->skey, c->token_in, token, msg, mlen,
                 (long)chatseal_conv_count(c->conv), on_committed, c);
}

/* ------------------------------------------------------ JSON replies -- */

static void finish_json(chat *c)
{
    size_t len = evbuffer_get_length(c->buf);
    const char *body = (const char *)evbuffer_pullup(c->buf, -1);
    char *canon = NULL, *token = NULL;
    size_t clen = 0;
    char why[200];
    chatseal_error err =
        chatseal_canonicalize(body ? body : "", len, 0, &canon, &clen);
    if (err != CHATSEAL_OK) {
        snprintf(why, sizeof why, "the upstream reply is not strict JSON (%s)",
                 chatseal_error_name(err));
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR, why);
        return;
    }
    cs_span root = {canon, clen}, choices, ch0, msg;
    if (clen == 0 || canon[0] != '{' ||
        cs_json_member(root, "choices", &choices) != 1 ||
        cs_json_element(choices, 0, &ch0) != 1 ||
        cs_json_member(ch0, "message", &msg) != 1) {
        chatseal_free(canon);
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream reply has no choices[0].message");
        return;
    }
    err = sign_reply(c, msg.p, msg.n, &token);
    if (err != CHATSEAL_OK) {
        chatseal_free(canon);
        snprintf(why, sizeof why,
                 "the upstream's message cannot be signed (%s)",
                 chatseal_error_name(err));
        answer_error(c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why);
        return;
    }
    deliver(c, canon, clen, msg.p, msg.n, token);
}

static void send_json(chat *c, const char *canon, size_t clen,
                      const char *token)
{
    /* the canonical reply, minus any "chatseal" member, plus ours */
    struct evbuffer *out = evbuffer_new();
    size_t pos = 0;
    cs_span k, v;
    int first = 1;
    evbuffer_add(out, "{", 1);
    while (cs_json_next_member(canon, clen, &pos, &k, &v) == 1) {
        if (k.n == 8 && !memcmp(k.p, "chatseal", 8))
            continue;
        if (!first)
            evbuffer_add(out, ",", 1);
        first = 0;
        evbuffer_add(out, k.p - 1, (size_t)(v.p + v.n - (k.p - 1)));
    }
    const char *kid = chatseal_keyring_signing_kid(c->gw->ring);
    evbuffer_add_printf(out,
                        "%s\"chatseal\":{\"count\":%zu,\"kid\":\"%s\","
                        "\"token\":\"%s\"}}",
                        first ? "" : ",", chatseal_conv_count(c->conv), kid,
                        token);
    cs_req *r = cs_chat_release(c);
    if (strlen(token) <= HEADER_TOKEN_MAX)
        cs_req_header(r, "Chatseal-Token", token);
    cs_req_reply_buffer(r, c->status, c->ctype ? c->ctype : "application/json",
                        out);
    evbuffer_free(out);
}

/* ------------------------------------------------------- SSE replies -- */

static void finish_stream(chat *c)
{
    char *msg = cs_assembly_message(c->as);
    char *canon = NULL, *token = NULL;
    size_t clen = 0;
    chatseal_error err =
        msg ? chatseal_canonicalize(msg, strlen(msg), 0, &canon, &clen)
            : CHATSEAL_E_NO_MEMORY;
    if (err == CHATSEAL_OK)
        err = sign_reply(c, canon, clen, &token);
    free(msg);
    if (err != CHATSEAL_OK) {
        char why[160];
        snprintf(why, sizeof why, "the streamed message cannot be signed (%s)",
                 chatseal_error_name(err));
        chatseal_free(canon);
        stream_error(c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why,
                     1);
        return;
    }
    /* the client is given the message as signed (FORMAT.md §2.1: its
     * signed form, with its reasoning), so it stores exactly that */
    size_t fl = 0, n = chatseal_conv_count(c->conv);
    const char *f = n ? chatseal_conv_message(c->conv, n - 1, &fl) : NULL;
    char *form = NULL;
    size_t formlen = 0;
    if (f && chatseal_canonicalize(f, fl, 0, &form, &formlen) == CHATSEAL_OK) {
        chatseal_free(canon);
        canon = form;
        clen = formlen;
    }
    deliver(c, canon, clen, canon, clen, token);
}

static void send_stream_end(chat *c, const char *canon, size_t clen,
                            const char *token)
{
    char *id = json_quote(cs_assembly_id(c->as));
    char *model = json_quote(cs_assembly_model(c->as));
    struct evbuffer *ev = evbuffer_new();
    evbuffer_add_printf(ev,
                        "data: {\"chatseal\":{\"count\":%zu,\"kid\":\"%s\","
                        "\"message\":",
                        chatseal_conv_count(c->conv),
                        chatseal_keyring_signing_kid(c->gw->ring));
    evbuffer_add(ev, canon, clen);
    evbuffer_add_printf(ev,
                        ",\"token\":\"%s\"},\"choices\":[],\"created\":%lld,"
                        "\"id\":%s,\"model\":%s,"
                        "\"object\":\"chat.completion.chunk\"}\n\n"
                        "data: [DONE]\n\n",
                        token, cs_assembly_created(c->as), id ? id : "\"\"",
                        model ? model : "\"\"");
    free(id);
    free(model);
    cs_req *r = cs_chat_release(c);
    size_t n = evbuffer_get_length(ev);
    cs_req_stream_write(r, evbuffer_pullup(ev, -1), n);
    evbuffer_free(ev);
    stream_closed(c);
    cs_req_stream_end(r, 0);
    c->mode = M_DRAIN; /* the upstream may still send its last bytes */
}

static int on_event(void *arg, const char *raw, size_t rawlen,
                    const char *event, const char *data, size_t datalen,
                    int has_data)
{
    chat *c = arg;
    if (c->mode != M_SSE || !c->r)
        return 1;
    if (has_data && datalen == 6 && !memcmp(data, "[DONE]", 6)) {
        finish_stream(c);
        return 1;
    }
    if (!strcmp(event, "error")) {
        cs_req_stream_write(c->r, raw, rawlen);
        stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream reported an error", 0);
        return 1;
    }
    if (has_data) {
        json_t *j = json_loadb(data, datalen,
                               JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                                   JSON_DECODE_INT_AS_REAL,
                               NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream sent an event that is not a JSON "
                         "object",
                         1);
            return 1;
        }
        if (json_object_get(j, "error")) {
            json_decref(j);
            /* the client sees the upstream's own error event */
            cs_req_stream_write(c->r, raw, rawlen);
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream reported an error", 0);
            return 1;
        }
        if (json_object_get(j, "chatseal")) {
            json_decref(j);
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream sent a chatseal member of its own", 1);
            return 1;
        }
        int bad = cs_assembly_add(c->as, j);
        json_decref(j);
        if (bad) {
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream sent an event that is not a valid "
                         "chat.completion.chunk, or the reply is too large",
                         1);
            return 1;
        }
    }
    cs_req_stream_write(c->r, raw, rawlen);
    if (!c->paused && cs_req_pending(c->r) > PAUSE_AT && c->up) {
        c->paused = 1;
        cs_upstream_pause(c->up, 1);
    }
    return 0;
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
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                     "the upstream sent a compressed reply");
    } else if (ct && !strncasecmp(ct, "text/event-stream", 17)) {
        c->mode = M_SSE;
        c->as = cs_assembly_new((size_t)c->gw->cfg.max_response);
        if (!c->as ||
            cs_sse_init(&c->sse, (size_t)c->gw->cfg.max_response) != 0) {
            stop_upstream(c);
            answer_error(c, CHATSEAL_E_NO_MEMORY, NULL);
        } else {
            cs_headers_set(&r->resp_headers, "Cache-Control", "no-cache");
            cs_headers_set(&r->resp_headers, "X-Accel-Buffering", "no");
            cs_req_stream_begin(r, status, c->ctype);
            c->stream_open = 1;
            cs_metrics_streams(c->gw->metrics, 1);
        }
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
            answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream reply is over the size limit");
        } else {
            evbuffer_add(c->buf, data, len);
        }
    } else if (c->mode == M_SSE) {
        if (cs_sse_feed(&c->sse, data, len, on_event, c) != 0 &&
            c->mode == M_SSE)
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "an upstream event is over the size limit", 1);
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
            answer_error(c, err, detail);
        } else if (c->mode == M_HEAD) {
            answer_error(c, CHATSEAL_E_UPSTREAM_ERROR, "no reply head");
        } else if (c->mode == M_JSON) {
            finish_json(c);
        } else if (c->r) {
            cs_req *r = cs_chat_release(c);
            if (c->status >= 400)
                r->code = CHATSEAL_E_UPSTREAM_ERROR;
            cs_req_reply_buffer(r, c->status, c->ctype, c->buf);
        }
        break;
    case M_SSE:
        if (err != CHATSEAL_OK)
            stream_error(c, err, detail, 1);
        else if (cs_sse_pending(&c->sse) || !cs_assembly_finished(c->as))
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream stream ended before the reply was "
                         "complete",
                         1);
        else
            finish_stream(c); /* finished without [DONE]: complete too */
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
    stream_closed(c);
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
    c->mode = M_HEAD;
    c->plain = 1; /* passed through as is, nothing to sign */
    cs_chat_start_upstream(r, c, "GET", NULL, 0);
}
