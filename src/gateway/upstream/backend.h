/*
 * backend.h -- what an upstream backend implements (inside upstream/ only).
 *
 * The chat path talks to "the upstream" through upstream.h and never learns
 * which backend answers: backend.c picks one at start-up and forwards each
 * call through its ops table.  Two backends exist:
 *
 *   upstream.c        HTTP/1.1 (plain or TLS) to a real model server
 *   mock_upstream.c   the built-in mock model (mock.c), played back with the
 *                     same callbacks and the same timing rules
 *
 * A backend's own structs start with a cs_upstream / cs_upreq member, so
 * backend.c can reach the ops table from either handle.
 */
#ifndef CS_GATEWAY_BACKEND_H
#define CS_GATEWAY_BACKEND_H

#include "upstream/upstream.h"

typedef struct cs_upstream_ops {
    /* the contract of cs_upstream_request / _cancel / _pause */
    cs_upreq *(*request)(cs_upstream *u, const char *method,
                         const char *path_query, const cs_headers *headers,
                         char *body, size_t len, const cs_upstream_cbs *cbs,
                         void *ctx);
    void (*cancel)(cs_upreq *r);
    void (*pause)(cs_upreq *r, int paused);
    void (*free)(cs_upstream *u);
} cs_upstream_ops;

struct cs_upstream {
    const cs_upstream_ops *ops;
    const char *describe; /* for logs; owned by the backend */
};

struct cs_upreq {
    const cs_upstream_ops *ops;
};

/* upstream.c: --upstream http[s]://... */
cs_upstream *cs_http_upstream_new(cs_gw *gw, char *err, size_t errlen);
/* mock_upstream.c: --upstream mock */
cs_upstream *cs_mock_upstream_new(cs_gw *gw, char *err, size_t errlen);

#endif
