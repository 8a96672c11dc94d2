/*
 * gw.h -- the state one running chatseal serve shares between its modules.
 *
 * There is one event loop and one thread per process: every module runs
 * inside libevent callbacks, so nothing here needs a lock (with --workers,
 * each worker process has its own cs_gw; only the metrics it points to are
 * shared, see metrics.c).  The key ring is replaced as a
 * whole on SIGHUP; code reads gw->ring at the moment it signs or verifies and
 * never keeps the pointer across a return to the loop.
 */
#ifndef CS_GATEWAY_GW_H
#define CS_GATEWAY_GW_H

#include <stddef.h>

#include "chatseal.h"
#include "ops/config.h"

struct event_base;
struct evdns_base;
struct cs_server;
struct cs_upstream;
struct cs_metrics;
struct cs_rollback;

typedef struct cs_gw {
    struct event_base *base;
    struct evdns_base *dns;
    cs_config cfg;
    chatseal_keyring *ring;
    /* where the ring came from: a file reloaded on SIGHUP, or not */
    const char *key_path;
    const char *key_source; /* "file", "env", "ephemeral" */
    struct cs_server *server;
    struct cs_upstream *upstream;
    struct cs_metrics *metrics;
    struct cs_rollback *rollback; /* NULL unless --rollback */
    unsigned token_flags;
    int draining;
    /* sidecar access: secret (SHA-256 of it kept), or open in --dev */
    int sidecar_mode; /* 0 off, 1 secret, 2 open */
    unsigned char sidecar_digest[32];
} cs_gw;

#endif
