/*
 * responses_stream.c -- a streamed Responses reply (named SSE events).
 *
 * Every event passes through as it arrives except `response.completed`,
 * which is held: what is signed is what it carries (`response.output`),
 * and only after checking that it agrees with what the events before it
 * assembled, because clients read one or the other (the openai SDK's
 * stream helper returns response.completed's response; the AI SDK shows
 * the text deltas and takes tool calls and reasoning from
 * `response.output_item.done`):
 *   - every item announced by response.output_item.added was finished by
 *     response.output_item.done;
 *   - each output_text part of a finished message equals its joined
 *     response.output_text.delta fragments (joined as bytes), and a
 *     refusal, a reasoning summary or reasoning text, or a function call's
 *     arguments equals its joined deltas when there were any; every delta
 *     belongs to a part of a finished item (the AI SDK shows text deltas
 *     whatever item they name);
 *   - the finished items and response.output map to the same internal
 *     messages (responses_items.c);
 *   - each "...done" event that repeats a part's text (output_text.done,
 *     function_call_arguments.done, reasoning/refusal .done) equals the
 *     deltas before it (the openai SDK's stream helper shows that text).
 * Any disagreement ends the stream with an error event and no token.
 * stream_close then writes the held response.completed and ONE more event,
 *   event: response.chatseal
 *   data: {"type":"response.chatseal","sequence_number":<last+1>,
 *          "chatseal":{...}}
 * which the openai SDK yields like any response.* event and the AI SDK
 * reads as an unknown chunk (no error part).  No `data: [DONE]`: Responses
 * streams have none.  response.failed, response.incomplete and error are
 * the upstream's own verdict: passed, and the stream ends without a token.
 */
#include "api/responses_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Joined delta fragments of one part of an output item (by output_index
 * and content/summary index) or of one call's arguments. */
typedef struct acc {
    json_int_t oi, ci;
    int kind; /* 0 text, 1 arguments, 2 summary, 3 reasoning text, 4 refusal */
    int used; /* matched by a part of a finished item */
    char *buf;
    size_t len, cap;
} acc;

typedef struct rsp_stream {
    size_t max_bytes, total;
    json_int_t last_seq;
    json_t *added; /* output_index -> true */
    json_t *done;  /* output_index -> the finished item */
    acc *accs;
    size_t nacc;
    char *held; /* response.completed's data */
    size_t held_len;
    json_t *msgs;
    int finished;
} rsp_stream;

void *cs_rsp_stream_new(const cs_adapter_ctx *ctx)
{
    rsp_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->max_bytes = ctx && ctx->max_bytes ? ctx->max_bytes : (size_t)16 << 20;
    s->last_seq = -1;
    s->added = json_object();
    s->done = json_object();
    if (!s->added || !s->done) {
        cs_rsp_stream_free(s);
        return NULL;
    }
    return s;
}

void cs_rsp_stream_free(void *st)
{
    rsp_stream *s = st;
    if (!s)
        return;
    json_decref(s->added);
    json_decref(s->done);
    for (size_t i = 0; i < s->nacc; i++)
        free(s->accs[i].buf);
    free(s->accs);
    free(s->held);
    json_decref(s->msgs);
    free(s);
}

static acc *find_acc(rsp_stream *s, json_int_t oi, json_int_t ci, int kind,
                     int create)
{
    for (size_t i = 0; i < s->nacc; i++)
        if (s->accs[i].oi == oi && s->accs[i].ci == ci &&
            s->accs[i].kind == kind)
            return &s->accs[i];
    if (!create)
        return NULL;
    acc *a = realloc(s->accs, (s->nacc + 1) * sizeof *a);
    if (!a)
        return NULL;
    s->accs = a;
    a = &s->accs[s->nacc++];
    memset(a, 0, sizeof *a);
    a->oi = oi;
    a->ci = ci;
    a->kind = kind;
    return a;
}

