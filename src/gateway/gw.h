/*
 * gw.h -- the state one running chatseal serve shares between its modules,
 * and the map of those modules.
 *
 * Module map (src/gateway/).  Calls go down: api/ uses upstream/, policy/
 * and core/; upstream/ uses core/http and core/sockio; core/ and policy/ use
 * only ops/log, ops/metrics and ops/config (the option values); ops/serve.c
 * is the top, which builds and starts everything.
 *
 *   api/       one adapter per wire protocol, and the route table
 *     router.c     path -> handler; /healthz and /metrics answered here
 *     chat.c       POST /v1/chat/completions: the request is PARSED (strict
 *                  libchatseal parser), VERIFIED (token against the
 *                  messages), FORWARDED (canonical re-encoding of the
 *                  verified values) and the reply SIGNED (JSON or stream)
 *     assemble.c   chat.completion.chunk deltas -> the message chat.c signs
 *     sidecar.c    /v1/chatseal/...: sign/verify for app servers
 *     jspan.c      values cut byte for byte out of canonical JSON text
 *   core/      the client-facing HTTP/1.1 server
 *     server.c     connections: accept, phases, deadlines, keep-alive, drain
 *     reply.c      the answer API handlers call (below server.c; conn.h)
 *     http.c       the HTTP/1.x reader (requests and upstream replies)
 *     access_log.c listen.c sockio.c cors.c errors.c; static.c (--ui)
 *   upstream/  the model server side, one interface (upstream.h)
 *     backend.c    picks a backend (backend.h), forwards each call to it
 *     upstream.c   the HTTP backend: request lifecycle, retry, timeouts
 *     pool.c       kept-alive connections;  target.c  URL and TLS set-up
 *     mock_upstream.c + mock.c   the built-in mock model, same interface
 *     sse.c        text/event-stream split into events
 *   policy/    what is accepted: keys.c (key ring, SIGHUP), rollback.c
 *              (newest token only, Redis); the conversation store and the
 *              request policy go here
 *   ops/       serve.c (start-up, loop, signals), config.c (the one option
 *              table), workers.c, metrics.c, log.c
 *
 * A new wire protocol (Responses, Messages, Ollama ...) is one new file in
 * api/ with its route in router.c; its reply assembly sits beside it (as
 * assemble.c does for chat), and the mock model learns its shape in mock.c.
 * HTTP, upstreams, verification (libchatseal) and policy stay shared.
 * Tests: tests/gateway (the real binary over HTTP), tests/gateway-unit (the
 * parsers of upstream bytes: sse.c, assemble.c, jspan.c), fuzz/fuzz_http.c
 * and fuzz/fuzz_sse.c.
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
struct cs_store;
struct cs_policy;

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
    struct cs_store *store;   /* NULL with --store none */
    struct cs_policy *policy; /* request policy (policy/policy.c) */
    unsigned token_flags;
    int draining;
    /* sidecar access: secret (SHA-256 of it kept), or open in --dev */
    int sidecar_mode; /* 0 off, 1 secret, 2 open */
    unsigned char sidecar_digest[32];
} cs_gw;

#endif
