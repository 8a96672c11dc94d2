/*
 * store_redis.c -- the conversation store in Redis, for several gateway
 * replicas behind a load balancer (--store redis://HOST[:PORT][/DB] or
 * unix:PATH; --rollback URL is the old name).
 *
 * Never blocking: hiredis's asynchronous API on the gateway's own libevent
 * loop (its libevent adapter), so a slow or stopped Redis delays only the
 * requests that wait for it, never /healthz or other conversations.  Each
 * call has its own timer (hiredis 0.14 has no command timeout): when it fires
 * the caller gets CHATSEAL_E_STORE_UNAVAILABLE at once and the connection is
 * dropped, because a Redis that does not answer one command will not answer
 * the ones queued behind it; the next call connects again.  A refused
 * connection fails every waiting call in the same loop turn.
 *
 * A record is a hash {t: token, m: message, n: count} under
 * "chatseal:conv:" + the key digest, with Redis's own expiry.  The compare
 * and swap is one Lua script, so two replicas answering the same turn cannot
 * both advance the conversation.
 */
#include "policy/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "ops/log.h"

#define PREFIX "chatseal:conv:"

/* KEYS[1] record; ARGV: expected token ("" = no record), token, message,
 * count, ttl.  1 when set, 0 when the record moved on first. */
static const char cas_lua[] =
    "local cur = redis.call('HGET', KEYS[1], 't') "
    "if (cur == false and ARGV[1] == '') or cur == ARGV[1] then "
    "redis.call('HSET', KEYS[1], 't', ARGV[2], 'm', ARGV[3], 'n', ARGV[4]) "
    "redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5])) "
    "return 1 end return 0";

typedef struct rd {
    struct event_base *base;
    redisAsyncContext *ac; /* NULL: connect on the next call */
    char host[256];
    int port, db;
    char unix_path[256];
    struct timeval tv;
    int64_t ttl;
} rd;

typedef struct op {
    rd *r;
    struct event *timer;
    int done; /* the caller has had its answer (timeout) */
    cs_store_get_cb get_cb;
    cs_store_put_cb put_cb;
    void *arg;
} op;

