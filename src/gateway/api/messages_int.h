/*
 * messages_int.h -- the Anthropic Messages adapter's pieces, shared by
 * messages.c (requests, replies, the adapter table), messages_conv.c (one
 * message <-> one internal message) and messages_stream.c (the SSE
 * assembly).  FORMAT.md §8.2 is the mapping these functions implement.
 */
#ifndef CS_GATEWAY_MESSAGES_INT_H
#define CS_GATEWAY_MESSAGES_INT_H

#include <stddef.h>

#include "api/adapter.h"
#include "chatseal.h"

struct json_t;

/* The content of an Anthropic message (a string or an array of blocks) of
 * this role ("user" or "assistant") -> one internal message (new ref).  The
 * projection that makes every SDK spelling one value: null members,
 * cache_control and citations are left out of blocks, a single plain text
 * block is its string, thinking and redacted_thinking go to "reasoning",
 * tool_use blocks to "tool_calls".  NULL with why (invalid_request) when the
 * content is not the API's shape (or memory ran out). */
struct json_t *cs_anth_message_in(const char *role, struct json_t *content,
                                  char *why, size_t whylen);

/* The top-level "system" (a string or text blocks) -> the content of the
 * internal system message, or NULL with why; *empty set when it says
 * nothing ("" or []), which is no system message. */
struct json_t *cs_anth_system_in(struct json_t *system, int *empty, char *why,
                                 size_t whylen);

/* One internal message (signed form) -> the Anthropic message
 * {"role","content":[blocks]} it forwards as (new ref): reasoning blocks
 * first, then the content blocks, then one tool_use per tool call.  NULL
 * with why when it cannot be expressed in this API (invalid_request). */
struct json_t *cs_anth_message_out(struct json_t *msg, char *why,
                                   size_t whylen);

/* The stream callbacks of the adapter (messages_stream.c; adapter.h). */
void *cs_anth_stream_new(const cs_adapter_ctx *ctx);
void cs_anth_stream_free(void *st);
cs_ev cs_anth_stream_event(void *st, const char *event, const char *data,
                           size_t len, char *why, size_t whylen);
int cs_anth_stream_complete(void *st);
struct json_t *cs_anth_stream_messages(void *st);
char *cs_anth_stream_close(void *st, const char *member, size_t mlen,
                           size_t *len);
char *cs_anth_stream_error(void *st, chatseal_error e, const char *message,
                           size_t *len);

/* The Anthropic error "type" for a chatseal error. */
const char *cs_anth_error_type(chatseal_error e);

#endif
