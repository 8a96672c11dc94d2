/*
 * chat_api.c -- Chat Completions, POST /v1/chat/completions, as an adapter
 * (adapter.h).
 *
 * Its body already is the internal request, so there is no read or write
 * step: the policy's own tail rules apply (policy.c), and the forwarded body
 * is the canonical re-encoding of the verified conversation, as it always
 * was.  A JSON reply is signed on its canonical text without a parse
 * (chat.c: choices[0].message cut out with jspan), so only the stream steps
 * live here: chat.completion.chunk events assembled by assemble.c,
 * `data: [DONE]` held back until one last chunk with empty choices has
 * carried the chatseal member (with the message as signed, so a client
 * stores exactly that).
 */
#include "api/adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "api/assemble.h"

static void *chat_stream_new(const cs_adapter_ctx *ctx)
{
    return cs_assembly_new(ctx->max_bytes);
}

static void chat_stream_free(void *st)
{
    cs_assembly_free(st);
}

static cs_ev chat_stream_event(void *st, const char *event, const char *data,
                               size_t len, char *why, size_t wl)
{
    if (len == 6 && !memcmp(data, "[DONE]", 6))
        return CS_EV_FINISH;
    if (event && !strcmp(event, "error"))
        return CS_EV_UPSTREAM;
    if (len == 0)
        return CS_EV_PASS; /* a comment, a retry: no data */
    json_t *j = json_loadb(data, len,
                           JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                               JSON_DECODE_INT_AS_REAL,
                           NULL);
    cs_ev ev = CS_EV_PASS;
    if (!json_is_object(j)) {
        snprintf(why, wl,
                 "the upstream sent an event that is not a JSON object");
        ev = CS_EV_FAIL;
    } else if (json_object_get(j, "error")) {
        ev = CS_EV_UPSTREAM; /* the client sees the upstream's own error */
    } else if (json_object_get(j, "chatseal")) {
        snprintf(why, wl, "the upstream sent a chatseal member of its own");
        ev = CS_EV_FAIL;
    } else if (cs_assembly_add(st, j)) {
        snprintf(why, wl,
                 "the upstream sent an event that is not a valid "
                 "chat.completion.chunk, or the reply is too large");
        ev = CS_EV_FAIL;
    }
    json_decref(j);
    return ev;
}

static int chat_stream_complete(void *st)
{
    return cs_assembly_finished(st);
}

static json_t *chat_stream_messages(void *st)
{
    char *msg = cs_assembly_message(st);
    json_t *m =
        msg ? json_loads(msg, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL)
            : NULL;
    free(msg);
    json_t *a = m ? json_array() : NULL;
    if (a)
        json_array_append(a, m);
    json_decref(m);
    return a;
}

static char *json_quote(const char *s)
{
    json_t *v = json_string(s ? s : "");
    char *out = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    return out;
}

static char *chat_stream_close(void *st, const char *member, size_t mlen,
                               size_t *len)
{
    char *id = json_quote(cs_assembly_id(st));
    char *model = json_quote(cs_assembly_model(st));
    struct evbuffer *ev = evbuffer_new();
    char *out = NULL;
    if (id && model && ev) {
        evbuffer_add(ev, "data: {\"chatseal\":", 18);
        evbuffer_add(ev, member, mlen);
        evbuffer_add_printf(ev,
                            ",\"choices\":[],\"created\":%lld,\"id\":%s,"
                            "\"model\":%s,\"object\":\"chat.completion."
                            "chunk\"}\n\ndata: [DONE]\n\n",
                            cs_assembly_created(st), id, model);
        *len = evbuffer_get_length(ev);
        out = malloc(*len + 1);
        if (out)
            evbuffer_remove(ev, out, *len);
    }
    if (ev)
        evbuffer_free(ev);
    free(id);
    free(model);
    return out;
}

static char *chat_stream_error(void *st, chatseal_error e, const char *message,
                               size_t *len)
{
    (void)st;
    char *ej = cs_error_json(e, message, NULL);
    size_t n = ej ? strlen(ej) : 0;
    char *out = ej ? malloc(n + 9) : NULL;
    if (out) {
        memcpy(out, "data: ", 6);
        memcpy(out + 6, ej, n);
        memcpy(out + 6 + n, "\n\n", 3);
        *len = n + 8;
    }
    free(ej);
    return out;
}

const cs_adapter cs_api_chat = {
    .id = 0,
    .name = "chat",
    .path = "/v1/chat/completions",
    .style = CS_STYLE_OPENAI,
    .stream_new = chat_stream_new,
    .stream_free = chat_stream_free,
    .stream_event = chat_stream_event,
    .stream_complete = chat_stream_complete,
    .stream_messages = chat_stream_messages,
    .stream_close = chat_stream_close,
    .stream_error = chat_stream_error,
};
