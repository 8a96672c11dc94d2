/*
 * rollback.c -- rollback protection in Redis (optional, --rollback URL).
 *
 * A signed history stays valid after the conversation moves on, so without
 * server state a client may present an older token with the shorter history
 * it covers: a rollback.  With this module the gateway remembers, per
 * conversation, a digest of the newest token it issued, and accepts only
 * that one.  Records are keyed by SHA-256 of the bound conversation id and
 * principal (never the raw values) and hold SHA-256 of the token (never the
 * token): what Redis stores is useless to anyone who reads it.
 *
 * Advancing is a compare-and-set in one Lua script, so two replicas (or two
 * tabs) answering the same turn cannot both hand out a token: the second
 * commit fails with stale_token and its reply goes out without a token.
 *
 * Why synchronous: a check and a commit are one round trip each to a Redis
 * next to the gateway (about 0.1 ms on loopback); hiredis's blocking API with
 * a hard timeout keeps this module small and the bound explicit.  If Redis is
 * slow or gone the gateway fails closed (503) after at most timeout_ms.
 */
#include "policy/rollback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#define CS_RB_PREFIX "chatseal:rb:"

/* KEYS[1] record; ARGV[1] expected digest ("" = none), ARGV[2] new digest,
 * ARGV[3] ttl.  Returns 1 when set, 0 when the record moved on. */
static const char cs_rb_cas[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if (cur == false and ARGV[1] == '') or cur == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3])) "
    "return 1 end return 0";

struct cs_rollback {
    redisContext *c;
    char host[256];
    int port, db;
    char unix_path[256];
    struct timeval tv;
    int64_t ttl;
};

static void cs_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void cs_digest_hex(const char *s, char out[65])
{
    unsigned char d[32];
    unsigned int len = 0;
    if (!EVP_Digest(s, strlen(s), d, &len, EVP_sha256(), NULL))
        memset(d, 0, sizeof d);
    cs_hex(d, sizeof d, out);
}

void cs_rollback_key(const char *cid, const char *prn, char key[65])
{
    /* length-prefixed, like every MAC input: ("a","bc") != ("ab","c") */
    unsigned char d[32];
    unsigned int len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *parts[2] = {cid ? cid : "", prn ? prn : ""};
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (int i = 0; ok && i < 2; i++) {
        size_t n = strlen(parts[i]);
        unsigned char be[4] = {(unsigned char)(n >> 24),
                               (unsigned char)(n >> 16),
                               (unsigned char)(n >> 8), (unsigned char)n};
        ok = EVP_DigestUpdate(md, be, 4) && EVP_DigestUpdate(md, parts[i], n);
    }
    if (!ok || !EVP_DigestFinal_ex(md, d, &len))
        memset(d, 0, sizeof d);
    EVP_MD_CTX_free(md);
    cs_hex(d, sizeof d, key);
}

static int cs_rb_connect(cs_rollback *rb)
{
    if (rb->c && !rb->c->err)
        return 0;
    if (rb->c)
        redisFree(rb->c);
    rb->c = rb->unix_path[0]
                ? redisConnectUnixWithTimeout(rb->unix_path, rb->tv)
                : redisConnectWithTimeout(rb->host, rb->port, rb->tv);
    if (!rb->c || rb->c->err || redisSetTimeout(rb->c, rb->tv) != REDIS_OK)
        return -1;
    if (rb->db) {
        redisReply *r = redisCommand(rb->c, "SELECT %d", rb->db);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* One command; on a broken connection, one reconnect and one retry. */
static redisReply *cs_rb_command(cs_rollback *rb, int argc, const char **argv)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (cs_rb_connect(rb) != 0)
            continue;
        redisReply *r = redisCommandArgv(rb->c, argc, argv, NULL);
        if (r)
            return r;
    }
    return NULL;
}

