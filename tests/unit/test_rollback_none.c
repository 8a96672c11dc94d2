/*
 * test_rollback_none.c -- the gateway's rollback store when chatseal is built
 * without hiredis (src/gateway/policy/rollback_none.c), tested in every
 * build so that the -Dredis=disabled path cannot rot unseen.
 *
 * It must refuse to start (NULL, with a sentence that names the missing
 * piece and the fix) and, should anything call it anyway, fail closed.
 */
#include <string.h>

#include "policy/rollback.h"
#include "tu.h"

static void refuses_to_start(void)
{
    char err[256] = "";
    cs_rollback *rb =
        cs_rollback_new("redis://127.0.0.1:6379", 100, 60, err, sizeof err);
    CHECK(rb == NULL, "a store without Redis support");
    CHECK(strstr(err, "hiredis") && strstr(err, "-Dredis=enabled"),
          "the reason names hiredis and the fix: %s", err);
    char tiny[16];
    CHECK(cs_rollback_new("redis://x", 100, 60, tiny, sizeof tiny) == NULL,
          "a short error buffer");
    CHECK(memchr(tiny, '\0', sizeof tiny) != NULL, "terminated when cut");
    cs_rollback_free(NULL);
}

static void fails_closed(void)
{
    char key[65];
    cs_rollback_key("conv", "alice", key);
    CHECK(strlen(key) == 64, "a key of 64 hex digits");
    CHECK_ERR(cs_rollback_check(NULL, key, "cs1.x.y"),
              CHATSEAL_E_UPSTREAM_UNAVAILABLE);
    CHECK_ERR(cs_rollback_commit(NULL, key, NULL, "cs1.x.y"),
              CHATSEAL_E_UPSTREAM_UNAVAILABLE);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"refuses_to_start", refuses_to_start},
        {"fails_closed", fails_closed},
    };
    return cs_test_run(tests, sizeof tests / sizeof tests[0]);
}
