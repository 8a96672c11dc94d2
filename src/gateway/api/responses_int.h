/*
 * responses_int.h -- the OpenAI Responses adapter's shared conversions:
 * Responses items <-> internal (Chat Completions) messages.  Used by the
 * request/reply side (responses.c) and the stream side
 * (responses_stream.c), so a streamed and a non-streamed reply become the
 * same internal messages.  docs/FORMAT.md §8.1 is the specification.
 */
#ifndef CS_GATEWAY_RESPONSES_INT_H
#define CS_GATEWAY_RESPONSES_INT_H

#include <stddef.h>

#include "api/adapter.h"
#include "chatseal.h"

struct json_t;

/* Which side the items come from: a client's `input`, or a reply's
 * `output` (only assistant-side items, provider records skipped). */
enum { RSP_INPUT = 0, RSP_OUTPUT = 1 };

/* Appends the internal messages of the items (array) to msgs.
 * first_system: a leading system/developer message item becomes the
 * internal system message (the `instructions` spelling of the AI SDK).
 * Refuses with a code and why. */
chatseal_error cs_rsp_items_to_msgs(struct json_t *items, int side,
                                    int first_system, struct json_t *msgs,
                                    char *why, size_t whylen);

/* The Responses items of internal messages [from, n) (new reference, an
 * array).  instructions non-NULL: the body to forward -- *instructions
 * (borrowed) is set when message 0 is a system message with string content
 * (sent as the top-level `instructions`), and reasoning items that only
 * name provider storage are left out; NULL: the chatseal member's output.
 * NULL: out of memory or a message no item expresses (why says which). */
struct json_t *cs_rsp_msgs_to_items(struct json_t *msgs, size_t from,
                                    struct json_t **instructions, char *why,
                                    size_t whylen);

/* The stream side (responses_stream.c): the adapter's stream callbacks. */
void *cs_rsp_stream_new(const cs_adapter_ctx *ctx);
void cs_rsp_stream_free(void *st);
cs_ev cs_rsp_stream_event(void *st, const char *event, const char *data,
                          size_t len, char *why, size_t whylen);
int cs_rsp_stream_complete(void *st);
struct json_t *cs_rsp_stream_messages(void *st);
char *cs_rsp_stream_close(void *st, const char *member, size_t mlen,
                          size_t *len);
char *cs_rsp_stream_error(void *st, chatseal_error e, const char *message,
                          size_t *len);

#endif
