/*
 * assemble.c -- the assistant message a stream of deltas amounts to.
 *
 * Rules (docs/GATEWAY.md, "Streaming"), applied to choice index 0 only:
 *   role        the first delta.role seen (default "assistant");
 *   content     the concatenation of every string delta.content, or null if
 *               no delta carried a string content;
 *   refusal     the concatenation of string delta.refusal, present only if
 *               one was seen;
 *   reasoning_content, reasoning
 *               each the concatenation of its string deltas (vLLM and
 *               DeepSeek stream reasoning_content, Ollama and newer vLLM
 *               reasoning), present only if one was seen: the same member a
 *               non-streamed reply carries, so that one answer signs the
 *               same either way (FORMAT.md §2.2 covers it with rsn);
 *   tool_calls  present only if a delta carried tool_calls: one entry per
 *               distinct `index`, in index order, each
 *               {"id","type","function":{"name","arguments"}} with id and
 *               type from the first delta that had them (type defaults to
 *               "function") and name and arguments concatenated.
 * The gateway signs exactly this object and sends it to the client in the
 * final chatseal chunk, so a client never has to rebuild it to the byte: it
 * stores the object it was given.
 *
 * Strings are kept with their lengths (a model may emit U+0000), in
 * libevent buffers like every other byte string of the gateway, and the
 * total size is bounded by --max-response.
 */
#include "api/assemble.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

/* a string being concatenated from deltas; made on its first piece */
struct sbuf {
    struct evbuffer *b;
};

struct tool {
    json_int_t index;
    char *id;
    char *type;
    struct sbuf name, args;
};

static const char *const RSN_NAMES[2] = {"reasoning_content", "reasoning"};

struct cs_assembly {
    size_t max, total;
    char role[64];
    struct sbuf content, refusal, rsn[2];
    int has_content, has_refusal, has_rsn[2], finished;
    struct tool *tools;
    size_t ntools;
    char *id, *model;
    long long created;
};

static int sb_add(cs_assembly *a, struct sbuf *b, const char *s, size_t n)
{
    if (a->total + n > a->max)
        return -1;
    if (!b->b && !(b->b = evbuffer_new()))
        return -1;
    if (evbuffer_add(b->b, s, n) != 0)
        return -1;
    a->total += n;
    return 0;
}

static void sb_free(struct sbuf *b)
{
    if (b->b)
        evbuffer_free(b->b);
}

cs_assembly *cs_assembly_new(size_t max_bytes)
{
    cs_assembly *a = calloc(1, sizeof *a);
    if (a)
        a->max = max_bytes;
    return a;
}

void cs_assembly_free(cs_assembly *a)
{
    if (!a)
        return;
    sb_free(&a->content);
    sb_free(&a->refusal);
    sb_free(&a->rsn[0]);
    sb_free(&a->rsn[1]);
    for (size_t i = 0; i < a->ntools; i++) {
        free(a->tools[i].id);
        free(a->tools[i].type);
        sb_free(&a->tools[i].name);
        sb_free(&a->tools[i].args);
    }
    free(a->tools);
    free(a->id);
    free(a->model);
    free(a);
}

static struct tool *tool_at(cs_assembly *a, json_int_t index)
{
    for (size_t i = 0; i < a->ntools; i++)
        if (a->tools[i].index == index)
            return &a->tools[i];
    if (a->ntools >= 1024)
        return NULL;
    struct tool *t = realloc(a->tools, (a->ntools + 1) * sizeof *t);
    if (!t)
        return NULL;
    a->tools = t;
    size_t k = a->ntools++;
    /* keep index order */
    while (k > 0 && a->tools[k - 1].index > index) {
        a->tools[k] = a->tools[k - 1];
        k--;
    }
    memset(&a->tools[k], 0, sizeof a->tools[k]);
    a->tools[k].index = index;
    return &a->tools[k];
}

static int add_tool_calls(cs_assembly *a, json_t *calls)
{
    size_t i;
    json_t *c;
    if (!json_is_array(calls))
        return json_is_null(calls) ? 0 : -1;
    json_array_foreach(calls, i, c)
    {
        if (!json_is_object(c))
            return -1;
        json_t *ix = json_object_get(c, "index");
        json_int_t index;
        if (json_is_integer(ix))
            index = json_integer_value(ix);
        else if (json_is_real(ix) && json_real_value(ix) >= 0 &&
                 json_real_value(ix) < 1e6 &&
                 json_real_value(ix) == (double)(long)json_real_value(ix))
            index = (json_int_t)json_real_value(ix);
        else if (!ix)
            index = (json_int_t)i;
        else
            return -1;
        struct tool *t = tool_at(a, index);
        if (!t)
            return -1;
        json_t *id = json_object_get(c, "id");
        if (json_is_string(id) && !t->id && json_string_length(id)) {
            t->id = strdup(json_string_value(id));
            if (!t->id)
                return -1;
        }
        json_t *type = json_object_get(c, "type");
        if (json_is_string(type) && !t->type && json_string_length(type)) {
            t->type = strdup(json_string_value(type));
            if (!t->type)
                return -1;
        }
        json_t *fn = json_object_get(c, "function");
        if (json_is_object(fn)) {
            json_t *name = json_object_get(fn, "name");
            json_t *args = json_object_get(fn, "arguments");
            if (json_is_string(name) &&
                sb_add(a, &t->name, json_string_value(name),
                       json_string_length(name)) != 0)
                return -1;
            if (json_is_string(args) &&
                sb_add(a, &t->args, json_string_value(args),
                       json_string_length(args)) != 0)
                return -1;
        }
    }
    return 0;
}

