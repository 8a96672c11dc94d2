/*
 * sidecar.c -- the gateway's sign/verify endpoints for app servers.
 *
 *   POST /v1/chatseal/sign            {"messages":[..],"count"?}     -> token
 *   POST /v1/chatseal/verify          {"messages":[..],"token"}      -> report
 *   POST /v1/chatseal/extend          {"messages":[..],"token","append"}
 *                                                              -> H1 token
 *   POST /v1/chatseal/message/sign    {"message":{..}}               -> token
 *   POST /v1/chatseal/message/verify  {"message":{..},"token"}       -> report
 *   POST /v1/chatseal/state/sign      {"state":V}     -> {"state","signature"}
 *   POST /v1/chatseal/state/verify    {"state":V,"signature"}        -> report
 *   POST /v1/chatseal/state/seal      {"state":V}                    -> token
 *   POST /v1/chatseal/state/open      {"token"}                      -> state
 *
 * Every body may also carry "conversation_id", "principal", "purpose" and
 * "ttl"; without them the binding comes from the configured request headers
 * and the purpose/ttl from the gateway's flags, exactly as for chat, so a
 * token made here verifies in /v1/chat/completions and vice versa.  With
 * --system-prompt the pinned prompt is put first when the history does not
 * start with it, as the API endpoints do, for the same reason.
 *
 * sign, verify and extend also take "api": "responses", "messages" or
 * "ollama" (default "chat"): the history is then given in that API's
 * request shape and mapped by its adapter (sidecar_api.c), errors come in
 * that API's style, and the token verifies on that API's endpoint.  A body
 * member rather than a path or query: every other option of these calls is
 * one, and the app posts the history object it keeps with one member more.
 *
 * Parsing is the same strict path as chat: the body is put in RFC 8785 form
 * by libchatseal (duplicate keys, lone surrogates ... -> 400 with their
 * code), and values that get signed ("state", "message", "append") are cut
 * out of that canonical text byte for byte (jspan.c), never re-encoded by
 * another JSON library.  jansson reads only the small scalar members.
 * Verdicts use the same codes and statuses as chat (403 integrity, 400
 * malformed), with the verification report attached.
 *
 * Access: these endpoints sign arbitrary content, so they are off unless a
 * sidecar secret is configured (then "Authorization: Bearer SECRET", else
 * 401) or --dev opens them.
 */
#include "api/sidecar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api/chat.h"
#include "api/jspan.h"
#include "api/sidecar_api.h"
#include "core/errors.h"
#include "policy/keys.h"
#include "policy/policy.h"
#include "policy/store.h"

typedef struct side {
    cs_req *r;
    cs_gw *gw;
    char *canon; /* the body, canonical */
    size_t clen;
    json_t *j; /* the same, read by jansson (scalars only) */
    chatseal_options opt;
    char *cid, *prn;
    chatseal_report *rep;
    /* "api" other than chat: the history and the append as internal JSON
     * text, mapped by the adapter (sidecar_api.c); NULL ad: chat, where
     * both are the body's own canonical text */
    const cs_adapter *ad;
    char *hist, *app;
    size_t hlen, alen;
    /* extend with a store: the copy that waits for it, on the heap */
    char *tok;
    char key[65];
    char *canon_h1; /* H1, waiting for its commit */
    long n1;
    int fresh; /* a sign: the commit starts the record */
} side;

/* -------------------------------------------------------------- helpers -- */

/* A string member: 0 absent (*out NULL), 1 present, -1 not a string or
 * holding U+0000 (a token with a NUL could be read two ways). */
