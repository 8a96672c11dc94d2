/*
 * adapter.h -- one wire protocol of the gateway: how to read a request's
 * history, build the forwarded body from verified values, assemble the
 * model's reply and hand the token back.
 *
 * Everything else is shared (api/handle.c, api/chat.c): HTTP, the upstream
 * connection, verification, the request policy, the conversation store,
 * metrics.  The shared path works on one *internal* request shape, the Chat
 * Completions one: {"messages":[...], other top-level members}.  An adapter
 * maps its API onto it:
 *
 *   client body --read_request--> internal request --chatseal_conv_parse,
 *     verify, store, policy--> verified internal request --write_request-->
 *     upstream body
 *   upstream reply (JSON or a stream) --reply_messages / stream_*-->
 *     internal messages, appended and signed --> reply + the token
 *
 * Internal messages are Chat Completions messages wherever an equivalent
 * exists (a Responses function_call item is an assistant message with
 * tool_calls; an Anthropic top-level system is a first "system" message), so
 * the library's signed form (FORMAT.md §2.1), its reasoning tags (§2.2: an
 * assistant message's `reasoning` member, whatever its value, is verified on
 * its own and dropped, never refused, when it does not verify), the tail
 * roles and the diagnosis apply unchanged.  One history unit of the API (an
 * input item, a message) is one internal message, so counts and indices stay
 * meaningful; FORMAT.md §7 gives each API's mapping.
 *
 * The mapping is a projection chosen for fidelity: every spelling the API's
 * SDKs use when they send a reply back (string or one text block, members
 * they drop or add) maps to the same internal message, and write_request
 * rebuilds the upstream body only from internal values, so what the model
 * reads is what was verified.
 *
 * Token delivery is the same in every API: the Chatseal-Token response
 * header (non-streamed replies, tokens up to 8 KiB) and a top-level
 * "chatseal" member {"count","kid","token","output"} in the JSON reply and in
 * the stream's closing bytes (stream_close); the next request sends the token
 * back in the Chatseal-Token header (or a "chatseal_token" body member).
 *
 * Chat Completions is an adapter too (api/chat_api.c); its read/write steps
 * are NULL: its body is already the internal shape and is forwarded as the
 * policy left it, byte for byte as before.
 */
#ifndef CS_GATEWAY_ADAPTER_H
#define CS_GATEWAY_ADAPTER_H

#include <stddef.h>

#include "chatseal.h"
#include "core/errors.h"

struct json_t;
struct cs_policy;

/* What stream_event says about one event or line. */
typedef enum cs_ev {
    CS_EV_PASS,     /* write the raw bytes to the client now */
    CS_EV_HOLD,     /* keep it back: stream_close writes its own version */
    CS_EV_FINISH,   /* the reply is complete: sign it now (bytes held) */
    CS_EV_FAIL,     /* malformed or over the limit: end with an error */
    CS_EV_UPSTREAM, /* the upstream's own error event: pass it, then end
                     * without a token */
    CS_EV_SKIP      /* not the client's (e.g. bytes after the end): drop */
} cs_ev;

/* Error body styles: CS_STYLE_* of core/errors.h. */

typedef struct cs_adapter cs_adapter;

/* Per-request context the adapter may need. */
typedef struct cs_adapter_ctx {
    const struct cs_policy *policy;
    size_t max_bytes; /* --max-response: bound of assembled replies */
} cs_adapter_ctx;

#define CS_API_COUNT 4 /* chat, responses, messages, ollama */

struct cs_adapter {
    int id;           /* 0 .. CS_API_COUNT-1, chat is 0 */
    const char *name; /* "chat", "responses", "messages", "ollama": the
                       * endpoint label in logs and metrics */
    const char *path; /* the client path, also used upstream */
    int style;        /* CS_STYLE_*: how errors are shaped */
    int ndjson;       /* streams are NDJSON lines (Ollama), not SSE */
    /* 1 when a request without "stream" streams (Ollama) */
    int stream_default;
    /* The API's documented top-level request members forwarded by default
     * (comma list; --allow-parameters adds to it), checked on the internal
     * request: "messages" is always allowed there (it holds the history,
     * whatever the API calls it); members the adapter maps into messages
     * (Responses' instructions, Anthropic's system) are gone from it. */
    const char *params;

