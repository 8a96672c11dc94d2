/*
 * bench_store.c -- the conversation store's engine, chosen by measurement.
 *
 * What the gateway does per turn with a store: one lookup (the newest token
 * of the conversation) and one compare-and-swap commit (the next token, if
 * the record still holds the one that was read).  This program does exactly
 * that with records of the gateway's size (a ~300-byte token and a ~600-byte
 * message), over a pool of conversations, from 1 and 2 processes at the same
 * time on one database (--workers 2), and prints microseconds per turn and
 * turns per second for:
 *
 *   lmdb-nosync   LMDB, MDB_NOSYNC (what the gateway uses)
 *   lmdb-sync     LMDB, fsync per commit
 *   sqlite-normal SQLite, WAL, synchronous=NORMAL, busy_timeout
 *   sqlite-full   SQLite, WAL, synchronous=FULL
 *
 *   bench_store [TURNS] [DIR]      (default 20000 turns per process, /tmp)
 *
 * Results and the choice: docs/PERFORMANCE.md ("Conversation store").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sqlite3.h>

#define KEYS 1000
#define TOKLEN 300
#define MSGLEN 600

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_key(char *key, int proc, int i)
{
    snprintf(key, 80, "%030d%02d%032d", 0, proc % 100, i % KEYS);
}

static void make_token(char *tok, unsigned gen)
{
    memset(tok, 'a' + gen % 26, TOKLEN);
    snprintf(tok, 12, "%010u", gen);
    tok[10] = '.';
    tok[TOKLEN] = '\0';
}

/* ----------------------------------------------------------------- LMDB -- */

static int lmdb_run(const char *dir, int sync, int proc, int turns)
{
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, (size_t)1 << 30) ||
        mdb_env_open(env, dir, MDB_NOTLS | (sync ? 0 : MDB_NOSYNC), 0600) ||
        mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi) ||
        mdb_txn_commit(txn))
        return -1;
    static char msg[MSGLEN], tok[TOKLEN + 1], cur[TOKLEN + 1];
    memset(msg, 'm', sizeof msg);
    char key[80];
    for (int i = 0; i < turns; i++) {
        make_key(key, proc, i);
        MDB_val k = {64, key}, v;
        /* lookup: a read transaction, the token copied out */
        cur[0] = '\0';
        if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
            return -1;
        if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size >= TOKLEN)
            memcpy(cur, v.mv_data, TOKLEN), cur[TOKLEN] = '\0';
        mdb_txn_abort(txn);
        /* commit: compare and swap in one write transaction */
        make_token(tok, (unsigned)i);
        if (mdb_txn_begin(env, NULL, 0, &txn))
            return -1;
        int rc = mdb_get(txn, dbi, &k, &v);
        int match = rc == MDB_NOTFOUND ? cur[0] == '\0'
                                       : !memcmp(v.mv_data, cur, TOKLEN);
        if (!match) {
            mdb_txn_abort(txn);
            return -1;
        }
        v.mv_size = TOKLEN + MSGLEN;
        if (mdb_put(txn, dbi, &k, &v, MDB_RESERVE))
            return -1;
        memcpy(v.mv_data, tok, TOKLEN);
        memcpy((char *)v.mv_data + TOKLEN, msg, MSGLEN);
        if (mdb_txn_commit(txn))
            return -1;
    }
    mdb_env_close(env);
    return 0;
}

/* --------------------------------------------------------------- SQLite -- */

