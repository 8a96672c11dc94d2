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
    size_t n = 0;
    char *ev =
        send_event && c->st ? c->ad->stream_error(c->st, e, detail, &n) : NULL;
    if (ev)
        cs_req_stream_write(r, ev, n);
    free(ev);
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
static chatseal_error append_all(chat *c, const char *msg, size_t len)
{
    if (!len || msg[0] != '[')
        return chatseal_conv_append(c->conv, msg, len);
    /* an array (an adapter's reply of several items): one by one */
    cs_span arr = {msg, len}, el;
    int rc;
    chatseal_error err = CHATSEAL_OK;
    for (size_t i = 0; err == CHATSEAL_OK; i++) {
        if ((rc = cs_json_element(arr, i, &el)) != 1)
            return rc == 0 && i > 0 ? CHATSEAL_OK : CHATSEAL_E_INVALID_MESSAGE;
        err = chatseal_conv_append(c->conv, el.p, el.n);
    }
    return err;
}

static chatseal_error sign_reply(chat *c, const char *msg, size_t len,
                                 char **token)
{
    chatseal_error err;
    c->n_before = chatseal_conv_count(c->conv);
    if (c->token_in && len && (msg[0] == '{' || msg[0] == '[')) {
        err = chatseal_extend(c->gw->ring, c->conv, c->token_in, msg, len,
                              &c->opt, token, NULL);
    } else {
        err = append_all(c, msg, len);
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

/* The signed forms of the messages sign_reply appended, as a JSON array
 * text (malloc'd): what the reply's "output" is made of. */
static char *signed_forms(chat *c, size_t *len)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return NULL;
    size_t n = chatseal_conv_count(c->conv);
    evbuffer_add(b, "[", 1);
    for (size_t i = c->n_before; i < n; i++) {
        size_t fl = 0;
        const char *f = chatseal_conv_message(c->conv, i, &fl);
        if (i > c->n_before)
            evbuffer_add(b, ",", 1);
        if (f)
            evbuffer_add(b, f, fl);
    }
    evbuffer_add(b, "]", 1);
    *len = evbuffer_get_length(b);
    char *out = malloc(*len + 1);
    if (out) {
        evbuffer_remove(b, out, *len);
        out[*len] = '\0';
    }
    evbuffer_free(b);
    return out;
}

/*
 * The chatseal member of a reply (malloc'd): {"count","kid",[out],"token"},
 * keys in order.  With an output: the adapter's rendering of the signed
 * forms, under "message" for Chat Completions (its stream's last chunk, as
 * it always was) and "output" for the other APIs.  Chat Completions' JSON
 * reply has none: the body holds the message.
 */
static char *chatseal_member(chat *c, const char *forms, size_t flen,
                             const char *token, int with_output)
{
    char *out = NULL;
    if (with_output && c->ad->output && forms) {
        json_t *f = json_loadb(forms, flen,
                               JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
        json_t *o = f ? c->ad->output(f) : NULL;
        json_decref(f);
        out = o ? json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY |
                                    JSON_SORT_KEYS | JSON_REAL_PRECISION(17))
                : NULL;
        json_decref(o);
        if (!out)
            return NULL;
    }
    const char *kid = chatseal_keyring_signing_kid(c->gw->ring);
    size_t n = strlen(kid) + strlen(token) + (out ? strlen(out) : 0) + 64;
    char *m = malloc(n);
    if (m)
        snprintf(m, n, "{\"count\":%zu,\"kid\":\"%s\",%s%s%s\"token\":\"%s\"}",
                 chatseal_conv_count(c->conv), kid,
                 out ? (c->ad->id == 0 ? "\"message\":" : "\"output\":") : "",
                 out ? out : "", out ? "," : "", token);
    free(out);
    return m;
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
                      const char *member, const char *token);
static void send_stream_end(chat *c, const char *member);

/* The store's answer to the commit of a signed reply: only now does the
 * token exist for the client (with a store, a token is handed out only once
 * it is the conversation's newest). */
static void on_committed(void *arg, chatseal_error err)
{
    chat *c = arg;
    c->store_wait = 0;
    c->busy++;
    if (c->r && err != CHATSEAL_OK) {
        if (c->st)
            stream_error(c, err, commit_why(err), 1);
        else
            answer_error(c, err, commit_why(err));
    } else if (c->r) {
        if (c->st)
            send_stream_end(c, c->p_member);
        else
            send_json(c, c->p_canon, c->p_clen, c->p_member, c->p_token);
    }
    /* else: the client left while the commit was on its way; the record is
     * the conversation's newest all the same: GET /v1/chatseal/conversation
     * gives its message back (docs/GATEWAY.md, lost replies) */
    chatseal_free(c->p_canon);
    free(c->p_member);
    chatseal_free(c->p_token);
    c->p_canon = c->p_token = c->p_member = NULL;
    c->busy--;
    cs_chat_maybe_free(c);
}

/* Sends the reply now, or after the store has made token the newest.
 * Takes canon (the JSON reply; NULL for a stream), member and token over;
 * msg is what the record keeps (the signed message, or an array of them). */
static void deliver(chat *c, char *canon, size_t clen, char *member,
                    const char *msg, size_t mlen, char *token)
{
    if (!member) {
        chatseal_free(canon);
        chatseal_free(token);
        if (c->st)
            stream_error(c, CHATSEAL_E_NO_MEMORY, NULL, 1);
        else
            answer_error(c, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    if (!c->use_store) {
        if (c->st)
            send_stream_end(c, member);
        else
            send_json(c, canon, clen, member, token);
        chatseal_free(canon);
        free(member);
        chatseal_free(token);
        return;
    }
    c->p_canon = canon;
    c->p_clen = clen;
    c->p_member = member;
    c->p_token = token;
    c->store_wait = 1;
    c->mode = M_DRAIN; /* upstream bytes after the end are not ours */
    cs_store_cas(c->gw->store, c->skey, c->token_in, token, msg, mlen,
                 (long)chatseal_conv_count(c->conv), on_committed, c);
}

/* What the record keeps of a reply: its one message, or the array. */
static void record_msg(const char *forms, size_t flen, const char **msg,
                       size_t *mlen)
{
    cs_span arr = {forms, flen}, el;
    if (cs_json_element(arr, 0, &el) == 1 && el.p + el.n + 1 == forms + flen) {
        *msg = el.p;
        *mlen = el.n;
    } else {
        *msg = forms;
        *mlen = flen;
    }
}

/* ------------------------------------------------------ JSON replies -- */

/* The messages an adapter reads from a canonical JSON reply, as a JSON
 * array text (malloc'd), or NULL with why. */
static char *adapter_reply(chat *c, const char *canon, size_t clen, size_t *len,
                           char *why, size_t wl)
{
    json_t *j =
        json_loadb(canon, clen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    json_t *msgs = NULL;
    char *out = NULL;
    if (!j || c->ad->reply_messages(j, &msgs, why, wl) != 0 ||
        !json_is_array(msgs)) {
        if (!why[0])
            snprintf(why, wl, "the upstream reply has no message");
    } else if (!(out = json_dumps(msgs, JSON_COMPACT | JSON_ALLOW_NUL |
                                            JSON_REAL_PRECISION(17)))) {
        snprintf(why, wl, "out of memory");
    } else {
        *len = strlen(out);
    }
    json_decref(j);
    json_decref(msgs);
    return out;
}

static void finish_json(chat *c)
{
    size_t len = evbuffer_get_length(c->buf);
    const char *body = (const char *)evbuffer_pullup(c->buf, -1);
    char *canon = NULL, *token = NULL, *amsg = NULL;
    size_t clen = 0;
    char why[200];
    why[0] = '\0';
    chatseal_error err =
        chatseal_canonicalize(body ? body : "", len, 0, &canon, &clen);
    if (err != CHATSEAL_OK) {
        snprintf(why, sizeof why, "the upstream reply is not strict JSON (%s)",
                 chatseal_error_name(err));
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR, why);
        return;
    }
    cs_span root = {canon, clen}, choices, ch0, msg = {NULL, 0};
    if (c->ad->reply_messages) {
        if ((amsg = adapter_reply(c, canon, clen, &msg.n, why, sizeof why)))
            msg.p = amsg;
    } else if (!(clen && canon[0] == '{' &&
                 cs_json_member(root, "choices", &choices) == 1 &&
                 cs_json_element(choices, 0, &ch0) == 1 &&
                 cs_json_member(ch0, "message", &msg) == 1)) {
        msg.p = NULL;
    }
    if (!msg.p) {
        chatseal_free(canon);
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                     why[0] ? why
                            : "the upstream reply has no choices[0].message");
        return;
    }
    err = sign_reply(c, msg.p, msg.n, &token);
    if (amsg) {
        free(amsg);
        msg.p = NULL;
    }
    if (err != CHATSEAL_OK) {
        chatseal_free(canon);
        snprintf(why, sizeof why,
                 "the upstream's message cannot be signed (%s)",
                 chatseal_error_name(err));
        answer_error(c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why);
        return;
    }
    size_t flen = 0, mlen = 0;
    char *forms = signed_forms(c, &flen);
    const char *m = NULL;
    /* Chat Completions' JSON reply: no output, the body holds it */
    char *member = forms ? chatseal_member(c, forms, flen, token,
                                           c->ad->reply_messages != NULL)
                         : NULL;
    if (!c->ad->reply_messages) {
        m = msg.p; /* as it came (chat: the record keeps the reply's) */
        mlen = msg.n;
    } else if (forms) {
        record_msg(forms, flen, &m, &mlen);
    }
    deliver(c, canon, clen, member, m, mlen, token);
    free(forms);
}

static void send_json(chat *c, const char *canon, size_t clen,
                      const char *member, const char *token)
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
    evbuffer_add_printf(out, "%s\"chatseal\":%s}", first ? "" : ",", member);
    cs_req *r = cs_chat_release(c);
    if (strlen(token) <= HEADER_TOKEN_MAX)
        cs_req_header(r, "Chatseal-Token", token);
    cs_req_reply_buffer(r, c->status, c->ctype ? c->ctype : "application/json",
                        out);
    evbuffer_free(out);
}

/* ---------------------------------------------------- stream replies -- */

static void finish_stream(chat *c)
{
    json_t *msgs = c->ad->stream_messages(c->st);
    char *text = msgs ? json_dumps(msgs, JSON_COMPACT | JSON_ALLOW_NUL |
                                             JSON_REAL_PRECISION(17))
                      : NULL;
    json_decref(msgs);
    char *token = NULL;
    chatseal_error err =
        text ? sign_reply(c, text, strlen(text), &token) : CHATSEAL_E_NO_MEMORY;
    free(text);
    if (err != CHATSEAL_OK) {
        char why[160];
        snprintf(why, sizeof why, "the streamed message cannot be signed (%s)",
                 chatseal_error_name(err));
        stream_error(c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why,
                     1);
        return;
    }
    /* the client is given the message as signed (FORMAT.md §2.1: its
     * signed form, with its reasoning), so it stores exactly that */
    size_t flen = 0, mlen = 0;
    char *forms = signed_forms(c, &flen);
    const char *m = NULL;
    char *member = forms ? chatseal_member(c, forms, flen, token, 1) : NULL;
    if (forms)
        record_msg(forms, flen, &m, &mlen);
    deliver(c, NULL, 0, member, m, mlen, token);
    free(forms);
}

static void send_stream_end(chat *c, const char *member)
{
    size_t n = 0;
    char *end = c->ad->stream_close(c->st, member, strlen(member), &n);
    if (!end) {
        stream_error(c, CHATSEAL_E_NO_MEMORY, NULL, 1);
        return;
    }
    cs_req *r = cs_chat_release(c);
    cs_req_stream_write(r, end, n);
    free(end);
    stream_closed(c);
    cs_req_stream_end(r, 0);
    c->mode = M_DRAIN; /* the upstream may still send its last bytes */
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
        finish_stream(c);
        return 1;
    case CS_EV_FAIL:
        stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                     why[0] ? why : "the upstream sent a malformed event", 1);
        return 1;
    case CS_EV_UPSTREAM:
        /* the client sees the upstream's own error event */
        cs_req_stream_write(c->r, raw, rawlen);
        stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
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
        answer_error(c, CHATSEAL_E_NO_MEMORY, NULL);
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
        answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
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
            answer_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "the upstream reply is over the size limit");
        } else {
            evbuffer_add(c->buf, data, len);
        }
    } else if (c->mode == M_SSE) {
        if (cs_sse_feed(&c->sse, data, len, on_sse, c) != 0 && c->mode == M_SSE)
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
                         "an upstream event is over the size limit", 1);
    } else if (c->mode == M_NDJSON) {
        if (cs_ndjson_feed(&c->nd, data, len, on_line, c) != 0 &&
            c->mode == M_NDJSON)
            stream_error(c, CHATSEAL_E_UPSTREAM_ERROR,
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
    case M_NDJSON:
        if (err != CHATSEAL_OK)
            stream_error(c, err, detail, 1);
        else if ((c->mode == M_SSE ? cs_sse_pending(&c->sse)
                                   : cs_ndjson_pending(&c->nd)) ||
                 !c->ad->stream_complete || !c->ad->stream_complete(c->st))
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
    c->ad = &cs_api_chat;
    c->mode = M_HEAD;
    c->plain = 1; /* passed through as is, nothing to sign */
    cs_chat_start_upstream(r, c, "GET", NULL, 0);
}