static int acc_add(rsp_stream *s, acc *a, const char *p, size_t n)
{
    if (n > s->max_bytes - s->total)
        return -1;
    if (a->len + n + 1 > a->cap) {
        size_t cap = (a->len + n + 1) * 2;
        char *b = realloc(a->buf, cap);
        if (!b)
            return -1;
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
    a->buf[a->len] = '\0';
    s->total += n;
    return 0;
}

static int index_of(json_t *ev, const char *k, json_int_t *out)
{
    json_t *v = json_object_get(ev, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 100000)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int is(json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           !strcmp(json_string_value(v), s);
}

static int same(acc *a, json_t *text)
{
    size_t n = a ? a->len : 0;
    return json_is_string(text) && json_string_length(text) == n &&
           (!n || !memcmp(a->buf, json_string_value(text), n));
}

/* Checks the parts of a finished item (list member `list`, text member
 * `tm`, part type `pt`) against the deltas of kind `kind`: each part with
 * deltas must equal them joined; must: a part without deltas is "" (text
 * a client only ever sees as deltas).  Marks the deltas used. */
static int parts_agree(rsp_stream *s, json_t *item, size_t oi, const char *list,
                       const char *pt, const char *tm, int kind, int must)
{
    size_t j;
    json_t *part;
    json_array_foreach(json_object_get(item, list), j, part)
    {
        if (!is(json_object_get(part, "type"), pt))
            continue;
        acc *a = find_acc(s, (json_int_t)oi, (json_int_t)j, kind, 0);
        if ((a || must) && !same(a, json_object_get(part, tm)))
            return 0;
        if (a)
            a->used = 1;
    }
    return 1;
}

/* One finished item against its deltas (0: they disagree). */
static int item_agrees(rsp_stream *s, json_t *it, size_t i)
{
    json_t *type = json_object_get(it, "type");
    if (is(type, "message"))
        return parts_agree(s, it, i, "content", "output_text", "text", 0, 1) &&
               parts_agree(s, it, i, "content", "refusal", "refusal", 4, 0);
    if (is(type, "reasoning"))
        return parts_agree(s, it, i, "summary", "summary_text", "text", 2, 0) &&
               parts_agree(s, it, i, "content", "reasoning_text", "text", 3, 0);
    if (is(type, "function_call")) {
        acc *a = find_acc(s, (json_int_t)i, 0, 1, 0);
        if (a && !same(a, json_object_get(it, "arguments")))
            return 0;
        if (a)
            a->used = 1;
    }
    return 1;
}

/* The finished items in output_index order, checked against the deltas
 * (every delta must belong to a part of a finished item that equals its
 * fragments: a client shows deltas); NULL with why when they disagree or
 * an item is missing. */
static json_t *assembled(rsp_stream *s, char *why, size_t wl)
{
    size_t n = json_object_size(s->added) > json_object_size(s->done)
                   ? json_object_size(s->added)
                   : json_object_size(s->done);
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%zu", i);
        json_t *it = json_object_get(s->done, key);
        if (!it) {
            snprintf(why, wl,
                     "output item %zu was not finished "
                     "(response.output_item.done) before response.completed",
                     i);
            json_decref(items);
            return NULL;
        }
        if (!item_agrees(s, it, i)) {
            snprintf(why, wl,
                     "output item %zu differs from its delta events "
                     "(text, arguments or reasoning)",
                     i);
            json_decref(items);
            return NULL;
        }
        json_array_append(items, it);
    }
    for (size_t k = 0; items && k < s->nacc; k++) {
        if (!s->accs[k].used) {
            snprintf(why, wl,
                     "delta events for output item %lld that no finished "
                     "item holds",
                     (long long)s->accs[k].oi);
            json_decref(items);
            return NULL;
        }
    }
    return items;
}

/* response.completed: sign what it carries, if the stream agrees. */
static cs_ev completed(rsp_stream *s, json_t *ev, const char *data, size_t len,
                       char *why, size_t wl)
{
    json_t *resp = json_object_get(ev, "response");
    json_t *output = json_object_get(resp, "output");
    if (!json_is_array(output)) {
        snprintf(why, wl, "response.completed carries no response.output");
        return CS_EV_FAIL;
    }
    json_t *items = assembled(s, why, wl);
    if (!items)
        return CS_EV_FAIL;
    json_t *a = json_array(), *b = json_array();
    cs_ev r = CS_EV_FAIL;
    if (!a || !b) {
        snprintf(why, wl, "out of memory");
    } else if (cs_rsp_items_to_msgs(output, RSP_OUTPUT, 0, a, why, wl) !=
                   CHATSEAL_OK ||
               cs_rsp_items_to_msgs(items, RSP_OUTPUT, 0, b, why, wl) !=
                   CHATSEAL_OK) {
        /* why says which item */
    } else if (!json_equal(a, b)) {
        snprintf(why, wl,
                 "response.completed's output differs from the streamed "
                 "items");
    } else if (!json_array_size(a)) {
        snprintf(why, wl, "the response has no output item to sign");
    } else if (!(s->held = malloc(len + 1))) {
        snprintf(why, wl, "out of memory");
    } else {
        memcpy(s->held, data, len);
        s->held[len] = '\0';
        s->held_len = len;
        s->msgs = json_incref(a);
        s->finished = 1;
        r = CS_EV_FINISH;
    }
    json_decref(a);
    json_decref(b);
    json_decref(items);
    return r;
}

/* One delta event: appended to its part's (or call's) fragments. */
static cs_ev delta(rsp_stream *s, json_t *ev, int kind, char *why, size_t wl)
{
    json_int_t oi, ci = 0;
    json_t *d = json_object_get(ev, "delta");
    const char *part = kind == 2 ? "summary_index" : "content_index";
    if (index_of(ev, "output_index", &oi) ||
        (kind != 1 && index_of(ev, part, &ci)) || !json_is_string(d)) {
        snprintf(why, wl, "a delta event without its indices or delta");
        return CS_EV_FAIL;
    }
    acc *a = find_acc(s, oi, ci, kind, 1);
    if (!a || acc_add(s, a, json_string_value(d), json_string_length(d))) {
        snprintf(why, wl, "the reply is larger than --max-response");
        return CS_EV_FAIL;
    }
    return CS_EV_PASS;
}

/* One "...done" event that repeats a part's whole text: it must equal the
 * part's deltas joined (the openai SDK's stream helper takes it as the
 * part's text).  must: a text part whose deltas were all empty or absent
 * is "". */
static cs_ev done_text(rsp_stream *s, json_t *ev, int kind, const char *idx,
                       const char *member, int must, char *why, size_t wl)
{
    json_int_t oi, ci = 0;
    json_t *text = json_object_get(ev, member);
    if (index_of(ev, "output_index", &oi) || (idx && index_of(ev, idx, &ci)) ||
        !json_is_string(text)) {
        snprintf(why, wl, "a done event without its indices or %s", member);
        return CS_EV_FAIL;
    }
    acc *a = find_acc(s, oi, ci, kind, 0);
    if ((a || must) && !same(a, text)) {
        snprintf(why, wl,
                 "output item %lld: a done event's %s differs from its "
                 "deltas",
                 (long long)oi, member);
        return CS_EV_FAIL;
    }
    return CS_EV_PASS;
}

cs_ev cs_rsp_stream_event(void *st, const char *event, const char *data,
                          size_t len, char *why, size_t wl)
{
    rsp_stream *s = st;
    if (s->finished)
        return CS_EV_SKIP; /* nothing follows response.completed */
    json_error_t jerr;
    json_t *ev =
        json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!ev) /* an integer beyond 64 bits: the double it is, as strict
              * JSON reads it (FORMAT.md 1) */
        ev = json_loadb(data, len,
                        JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
                            JSON_DECODE_INT_AS_REAL,
                        &jerr);
    json_t *type = json_object_get(ev, "type");
    cs_ev r = CS_EV_PASS;
    if (!json_is_string(type)) {
        snprintf(why, wl,
                 "a stream event that is not a JSON object with a "
                 "type");
        r = CS_EV_FAIL;
    } else if (event && *event && strcmp(event, json_string_value(type))) {
        snprintf(why, wl, "an event named %.40s carries type %.40s", event,
                 json_string_value(type));
        r = CS_EV_FAIL;
    }
    const char *t = json_string_value(type);
    json_t *seq = json_object_get(ev, "sequence_number");
    if (r == CS_EV_PASS && json_is_integer(seq) &&
        json_integer_value(seq) > s->last_seq)
        s->last_seq = json_integer_value(seq);
    json_int_t oi;
    if (r != CS_EV_PASS) {
        /* already said */
    } else if (!strcmp(t, "response.output_text.delta")) {
        r = delta(s, ev, 0, why, wl);
    } else if (!strcmp(t, "response.function_call_arguments.delta")) {
        r = delta(s, ev, 1, why, wl);
    } else if (!strcmp(t, "response.reasoning_summary_text.delta")) {
        r = delta(s, ev, 2, why, wl);
    } else if (!strcmp(t, "response.reasoning_text.delta")) {
        r = delta(s, ev, 3, why, wl);
    } else if (!strcmp(t, "response.refusal.delta")) {
        r = delta(s, ev, 4, why, wl);
    } else if (!strcmp(t, "response.output_text.done")) {
        r = done_text(s, ev, 0, "content_index", "text", 1, why, wl);
    } else if (!strcmp(t, "response.function_call_arguments.done")) {
        r = done_text(s, ev, 1, NULL, "arguments", 0, why, wl);
    } else if (!strcmp(t, "response.reasoning_summary_text.done")) {
        r = done_text(s, ev, 2, "summary_index", "text", 0, why, wl);
    } else if (!strcmp(t, "response.reasoning_text.done")) {
        r = done_text(s, ev, 3, "content_index", "text", 0, why, wl);
    } else if (!strcmp(t, "response.refusal.done")) {
        r = done_text(s, ev, 4, "content_index", "refusal", 0, why, wl);
    } else if (!strcmp(t, "response.output_item.added") ||
               !strcmp(t, "response.output_item.done")) {
        int done = !strcmp(t, "response.output_item.done");
        json_t *item = json_object_get(ev, "item");
        char key[24];
        if (index_of(ev, "output_index", &oi) || !json_is_object(item)) {
            snprintf(why, wl, "%s without output_index or item", t);
            r = CS_EV_FAIL;
        } else {
            snprintf(key, sizeof key, "%lld", (long long)oi);
            if (json_object_set(done ? s->done : s->added, key,
                                done ? item : json_true())) {
                snprintf(why, wl, "out of memory");
                r = CS_EV_FAIL;
            }
        }
    } else if (!strcmp(t, "response.completed")) {
        r = completed(s, ev, data, len, why, wl);
    } else if (!strcmp(t, "response.failed") ||
               !strcmp(t, "response.incomplete") || !strcmp(t, "error")) {
        r = CS_EV_UPSTREAM;
    }
    json_decref(ev);
    return r;
}