static int sqlite_run(const char *dir, int full, int proc, int turns)
{
    char path[512];
    snprintf(path, sizeof path, "%s/store.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    const char *setup =
        full ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
               "CREATE TABLE IF NOT EXISTS conv (k TEXT PRIMARY KEY, t TEXT "
               "NOT NULL, m BLOB, n INTEGER, exp INTEGER)"
             : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
               "CREATE TABLE IF NOT EXISTS conv (k TEXT PRIMARY KEY, t TEXT "
               "NOT NULL, m BLOB, n INTEGER, exp INTEGER)";
    /* two processes switching a new file to WAL at once: one gets
     * SQLITE_BUSY without the busy handler; try again for a while */
    int rc = SQLITE_BUSY;
    for (int tries = 0; rc != SQLITE_OK && tries < 500; tries++) {
        sqlite3_free(err);
        err = NULL;
        rc = sqlite3_exec(db, setup, NULL, NULL, &err);
        if (rc != SQLITE_OK)
            usleep(10000);
    }
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", err ? err : "?");
        return -1;
    }
    sqlite3_stmt *get, *ins, *upd;
    if (sqlite3_prepare_v2(db, "SELECT t FROM conv WHERE k=?", -1, &get,
                           NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO conv VALUES (?,?,?,1,0)",
                           -1, &ins, NULL) ||
        sqlite3_prepare_v2(db, "UPDATE conv SET t=?, m=? WHERE k=? AND t=?", -1,
                           &upd, NULL))
        return -1;
    static char msg[MSGLEN], tok[TOKLEN + 1], cur[TOKLEN + 1];
    memset(msg, 'm', sizeof msg);
    char key[80];
    for (int i = 0; i < turns; i++) {
        make_key(key, proc, i);
        cur[0] = '\0';
        sqlite3_bind_text(get, 1, key, 64, SQLITE_STATIC);
        if (sqlite3_step(get) == SQLITE_ROW)
            snprintf(cur, sizeof cur, "%s", sqlite3_column_text(get, 0));
        sqlite3_reset(get);
        make_token(tok, (unsigned)i);
        /* compare and swap: one statement, atomic in SQLite */
        sqlite3_stmt *s = cur[0] ? upd : ins;
        if (cur[0]) {
            sqlite3_bind_text(upd, 1, tok, TOKLEN, SQLITE_STATIC);
            sqlite3_bind_blob(upd, 2, msg, MSGLEN, SQLITE_STATIC);
            sqlite3_bind_text(upd, 3, key, 64, SQLITE_STATIC);
            sqlite3_bind_text(upd, 4, cur, TOKLEN, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(ins, 1, key, 64, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, tok, TOKLEN, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 3, msg, MSGLEN, SQLITE_STATIC);
        }
        int step = sqlite3_step(s);
        int changed = sqlite3_changes(db);
        sqlite3_reset(s);
        if (step != SQLITE_DONE || changed != 1)
            return -1;
    }
    sqlite3_finalize(get);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_close(db);
    return 0;
}

/* ---------------------------------------------------------------- main -- */

static int run(const char *engine, const char *dir, int proc, int turns)
{
    if (!strcmp(engine, "lmdb-nosync"))
        return lmdb_run(dir, 0, proc, turns);
    if (!strcmp(engine, "lmdb-sync"))
        return lmdb_run(dir, 1, proc, turns);
    if (!strcmp(engine, "sqlite-normal"))
        return sqlite_run(dir, 0, proc, turns);
    return sqlite_run(dir, 1, proc, turns);
}

/* procs processes at once on one fresh database; turns per second overall */
static double measure(const char *engine, const char *base, int procs,
                      int turns)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-store-%s-%d-%d", base, engine, procs,
             (int)getpid());
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    double t0 = now_s();
    pid_t pids[2];
    for (int p = 0; p < procs; p++) {
        pids[p] = fork();
        if (pids[p] == 0)
            _exit(run(engine, dir, p, turns) == 0 ? 0 : 1);
    }
    int ok = 1;
    for (int p = 0; p < procs; p++) {
        int st = 0;
        waitpid(pids[p], &st, 0);
        ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    double dt = now_s() - t0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_store: could not remove %s\n", dir);
    return ok ? (double)turns * procs / dt : -1;
}

int main(int argc, char **argv)
{
    int turns = argc > 1 ? atoi(argv[1]) : 20000;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    static const char *const engines[] = {"lmdb-nosync", "lmdb-sync",
                                          "sqlite-normal", "sqlite-full"};
    printf("%-14s %5s %12s %12s\n", "engine", "procs", "turns/s", "us/turn");
    for (size_t e = 0; e < 4; e++) {
        for (int procs = 1; procs <= 2; procs++) {
            /* fsync engines: fewer turns, the same answer */
            int n = strstr(engines[e], "nosync") || strstr(engines[e], "normal")
                        ? turns
                        : turns / 20;
            double tps = measure(engines[e], base, procs, n);
            if (tps < 0) {
                printf("%-14s %5d %12s\n", engines[e], procs, "FAILED");
                continue;
            }
            printf("%-14s %5d %12.0f %12.1f\n", engines[e], procs, tps,
                   1e6 / tps * procs);
        }
    }
    return 0;
}
