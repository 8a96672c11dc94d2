/*
 * store.h -- the conversation store: the newest token of each conversation
 * (and the assistant message it ends with), so that a client that sends only
 * a conversation id needs no token code, and so that an older token is never
 * a way back (rollback protection).
 *
 * One interface, three engines chosen by --store:
 *   PATH | lmdb:PATH   embedded LMDB environment (the default,
 * ./chatseal-store) redis://H[:P][/DB] | unix:PATH   Redis, for replicas behind
 * a balancer none               no store: tokens carried by clients, no
 * rollback check
 *
 * Calls are asynchronous with one callback each, because Redis is reached
 * over the network and must never block the event loop.  The embedded engine
 * answers before the call returns (the callback runs inside the call): a
 * caller must not touch its state after the call unless it knows the call is
 * still pending.  Every callback runs exactly once, also when the store is
 * freed with calls pending (with CHATSEAL_E_STORE_UNAVAILABLE).
 */
#ifndef CS_GATEWAY_STORE_H
#define CS_GATEWAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "chatseal.h"

struct event_base;
typedef struct cs_store cs_store;

/* One conversation's record: the newest token, how many messages it covers,
 * and the last message it signed (canonical JSON).  Valid during the
 * callback only. */
typedef struct cs_store_rec {
    const char *token;
    const char *message;
    size_t message_len;
    long count;
} cs_store_rec;

/* err: CHATSEAL_OK (rec NULL when there is no record) or
 * CHATSEAL_E_STORE_UNAVAILABLE. */
typedef void (*cs_store_get_cb)(void *arg, chatseal_error err,
                                const cs_store_rec *rec);
/* err: CHATSEAL_OK, CHATSEAL_E_CONVERSATION_CONFLICT (the record moved on
 * first), or CHATSEAL_E_STORE_UNAVAILABLE. */
typedef void (*cs_store_put_cb)(void *arg, chatseal_error err);

/*
 * Opens the store named by spec (see above; NULL or "none" gives NULL with
 * err empty).  base: the loop Redis replies are read on.  timeout_ms bounds
 * every Redis round trip (connect included); ttl: seconds a record lives
 * after its last turn.  NULL with a sentence in err on failure.
 */
cs_store *cs_store_open(const char *spec, struct event_base *base,
                        int timeout_ms, int64_t ttl, char *err, size_t errlen);
void cs_store_free(cs_store *st);
/* "lmdb:/abs/path", "redis://127.0.0.1:6379", for the start-up log. */
const char *cs_store_describe(const cs_store *st);

/*
 * The record key of a conversation: SHA-256 over the length-prefixed
 * conversation id and principal (never the raw values), 64 hex digits.
 */
void cs_store_key(const char *cid, const char *prn, char key[65]);

void cs_store_get(cs_store *st, const char *key, cs_store_get_cb cb, void *arg);

/*
 * Compare and swap: makes (token, message, count) the record if the record's
 * token is still old_token (NULL: if there is no record).  A fresh start
 * therefore never overwrites an existing conversation.  A message longer
 * than CS_STORE_MESSAGE_MAX is not kept (the record holds none).
 */
#define CS_STORE_MESSAGE_MAX (256 * 1024)
void cs_store_cas(cs_store *st, const char *key, const char *old_token,
                  const char *token, const char *message, size_t message_len,
                  long count, cs_store_put_cb cb, void *arg);

/* ---- engines (store_lmdb.c, store_redis.c); used by store.c only ---- */

typedef struct cs_store_ops {
    void (*get)(cs_store *st, const char *key, cs_store_get_cb cb, void *arg);
    void (*cas)(cs_store *st, const char *key, const char *old_token,
                const char *token, const char *message, size_t message_len,
                long count, cs_store_put_cb cb, void *arg);
    void (*free)(cs_store *st);
} cs_store_ops;

struct cs_store {
    const cs_store_ops *ops;
    char describe[300];
    int64_t ttl;
    void *engine;
};

int cs_store_lmdb_open(cs_store *st, const char *path, char *err,
                       size_t errlen);
int cs_store_redis_open(cs_store *st, const char *url, struct event_base *base,
                        int timeout_ms, char *err, size_t errlen);

#endif
