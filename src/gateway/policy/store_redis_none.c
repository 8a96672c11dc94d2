/*
 * store_redis_none.c -- the Redis engine of the conversation store when
 * chatseal is built without hiredis.
 *
 * Redis support is optional at build time (meson option `redis`, default
 * auto: on when hiredis is installed).  Without it this file replaces
 * store_redis.c, so everything else builds unchanged: the embedded engine
 * (lmdb) and "none" work as always, and `--store redis://...` (or
 * `--rollback URL`) refuses to start with a sentence that says why instead
 * of the whole build failing for a feature one kind of deployment uses.
 */
#include "policy/store.h"

#include <stdio.h>

int cs_store_redis_open(cs_store *st, const char *url, struct event_base *base,
                        int timeout_ms, char *err, size_t errlen)
{
    (void)st;
    (void)url;
    (void)base;
    (void)timeout_ms;
    snprintf(err, errlen,
             "a Redis store needs Redis support, and this chatseal was built "
             "without it (hiredis was not found at build time): install "
             "libhiredis-dev and rebuild, or configure with -Dredis=enabled");
    return -1;
}
