/*
 * test_store.c -- the conversation store's embedded engine (LMDB) through
 * the store interface (src/gateway/policy/store.h), without the gateway:
 * the compare-and-swap rules (a fresh start never overwrites, an old token
 * never wins), the record kept across a reopen (a restart), expiry, the key
 * digest, and atomicity with two processes advancing one conversation at
 * once (--workers).  The Redis engine is tested through the real gateway
 * (tests/gateway/test_rollback.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/store.h"
#include "tu.h"

static char dir[256];

/* what the last callback said */
static chatseal_error got_err;
static int got_rec;
static char got_token[512], got_msg[512];
static long got_count;

static void on_get(void *arg, chatseal_error err, const cs_store_rec *rec)
{
    (void)arg;
    got_err = err;
    got_rec = rec != NULL;
    got_token[0] = got_msg[0] = '\0';
    got_count = -1;
    if (rec) {
        snprintf(got_token, sizeof got_token, "%s", rec->token);
        snprintf(got_msg, sizeof got_msg, "%.*s", (int)rec->message_len,
                 rec->message);
        got_count = rec->count;
    }
}

static void on_put(void *arg, chatseal_error err)
{
    (void)arg;
    got_err = err;
}

static cs_store *open_store(int64_t ttl)
{
    char spec[300], err[300];
    snprintf(spec, sizeof spec, "lmdb:%s", dir);
    cs_store *st = cs_store_open(spec, NULL, 100, ttl, err, sizeof err);
    if (!st) {
        fprintf(stderr, "cannot open the store: %s\n", err);
        exit(99);
    }
    return st;
}

static chatseal_error cas(cs_store *st, const char *key, const char *old,
                          const char *tok, const char *msg, long n)
{
    got_err = CHATSEAL_E_INVALID_ARGUMENT; /* the callback must run */
    cs_store_cas(st, key, old, tok, msg, strlen(msg), n, on_put, NULL);
    return got_err;
}

static void get(cs_store *st, const char *key)
{
    got_err = CHATSEAL_E_INVALID_ARGUMENT;
    cs_store_get(st, key, on_get, NULL);
}

static void compare_and_swap_rules(void)
{
    cs_store *st = open_store(3600);
    char key[65];
    cs_store_key("conv-rules", NULL, key);
    get(st, key);
    CHECK_ERR(got_err, CHATSEAL_OK);
    CHECK(!got_rec, "a record before any commit");
    CHECK_ERR(cas(st, key, NULL, "t1", "{\"m\":1}", 2), CHATSEAL_OK);
    /* a fresh start (no old token) never overwrites */
    CHECK_ERR(cas(st, key, NULL, "tX", "{}", 2),
              CHATSEAL_E_CONVERSATION_CONFLICT);
    /* neither does a token that is not the newest, nor a prefix of it */
    CHECK_ERR(cas(st, key, "t0", "tX", "{}", 4),
              CHATSEAL_E_CONVERSATION_CONFLICT);
    CHECK_ERR(cas(st, key, "t", "tX", "{}", 4),
              CHATSEAL_E_CONVERSATION_CONFLICT);
    CHECK_ERR(cas(st, key, "t1", "t2", "{\"m\":2}", 4), CHATSEAL_OK);
    /* the old token lost its place for good */
    CHECK_ERR(cas(st, key, "t1", "tY", "{}", 6),
              CHATSEAL_E_CONVERSATION_CONFLICT);
    get(st, key);
    CHECK_ERR(got_err, CHATSEAL_OK);
    CHECK(got_rec && !strcmp(got_token, "t2") &&
              !strcmp(got_msg, "{\"m\":2}") && got_count == 4,
          "record: %s %s %ld", got_token, got_msg, got_count);
    cs_store_free(st);
    /* a restart: the record is still there */
    st = open_store(3600);
    get(st, key);
    CHECK(got_rec && !strcmp(got_token, "t2"), "after reopen: %s", got_token);
    cs_store_free(st);
}

static void long_replies_are_not_kept(void)
{
    cs_store *st = open_store(3600);
    char key[65];
    cs_store_key("conv-long", NULL, key);
    size_t n = CS_STORE_MESSAGE_MAX + 1;
    char *big = malloc(n + 1);
    if (!big)
        exit(99);
    memset(big, 'x', n);
    big[n] = '\0';
    CHECK_ERR(cas(st, key, NULL, "t1", big, 2), CHATSEAL_OK);
    free(big);
    get(st, key);
    CHECK(got_rec && !strcmp(got_token, "t1") && got_msg[0] == '\0' &&
              got_count == 2,
          "a long reply: token %s, message %.20s", got_token, got_msg);
    cs_store_free(st);
}

