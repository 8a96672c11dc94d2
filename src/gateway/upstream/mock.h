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

/* Shared by the mock of each API (mock_<api>.c). */
struct json_t;
/* Adds one part (takes text over); 0 or -1. */
int cs_mock_add_part(cs_mock_reply *m, char *text, size_t len);
/* Adds v (stolen) as compact JSON; sse: as one `data:` event. */
int cs_mock_add_json(cs_mock_reply *m, struct json_t *v, int sse);
/* An OpenAI-shaped error reply with this status. */
int cs_mock_error(cs_mock_reply *m, int status, const char *msg);
/* The text of a content value (string, or the text members of parts),
 * cut at 200 bytes on a character boundary. */
void cs_mock_text(struct json_t *content, char *out, size_t outlen);
/* 1 if the text asks for a tool ("tool", "weather"). */
int cs_mock_mentions_tool(const char *s);

/* The mock model in each API's wire format (0, or -1 out of memory). */
int cs_mock_responses(cs_mock_reply *m, const char *body, size_t len);
int cs_mock_messages(cs_mock_reply *m, const char *body, size_t len);
int cs_mock_ollama(cs_mock_reply *m, const char *body, size_t len);

#endif