int cs_assembly_add(cs_assembly *a, json_t *chunk)
{
    if (!json_is_object(chunk))
        return -1;
    if (!a->id) {
        json_t *id = json_object_get(chunk, "id");
        json_t *model = json_object_get(chunk, "model");
        json_t *created = json_object_get(chunk, "created");
        a->id = strdup(json_is_string(id) ? json_string_value(id) : "");
        a->model =
            strdup(json_is_string(model) ? json_string_value(model) : "");
        a->created =
            json_is_number(created) ? (long long)json_number_value(created) : 0;
        if (!a->id || !a->model)
            return -1;
    }
    json_t *choices = json_object_get(chunk, "choices");
    if (!choices)
        return 0;
    if (!json_is_array(choices))
        return -1;
    size_t i;
    json_t *ch;
    json_array_foreach(choices, i, ch)
    {
        if (!json_is_object(ch))
            return -1;
        /* a client files each delta under its index: one that is missing,
         * a string ("1") or not a whole number would be read differently by
         * different clients, so the stream gets no token */
        json_t *ix = json_object_get(ch, "index");
        double ixv = json_number_value(ix);
        if (!json_is_number(ix) || ixv < 0 || ixv > 1e6 ||
            ixv != (double)(long)ixv)
            return -1;
        if (ixv != 0)
            continue; /* only choice 0 is signed */
        json_t *fin = json_object_get(ch, "finish_reason");
        if (fin && !json_is_null(fin))
            a->finished = 1;
        json_t *d = json_object_get(ch, "delta");
        if (!d || json_is_null(d))
            continue;
        if (!json_is_object(d))
            return -1;
        json_t *role = json_object_get(d, "role");
        if (json_is_string(role) && !a->role[0] &&
            json_string_length(role) < sizeof a->role &&
            !memchr(json_string_value(role), 0, json_string_length(role)))
            strcpy(a->role, json_string_value(role));
        json_t *content = json_object_get(d, "content");
        if (json_is_string(content)) {
            a->has_content = 1;
            if (sb_add(a, &a->content, json_string_value(content),
                       json_string_length(content)) != 0)
                return -1;
        }
        json_t *refusal = json_object_get(d, "refusal");
        if (json_is_string(refusal)) {
            a->has_refusal = 1;
            if (sb_add(a, &a->refusal, json_string_value(refusal),
                       json_string_length(refusal)) != 0)
                return -1;
        }
        for (int k = 0; k < 2; k++) {
            json_t *rs = json_object_get(d, RSN_NAMES[k]);
            if (!json_is_string(rs))
                continue;
            a->has_rsn[k] = 1;
            if (sb_add(a, &a->rsn[k], json_string_value(rs),
                       json_string_length(rs)) != 0)
                return -1;
        }
        json_t *tc = json_object_get(d, "tool_calls");
        if (tc && add_tool_calls(a, tc) != 0)
            return -1;
    }
    return 0;
}

int cs_assembly_finished(const cs_assembly *a)
{
    return a->finished;
}

static json_t *str(const struct sbuf *b)
{
    size_t n = b->b ? evbuffer_get_length(b->b) : 0;
    /* one contiguous block for jansson (a no-op for a single piece) */
    const char *p = n ? (const char *)evbuffer_pullup(b->b, -1) : "";
    return p ? json_stringn(p, n) : NULL;
}

char *cs_assembly_message(const cs_assembly *a)
{
    json_t *m = json_object();
    if (!m)
        return NULL;
    json_object_set_new(m, "role",
                        json_string(a->role[0] ? a->role : "assistant"));
    json_object_set_new(m, "content",
                        a->has_content ? str(&a->content) : json_null());
    if (a->has_refusal)
        json_object_set_new(m, "refusal", str(&a->refusal));
    for (int k = 0; k < 2; k++)
        if (a->has_rsn[k])
            json_object_set_new(m, RSN_NAMES[k], str(&a->rsn[k]));
    if (a->ntools) {
        json_t *arr = json_array();
        for (size_t i = 0; i < a->ntools; i++) {
            const struct tool *t = &a->tools[i];
            json_t *fn = json_object();
            json_object_set_new(fn, "name", str(&t->name));
            json_object_set_new(fn, "arguments", str(&t->args));
            json_t *call = json_object();
            json_object_set_new(call, "id", json_string(t->id ? t->id : ""));
            json_object_set_new(call, "type",
                                json_string(t->type ? t->type : "function"));
            json_object_set_new(call, "function", fn);
            json_array_append_new(arr, call);
        }
        json_object_set_new(m, "tool_calls", arr);
    }
    char *out = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return out;
}

const char *cs_assembly_id(const cs_assembly *a)
{
    return a->id ? a->id : "";
}

const char *cs_assembly_model(const cs_assembly *a)
{
    return a->model ? a->model : "";
}

long long cs_assembly_created(const cs_assembly *a)
{
    return a->created;
}
