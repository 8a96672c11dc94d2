/*
 * mock.h -- the built-in demo/test model of `chatseal serve --upstream mock`.
 */
#ifndef CS_GATEWAY_MOCK_H
#define CS_GATEWAY_MOCK_H

#include <stddef.h>

#include "gw.h"
#include "core/http.h"

/* A whole reply, played by mock_upstream.c: head, then each part --mock-delay
 * apart (for a stream, each part is one SSE event). */
typedef struct cs_mock_reply {
    int status;
    cs_headers headers;
    char **parts;
    size_t *lens;
    size_t nparts;
    long delay_ms;
} cs_mock_reply;

/* The reply the mock model gives to this request; NULL if out of memory. */
cs_mock_reply *cs_mock_reply_build(cs_gw *gw, const char *method,
                                   const char *path, const char *body,
                                   size_t len);
void cs_mock_reply_free(cs_mock_reply *m);

#endif
