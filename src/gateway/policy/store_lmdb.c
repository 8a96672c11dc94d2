/*
 * store_lmdb.c -- the embedded conversation store (the default engine).
 *
 * Why LMDB: measured against SQLite for the one thing the gateway does, a
 * lookup and a compare-and-swap commit per turn, from 1 and 2 processes
 * (bench/bench_store.c, figures in docs/PERFORMANCE.md).  It needs no server,
 * survives a restart (a memory-mapped file), and is safe with --workers: every
 * worker opens the environment after the fork, readers never block, and
 * writers are serialized by LMDB's lock file across processes, so the compare
 * and the swap of one commit happen inside one write transaction that no
 * other process can interleave with.
 *
 * The calls are synchronous (the callback runs before the call returns): a
 * write transaction is a few microseconds of memory copies, the same order
 * as verifying a token, so the event loop is not held in any way that
 * matters.  Durability: MDB_NOSYNC, see docs/PERFORMANCE.md: a process crash
 * or restart loses nothing (the pages are in the kernel's cache); a power
 * loss can lose the last commits (each is a record that goes back one turn).
 *
 * A value is: expiry (int64, Unix seconds), count (int64), token length
 * (uint32), the token, the message.  Expired records read as absent and are
 * removed by a small sweep that runs with every 64th commit.
 */
#include "policy/store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#include "ops/log.h"

#define HDR 20                     /* expiry, count, token length */
#define MAP_SIZE ((size_t)4 << 30) /* 4 GiB of address space, sparse */
#define SWEEP_EVERY 64             /* commits between two sweeps */
#define SWEEP_STEP 64              /* records looked at by one sweep */

typedef struct lm {
    MDB_env *env;
    MDB_dbi dbi;
    unsigned commits;
    char sweep_at[65]; /* where the next sweep starts ("" = first key) */
} lm;

static void lm_log(const char *what, int rc)
{
    char msg[200];
    snprintf(msg, sizeof msg, "conversation store (LMDB): %s: %s", what,
             mdb_strerror(rc));
    cs_log_msg("error", "store_error", msg);
}

/* Decodes a value; 0 when it is a live record. */
static int lm_decode(const MDB_val *v, int64_t now, cs_store_rec *rec,
                     int64_t *expires)
{
    int64_t exp, count;
    uint32_t tl;
    if (v->mv_size < HDR)
        return -1;
    memcpy(&exp, v->mv_data, 8);
    memcpy(&count, (char *)v->mv_data + 8, 8);
    memcpy(&tl, (char *)v->mv_data + 16, 4);
    if ((size_t)tl > v->mv_size - HDR)
        return -1;
    if (expires)
        *expires = exp;
    if (exp <= now)
        return 1;
    rec->token = (const char *)v->mv_data + HDR;
    rec->message = rec->token + tl;
    rec->message_len = v->mv_size - HDR - tl;
    rec->count = (long)count;
    return 0;
}

static void lm_get(cs_store *st, const char *key, cs_store_get_cb cb, void *arg)
{
    lm *l = st->engine;
    MDB_txn *txn = NULL;
    MDB_val k = {64, (void *)(uintptr_t)key}, v; /* lmdb only reads it */
    int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_get(txn, l->dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        cb(arg, CHATSEAL_OK, NULL);
        return;
    }
    if (rc != 0) {
        lm_log("read", rc);
        mdb_txn_abort(txn);
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
        return;
    }
    /* the record is copied out: the map may move once the txn ends */
    cs_store_rec rec;
    int live = lm_decode(&v, (int64_t)time(NULL), &rec, NULL) == 0;
    char *tok = NULL, *msg = NULL;
    if (live) {
        size_t tl = (size_t)(rec.message - rec.token);
        tok = malloc(tl + 1);
        msg = malloc(rec.message_len + 1);
        if (tok && msg) {
            memcpy(tok, rec.token, tl);
            tok[tl] = '\0';
            memcpy(msg, rec.message, rec.message_len);
            msg[rec.message_len] = '\0';
            rec.token = tok;
            rec.message = msg;
        }
    }
    mdb_txn_abort(txn);
    if (live && (!tok || !msg))
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE, NULL);
    else
        cb(arg, CHATSEAL_OK, live ? &rec : NULL);
    free(tok);
    free(msg);
}

