/*
 * messages_stream.c -- assembling a streamed Anthropic message (SSE) into
 * the assistant message the gateway signs.
 *
 * The signed message must equal what the clients assemble from the events
 * the gateway passed, so the rules mirror @anthropic-ai/sdk's MessageStream
 * (lib/MessageStream.js) and the Vercel AI SDK's reader, and refuse (FAIL:
 * the stream ends with an error event and no token) wherever the two could
 * disagree:
 *   - every event but ping must carry an `event:` name equal to its data's
 *     "type": the Anthropic SDK drops nameless events, the AI SDK reads
 *     them, so a nameless or misnamed event is refused;
 *   - content_block_start appends a block (the SDK pushes, ignoring
 *     "index"), so its index must be the number of blocks so far;
 *     tool_use/server_tool_use input starts as given ({}) and is replaced at
 *     content_block_stop by the joined input_json_delta partial_json, parsed
 *     (strict JSON, an object); redacted_thinking arrives whole;
 *   - text_delta and thinking_delta append, signature_delta REPLACES the
 *     signature (as the SDK does), citations_delta is checked (citations
 *     are not signed, FORMAT.md §8.2); a delta of another type, or one that
 *     does not fit its block, is refused;
 *   - message_stop is held: stream_close writes it again carrying the
 *     "chatseal" member, on an event the SDK yields to the application;
 *   - ping is passed anywhere, error is the upstream's own error.
 * Text is joined from decoded JSON strings, so a multi-byte character split
 * across network frames is whole by the time it gets here (the SSE reader
 * joins bytes; tests/gateway-unit/test_messages.c feeds split frames).
 */
#include "api/messages_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/adapter.h"

typedef struct blk {
    json_t *obj;       /* the block as started, fields set at stop */
    char *buf;         /* text, thinking or partial_json joined */
    size_t n, cap;     /* bytes in buf */
    const char *field; /* "text", "thinking", NULL: tool input or none */
    int tool, stopped;
} blk;

typedef struct anth_stream {
    size_t max, used;
    int started, done;
    blk *b;
    size_t nb, capb;
} anth_stream;

void *cs_anth_stream_new(const cs_adapter_ctx *ctx)
{
    anth_stream *s = calloc(1, sizeof *s);
    if (s)
        s->max = ctx && ctx->max_bytes ? ctx->max_bytes : (size_t)64 << 20;
    return s;
}

void cs_anth_stream_free(void *st)
{
    anth_stream *s = st;
    if (!s)
        return;
    for (size_t i = 0; i < s->nb; i++) {
        json_decref(s->b[i].obj);
        free(s->b[i].buf);
    }
    free(s->b);
    free(s);
}

static int append(anth_stream *s, blk *b, const char *p, size_t n)
{
    if (n > s->max - s->used)
        return -1;
    s->used += n;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb)
            return -1;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->n, p, n);
    b->n += n;
    return 0;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static cs_ev fail(char *why, size_t wl, const char *msg)
{
    snprintf(why, wl, "%s", msg);
    return CS_EV_FAIL;
}

static cs_ev block_start(anth_stream *s, json_t *ev, char *why, size_t wl)
{
    json_t *cb = json_object_get(ev, "content_block");
    json_t *idx = json_object_get(ev, "index");
    const char *type = str(cb, "type");
    if (!type || !json_is_number(idx) ||
        json_number_value(idx) != (double)s->nb)
        return fail(why, wl,
                    "content_block_start out of order or without a block");
    if (s->nb == s->capb) {
        size_t cap = s->capb ? s->capb * 2 : 8;
        blk *nb = realloc(s->b, cap * sizeof *nb);
        if (!nb)
            return fail(why, wl, "out of memory");
        s->b = nb;
        s->capb = cap;
    }
    blk *b = &s->b[s->nb];
    memset(b, 0, sizeof *b);
    b->tool = !strcmp(type, "tool_use") || !strcmp(type, "server_tool_use");
    b->field = !strcmp(type, "text")       ? "text"
               : !strcmp(type, "thinking") ? "thinking"
                                           : NULL;
    b->obj = json_deep_copy(cb);
    if (!b->obj)
        return fail(why, wl, "out of memory");
    s->nb++;
    if (b->tool && !json_is_object(json_object_get(cb, "input")))
        return fail(why, wl,
                    "a tool_use block must start with an object input");
    if (b->field) {
        json_t *v = json_object_get(cb, b->field);
        if (v && !json_is_string(v))
            return fail(why, wl,
                        "a text or thinking block's text is not a "
                        "string");
        if (v && append(s, b, json_string_value(v), json_string_length(v)))
            return fail(why, wl, "the reply is over --max-response");
    }
    s->used += strlen(type) + 16;
    return s->used > s->max ? fail(why, wl, "the reply is over --max-response")
                            : CS_EV_PASS;
}