static int get_str(const side *s, const char *key, const char **out)
{
    json_t *v = json_object_get(s->j, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

static void bad_request(side *s, const char *why)
{
    cs_req_error(s->r, CHATSEAL_E_INVALID_REQUEST, why);
}

/* Writes {"<rawkey>":RAW, ...members of obj...} (RAW already canonical). */
static void reply_obj(side *s, int status, json_t *obj, const char *rawkey,
                      const cs_span *raw)
{
    char *rest = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    struct evbuffer *out = evbuffer_new();
    if (!rest || !out) {
        free(rest);
        if (out)
            evbuffer_free(out);
        cs_req_error(s->r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    if (rawkey) {
        evbuffer_add_printf(out, "{\"%s\":", rawkey);
        evbuffer_add(out, raw->p, raw->n);
        if (strcmp(rest, "{}") != 0)
            evbuffer_add_printf(out, ",%s", rest + 1);
        else
            evbuffer_add(out, "}", 1);
    } else {
        evbuffer_add(out, rest, strlen(rest));
    }
    free(rest);
    cs_req_reply_buffer(s->r, status, "application/json", out);
    evbuffer_free(out);
}

/* The token answer of the signing endpoints. */
static void reply_token(side *s, const char *field, char *token, long count)
{
    json_t *o = json_object();
    json_object_set_new(o, field, json_string(token));
    json_object_set_new(o, "kid",
                        json_string(chatseal_keyring_signing_kid(s->gw->ring)));
    if (count >= 0) {
        json_object_set_new(o, "count", json_integer(count));
        s->r->count = count;
    }
    snprintf(s->r->kid, sizeof s->r->kid, "%s",
             chatseal_keyring_signing_kid(s->gw->ring));
    if (strlen(token) <= 8192)
        cs_req_header(s->r, "Chatseal-Token", token);
    chatseal_free(token);
    reply_obj(s, 200, o, NULL, NULL);
}

/* A verdict: 200 with the report, or the error with the report attached. */
static void reply_verdict(side *s, chatseal_error err, const char *rawkey,
                          const cs_span *raw)
{
    if (err != CHATSEAL_OK) {
        cs_reply_verify_error(s->r, err, s->rep);
        return;
    }
    char *rj = NULL;
    json_t *o = NULL;
    if (s->rep && chatseal_report_json(s->rep, &rj) == CHATSEAL_OK)
        o = json_loads(rj, 0, NULL);
    chatseal_free(rj);
    if (!o)
        o = json_pack("{s:b,s:s}", "valid", 1, "code", "ok");
    reply_obj(s, 200, o, rawkey, raw);
}

/* The value of a top-level member, as canonical text; with an "api",
 * "append" is the internal messages the adapter mapped it to. */
static int raw_member(const side *s, const char *key, cs_span *out)
{
    if (s->ad && !strcmp(key, "append")) {
        out->p = s->app;
        out->n = s->alen;
        return s->app ? 0 : -1;
    }
    cs_span root = {s->canon, s->clen};
    return cs_json_member(root, key, out) == 1 ? 0 : -1;
}

/* The token of a verify call: body member (first of names), or header. */
static int token_of(side *s, const char *const *names, const char **tok)
{
    *tok = NULL;
    for (; *names; names++) {
        if (get_str(s, *names, tok) < 0) {
            bad_request(s, "the token must be a string");
            return -1;
        }
        if (*tok)
            break;
    }
    const char *h = cs_headers_get(s->r->headers, "Chatseal-Token");
    if (h && *h) {
        if ((*tok && strcmp(*tok, h) != 0) ||
            cs_headers_count(s->r->headers, "Chatseal-Token") > 1) {
            bad_request(s, "two different tokens in one request");
            return -1;
        }
        *tok = h;
    }
    return 0;
}

/* ------------------------------------------------------------ endpoints -- */

/* The history, parsed, with the pinned system prompt first (*pinned: 1
 * when it was put there); else the request is answered. */
static chatseal_error parse_conv(side *s, chatseal_conv **conv, int *pinned)
{
    chatseal_limits lim = CHATSEAL_LIMITS_INIT;
    lim.max_messages = (size_t)s->gw->cfg.max_messages;
    chatseal_conv *with = NULL;
    chatseal_error e = s->ad
                           ? chatseal_conv_parse(s->hist, s->hlen, &lim, conv)
                           : chatseal_conv_parse(s->canon, s->clen, &lim, conv);
    if (e == CHATSEAL_OK)
        e = cs_policy_pin_system(s->gw->policy, *conv, &lim, &with);
    if (with) {
        chatseal_conv_free(*conv);
        *conv = with;
    }
    if (pinned)
        *pinned = with != NULL;
    if (e != CHATSEAL_OK) {
        chatseal_conv_free(*conv);
        *conv = NULL;
        cs_req_error(s->r, e, NULL);
    }
    return e;
}

static void commit_fresh(side *s, char *token, long count);

static void do_sign(side *s)
{
    chatseal_conv *conv = NULL;
    int pinned = 0;
    if (parse_conv(s, &conv, &pinned) != CHATSEAL_OK)
        return;
    size_t n = chatseal_conv_count(conv), count = n;
    json_t *c = json_object_get(s->j, "count");
    if (c) {
        /* count is of the messages given; a pinned prompt put first is
         * one more */
        double d = json_number_value(c) + pinned;
        if (!json_is_number(c) || d < pinned || d > (double)n ||
            floor(d) != d) {
            chatseal_conv_free(conv);
            bad_request(s, "count must be an integer from 0 to the number of "
                           "messages");
            return;
        }
        count = (size_t)d;
    }
    char *token = NULL;
    chatseal_error e = chatseal_sign(s->gw->ring, conv, count, &s->opt, &token);
    chatseal_conv_free(conv);
    if (e != CHATSEAL_OK) {
        cs_req_error(s->r, e, NULL);
        return;
    }
    const char *cid = s->opt.conversation_id;
    if (s->gw->store && cid && *cid)
        commit_fresh(s, token, (long)count);
    else
        reply_token(s, "token", token, (long)count);
}

static void do_verify(side *s)
{
    static const char *const names[] = {"token", NULL};
    const char *tok;
    if (token_of(s, names, &tok) != 0)
        return;
    chatseal_conv *conv = NULL;
    if (parse_conv(s, &conv, NULL) != CHATSEAL_OK)
        return;
    json_t *exact = json_object_get(s->j, "exact");
    if (json_is_true(exact))
        s->opt.tail_roles = NULL;
    chatseal_error e = chatseal_verify(s->gw->ring, conv, tok, &s->opt, s->rep);
    chatseal_conv_free(conv);
    reply_verdict(s, e, NULL, NULL);
}

/* Frees what cs_sidecar_handle would have freed, for a waiting copy. */
static void side_free(side *s)
{
    chatseal_report_free(s->rep);
    json_decref(s->j);
    free(s->cid);
    free(s->prn);
    free(s->tok);
    free(s->hist);
    free(s->app);
    chatseal_free(s->canon);
    free(s);
}

/* Signs H1 = H0 + append over the verified H0; *h1 and *n on success,
 * else the request is answered. */
static int extend_sign(side *s, const char *tok, char **h1, long *n)
{
    cs_span app = {NULL, 0};
    int has_app = raw_member(s, "append", &app) == 0;
    chatseal_conv *conv = NULL;
    if (parse_conv(s, &conv, NULL) != CHATSEAL_OK)
        return -1;
    chatseal_error e =
        chatseal_extend(s->gw->ring, conv, tok, has_app ? app.p : NULL,
                        has_app ? app.n : 0, &s->opt, h1, s->rep);
    *n = (long)chatseal_conv_count(conv);
    chatseal_conv_free(conv);
    if (e == CHATSEAL_OK)
        return 0;
    if (s->rep && chatseal_report_code(s->rep) == e)
        cs_reply_verify_error(s->r, e, s->rep);
    else
        cs_req_error(s->r, e, NULL);
    return -1;
}

static void on_side_abort(cs_req *r)
{
    side *s = r->hctx;
    s->r = NULL;
}

/* The commit of H1: the answer, or the reason there is none. */
static void on_side_committed(void *arg, chatseal_error e)
{
    side *s = arg;
    if (s->r) {
        s->r->on_abort = NULL;
        if (e == CHATSEAL_OK)
            reply_token(s, "token", s->canon_h1, s->n1);
        else if (e == CHATSEAL_E_CONVERSATION_CONFLICT && s->fresh)
            cs_req_error(s->r, CHATSEAL_E_CONVERSATION_EXISTS,
                         "this conversation id already has a history: "
                         "continue it with /v1/chatseal/extend");
        else
            cs_req_error(s->r, e,
                         e == CHATSEAL_E_CONVERSATION_CONFLICT
                             ? "another request advanced this conversation "
                               "first"
                             : "the conversation store did not answer");
        if (e == CHATSEAL_OK)
            s->canon_h1 = NULL; /* reply_token freed it */
    }
    chatseal_free(s->canon_h1);
    side_free(s);
}

/* /v1/chatseal/sign bound to a conversation, with a store: the token
 * starts the conversation's record (compare and swap from none), so that
 * chat accepts it, and a sign can never overwrite an existing record. */
static void commit_fresh(side *s, char *token, long count)
{
    side *h = malloc(sizeof *h);
    if (!h) {
        chatseal_free(token);
        cs_req_error(s->r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    cs_store_key(s->opt.conversation_id, s->opt.principal, s->key);
    *h = *s;
    memset(s, 0, sizeof *s); /* h owns everything now */
    h->canon_h1 = token;
    h->n1 = count;
    h->fresh = 1;
    h->r->hctx = h;
    h->r->on_abort = on_side_abort;
    cs_store_cas(h->gw->store, h->key, NULL, token, "", 0, count,
                 on_side_committed, h);
}

/* The record of the conversation: H0 must be its newest token (or, with no
 * record, the extend must start the conversation: no token), exactly as on
 * /v1/chat/completions; then H1 becomes the newest. */
static void on_side_record(void *arg, chatseal_error e, const cs_store_rec *rec)
{
    side *s = arg;
    if (!s->r) {
        side_free(s);
        return;
    }
    const char *tok = s->tok;
    if (e != CHATSEAL_OK) {
        s->r->on_abort = NULL;
        cs_req_error(s->r, CHATSEAL_E_STORE_UNAVAILABLE,
                     "the conversation store did not answer");
        side_free(s);
        return;
    }
    /* the history's own verdict first (content_changed ...), as on chat */
    char *h1 = NULL;
    s->r->on_abort = NULL; /* extend_sign may answer (and free) the request */
    if (extend_sign(s, tok, &h1, &s->n1) != 0) {
        side_free(s);
        return;
    }
    if (tok ? !rec || strcmp(rec->token, tok) != 0 : rec != NULL) {
        chatseal_free(h1); /* never handed out */
        s->r->on_abort = NULL;
        cs_req_error(
            s->r, tok ? CHATSEAL_E_STALE_TOKEN : CHATSEAL_E_CONVERSATION_EXISTS,
            tok ? "a newer token exists for this conversation: an "
                  "older history was sent back"
                : "this conversation id already has a history");
        side_free(s);
        return;
    }
    cs_span app = {"", 0}, one;
    raw_member(s, "append", &app);
    /* the record keeps the last message, as chat's does: the one element
     * of an adapter's mapped append (GET /v1/chatseal/conversation) */
    if (s->ad && cs_json_element(app, 0, &one) == 1 &&
        cs_json_element(app, 1, &one) != 1)
        cs_json_element(app, 0, &app);
    s->canon_h1 = h1;
    s->r->on_abort = on_side_abort; /* waits for the store again */
    cs_store_cas(s->gw->store, s->key, tok, h1, app.p, app.n, s->n1,
                 on_side_committed, s);
}

static void do_extend(side *s)
{
    static const char *const names[] = {"token", NULL};
    const char *tok;
    if (token_of(s, names, &tok) != 0)
        return;
    cs_span app = {NULL, 0};
    int has_app = raw_member(s, "append", &app) == 0;
    if (!s->ad && has_app && app.n && app.p[0] != '{' && app.p[0] != '[') {
        bad_request(s, "append must be a message object or an array of them");
        return;
    }
    const char *cid = s->opt.conversation_id;
    if (!s->gw->store || !cid || !*cid) {
        char *h1 = NULL;
        long n = 0;
        if (extend_sign(s, tok, &h1, &n) == 0)
            reply_token(s, "token", h1, n);
        return;
    }
    /* with a store, H0 must be the newest token of its conversation and H1
     * becomes it, exactly as on /v1/chat/completions: an app that answers
     * some turns itself keeps one record with the gateway.  The request
     * waits for the store on a copy of s (the caller frees s). */
    side *h = malloc(sizeof *h);
    if (!h || (tok && *tok && !(s->tok = strdup(tok)))) {
        free(h);
        cs_req_error(s->r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    cs_store_key(cid, s->opt.principal, s->key);
    *h = *s;
    memset(s, 0, sizeof *s); /* h owns everything now */
    h->r->hctx = h;
    h->r->on_abort = on_side_abort;
    cs_store_get(h->gw->store, h->key, on_side_record, h);
}

static int need_member(side *s, const char *key, cs_span *v)
{
    if (raw_member(s, key, v) != 0) {
        char why[80];
        snprintf(why, sizeof why, "the body needs a \"%s\" member", key);
        bad_request(s, why);
        return -1;
    }
    return 0;
}

static void do_message_sign(side *s)
{
    cs_span m;
    if (need_member(s, "message", &m) != 0)
        return;
    char *token = NULL;
    chatseal_error e =
        chatseal_message_sign(s->gw->ring, m.p, m.n, &s->opt, &token);
    if (e != CHATSEAL_OK) {
        cs_req_error(s->r, e, NULL);
        return;
    }
    reply_token(s, "token", token, 1);
}

static void do_message_verify(side *s)
{
    static const char *const names[] = {"token", NULL};
    const char *tok;
    cs_span m;
    if (token_of(s, names, &tok) != 0 || need_member(s, "message", &m) != 0)
        return;
    chatseal_error e =
        chatseal_message_verify(s->gw->ring, m.p, m.n, tok, &s->opt, s->rep);
    reply_verdict(s, e, NULL, NULL);
}

static void do_state_sign(side *s)
{
    cs_span v;
    if (need_member(s, "state", &v) != 0)
        return;
    char *token = NULL;
    chatseal_error e =
        chatseal_state_sign(s->gw->ring, v.p, v.n, &s->opt, &token);
    if (e != CHATSEAL_OK) {
        cs_req_error(s->r, e, NULL);
        return;
    }
    /* ragbits' state_update shape: {"state": ..., "signature": ...} */
    json_t *o = json_object();
    json_object_set_new(o, "signature", json_string(token));
    json_object_set_new(o, "kid",
                        json_string(chatseal_keyring_signing_kid(s->gw->ring)));
    snprintf(s->r->kid, sizeof s->r->kid, "%s",
             chatseal_keyring_signing_kid(s->gw->ring));
    chatseal_free(token);
    reply_obj(s, 200, o, "state", &v);
}

static void do_state_verify(side *s)
{
    static const char *const names[] = {"signature", "token", NULL};
    const char *tok;
    cs_span v;
    if (token_of(s, names, &tok) != 0 || need_member(s, "state", &v) != 0)
        return;
    chatseal_error e =
        chatseal_state_verify(s->gw->ring, v.p, v.n, tok, &s->opt, s->rep);
    reply_verdict(s, e, NULL, NULL);
}

static void do_state_seal(side *s)
{
    cs_span v;
    if (need_member(s, "state", &v) != 0)
        return;
    char *token = NULL;
    chatseal_error e =
        chatseal_state_seal(s->gw->ring, v.p, v.n, &s->opt, &token);
    if (e != CHATSEAL_OK) {
        cs_req_error(s->r, e, NULL);
        return;
    }
    reply_token(s, "token", token, -1);
}

static void do_state_open(side *s)
{
    static const char *const names[] = {"token", NULL};
    const char *tok;
    if (token_of(s, names, &tok) != 0)
        return;
    char *state = NULL;
    size_t slen = 0;
    chatseal_error e =
        chatseal_state_open(s->gw->ring, tok, &s->opt, &state, &slen, s->rep);
    if (e != CHATSEAL_OK) {
        cs_reply_verify_error(s->r, e, s->rep);
        return;
    }
    cs_span v = {state, slen};
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_true());
    json_object_set_new(o, "kid",
                        json_string(chatseal_report_kid(s->rep)
                                        ? chatseal_report_kid(s->rep)
                                        : ""));
    reply_obj(s, 200, o, "state", &v);
    chatseal_free(state);
}

static const struct {
    const char *name;
    const char *endpoint; /* metrics label */
    void (*fn)(side *s);
} routes[] = {
    {"sign", "sidecar_sign", do_sign},
    {"verify", "sidecar_verify", do_verify},
    {"extend", "sidecar_extend", do_extend},
    {"message/sign", "sidecar_message_sign", do_message_sign},
    {"message/verify", "sidecar_message_verify", do_message_verify},
    {"state/sign", "sidecar_state_sign", do_state_sign},
    {"state/verify", "sidecar_state_verify", do_state_verify},
    {"state/seal", "sidecar_state_seal", do_state_seal},
    {"state/open", "sidecar_state_open", do_state_open},
};

/* --------------------------------------------------------------- entry -- */

/* "api": the adapter whose shape the history has, and the history (and
 * append) mapped by it; chat keeps the body's own text.  -1: answered. */
static int api_of(side *s, void (*fn)(side *s))
{
    json_t *v = json_object_get(s->j, "api");
    if (!v)
        return 0;
    const cs_adapter *ad =
        json_is_string(v) ? cs_sidecar_api(json_string_value(v)) : NULL;
    if (!ad) {
        bad_request(s, "api must be \"chat\", \"responses\", \"messages\" "
                       "or \"ollama\"");
        return -1;
    }
    if (ad == &cs_api_chat)
        return 0;
    s->r->style = ad->style; /* from here on, errors in the API's shape */
    if (fn != do_sign && fn != do_verify && fn != do_extend) {
        bad_request(s, "api applies to sign, verify and extend only");
        return -1;
    }
    chatseal_error e;
    char why[300];
    s->ad = ad;
    s->hist = cs_sidecar_api_history(ad, s->j, &s->hlen, &e, why, sizeof why);
    json_t *app = json_object_get(s->j, "append");
    if (s->hist && app && fn == do_extend)
        s->app = cs_sidecar_api_append(ad, app, &s->alen, &e, why, sizeof why);
    if (!s->hist || (app && fn == do_extend && !s->app)) {
        cs_req_error(s->r, e, e == CHATSEAL_E_NO_MEMORY ? NULL : why);
        return -1;
    }
    return 0;
}

/* Body overrides of the binding: strings of 1..CHATSEAL_BINDING_MAX bytes. */
static int body_binding(side *s, const char *key, const char **dst)
{
    const char *v;
    int rc = get_str(s, key, &v);
    if (rc == 0)
        return 0;
    if (rc < 0 || !*v || strlen(v) > CHATSEAL_BINDING_MAX) {
        char why[120];
        snprintf(why, sizeof why, "\"%s\" must be a string of 1 to 1024 bytes",
                 key);
        bad_request(s, why);
        return -1;
    }
    *dst = v;
    return 0;
}

static int options(side *s)
{
    const char *why = NULL;
    if (cs_request_options(s->r, &s->opt, &s->cid, &s->prn, &why) !=
        CHATSEAL_OK) {
        bad_request(s, why);
        return -1;
    }
    if (body_binding(s, "conversation_id", &s->opt.conversation_id) != 0 ||
        body_binding(s, "principal", &s->opt.principal) != 0 ||
        body_binding(s, "purpose", &s->opt.purpose) != 0)
        return -1;
    json_t *ttl = json_object_get(s->j, "ttl");
    if (ttl) {
        double d = json_number_value(ttl);
        if (!json_is_number(ttl) || d < 0 || d > 1e12 || floor(d) != d) {
            bad_request(s, "ttl must be a whole number of seconds");
            return -1;
        }
        s->opt.ttl = (int64_t)d;
    }
    return 0;
}

void cs_sidecar_handle(cs_req *r)
{
    cs_gw *gw = r->gw;
    const char *name = r->path + strlen(CS_SIDECAR_PREFIX);
    size_t i, n = sizeof routes / sizeof routes[0];
    for (i = 0; i < n; i++)
        if (!strcmp(name, routes[i].name))
            break;
    r->endpoint = i < n ? routes[i].endpoint : "sidecar";
    if (i == n || gw->sidecar_mode == 0) {
        cs_req_error(r, CHATSEAL_E_NOT_FOUND,
                     i == n ? "no such sidecar endpoint"
                            : "the sidecar endpoints are off: start chatseal "
                              "serve with --sidecar-secret-file FILE");
        return;
    }
    if (strcmp(r->method, "POST") != 0) {
        cs_req_header(r, "Allow", "POST");
        cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, "use POST");
        return;
    }
    if (!cs_keys_sidecar_allowed(gw,
                                 cs_headers_get(r->headers, "Authorization"))) {
        cs_req_header(r, "WWW-Authenticate", "Bearer realm=\"chatseal\"");
        cs_req_error_ex(r, 401, CHATSEAL_E_INVALID_ARGUMENT,
                        "this endpoint needs Authorization: Bearer followed "
                        "by the sidecar secret",
                        NULL);
        return;
    }
    side s;
    memset(&s, 0, sizeof s);
    s.r = r;
    s.gw = gw;
    size_t len = evbuffer_get_length(r->body);
    const char *body = (const char *)evbuffer_pullup(r->body, -1);
    chatseal_error e =
        chatseal_canonicalize(body ? body : "", len, 0, &s.canon, &s.clen);
    if (e != CHATSEAL_OK) {
        cs_req_error(r, e, NULL);
        return;
    }
    s.j = json_loadb(s.canon, s.clen, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                     NULL);
    if (!json_is_object(s.j)) {
        bad_request(&s, "the body must be a JSON object");
    } else if (api_of(&s, routes[i].fn) == 0 && options(&s) == 0) {
        if (chatseal_report_new(&s.rep) != CHATSEAL_OK)
            s.rep = NULL;
        routes[i].fn(&s);
    }
    free(s.hist);
    free(s.app);
    chatseal_report_free(s.rep);
    json_decref(s.j);
    free(s.cid);
    free(s.prn);
    chatseal_free(s.canon);
}