    /* Client body (parsed; strict JSON was already checked) -> the internal
     * request (new reference).  Refuses with a code and why: invalid_request
     * for a body that is not this API's shape, parameter_not_allowed for a
     * member the gateway cannot vouch for (Responses store:true ...). */
    chatseal_error (*read_request)(struct json_t *body,
                                   struct json_t **internal, char *why,
                                   size_t whylen);
    /* The verified internal request (after the policy's parameter check) ->
     * the upstream body (new reference).  Messages from index signed_n on
     * are unsigned: the adapter enforces its API's tail rules on them
     * (member_not_allowed, control_token via cs_policy_has_control_token)
     * and refuses with why. */
    chatseal_error (*write_request)(struct json_t *internal, size_t signed_n,
                                    const cs_adapter_ctx *ctx,
                                    struct json_t **upstream, char *why,
                                    size_t whylen);
    /* A non-streamed 2xx reply (parsed from its canonical text) -> the
     * internal messages to sign: a JSON array (new reference).  -1 with why
     * when the reply has no message. */
    int (*reply_messages)(struct json_t *reply, struct json_t **msgs, char *why,
                          size_t whylen);
    /* Signed internal messages (their signed forms, array) -> the "output"
     * of the chatseal member, in the API's shape (new reference).  NULL
     * (Chat Completions): a stream's member carries the one signed message
     * itself, as canonical text, under "message". */
    struct json_t *(*output)(struct json_t *signed_msgs);

    /* Streams.  stream_new: state for one reply (NULL: out of memory). */
    void *(*stream_new)(const cs_adapter_ctx *ctx);
    void (*stream_free)(void *st);
    /* One SSE event (event name, "" if none; data joined) or, for ndjson,
     * one line (event NULL, data the line without its newline). */
    cs_ev (*stream_event)(void *st, const char *event, const char *data,
                          size_t len, char *why, size_t whylen);
    /* The upstream ended without CS_EV_FINISH: 1 if the reply is complete
     * all the same (Chat Completions without [DONE]), else 0 (cut). */
    int (*stream_complete)(void *st);
    /* The assembled reply as internal messages: a JSON array (new ref). */
    struct json_t *(*stream_messages)(void *st);
    /* The closing bytes (malloc'd, *len), given the chatseal member's JSON
     * text: the held events rewritten to carry it (Chat: a last chunk and
     * [DONE]; Responses: response.completed and response.chatseal;
     * Anthropic: message_stop with "chatseal"; Ollama: the done line with
     * "chatseal"). */
    char *(*stream_close)(void *st, const char *member, size_t mlen,
                          size_t *len);
    /* An error event in the API's shape (malloc'd, *len). */
    char *(*stream_error)(void *st, chatseal_error e, const char *message,
                          size_t *len);
};

/* The adapters, by client path / by id (NULL if none). */
const cs_adapter *cs_adapter_find(const char *path);
const cs_adapter *cs_adapter_by_id(int id);
/*
 * Integral numbers back to integers, in place.  The shared path reads JSON
 * as the library signs it (RFC 8785: every number a double, jansson reals),
 * so an adapter's output would say 1024.0 where the client wrote 1024; Go
 * servers such as Ollama refuse a fraction for an int field.  For values an
 * adapter passes on as they are (a held stream event); bodies and outputs go
 * through cs_json_canonical, which prints integers anyway.
 */
void cs_json_integers(struct json_t *v);

/*
 * v as canonical JSON text (RFC 8785; malloc'd, *len), NULL if out of
 * memory.  What the shared path sends of an adapter's values (upstream
 * bodies, "output"): jansson alone would print 0.7 as 0.69999999999999996
 * (17 digits) and 1024 read as a double as 1024.0; the library's printer
 * gives the shortest form, integers as integers.
 */
char *cs_json_canonical(const struct json_t *v, size_t *len);

extern const cs_adapter cs_api_chat, cs_api_responses, cs_api_messages,
    cs_api_ollama;

#endif
