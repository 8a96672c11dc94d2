/*
 * cors.h -- cross-origin requests from browsers (--cors-origins).
 */
#ifndef CS_GATEWAY_CORS_H
#define CS_GATEWAY_CORS_H

#include <stdio.h>

#include "ops/config.h"
#include "core/http.h"

struct evbuffer;

/* 0 when --cors-origins is absent or well-formed, else -1 with the reason
 * printed to err (config.c). */
int cs_cors_check_config(const char *origins, FILE *err);
/* The Access-Control-Allow-Origin value for a request from `origin` ("*",
 * or the origin itself), or NULL when it is not allowed or CORS is off. */
const char *cs_cors_allow(const cs_config *cfg, const char *origin);
/* Appends the CORS response header lines for the request's Origin, if any,
 * to a head being written (reply.c). */
void cs_cors_head(const cs_config *cfg, const cs_headers *req,
                  struct evbuffer *out);
/* For an OPTIONS request: 1 when it is a CORS preflight (CORS is on and the
 * request carries an Origin), to be answered 204 with the headers added here
 * to resp (none for an origin that is not allowed); 0 otherwise (route it as
 * usual).  Only headers: the answer is the router's, so this file stays
 * below the reply API (reply.c calls cs_cors_head). */
int cs_cors_preflight(const cs_config *cfg, const cs_headers *req,
                      cs_headers *resp);

#endif
