/*
 * chat_entry.c -- the entry of every chat API (adapter.h): parse (an
 * adapter's body mapped onto the internal request first), find the token,
 * verify, and (with a conversation id and a store) check the request against
 * the conversation's record before anything is forwarded; chat.c forwards,
 * signs and commits.
 *
 * Which token a request is verified against (docs/GATEWAY.md, "Conversation
 * store"): the client's, checked first so that its precise verdict
 * (content_changed ...) comes before stale_token; with a record, the stored
 * newest token, which a client token must equal; without a record, none (a
 * fresh conversation).  The record is read asynchronously (Redis); the
 * request waits on it with an abort hook, and the chat context stays alive
 * while the store call is pending (store_wait).
 */
#include "api/chat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api/chat_int.h"
#include "policy/policy.h"
#include "policy/store.h"

/* Refuses the request before anything was forwarded, and lets go of it. */
static void refuse(chat *c, chatseal_error err, const chatseal_report *rep,
                   const char *why)
{
    cs_req *r = cs_chat_release(c);
    if (rep)
        cs_reply_verify_error(r, err, rep);
    else
        cs_req_error(r, err, why);
}

/* Verifies c->conv against token (NULL: a fresh conversation); refuses and
 * returns -1 when it does not verify.  stored: the token is the store's,
 * not the client's. */
static int verify_or_refuse(chat *c, const char *token, int stored)
{
    chatseal_report *rep = NULL;
    if (chatseal_report_new(&rep) != CHATSEAL_OK)
        rep = NULL;
    chatseal_error err =
        chatseal_verify(c->gw->ring, c->conv, token, &c->opt, rep);
    /* a fresh start: the policy also says where a system message may stand
     * and which option would allow it */
    char pwhy[300];
    chatseal_error perr = CHATSEAL_OK;
    if (!token && !stored &&
        (err == CHATSEAL_OK || err == CHATSEAL_E_ROLE_NOT_ALLOWED ||
         err == CHATSEAL_E_MISSING_SIGNATURE) &&
        (perr = cs_policy_check_fresh(c->gw->policy, c->conv,
                                      err != CHATSEAL_OK, pwhy, sizeof pwhy))) {
        chatseal_report_free(rep);
        refuse(c, perr, NULL, pwhy);
        return -1;
    }
    if (err == CHATSEAL_OK)
        c->signed_n =
            token && rep
                ? chatseal_report_count(rep)
                : (size_t)cs_policy_pinned_first(c->gw->policy, c->conv);
    if (err != CHATSEAL_OK && stored &&
        chatseal_verify(c->gw->ring, c->conv, NULL, &c->opt, NULL) ==
            CHATSEAL_OK) {
        /* a fresh start (no token, only fresh roles) under an id that has a
         * history: it would reset the owner's conversation */
        chatseal_report_free(rep);
        refuse(c, CHATSEAL_E_CONVERSATION_EXISTS, NULL,
               "this conversation id already has a history: send it with "
               "its newest reply (GET /v1/chatseal/conversation gives a "
               "lost one back), or start with a new random id");
        return -1;
    }
    if (err != CHATSEAL_OK)
        refuse(c, err, rep, NULL);
    chatseal_report_free(rep);
    return err == CHATSEAL_OK ? 0 : -1;
}

/* An adapter's upstream body from the verified internal request fwd (taken
 * over); NULL with why (and *err) on refusal. */
