/*
 * chat_sign.c -- the end of a reply on the shared path (chat.c): the
 * model's message appended to the verified conversation and signed, the
 * chatseal member built, the conversation store's commit, and the token
 * handed to the client in the JSON reply or the stream's closing bytes.
 *
 * Nothing the client sent is re-read here: the reply's messages are appended
 * to the conversation that was parsed and verified at the entry, so nothing
 * unverified is ever signed.  With a store, the token exists for the client
 * only once the commit made it the conversation's newest.
 */
#include "api/chat_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api/jspan.h"
#include "ops/metrics.h"
#include "policy/store.h"

#define HEADER_TOKEN_MAX 8192 /* longer tokens: body member or stream only */

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

/* The adapter's "output" (malloc'd JSON text) of the signed forms. */
static char *adapter_output(chat *c, const char *forms, size_t flen)
{
    json_t *f =
        json_loadb(forms, flen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    json_t *o = f ? c->ad->output(f) : NULL;
    json_decref(f);
    size_t n = 0;
    char *out = o ? cs_json_canonical(o, &n) : NULL;
    json_decref(o);
    return out;
}

/* The one signed form in forms ("[f]"), byte for byte (malloc'd). */
static char *single_form(const char *forms, size_t flen)
{
    cs_span arr = {forms, flen}, el;
    if (cs_json_element(arr, 0, &el) != 1)
        return NULL;
    char *out = malloc(el.n + 1);
    if (out) {
        memcpy(out, el.p, el.n);
        out[el.n] = '\0';
    }
    return out;
}

/*
 * The chatseal member of a reply (malloc'd): {"count","kid",[out],"token"},
 * keys in order.  With an output: the adapter's rendering of the signed
 * forms under "output"; an adapter without one (Chat Completions, whose
 * stream's last chunk it is, as it always was) gets the signed message
 * itself, canonical text not re-encoded, under "message".  Chat
 * Completions' JSON reply has none: the body holds the message.
 */
static char *chatseal_member(chat *c, const char *forms, size_t flen,
                             const char *token, int with_output)
{
    char *out = NULL;
    if (with_output && forms) {
        out = c->ad->output ? adapter_output(c, forms, flen)
                            : single_form(forms, flen);
        if (!out)
            return NULL;
    }
    const char *kid = chatseal_keyring_signing_kid(c->gw->ring);
    size_t n = strlen(kid) + strlen(token) + (out ? strlen(out) : 0) + 64;
    char *m = malloc(n);
    if (m)
        snprintf(m, n, "{\"count\":%zu,\"kid\":\"%s\",%s%s%s\"token\":\"%s\"}",
                 chatseal_conv_count(c->conv), kid,
                 out ? (c->ad->output ? "\"output\":" : "\"message\":") : "",
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
            cs_chat_stream_error(c, err, commit_why(err), 1);
        else
            cs_chat_answer_error(c, err, commit_why(err));
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
            cs_chat_stream_error(c, CHATSEAL_E_NO_MEMORY, NULL, 1);
        else
            cs_chat_answer_error(c, CHATSEAL_E_NO_MEMORY, NULL);
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
    } else if (!(out = json_dumps(msgs,
                                  JSON_COMPACT | JSON_REAL_PRECISION(17)))) {
        snprintf(why, wl, "out of memory");
    } else {
        *len = strlen(out);
    }
    json_decref(j);
    json_decref(msgs);
    return out;
}

void cs_chat_finish_json(chat *c)
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
        cs_chat_answer_error(c, CHATSEAL_E_UPSTREAM_ERROR, why);
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
        cs_chat_answer_error(
            c, CHATSEAL_E_UPSTREAM_ERROR,
            why[0] ? why : "the upstream reply has no choices[0].message");
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
        cs_chat_answer_error(
            c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why);
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

void cs_chat_finish_stream(chat *c)
{
    json_t *msgs = c->ad->stream_messages(c->st);
    char *text =
        msgs ? json_dumps(msgs, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(msgs);
    char *token = NULL;
    chatseal_error err =
        text ? sign_reply(c, text, strlen(text), &token) : CHATSEAL_E_NO_MEMORY;
    free(text);
    if (err != CHATSEAL_OK) {
        char why[160];
        snprintf(why, sizeof why, "the streamed message cannot be signed (%s)",
                 chatseal_error_name(err));
        cs_chat_stream_error(
            c, keep_error(err) ? err : CHATSEAL_E_UPSTREAM_ERROR, why, 1);
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
        cs_chat_stream_error(c, CHATSEAL_E_NO_MEMORY, NULL, 1);
        return;
    }
    cs_req *r = cs_chat_release(c);
    cs_req_stream_write(r, end, n);
    free(end);
    cs_chat_stream_closed(c);
    cs_req_stream_end(r, 0);
    c->mode = M_DRAIN; /* the upstream may still send its last bytes */
}
