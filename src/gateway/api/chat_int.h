/*
 * chat_int.h -- the state of one request on a chat API (any adapter.h
 * adapter: Chat Completions, Responses, Messages, Ollama), shared by chat.c
 * (forward, sign, reply) and chat_entry.c (parse, verify, the conversation
 * store's record).  Internal to the shared path.
 */
#ifndef CS_GATEWAY_CHAT_INT_H
#define CS_GATEWAY_CHAT_INT_H

#include <stdint.h>

#include "api/adapter.h"
#include "chatseal.h"
#include "core/server.h"
#include "upstream/ndjson.h"
#include "upstream/sse.h"
#include "upstream/upstream.h"

enum mode { M_HEAD, M_JSON, M_SSE, M_NDJSON, M_PASS, M_DRAIN };

typedef struct chat {
    cs_req *r; /* NULL once answered or gone */
    cs_gw *gw;
    const cs_adapter *ad; /* the request's API */
    chatseal_conv *conv;
    chatseal_options opt;
    char *cid, *prn;
    char *purpose;    /* --bind-parameters: purpose + digest (policy.c) */
    size_t signed_n;  /* messages the verified token covers (or pinned) */
    size_t n_before;  /* messages before the reply was appended */
    char *token_in;   /* the verified token: the client's or the store's */
    char *body_token; /* the "chatseal_token" body field, if any */
    char skey[65];    /* the conversation's record in the store */
    int use_store;    /* a conversation id was sent and a store is on */
    int store_wait;   /* a store call is pending: keep c alive */
    /* a signed reply waiting for its commit: the reply body (JSON), the
     * chatseal member, the token */
    char *p_canon, *p_member, *p_token;
    size_t p_clen;
    cs_upreq *up; /* NULL once finished or cancelled */
    enum mode mode;
    int status;
    char *ctype;
    struct evbuffer *buf;
    cs_sse sse;
    cs_ndjson nd; /* M_NDJSON */
    void *st;     /* the adapter's stream state: a stream was begun */
    int stream_open;
    int plain; /* pass the reply through whatever it is (GET /v1/models) */
    int paused;
    int busy;
    uint64_t t_sent;
} chat;

/* Frees c and everything it holds (not the request). */
void cs_chat_free(chat *c);
/* Frees c once nothing holds it: no request, no upstream, no store call,
 * none of its callbacks running. */
void cs_chat_maybe_free(chat *c);
/* Takes the request from c for its one answer (no hook of c runs for it
 * after this). */
cs_req *cs_chat_release(chat *c);
/* Sends the request upstream; takes body over; answers and frees c on
 * failure. */
void cs_chat_start_upstream(cs_req *r, chat *c, const char *method, char *body,
                            size_t len);

/* Answers with an error (before anything was sent) and lets go of r. */
void cs_chat_answer_error(chat *c, chatseal_error e, const char *detail);
/* Ends a started stream: the adapter's error event (when send_event), no
 * token. */
void cs_chat_stream_error(chat *c, chatseal_error e, const char *detail,
                          int send_event);
/* The stream's gauge goes down once. */
void cs_chat_stream_closed(chat *c);
/* Signs and answers a whole JSON reply (c->buf) / a finished stream
 * (chat_sign.c). */
void cs_chat_finish_json(chat *c);
void cs_chat_finish_stream(chat *c);

#endif