static char *adapter_body(chat *c, char *fwd, size_t fwdlen, size_t *len,
                          chatseal_error *err, char *why, size_t wl)
{
    json_t *in =
        json_loadb(fwd, fwdlen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    chatseal_free(fwd);
    json_t *up = NULL;
    cs_adapter_ctx ctx = {c->gw->policy, (size_t)c->gw->cfg.max_response};
    char *out = NULL;
    *err = in ? c->ad->write_request(in, c->signed_n, &ctx, &up, why, wl)
              : CHATSEAL_E_NO_MEMORY;
    if (*err == CHATSEAL_OK) {
        out = up ? cs_json_canonical(up, len) : NULL;
        if (!out)
            *err = CHATSEAL_E_NO_MEMORY;
        json_t *st = json_object_get(up, "stream");
        c->r->stream = json_is_true(st) || (!st && c->ad->stream_default);
    }
    json_decref(in);
    json_decref(up);
    return out;
}

/* Forwards the verified conversation: its canonical form, no token field,
 * after the request policy for what the token does not cover (for another
 * API: mapped back by its adapter from those verified values). */
static void forward(chat *c)
{
    cs_req *r = c->r;
    r->stream = chatseal_conv_get_bool(c->conv, "stream");
    char *fwd = NULL;
    size_t fwdlen = 0;
    char pwhy[300];
    pwhy[0] = '\0';
    chatseal_error err =
        c->ad->write_request
            ? cs_policy_forward_api(c->gw->policy, c->ad->id, c->conv, &fwd,
                                    &fwdlen, pwhy, sizeof pwhy)
            : cs_policy_forward(c->gw->policy, c->conv, c->signed_n, &fwd,
                                &fwdlen, pwhy, sizeof pwhy);
    if (err == CHATSEAL_OK && c->ad->write_request) {
        size_t n = 0;
        char *body = adapter_body(c, fwd, fwdlen, &n, &err, pwhy, sizeof pwhy);
        fwd = body; /* malloc'd like the library's: both freed by free() */
        fwdlen = n;
    }
    if (err != CHATSEAL_OK) {
        refuse(c, err, NULL, pwhy[0] ? pwhy : NULL);
        cs_chat_maybe_free(c);
        return;
    }
    c->r = NULL;
    cs_chat_start_upstream(r, c, "POST", fwd, fwdlen);
}

/*
 * The conversation's record, read before anything is forwarded.  With a
 * record, the request is verified against its token (the newest): a client
 * token must be that one (else stale_token), a client without one is checked
 * against it.  Without a record only a fresh conversation may start one: a
 * client token then has nothing to be the newest of (stale_token, fail
 * closed: a record is made with every token issued while the store is on).
 */
static void on_record(void *arg, chatseal_error err, const cs_store_rec *rec)
{
    chat *c = arg;
    c->store_wait = 0;
    if (!c->r) { /* the client left */
        cs_chat_maybe_free(c);
        return;
    }
    if (err != CHATSEAL_OK) {
        refuse(c, CHATSEAL_E_STORE_UNAVAILABLE, NULL,
               "the conversation store did not answer: fail closed");
    } else if (c->token_in && (!rec || strcmp(rec->token, c->token_in))) {
        refuse(c, CHATSEAL_E_STALE_TOKEN, NULL,
               rec ? "a newer token exists for this conversation: an older "
                     "history was sent back"
                   : "no record of this token's conversation: only its "
                     "newest token is accepted");
    } else if (c->token_in) {
        forward(c); /* verified before the record was read */
        return;
    } else if (verify_or_refuse(c, rec ? rec->token : NULL, rec != NULL) == 0) {
        if (rec && !(c->token_in = strdup(rec->token)))
            refuse(c, CHATSEAL_E_NO_MEMORY, NULL, NULL);
        else {
            forward(c);
            return;
        }
    }
    cs_chat_maybe_free(c);
}

static void on_wait_abort(cs_req *r)
{
    chat *c = r->hctx;
    c->r = NULL;
    cs_chat_maybe_free(c);
}

/*
 * An adapter's body as the internal request (malloc'd text, *len), or NULL
 * with the code: strict JSON first (duplicate keys, lone surrogates ... get
 * their own codes, as for Chat Completions), then the adapter's mapping.
 */
static char *adapter_request(const cs_adapter *ad, const char *body, size_t len,
                             size_t *olen, chatseal_error *err, char *why,
                             size_t wl)
{
    char *canon = NULL;
    size_t clen = 0;
    why[0] = '\0';
    *err = chatseal_canonicalize(body, len, 0, &canon, &clen);
    if (*err != CHATSEAL_OK)
        return NULL;
    json_t *j = clen && canon[0] == '{'
                    ? json_loadb(canon, clen,
                                 JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL)
                    : NULL;
    chatseal_free(canon);
    json_t *in = NULL;
    char *out = NULL;
    if (!j) {
        *err = CHATSEAL_E_INVALID_REQUEST;
        snprintf(why, wl, "the body must be a JSON object");
    } else if ((*err = ad->read_request(j, &in, why, wl)) == CHATSEAL_OK) {
        out =
            in ? json_dumps(in, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        if (!out)
            *err = CHATSEAL_E_NO_MEMORY;
        else
            *olen = strlen(out);
    }
    json_decref(j);
    json_decref(in);
    return out;
}

/* The request's conversation, parsed (chat: the body itself).  NULL with
 * the code and why. */
static chatseal_conv *parse_request(cs_req *r, const cs_adapter *ad,
                                    const chatseal_limits *lim,
                                    chatseal_error *err, char *why, size_t wl)
{
    size_t len = evbuffer_get_length(r->body);
    const char *body = (const char *)evbuffer_pullup(r->body, -1);
    char *mapped = NULL;
    why[0] = '\0';
    if (!body)
        body = "";
    if (ad->read_request) {
        if (!(mapped = adapter_request(ad, body, len, &len, err, why, wl)))
            return NULL;
        body = mapped;
    }
    chatseal_conv *conv = NULL;
    *err = chatseal_conv_parse(body, len, lim, &conv);
    if (*err == CHATSEAL_OK &&
        chatseal_conv_count(conv) > (size_t)r->gw->cfg.max_messages) {
        chatseal_conv_free(conv);
        conv = NULL;
        *err = CHATSEAL_E_TOO_MANY_MESSAGES;
    }
    /* the library also takes a bare array; a chat request is an object */
    size_t i = 0;
    while (conv && i < len && strchr(" \t\r\n", body[i]))
        i++;
    if (conv && (i >= len || body[i] != '{')) {
        chatseal_conv_free(conv);
        conv = NULL;
        *err = CHATSEAL_E_INVALID_REQUEST;
        snprintf(why, wl,
                 "the body must be a JSON object with a messages array");
    }
    free(mapped);
    return conv;
}

void cs_api_handle(cs_req *r, const cs_adapter *ad)
{
    cs_gw *gw = r->gw;
    r->endpoint = ad->name;
    r->style = ad->style;
    if (strcmp(r->method, "POST") != 0) {
        cs_req_header(r, "Allow", "POST");
        cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, "use POST");
        return;
    }
    /* one more than --max-messages: the conversation must have room for
     * the reply that will be appended and signed */
    chatseal_limits lim = CHATSEAL_LIMITS_INIT;
    lim.max_messages = (size_t)gw->cfg.max_messages + 1;
    chatseal_error err;
    char pwhy[300];
    chatseal_conv *conv = parse_request(r, ad, &lim, &err, pwhy, sizeof pwhy);
    if (!conv) {
        cs_req_error(r, err, pwhy[0] ? pwhy : NULL);
        return;
    }
    chatseal_conv *pinned = NULL; /* --system-prompt: put first */
    err = cs_policy_pin_system(gw->policy, conv, &lim, &pinned);
    if (pinned) {
        chatseal_conv_free(conv);
        conv = pinned;
        if (chatseal_conv_count(conv) > (size_t)gw->cfg.max_messages)
            err = CHATSEAL_E_TOO_MANY_MESSAGES; /* no room for the reply */
    }
    chat *c = err == CHATSEAL_OK ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        chatseal_conv_free(conv);
        cs_req_error(r, err != CHATSEAL_OK ? err : CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    c->gw = gw;
    c->ad = ad;
    c->conv = conv;
    c->mode = M_HEAD;
    const char *why = NULL;
    if (cs_request_options(r, &c->opt, &c->cid, &c->prn, &why) != CHATSEAL_OK) {
        cs_chat_free(c);
        cs_req_error(r, CHATSEAL_E_INVALID_REQUEST, why);
        return;
    }
    c->opt.fresh_roles = cs_policy_fresh_roles(gw->policy);
    if ((err = cs_policy_purpose(gw->policy, gw->cfg.purpose, conv,
                                 &c->purpose)) != CHATSEAL_OK) {
        cs_chat_free(c);
        cs_req_error(r, err, NULL);
        return;
    }
    if (c->purpose)
        c->opt.purpose = c->purpose;
    const char *htok = cs_headers_get(r->headers, "Chatseal-Token");
    if (chatseal_conv_get_string(conv, "chatseal_token", &c->body_token) !=
        CHATSEAL_OK) {
        cs_chat_free(c);
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    const char *btok = c->body_token;
    if (cs_headers_count(r->headers, "Chatseal-Token") > 1 ||
        (htok && *htok && btok && *btok && strcmp(htok, btok) != 0)) {
        cs_chat_free(c);
        cs_req_error(r, CHATSEAL_E_INVALID_REQUEST,
                     "two different tokens: send one Chatseal-Token header "
                     "or one chatseal_token field");
        return;
    }
    const char *token = htok && *htok ? htok : btok;
    if (token && !*token)
        token = NULL;
    c->r = r;
    c->opt.now = (int64_t)time(NULL); /* one clock for verify and sign */
    /* a client token is checked first, store or not: its precise verdict
     * (content_changed, ...) comes before stale_token */
    if (token) {
        if (verify_or_refuse(c, token, 0) != 0) {
            cs_chat_free(c);
            return;
        }
        if (!(c->token_in = strdup(token))) {
            refuse(c, CHATSEAL_E_NO_MEMORY, NULL, NULL);
            cs_chat_free(c);
            return;
        }
    }
    if (gw->store && c->cid) {
        /* rollback protection wherever a conversation id is sent */
        c->use_store = 1;
        cs_store_key(c->cid, c->prn, c->skey);
        r->hctx = c;
        r->on_abort = on_wait_abort;
        c->store_wait = 1;
        cs_store_get(gw->store, c->skey, on_record, c);
        return;
    }
    if (!token && verify_or_refuse(c, NULL, 0) != 0) {
        cs_chat_free(c);
        return;
    }
    forward(c);
}
