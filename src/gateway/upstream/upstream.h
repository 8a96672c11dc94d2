/*
 * upstream.h -- the gateway's HTTP client towards the model server.
 *
 * One request: cs_upstream_request(); the callbacks then run from the event
 * loop (never from inside cs_upstream_request): on_head once, on_body for
 * each piece of the decoded body, on_done exactly once, last.  After on_done
 * (or cs_upstream_cancel) the handle is gone.
 */
#ifndef CS_GATEWAY_UPSTREAM_H
#define CS_GATEWAY_UPSTREAM_H

#include <stddef.h>

#include "chatseal.h"
#include "gw.h"
#include "core/http.h"

typedef struct cs_upstream cs_upstream;
typedef struct cs_upreq cs_upreq;

typedef struct cs_upstream_cbs {
    void (*on_head)(void *ctx, int status, const cs_headers *h);
    void (*on_body)(void *ctx, const char *data, size_t len);
    /* CHATSEAL_OK: the whole response arrived, correctly delimited.
     * Otherwise UPSTREAM_UNAVAILABLE (connect/TLS), UPSTREAM_TIMEOUT or
     * UPSTREAM_ERROR (malformed or cut reply), with an English detail. */
    void (*on_done)(void *ctx, chatseal_error err, const char *detail);
} cs_upstream_cbs;

/* Parses --upstream (http[s]://host[:port][/base], or "mock") and sets up
 * TLS (system CA store or --upstream-ca).  On error writes a reason. */
cs_upstream *cs_upstream_new(cs_gw *gw, char *err, size_t errlen);
void cs_upstream_free(cs_upstream *u);
/* "http://host:port" for logs (no credentials are ever part of it). */
const char *cs_upstream_describe(const cs_upstream *u);

/*
 * Sends method + path_query (the client's path; the base path of the
 * upstream URL is prepended) with `headers` (end-to-end headers only: Host,
 * Content-Length and Accept-Encoding are set here) and `body`.  The request
 * takes `body` over (malloc'd, or NULL) and frees it, also on failure: it is
 * written to the socket from where it lies, without a copy.
 */
cs_upreq *cs_upstream_request(cs_upstream *u, const char *method,
                              const char *path_query, const cs_headers *headers,
                              char *body, size_t len,
                              const cs_upstream_cbs *cbs, void *ctx);
/* No callback runs after this.  Safe inside a callback. */
void cs_upstream_cancel(cs_upreq *r);
/* Stops / resumes reading the reply (the client is slower than the model). */
void cs_upstream_pause(cs_upreq *r, int paused);

#endif