static void keys_are_length_prefixed_digests(void)
{
    char a[65], b[65], c[65], d[65];
    cs_store_key("a", "bc", a);
    cs_store_key("ab", "c", b);
    cs_store_key("a", NULL, c);
    cs_store_key("a", "", d);
    CHECK(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64, "%s", a);
    CHECK(strcmp(a, b) != 0, "(a,bc) and (ab,c) share a record");
    CHECK(strcmp(c, d) == 0, "no principal and \"\" differ");
}

static void expired_records_read_as_absent(void)
{
    cs_store *st = open_store(1);
    char key[65];
    cs_store_key("conv-expiry", NULL, key);
    CHECK_ERR(cas(st, key, NULL, "old", "{}", 2), CHATSEAL_OK);
    sleep(2); /* expiry is whole seconds: exp = now + 1 is past */
    get(st, key);
    CHECK(!got_rec, "an expired record was read");
    /* the id may start over; the expired token is no way back */
    CHECK_ERR(cas(st, key, "old", "t", "{}", 4),
              CHATSEAL_E_CONVERSATION_CONFLICT);
    CHECK_ERR(cas(st, key, NULL, "new", "{}", 2), CHATSEAL_OK);
    cs_store_free(st);
}

/* One process's share: read the newest, advance it; count the wins. */
static int advance(const char *key, int turns)
{
    cs_store *st = open_store(3600);
    int wins = 0;
    for (int i = 0; i < turns; i++) {
        char tok[64], old[512];
        get(st, key);
        snprintf(old, sizeof old, "%s", got_token);
        long n = got_rec ? got_count : 0;
        snprintf(tok, sizeof tok, "p%d-%d-%ld", (int)getpid(), i, n + 1);
        if (cas(st, key, got_rec ? old : NULL, tok, "{}", n + 1) == CHATSEAL_OK)
            wins++;
    }
    cs_store_free(st);
    return wins;
}

static void two_processes_never_lose_a_commit(void)
{
    char key[65];
    cs_store_key("conv-race", "p", key);
    int fds[2];
    if (pipe(fds) != 0)
        exit(99);
    pid_t pid = fork();
    if (pid == 0) {
        int w = advance(key, 400);
        if (write(fds[1], &w, sizeof w) != sizeof w)
            _exit(1);
        _exit(0);
    }
    int mine = advance(key, 400), theirs = -1, st = 0;
    if (read(fds[0], &theirs, sizeof theirs) != sizeof theirs)
        theirs = -1;
    waitpid(pid, &st, 0);
    close(fds[0]);
    close(fds[1]);
    CHECK(theirs >= 0, "the child did not report");
    cs_store *s = open_store(3600);
    get(s, key);
    /* every win advanced the counter by one from the value it read: if two
     * commits had both won from one state, the count would be short */
    CHECK(got_rec && got_count == mine + theirs, "count %ld, wins %d + %d",
          got_count, mine, theirs);
    cs_store_free(s);
}

static void specs(void)
{
    char err[300];
    CHECK(cs_store_open("none", NULL, 100, 0, err, sizeof err) == NULL &&
              !err[0],
          "none: %s", err);
    CHECK(cs_store_open("redis://:1", NULL, 100, 0, err, sizeof err) == NULL &&
              strstr(err, "redis://"),
          "a bad Redis URL: %s", err);
    CHECK(cs_store_open("lmdb:/proc/no/such", NULL, 100, 0, err, sizeof err) ==
                  NULL &&
              strstr(err, "--store"),
          "an impossible path: %s", err);
    cs_store *st = open_store(10);
    CHECK(!strncmp(cs_store_describe(st), "lmdb:/", 6), "%s",
          cs_store_describe(st));
    cs_store_free(st);
    CHECK(!strcmp(cs_store_describe(NULL), "none"), "describe(NULL)");
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/chatseal-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 99;
    static const struct cs_test tests[] = {
        {"compare_and_swap_rules", compare_and_swap_rules},
        {"long_replies_are_not_kept", long_replies_are_not_kept},
        {"keys_are_length_prefixed_digests", keys_are_length_prefixed_digests},
        {"expired_records_read_as_absent", expired_records_read_as_absent},
        {"two_processes_never_lose_a_commit",
         two_processes_never_lose_a_commit},
        {"specs", specs},
    };
    int rc = cs_test_run(tests, sizeof tests / sizeof tests[0]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