static blk *block_at(anth_stream *s, json_t *ev)
{
    json_t *idx = json_object_get(ev, "index");
    if (!json_is_number(idx))
        return NULL;
    double d = json_number_value(idx);
    if (d < 0 || d >= (double)s->nb || d != (double)(size_t)d)
        return NULL;
    return &s->b[(size_t)d];
}

static cs_ev block_delta(anth_stream *s, json_t *ev, char *why, size_t wl)
{
    blk *b = block_at(s, ev);
    json_t *d = json_object_get(ev, "delta");
    const char *dt = str(d, "type");
    if (!b || !dt)
        return fail(why, wl, "content_block_delta without its block");
    const char *btype = str(b->obj, "type");
    const char *key = NULL;
    if (!strcmp(dt, "text_delta") && b->field && !strcmp(b->field, "text"))
        key = "text";
    else if (!strcmp(dt, "thinking_delta") && b->field &&
             !strcmp(b->field, "thinking"))
        key = "thinking";
    else if (!strcmp(dt, "input_json_delta") && b->tool)
        key = "partial_json";
    else if (!strcmp(dt, "signature_delta") && !strcmp(btype, "thinking")) {
        json_t *sig = json_object_get(d, "signature");
        if (!json_is_string(sig) || json_string_length(sig) > s->max - s->used)
            return fail(why, wl, "a signature_delta without a signature");
        s->used += json_string_length(sig);
        return json_object_set(b->obj, "signature", sig) ? CS_EV_FAIL
                                                         : CS_EV_PASS;
    } else if (!strcmp(dt, "citations_delta") && !strcmp(btype, "text")) {
        /* citations are not signed (FORMAT.md §8.2): checked, not kept */
        return json_is_object(json_object_get(d, "citation"))
                   ? CS_EV_PASS
                   : fail(why, wl, "a citations_delta without a citation");
    }
    if (!key) {
        snprintf(why, wl, "a %.32s on a %.32s block", dt, btype);
        return CS_EV_FAIL;
    }
    json_t *v = json_object_get(d, key);
    if (!json_is_string(v))
        return fail(why, wl, "a delta without its string");
    if (append(s, b, json_string_value(v), json_string_length(v)))
        return fail(why, wl, "the reply is over --max-response");
    return CS_EV_PASS;
}

/* content_block_stop: the joined text or input goes into the block. */
static cs_ev block_stop(anth_stream *s, json_t *ev, char *why, size_t wl)
{
    blk *b = block_at(s, ev);
    if (!b || b->stopped)
        return fail(why, wl, "content_block_stop without its block");
    b->stopped = 1;
    json_t *v = NULL;
    if (b->field)
        v = json_stringn(b->buf ? b->buf : "", b->n);
    else if (b->tool && b->n) {
        v = json_loadb(b->buf, b->n,
                       JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
                           JSON_ALLOW_NUL,
                       NULL);
        if (!json_is_object(v)) {
            json_decref(v);
            return fail(why, wl, "a tool_use input that is not a JSON object");
        }
    } else
        return CS_EV_PASS;
    if (!v ||
        json_object_set_new(b->obj, b->field ? b->field : "input", v) != 0)
        return fail(why, wl, "out of memory");
    return CS_EV_PASS;
}

