/*
 * ollama_stream.c -- assembling a streamed Ollama /api/chat reply
 * (application/x-ndjson: one JSON object per line) and handing the token
 * back on its last line.
 *
 * Every line but the last carries a fragment of the model's message:
 * `message.content` and `message.thinking` pieces to join, and tool calls,
 * which Ollama sends whole (one line holds complete calls), to append.
 * The last line has `"done": true` and the statistics.  The signed message
 * is what ollama-js (and the Python client) assemble from exactly those
 * lines, so the rules follow what those clients do:
 *
 *   - ollama-js stops reading at the first line whose `done` is truthy or
 *     whose `status` is "success": that line is HELD (FINISH) and
 *     stream_close writes it back with a "chatseal" member added, byte for
 *     byte otherwise, because a token on any later line would never be read.
 *     A `done` that is not a boolean (or null), or a `status` of "success",
 *     would make client and gateway disagree on where the reply ends: FAIL.
 *   - a line with an `error` member (any value) makes ollama-js throw: it is
 *     the upstream's error (UPSTREAM), passed on, and there is no token.
 *   - a line that is not a JSON object, has duplicate members or invalid
 *     UTF-8, or whose message is not the assistant's, is FAIL: clients could
 *     read it differently, so nothing is signed.  An empty (white space) line
 *     is SKIP: ollama-js would only warn about it.
 *   - lines after the done line are SKIP; a stream that ends without one is
 *     cut (stream_complete says 0), which ollama-js reports as an error too.
 *   - an upstream that answers with SSE instead (text/event-stream) is FAIL:
 *     Ollama's clients read lines, not events.
 *
 * The assembled text is bounded by --max-response (ctx->max_bytes).
 */
#include "api/ollama_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

typedef struct ost {
    buf content, thinking;
    json_t *calls; /* internal tool calls, in order */
    char *done;    /* the done line, as it came (less trailing white space) */
    size_t done_len;
    size_t total; /* bytes assembled, against max */
    size_t max;
} ost;

static int buf_add(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

void *cs_ollama_stream_new(const cs_adapter_ctx *ctx)
{
    ost *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->calls = json_array();
    if (!s->calls) {
        free(s);
        return NULL;
    }
    s->max = ctx && ctx->max_bytes ? ctx->max_bytes : (size_t)-1;
    return s;
}

void cs_ollama_stream_free(void *st)
{
    ost *s = st;
    if (!s)
        return;
    free(s->content.p);
    free(s->thinking.p);
    free(s->done);
    json_decref(s->calls);
    free(s);
}

static int blank(const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != ' ' && d[i] != '\t' && d[i] != '\r' && d[i] != '\n')
            return 0;
    return 1;
}

/* Adds a string fragment (absent or null: nothing) to b; -1 if it is not a
 * string or over the bound. */
static int add_text(ost *s, buf *b, json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    size_t n = json_string_length(v);
    if (n > s->max - s->total)
        return -1;
    s->total += n;
    return buf_add(b, json_string_value(v), n);
}

/* One line's message into the assembly; why on refusal. */
static int add_message(ost *s, json_t *m, char *why, size_t wl)
{
    if (!m || json_is_null(m))
        return 0;
    json_t *role = json_object_get(m, "role");
    if (!json_is_object(m) ||
        (role && !(json_is_string(role) &&
                   !strcmp(json_string_value(role), "assistant")))) {
        snprintf(why, wl, "a line's message is not the assistant's");
        return -1;
    }
    if (add_text(s, &s->content, json_object_get(m, "content")) ||
        add_text(s, &s->thinking, json_object_get(m, "thinking"))) {
        snprintf(why, wl,
                 "a line's content or thinking is not a string, or "
                 "the reply is over --max-response");
        return -1;
    }
    json_t *calls = json_object_get(m, "tool_calls");
    if (!calls || json_is_null(calls))
        return 0;
    if (!json_is_array(calls)) {
        snprintf(why, wl, "a line's tool_calls is not an array");
        return -1;
    }
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        json_t *c = cs_ollama_call_in(tc, why, wl);
        if (!c)
            return -1;
        const char *a = json_string_value(
            json_object_get(json_object_get(c, "function"), "arguments"));
        size_t n = a ? strlen(a) : 0;
        if (n > s->max - s->total || json_array_append_new(s->calls, c)) {
            if (n > s->max - s->total)
                json_decref(c);
            snprintf(why, wl, "the reply is over --max-response");
            return -1;
        }
        s->total += n;
    }
    return 0;
}