/* Removes up to SWEEP_STEP expired records after sweep_at, inside txn. */
static void lm_sweep(lm *l, MDB_txn *txn, int64_t now)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, l->dbi, &cur) != 0)
        return;
    MDB_val k = {strlen(l->sweep_at), l->sweep_at}, v;
    int rc = k.mv_size ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                       : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    int n = 0;
    for (; rc == 0 && n < SWEEP_STEP; n++) {
        cs_store_rec rec;
        int64_t exp = 0;
        if (lm_decode(&v, now, &rec, &exp) != 0)
            mdb_cursor_del(cur, 0);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size < sizeof l->sweep_at) {
        memcpy(l->sweep_at, k.mv_data, k.mv_size);
        l->sweep_at[k.mv_size] = '\0';
    } else {
        l->sweep_at[0] = '\0'; /* the end: start over next time */
    }
    mdb_cursor_close(cur);
}

static void lm_cas(cs_store *st, const char *key, const char *old_token,
                   const char *token, const char *message, size_t message_len,
                   long count, cs_store_put_cb cb, void *arg)
{
    lm *l = st->engine;
    MDB_txn *txn = NULL;
    MDB_val k = {64, (void *)(uintptr_t)key}, v; /* lmdb only reads it */
    int64_t now = (int64_t)time(NULL);
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (rc != 0) {
        lm_log("begin", rc);
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE);
        return;
    }
    rc = mdb_get(txn, l->dbi, &k, &v);
    cs_store_rec cur;
    int have = rc == 0 && lm_decode(&v, now, &cur, NULL) == 0;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        lm_log("read", rc);
        mdb_txn_abort(txn);
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE);
        return;
    }
    int match =
        old_token
            ? have && (size_t)(cur.message - cur.token) == strlen(old_token) &&
                  !memcmp(cur.token, old_token, strlen(old_token))
            : !have;
    if (!match) {
        mdb_txn_abort(txn);
        cb(arg, CHATSEAL_E_CONVERSATION_CONFLICT);
        return;
    }
    size_t tl = strlen(token);
    int64_t exp = now + st->ttl, cnt = count;
    uint32_t tl32 = (uint32_t)tl;
    v.mv_size = HDR + tl + message_len;
    rc = mdb_put(txn, l->dbi, &k, &v, MDB_RESERVE);
    if (rc == 0) {
        char *p = v.mv_data;
        memcpy(p, &exp, 8);
        memcpy(p + 8, &cnt, 8);
        memcpy(p + 16, &tl32, 4);
        memcpy(p + HDR, token, tl);
        memcpy(p + HDR + tl, message, message_len);
        if (++l->commits % SWEEP_EVERY == 0) {
            int dead = 0; /* reader slots of a worker that died */
            mdb_reader_check(l->env, &dead);
            lm_sweep(l, txn, now);
        }
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        lm_log("commit", rc); /* MDB_MAP_FULL: see docs/GATEWAY.md */
        cb(arg, CHATSEAL_E_STORE_UNAVAILABLE);
        return;
    }
    cb(arg, CHATSEAL_OK);
}

static void lm_free(cs_store *st)
{
    lm *l = st->engine;
    if (l) {
        mdb_env_close(l->env);
        free(l);
    }
}

static const cs_store_ops lm_ops = {lm_get, lm_cas, lm_free};

int cs_store_lmdb_open(cs_store *st, const char *path, char *err, size_t errlen)
{
    if (!*path) {
        snprintf(err, errlen, "--store lmdb: wants a directory");
        return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--store: cannot create %s: %s", path,
                 strerror(errno));
        return -1;
    }
    lm *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&l->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(l->env, MAP_SIZE);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(l->env, 512);
    if (rc == 0)
        rc = mdb_env_open(l->env, path, MDB_NOTLS | MDB_NOSYNC, 0600);
    if (rc == 0) {
        int dead = 0; /* reader slots of workers that died */
        mdb_reader_check(l->env, &dead);
        rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    }
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &l->dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn)
        mdb_txn_abort(txn);
    if (rc != 0) {
        snprintf(err, errlen, "--store: cannot open the LMDB store in %s: %s",
                 path, mdb_strerror(rc));
        if (l->env)
            mdb_env_close(l->env);
        free(l);
        return -1;
    }
    st->engine = l;
    st->ops = &lm_ops;
    char *abs = realpath(path, NULL);
    snprintf(st->describe, sizeof st->describe, "lmdb:%s", abs ? abs : path);
    free(abs);
    return 0;
}