static void op_answer(op *o, chatseal_error err, const cs_store_rec *rec)
{
    if (o->done)
        return;
    o->done = 1;
    if (o->timer) {
        event_free(o->timer);
        o->timer = NULL;
    }
    if (o->get_cb)
        o->get_cb(o->arg, err, rec);
    else
        o->put_cb(o->arg, err);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rd *r = ac->data;
    if (status != REDIS_OK) {
        cs_log_msg("error", "store_error",
                   "conversation store (Redis): cannot connect");
        if (r && r->ac == ac)
            r->ac = NULL; /* hiredis frees it and fails its calls */
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rd *r = ac->data;
    (void)status;
    if (r && r->ac == ac)
        r->ac = NULL;
}

/* Drops the connection: hiredis answers every queued call with NULL. */
static void rd_drop(rd *r)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static redisAsyncContext *rd_conn(rd *r)
{
    if (r->ac)
        return r->ac;
    redisAsyncContext *ac = r->unix_path[0]
                                ? redisAsyncConnectUnix(r->unix_path)
                                : redisAsyncConnect(r->host, r->port);
    if (!ac)
        return NULL;
    if (ac->err || redisLibeventAttach(ac, r->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = r;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    if (r->db &&
        redisAsyncCommand(ac, NULL, NULL, "SELECT %d", r->db) != REDIS_OK) {
        rd_drop(r);
        return NULL;
    }
    return ac;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    op *o = arg;
    (void)fd;
    (void)what;
    rd *r = o->r;
    op_answer(o, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
    cs_log_msg("error", "store_error",
               "conversation store (Redis): no answer in time");
    rd_drop(r); /* frees o through on_reply */
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    op *o = privdata;
    redisReply *rep = reply;
    (void)ac;
    if (!rep) {
        op_answer(o, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
    } else if (o->put_cb) {
        op_answer(o,
                  rep->type != REDIS_REPLY_INTEGER
                      ? CHATSEAL_E_STORE_UNAVAILABLE
                  : rep->integer == 1 ? CHATSEAL_OK
                                      : CHATSEAL_E_CONVERSATION_CONFLICT,
                  NULL);
    } else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        op_answer(o, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
    } else if (rep->element[0]->type != REDIS_REPLY_STRING) {
        op_answer(o, CHATSEAL_OK, NULL); /* no record */
    } else {
        redisReply **e = rep->element;
        cs_store_rec rec = {e[0]->str, "", 0, 0};
        if (e[1]->type == REDIS_REPLY_STRING) {
            rec.message = e[1]->str;
            rec.message_len = e[1]->len;
        }
        if (e[2]->type == REDIS_REPLY_STRING)
            rec.count = strtol(e[2]->str, NULL, 10);
        op_answer(o, CHATSEAL_OK, &rec);
    }
    free(o);
}

/* Sends one command; on any failure the caller is answered at once. */
static void rd_send(rd *r, op *o, int argc, const char **argv,
                    const size_t *lens)
{
    o->r = r;
    redisAsyncContext *ac = rd_conn(r);
    o->timer = evtimer_new(r->base, on_timeout, o);
    if (!ac || !o->timer || evtimer_add(o->timer, &r->tv) != 0 ||
        redisAsyncCommandArgv(ac, on_reply, o, argc, argv, lens) != REDIS_OK) {
        op_answer(o, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
        free(o);
    }
}

static void rd_get(cs_store *st, const char *key, cs_store_get_cb cb, void *arg)
{
    rd *r = st->engine;
    char rkey[sizeof PREFIX + 64];
    snprintf(rkey, sizeof rkey, "%s%s", PREFIX, key);
    op *o = calloc(1, sizeof *o);
    if (!o) {
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
        return;
    }
    o->get_cb = cb;
    o->arg = arg;
    const char *argv[] = {"HMGET", rkey, "t", "m", "n"};
    size_t lens[] = {5, strlen(rkey), 1, 1, 1};
    rd_send(r, o, 5, argv, lens);
}

static void rd_cas(cs_store *st, const char *key, const char *old_token,
                   const char *token, const char *message, size_t message_len,
                   long count, cs_store_put_cb cb, void *arg)
{
    rd *r = st->engine;
    char rkey[sizeof PREFIX + 64], n[24], ttl[24];
    snprintf(rkey, sizeof rkey, "%s%s", PREFIX, key);
    snprintf(n, sizeof n, "%ld", count);
    snprintf(ttl, sizeof ttl, "%lld", (long long)st->ttl);
    op *o = calloc(1, sizeof *o);
    if (!o) {
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE);
        return;
    }
    o->put_cb = cb;
    o->arg = arg;
    const char *old = old_token ? old_token : "";
    const char *argv[] = {"EVAL", cas_lua, "1", rkey, old,
                          token,  message, n,   ttl};
    size_t lens[] = {4,           sizeof cas_lua - 1, 1,           strlen(rkey),
                     strlen(old), strlen(token),      message_len, strlen(n),
                     strlen(ttl)};
    rd_send(r, o, 9, argv, lens);
}

static void rd_free(cs_store *st)
{
    rd *r = st->engine;
    if (r) {
        rd_drop(r); /* answers what is still waiting */
        free(r);
    }
}

static const cs_store_ops rd_ops = {rd_get, rd_cas, rd_free};

static int rd_parse(rd *r, const char *url)
{
    if (!strncmp(url, "unix:", 5)) {
        if (!url[5] || strlen(url + 5) >= sizeof r->unix_path)
            return -1;
        strcpy(r->unix_path, url + 5);
        return 0;
    }
    const char *h = url + 8, *colon = strrchr(h, ':'), *slash = strchr(h, '/');
    int has_port = colon && (!slash || colon < slash);
    size_t hl = has_port ? (size_t)(colon - h)
                : slash  ? (size_t)(slash - h)
                         : strlen(h);
    if (hl == 0 || hl >= sizeof r->host)
        return -1;
    memcpy(r->host, h, hl);
    r->host[hl] = '\0';
    r->port = 6379;
    if (has_port) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (p < 1 || p > 65535 || (*end && *end != '/'))
            return -1;
        r->port = (int)p;
    }
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (db < 0 || db > 1000 || *end)
            return -1;
        r->db = (int)db;
    }
    return 0;
}

int cs_store_redis_open(cs_store *st, const char *url, struct event_base *base,
                        int timeout_ms, char *err, size_t errlen)
{
    rd *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (rd_parse(r, url) != 0) {
        snprintf(err, errlen,
                 "--store wants redis://HOST[:PORT][/DB] or unix:PATH");
        free(r);
        return -1;
    }
    r->base = base;
    r->tv.tv_sec = timeout_ms / 1000;
    r->tv.tv_usec = (timeout_ms % 1000) * 1000;
    /* one blocking PING at start-up only (before the loop runs): a wrong
     * address is a configuration error better reported now */
    redisContext *c = r->unix_path[0]
                          ? redisConnectUnixWithTimeout(r->unix_path, r->tv)
                          : redisConnectWithTimeout(r->host, r->port, r->tv);
    redisReply *pong = NULL;
    if (c && !c->err && redisSetTimeout(c, r->tv) == REDIS_OK)
        pong = redisCommand(c, "PING");
    int ok = pong && pong->type == REDIS_REPLY_STATUS;
    freeReplyObject(pong);
    if (c)
        redisFree(c);
    if (!ok) {
        snprintf(err, errlen, "cannot reach Redis for the conversation store");
        free(r);
        return -1;
    }
    st->engine = r;
    st->ops = &rd_ops;
    if (r->unix_path[0])
        snprintf(st->describe, sizeof st->describe, "unix:%s", r->unix_path);
    else
        snprintf(st->describe, sizeof st->describe, "redis://%s:%d/%d", r->host,
                 r->port, r->db);
    return 0;
}