/* The done line, kept for stream_close. */
static int hold_done(ost *s, const char *data, size_t len)
{
    while (len && (data[len - 1] == ' ' || data[len - 1] == '\t' ||
                   data[len - 1] == '\r' || data[len - 1] == '\n'))
        len--;
    s->done = malloc(len + 1);
    if (!s->done)
        return -1;
    memcpy(s->done, data, len);
    s->done[len] = '\0';
    s->done_len = len;
    return 0;
}

cs_ev cs_ollama_stream_event(void *st, const char *event, const char *data,
                             size_t len, char *why, size_t wl)
{
    ost *s = st;
    if (event) {
        /* an SSE stream on /api/chat: Ollama's clients read lines, so they
         * would skip every "data:" line yet parse our closing one */
        snprintf(why, wl, "an Ollama reply streams NDJSON, not SSE events");
        return CS_EV_FAIL;
    }
    if (s->done)
        return CS_EV_SKIP; /* ollama-js has stopped reading */
    if (blank(data, len))
        return CS_EV_SKIP;
    json_error_t jerr;
    json_t *j =
        json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!j) /* an integer beyond 64 bits (Go writes any float64 so): the
             * double it is, as strict JSON reads it (FORMAT.md 1) */
        j = json_loadb(data, len,
                       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                           JSON_DECODE_INT_AS_REAL,
                       &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(why, wl, "a line of the stream is not a JSON object");
        return CS_EV_FAIL;
    }
    cs_ev ev = CS_EV_PASS;
    json_t *err = json_object_get(j, "error");
    json_t *done = json_object_get(j, "done");
    json_t *status = json_object_get(j, "status");
    if (err) {
        snprintf(why, wl, "the upstream reported an error: %.200s",
                 json_is_string(err) ? json_string_value(err) : "(no text)");
        ev = CS_EV_UPSTREAM;
    } else if (json_object_get(j, "chatseal")) {
        snprintf(why, wl, "the upstream's stream carries a chatseal member");
        ev = CS_EV_FAIL;
    } else if ((done && !json_is_boolean(done) && !json_is_null(done)) ||
               (json_is_string(status) &&
                !strcmp(json_string_value(status), "success"))) {
        snprintf(why, wl,
                 "a line whose done is not a boolean, or with "
                 "status \"success\": clients would stop there");
        ev = CS_EV_FAIL;
    } else if (add_message(s, json_object_get(j, "message"), why, wl) != 0) {
        ev = CS_EV_FAIL;
    } else if (json_is_true(done)) {
        ev = hold_done(s, data, len) == 0 ? CS_EV_FINISH : CS_EV_FAIL;
        if (ev == CS_EV_FAIL)
            snprintf(why, wl, "out of memory");
    }
    json_decref(j);
    return ev;
}

int cs_ollama_stream_complete(void *st)
{
    (void)st;
    return 0; /* without its done line an Ollama reply is cut */
}

json_t *cs_ollama_stream_messages(void *st)
{
    ost *s = st;
    json_t *m = json_pack("{s:s,s:s%}", "role", "assistant", "content",
                          s->content.p ? s->content.p : "", s->content.n);
    if (!m)
        return NULL;
    if ((s->thinking.n &&
         json_object_set_new(m, "reasoning",
                             json_stringn(s->thinking.p, s->thinking.n))) ||
        (json_array_size(s->calls) &&
         json_object_set(m, "tool_calls", s->calls))) {
        json_decref(m);
        return NULL;
    }
    json_t *arr = json_array();
    if (!arr || json_array_append_new(arr, m)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

char *cs_ollama_stream_close(void *st, const char *member, size_t mlen,
                             size_t *len)
{
    ost *s = st;
    *len = 0;
    /* the held line parsed as a non-empty object: it ends in its '}' */
    if (!s->done || s->done_len < 2 || s->done[s->done_len - 1] != '}')
        return NULL;
    static const char key[] = ",\"chatseal\":";
    size_t head = s->done_len - 1, klen = sizeof key - 1;
    size_t n = head + klen + mlen + 2;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, s->done, head);
    memcpy(out + head, key, klen);
    memcpy(out + head + klen, member, mlen);
    memcpy(out + head + klen + mlen, "}\n", 2);
    out[n] = '\0';
    *len = n;
    return out;
}

char *cs_ollama_stream_error(void *st, chatseal_error e, const char *message,
                             size_t *len)
{
    (void)st;
    *len = 0;
    json_t *j = json_pack("{s:s,s:s}", "error", message ? message : "", "code",
                          chatseal_error_name(e));
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!t)
        return NULL;
    size_t n = strlen(t);
    char *out = realloc(t, n + 2);
    if (!out) {
        free(t);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
    return out;
}
