/*
 * ollama_int.h -- the pieces of the Ollama adapter (api/ollama.c,
 * api/ollama_stream.c) shared between its two files and its unit test
 * (tests/gateway-unit/test_ollama.c).  FORMAT.md §8.3 gives the mapping.
 */
#ifndef CS_GATEWAY_OLLAMA_INT_H
#define CS_GATEWAY_OLLAMA_INT_H

#include <stddef.h>

#include "api/adapter.h"

struct json_t;

/* One Ollama message (an element of "messages", or a reply's "message") ->
 * one internal message (new reference in *out).  idx names it in why.
 * invalid_request when it is not an Ollama message. */
chatseal_error cs_ollama_msg_in(struct json_t *om, size_t idx,
                                struct json_t **out, char *why, size_t whylen);

/* One Ollama tool call -> the internal one (new reference), or NULL with
 * why. */
struct json_t *cs_ollama_call_in(struct json_t *tc, char *why, size_t whylen);

/* One internal message (its signed form) -> the Ollama message (new
 * reference), or NULL when it cannot be one (why says what). */
struct json_t *cs_ollama_msg_out(struct json_t *im, char *why, size_t whylen);

/* The tail rules of §8.3 on one unsigned internal message. */
chatseal_error cs_ollama_check_tail(const struct cs_policy *policy,
                                    struct json_t *im, size_t idx, char *why,
                                    size_t whylen);

/* The streaming callbacks (api/ollama_stream.c). */
void *cs_ollama_stream_new(const cs_adapter_ctx *ctx);
void cs_ollama_stream_free(void *st);
cs_ev cs_ollama_stream_event(void *st, const char *event, const char *data,
                             size_t len, char *why, size_t whylen);
int cs_ollama_stream_complete(void *st);
struct json_t *cs_ollama_stream_messages(void *st);
char *cs_ollama_stream_close(void *st, const char *member, size_t mlen,
                             size_t *len);
char *cs_ollama_stream_error(void *st, chatseal_error e, const char *message,
                             size_t *len);

#endif
