/*
 * conversation.c -- GET /v1/chatseal/conversation: a lost reply, given back.
 *
 * With a store the gateway commits a reply's token before it sends the
 * reply.  If the reply is then lost (the client timed out, the connection
 * broke, the process crashed), the conversation has moved on without the
 * client: resending the old history fails (truncated / conversation_exists).
 * This endpoint returns the conversation's record for the conversation id
 * (and principal) of the request: the newest token, how many messages it
 * covers, and the last signed message.  The client appends that message to
 * its history and goes on.
 *
 * Why this is no way back (rollback): it only ever hands out the newest
 * state, which the caller could continue from anyway (a client without token
 * code continues any conversation whose id it sends); nothing older is kept.
 * Who may read: whoever holds the id and, when --principal-header is set,
 * the same principal (the record key is bound to both).  Conversation ids
 * must therefore be unguessable (docs/GATEWAY.md).
 */
#include "api/conversation.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "api/chat.h"
#include "policy/store.h"

typedef struct waiter {
    cs_req *r; /* NULL once the client left */
} waiter;

static void on_abort(cs_req *r)
{
    waiter *w = r->hctx;
    w->r = NULL;
}

static void on_record(void *arg, chatseal_error err, const cs_store_rec *rec)
{
    waiter *w = arg;
    cs_req *r = w->r;
    free(w);
    if (!r)
        return;
    r->on_abort = NULL;
    if (err != CHATSEAL_OK) {
        cs_req_error(r, CHATSEAL_E_STORE_UNAVAILABLE,
                     "the conversation store did not answer");
        return;
    }
    if (!rec) {
        cs_req_error(r, CHATSEAL_E_NOT_FOUND,
                     "no record for this conversation (and principal)");
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    /* the message is the canonical JSON that was signed, byte for byte */
    evbuffer_add_printf(
        b, "{\"conversation\":{\"count\":%ld,\"message\":", rec->count);
    if (rec->message_len)
        evbuffer_add(b, rec->message, rec->message_len);
    else
        evbuffer_add(b, "null", 4);
    evbuffer_add_printf(b, ",\"token\":\"%s\"}}", rec->token);
    cs_req_header(r, "Cache-Control", "no-store");
    cs_req_reply_buffer(r, 200, "application/json", b);
    evbuffer_free(b);
}

void cs_conversation_handle(cs_req *r)
{
    r->endpoint = "conversation";
    if (strcmp(r->method, "GET") != 0) {
        cs_req_header(r, "Allow", "GET");
        cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, "use GET");
        return;
    }
    if (!r->gw->store) {
        cs_req_error(r, CHATSEAL_E_NOT_FOUND,
                     "no conversation store: the gateway runs with "
                     "--store none");
        return;
    }
    chatseal_options opt;
    char *cid = NULL, *prn = NULL;
    const char *why = NULL;
    if (cs_request_options(r, &opt, &cid, &prn, &why) != CHATSEAL_OK) {
        cs_req_error(r, CHATSEAL_E_INVALID_REQUEST, why);
        return;
    }
    if (!cid) {
        free(prn);
        cs_req_error(r, CHATSEAL_E_INVALID_REQUEST,
                     "send the conversation id header");
        return;
    }
    char key[65];
    cs_store_key(cid, prn, key);
    free(cid);
    free(prn);
    waiter *w = calloc(1, sizeof *w);
    if (!w) {
        cs_req_error(r, CHATSEAL_E_NO_MEMORY, NULL);
        return;
    }
    w->r = r;
    r->hctx = w;
    r->on_abort = on_abort;
    cs_store_get(r->gw->store, key, on_record, w);
}
