/*
 * gw.h -- the state one running chatseal serve shares between its modules,
 * and the map of those modules.
 *
 * Module map (src/gateway/).  Calls go down: api/ uses upstream/, policy/
 * and core/; upstream/ uses core/http and core/sockio; core/ and policy/ use
 * only ops/log, ops/metrics and ops/config (the option values); ops/serve.c
 * is the top, which builds and starts everything.
 *
 *   api/       one adapter per wire protocol (adapter.h), the shared path
 *              they plug into, and the route table
 *     router.c     path -> handler; /healthz and /metrics answered here
 *     chat_entry.c the request of any API: PARSED (strict libchatseal
 *                  parser; an adapter maps its body onto internal Chat
 *                  Completions messages first), VERIFIED (token against the
 *                  messages), the store's record checked
 *     chat.c       FORWARDED (canonical re-encoding of the verified values,
 *                  mapped back by the adapter), the upstream's reply read
 *                  (JSON, SSE or NDJSON), handed to the adapter
 *     chat_sign.c  the reply SIGNED, committed, and the token handed back
 *     chat_api.c   Chat Completions (assemble.c: its stream deltas)
 *     responses.c  OpenAI Responses;  messages.c  Anthropic Messages;
 *     ollama.c     Ollama /api/chat
 *     sidecar.c    /v1/chatseal/...: sign/verify for app servers
 *     conversation.c  GET /v1/chatseal/conversation: a lost reply
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
 *                  (mock_<api>.c: its replies in each API's wire format)
 *     sse.c        text/event-stream split into events; ndjson.c  lines
 *   policy/    what is accepted: keys.c (key ring, SIGHUP), policy.c (the
 *              request policy), store.c (the conversation store: LMDB,
 *              Redis)
 *   ops/       serve.c (start-up, loop, signals), config.c (the one option
 *              table), workers.c, metrics.c, log.c
 *
 * A new wire protocol is one new file in api/ filling in a cs_adapter
 * (adapter.h) and one line in adapter.c's table; the mock model learns its
 * shape in upstream/mock_<api>.c.  HTTP, upstreams, verification
 * (libchatseal), the store and the policy stay shared.
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