static int cs_rb_parse(cs_rollback *rb, const char *url)
{
    if (strncmp(url, "unix:", 5) == 0) {
        if (strlen(url + 5) >= sizeof rb->unix_path || !url[5])
            return -1;
        strcpy(rb->unix_path, url + 5);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *h = url + 8, *colon = strrchr(h, ':'), *slash;
    rb->port = 6379;
    slash = strchr(h, '/');
    size_t hl = colon && (!slash || colon < slash) ? (size_t)(colon - h)
                : slash                            ? (size_t)(slash - h)
                                                   : strlen(h);
    if (hl == 0 || hl >= sizeof rb->host)
        return -1;
    memcpy(rb->host, h, hl);
    rb->host[hl] = '\0';
    if (colon && (!slash || colon < slash)) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (p < 1 || p > 65535 || (*end && *end != '/'))
            return -1;
        rb->port = (int)p;
    }
    if (slash && slash[1]) {
        char *end;
        long db = strtol(slash + 1, &end, 10);
        if (db < 0 || db > 1000 || *end)
            return -1;
        rb->db = (int)db;
    }
    return 0;
}

cs_rollback *cs_rollback_new(const char *url, int timeout_ms, int64_t ttl,
                             char *err, size_t errlen)
{
    cs_rollback *rb = calloc(1, sizeof *rb);
    if (!rb) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!url || cs_rb_parse(rb, url) != 0) {
        snprintf(err, errlen,
                 "--rollback wants redis://HOST[:PORT][/DB] or unix:PATH");
        free(rb);
        return NULL;
    }
    if (timeout_ms <= 0)
        timeout_ms = 100;
    rb->tv.tv_sec = timeout_ms / 1000;
    rb->tv.tv_usec = (timeout_ms % 1000) * 1000;
    rb->ttl = ttl > 0 ? ttl : 30 * 86400;
    const char *ping[] = {"PING"};
    redisReply *r = cs_rb_command(rb, 1, ping);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!ok) {
        snprintf(err, errlen, "cannot reach Redis for rollback protection");
        cs_rollback_free(rb);
        return NULL;
    }
    return rb;
}

void cs_rollback_free(cs_rollback *rb)
{
    if (!rb)
        return;
    if (rb->c)
        redisFree(rb->c);
    free(rb);
}

chatseal_error cs_rollback_check(cs_rollback *rb, const char *key,
                                 const char *token)
{
    char rkey[sizeof CS_RB_PREFIX + 64], want[65];
    snprintf(rkey, sizeof rkey, "%s%s", CS_RB_PREFIX, key);
    const char *argv[] = {"GET", rkey};
    redisReply *r = cs_rb_command(rb, 2, argv);
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        freeReplyObject(r);
        return CHATSEAL_E_UPSTREAM_UNAVAILABLE;
    }
    chatseal_error e;
    int has_token = token && *token;
    if (r->type == REDIS_REPLY_NIL)
        /* no record: only a fresh conversation may start one */
        e = has_token ? CHATSEAL_E_STALE_TOKEN : CHATSEAL_OK;
    else if (!has_token)
        e = CHATSEAL_OK; /* a fresh start holds no signed history to roll */
    else {
        cs_digest_hex(token, want);
        e = r->len == 64 && memcmp(r->str, want, 64) == 0
                ? CHATSEAL_OK
                : CHATSEAL_E_STALE_TOKEN;
    }
    freeReplyObject(r);
    return e;
}

chatseal_error cs_rollback_commit(cs_rollback *rb, const char *key,
                                  const char *old_token, const char *new_token)
{
    char rkey[sizeof CS_RB_PREFIX + 64], old[65] = "", neu[65], ttl[24];
    snprintf(rkey, sizeof rkey, "%s%s", CS_RB_PREFIX, key);
    if (old_token && *old_token)
        cs_digest_hex(old_token, old);
    cs_digest_hex(new_token, neu);
    snprintf(ttl, sizeof ttl, "%lld", (long long)rb->ttl);
    /* a fresh start replaces whatever was there */
    const char *argv[] = {"EVAL", cs_rb_cas, "1", rkey, old, neu, ttl};
    const char *set[] = {"SET", rkey, neu, "EX", ttl};
    redisReply *r =
        old[0] ? cs_rb_command(rb, 7, argv) : cs_rb_command(rb, 5, set);
    chatseal_error e;
    if (!r)
        e = CHATSEAL_E_UPSTREAM_UNAVAILABLE;
    else if (r->type == REDIS_REPLY_INTEGER)
        e = r->integer == 1 ? CHATSEAL_OK : CHATSEAL_E_STALE_TOKEN;
    else if (r->type == REDIS_REPLY_STATUS)
        e = CHATSEAL_OK;
    else
        e = CHATSEAL_E_UPSTREAM_UNAVAILABLE;
    freeReplyObject(r);
    return e;
}
