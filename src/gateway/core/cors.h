/*
 * cors.h -- cross-origin requests from browsers (--cors-origins).
 */
#ifndef CS_GATEWAY_CORS_H
#define CS_GATEWAY_CORS_H

#include "ops/config.h"
#include "core/http.h"
#include "core/server.h"

struct evbuffer;

/* 0 when --cors-origins is absent or well-formed, else -1 with the reason
 * printed to err (config.c). */
int cs_cors_check_config(const char *origins, FILE *err);
/* The Access-Control-Allow-Origin value for a request from `origin` ("*",
 * or the origin itself), or NULL when it is not allowed or CORS is off. */
const char *cs_cors_allow(const cs_config *cfg, const char *origin);
/* Appends the CORS response header lines for the request's Origin, if any,
 * to a head being written (server.c). */
void cs_cors_head(const cs_config *cfg, const cs_headers *req,
                  struct evbuffer *out);
/* Answers an OPTIONS preflight (204).  Returns 1 when it did: CORS is on and
 * the request carries an Origin; 0 otherwise (route it as usual). */
int cs_cors_preflight(cs_req *r);

#endif
