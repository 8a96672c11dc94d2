/*
 * test_store_redis_none.c -- the Redis engine of the conversation store when
 * chatseal is built without hiredis (src/gateway/policy/store_redis_none.c),
 * tested in every build so that the -Dredis=disabled path cannot rot unseen.
 *
 * It must refuse to open, with a sentence that names the missing piece and
 * the fix, and write that sentence safely into any buffer.
 */
#include <string.h>

#include "policy/store.h"
#include "tu.h"

static void refuses_to_open(void)
{
    cs_store st;
    memset(&st, 0, sizeof st);
    char err[256] = "";
    CHECK(cs_store_redis_open(&st, "redis://127.0.0.1:6379", NULL, 100, err,
                              sizeof err) != 0,
          "a Redis store without Redis support");
    CHECK(strstr(err, "hiredis") && strstr(err, "-Dredis=enabled"),
          "the reason names hiredis and the fix: %s", err);
    CHECK(st.ops == NULL && st.engine == NULL, "the store is left untouched");
    char tiny[16];
    CHECK(cs_store_redis_open(&st, "unix:/x", NULL, 100, tiny, sizeof tiny) !=
              0,
          "a short error buffer");
    CHECK(memchr(tiny, '\0', sizeof tiny) != NULL, "terminated when cut");
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"refuses_to_open", refuses_to_open},
    };
    return cs_test_run(tests, sizeof tests / sizeof tests[0]);
}