int cs_rsp_stream_complete(void *st)
{
    (void)st;
    return 0; /* only response.completed completes a reply */
}

json_t *cs_rsp_stream_messages(void *st)
{
    rsp_stream *s = st;
    return s->msgs ? json_incref(s->msgs) : NULL;
}

/* "event: NAME\ndata: " + data + "\n\n" appended to *out. */
static int put_event(char **out, size_t *n, const char *name, const char *a,
                     size_t alen, const char *b, size_t blen, const char *c)
{
    size_t nl = strlen(name), cl = strlen(c);
    size_t add = 7 + nl + 7 + alen + blen + cl + 2;
    char *p = realloc(*out, *n + add + 1);
    if (!p)
        return -1;
    *out = p;
    p += *n;
    memcpy(p, "event: ", 7);
    memcpy(p + 7, name, nl);
    memcpy(p + 7 + nl, "\ndata: ", 7);
    size_t k = 14 + nl;
    memcpy(p + k, a, alen);
    memcpy(p + k + alen, b, blen);
    memcpy(p + k + alen + blen, c, cl);
    memcpy(p + k + alen + blen + cl, "\n\n", 3);
    *n += add;
    return 0;
}

char *cs_rsp_stream_close(void *st, const char *member, size_t mlen,
                          size_t *len)
{
    rsp_stream *s = st;
    char *out = NULL, *compact = NULL;
    const char *data = s->held ? s->held : "{}";
    size_t dlen = s->held ? s->held_len : 2;
    if (memchr(data, '\n', dlen) || memchr(data, '\r', dlen)) {
        /* a data field over several lines: one line, same JSON value */
        json_t *v = json_loadb(data, dlen, JSON_ALLOW_NUL, NULL);
        if (!v) { /* an integer beyond 64 bits, as in stream_event; the
                   * others stay integers */
            v = json_loadb(data, dlen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
                           NULL);
            cs_json_integers(v);
        }
        compact = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(v);
        if (!compact)
            return NULL;
        data = compact;
        dlen = strlen(compact);
    }
    char head[96];
    snprintf(head, sizeof head,
             "{\"type\":\"keepalive\",\"sequence_number\":%lld,"
             "\"chatseal\":",
             (long long)(s->last_seq + 1));
    *len = 0;
    if (put_event(&out, len, "response.completed", data, dlen, "", 0, "") ||
        put_event(&out, len, "response.chatseal", head, strlen(head), member,
                  mlen, "}")) {
        free(out);
        out = NULL;
    }
    free(compact);
    return out;
}

char *cs_rsp_stream_error(void *st, chatseal_error e, const char *message,
                          size_t *len)
{
    rsp_stream *s = st;
    const char *code = chatseal_error_name(e);
    /* both spellings: the flat one of Responses error events, and the
     * nested "error" object the openai SDK raises as an APIError */
    json_t *ev =
        json_pack("{s:s,s:I,s:s,s:s,s:n,s:{s:s,s:s,s:s,s:n}}", "type", "error",
                  "sequence_number", (json_int_t)(s ? s->last_seq + 1 : 0),
                  "code", code, "message", message ? message : code, "param",
                  "error", "type", "upstream_error", "code", code, "message",
                  message ? message : code, "param");
    char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ev);
    char *out = NULL;
    *len = 0;
    if (text && put_event(&out, len, "error", text, strlen(text), "", 0, "")) {
        free(out);
        out = NULL;
    }
    free(text);
    return out;
}