static cs_ev on_message_start(anth_stream *s, json_t *ev, char *why, size_t wl)
{
    json_t *m = json_object_get(ev, "message");
    const char *role = str(m, "role");
    if (s->started || !json_is_object(m) || (role && strcmp(role, "assistant")))
        return fail(why, wl, "a second or malformed message_start");
    if (json_array_size(json_object_get(m, "content")))
        return fail(why, wl, "message_start with content is not supported");
    s->started = 1;
    return CS_EV_PASS;
}

cs_ev cs_anth_stream_event(void *st, const char *event, const char *data,
                           size_t len, char *why, size_t wl)
{
    anth_stream *s = st;
    if (s->done)
        return CS_EV_SKIP;
    if (event && !strcmp(event, "error"))
        return CS_EV_UPSTREAM;
    json_t *ev = json_loadb(data, len,
                            JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
                                JSON_ALLOW_NUL,
                            NULL);
    const char *type = str(ev, "type");
    int is_ping = type && !strcmp(type, "ping");
    cs_ev r;
    /* A keep-alive carries nothing: `event: ping` (whatever its data but
     * another type, which the AI SDK, reading data only, would take for
     * that event while the Anthropic SDK skips it), or a nameless
     * {"type":"ping"} (FORMAT.md 8.2: the Anthropic SDK drops it, the AI
     * SDK ignores it). */
    if (event && ((!strcmp(event, "ping") && (!type || is_ping)) ||
                  (!event[0] && is_ping)))
        r = CS_EV_PASS;
    else if (!type || !event || strcmp(type, event) != 0)
        r = fail(why, wl,
                 "an event whose name is not its data's type (or no JSON)");
    else if (!strcmp(type, "message_start"))
        r = on_message_start(s, ev, why, wl);
    else if (!s->started)
        r = fail(why, wl, "an event before message_start");
    else if (!strcmp(type, "content_block_start"))
        r = block_start(s, ev, why, wl);
    else if (!strcmp(type, "content_block_delta"))
        r = block_delta(s, ev, why, wl);
    else if (!strcmp(type, "content_block_stop"))
        r = block_stop(s, ev, why, wl);
    else if (!strcmp(type, "message_stop")) {
        r = CS_EV_FINISH;
        for (size_t i = 0; i < s->nb; i++)
            if (!s->b[i].stopped)
                r = fail(why, wl, "message_stop before a content_block_stop");
        s->done = r == CS_EV_FINISH;
    } else
        r = CS_EV_PASS; /* message_delta; types yet to come are the
                         * clients' business, they carry no content */
    json_decref(ev);
    return r;
}

int cs_anth_stream_complete(void *st)
{
    (void)st;
    return 0; /* a stream without message_stop was cut */
}

json_t *cs_anth_stream_messages(void *st)
{
    anth_stream *s = st;
    json_t *content = json_array();
    for (size_t i = 0; content && i < s->nb; i++)
        if (json_array_append(content, s->b[i].obj) != 0) {
            json_decref(content);
            content = NULL;
        }
    char why[160] = "";
    json_t *msg =
        content ? cs_anth_message_in("assistant", content, why, sizeof why)
                : NULL;
    json_decref(content);
    return msg ? json_pack("[o]", msg) : NULL;
}

char *cs_anth_stream_close(void *st, const char *member, size_t mlen,
                           size_t *len)
{
    (void)st;
    static const char head[] =
        "event: message_stop\ndata: {\"type\":\"message_stop\",\"chatseal\":";
    size_t hn = sizeof head - 1;
    char *out = malloc(hn + mlen + 4);
    if (!out)
        return NULL;
    memcpy(out, head, hn);
    memcpy(out + hn, member, mlen);
    memcpy(out + hn + mlen, "}\n\n", 4);
    *len = hn + mlen + 3;
    return out;
}

/* Anthropic's error event, with our stable code beside its type. */
char *cs_anth_stream_error(void *st, chatseal_error e, const char *message,
                           size_t *len)
{
    (void)st;
    json_t *ev = json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "error", "error",
                           "type", cs_anth_error_type(e), "message",
                           message ? message : chatseal_strerror(e), "code",
                           chatseal_error_name(e));
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *out = malloc(n + 24);
    if (out)
        *len =
            (size_t)snprintf(out, n + 24, "event: error\ndata: %s\n\n", text);
    free(text);
    return out;
}
