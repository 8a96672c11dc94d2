/*
 * mock_ollama.c -- the mock model (`--upstream mock`) speaking Ollama's
 * native POST /api/chat.
 *
 * Same behaviour as the Chat Completions mock (mock.c): it echoes the last
 * user message, marked "[mock]"; when the request offers `tools` and that
 * message mentions "tool" or "weather" it calls the first tool with
 * {"query": <message>}; after a tool message it reports the tool's answer.
 * With `"think": true` (or a level) it thinks first, so the `thinking` path
 * is exercised.  The same request always gets the same text.
 *
 * The wire format is Ollama's: `stream` is true unless the request says
 * false; a stream is application/x-ndjson, one JSON object per line: the
 * thinking and the content word by word, a tool call whole in one line (as
 * Ollama's server sends it, with an "id" and "function.index" like current
 * versions), then the `"done": true` line with `done_reason` and the
 * statistics (durations in nanoseconds).  Errors are {"error": "..."}.
 */
#include "upstream/mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

typedef struct oturn {
    const char *model;
    int stream;
    char created[40];
    char call_id[24];
    const char *tool; /* into the request */
    char said[256];
    char text[1024];
    char thinking[320];
    json_int_t prompt_tokens;
} oturn;

static int add_line(cs_mock_reply *m, json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!t)
        return -1;
    size_t n = strlen(t);
    char *line = realloc(t, n + 2);
    if (!line) {
        free(t);
        return -1;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return cs_mock_add_part(m, line, n + 1);
}

static int oerror(cs_mock_reply *m, int status, const char *msg)
{
    m->status = status;
    cs_headers_set(&m->headers, "Content-Type", "application/json");
    return cs_mock_add_json(m, json_pack("{s:s}", "error", msg), 0);
}

static void read_oturn(oturn *t, json_t *req, json_t *msgs, const char *body,
                       size_t len)
{
    json_t *model = json_object_get(req, "model");
    t->model = json_is_string(model) && json_string_length(model)
                   ? json_string_value(model)
                   : "chatseal-mock";
    json_t *stream = json_object_get(req, "stream");
    t->stream = !stream || json_is_true(stream);
    json_t *think = json_object_get(req, "think");
    int thinks = json_is_true(think) || json_is_string(think);
    t->prompt_tokens = (json_int_t)(len / 4);
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(t->created, sizeof t->created, "%Y-%m-%dT%H:%M:%S.000000000Z",
             &tm);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
    snprintf(t->call_id, sizeof t->call_id, "call_%02x%02x%02x%02x", md[0],
             md[1], md[2], md[3]);

    size_t n = json_array_size(msgs), nuser = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r =
            json_string_value(json_object_get(json_array_get(msgs, i), "role"));
        nuser += r && !strcmp(r, "user");
    }
    json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
    const char *role = json_string_value(json_object_get(last, "role"));
    cs_mock_text(json_object_get(last, "content"), t->said, sizeof t->said);
    json_t *tools = json_object_get(req, "tools");
    if (role && !strcmp(role, "tool")) {
        snprintf(t->text, sizeof t->text, "[mock] The tool answered: \"%s\".",
                 t->said);
    } else if (!role || strcmp(role, "user") != 0) {
        snprintf(t->text, sizeof t->text,
                 "[mock] Nothing to answer: the last message is not from the "
                 "user.");
    } else if (json_array_size(tools) && cs_mock_mentions_tool(t->said)) {
        json_t *name = json_object_get(
            json_object_get(json_array_get(tools, 0), "function"), "name");
        t->tool = json_is_string(name) ? json_string_value(name) : "tool";
    } else {
        snprintf(t->text, sizeof t->text,
                 "[mock] Reply %zu. You said: \"%s\". I am the built-in demo "
                 "model of chatseal serve: I only echo, but the gateway signs "
                 "every reply I give.",
                 nuser, t->said);
    }
    if (thinks)
        snprintf(t->thinking, sizeof t->thinking,
                 "[mock] Thinking about: \"%s\"", t->said);
}

/* The assistant message of the whole reply, or of one line. */
static json_t *message(const char *content, const char *thinking, json_t *calls)
{
    json_t *m = json_pack("{s:s,s:s}", "role", "assistant", "content", content);
    if (m && thinking && *thinking)
        json_object_set_new(m, "thinking", json_string(thinking));
    if (m && calls)
        json_object_set_new(m, "tool_calls", calls);
    else
        json_decref(calls);
    return m;
}

static json_t *tool_calls(const oturn *t)
{
    return json_pack("[{s:s,s:{s:i,s:s,s:{s:s}}}]", "id", t->call_id,
                     "function", "index", 0, "name", t->tool, "arguments",
                     "query", t->said);
}

/* A line (or the whole reply) with this message; done adds the stats. */
static json_t *line(const oturn *t, json_t *msg, int done, size_t words)
{
    json_t *l = json_pack("{s:s,s:s,s:o,s:b}", "model", t->model, "created_at",
                          t->created, "message", msg, "done", done);
    if (!l || !done)
        return l;
    json_t *stats =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "done_reason", "stop",
                  "total_duration", (json_int_t)1200000, "load_duration",
                  (json_int_t)100000, "prompt_eval_count", t->prompt_tokens,
                  "prompt_eval_duration", (json_int_t)300000, "eval_count",
                  (json_int_t)words, "eval_duration", (json_int_t)800000);
    if (!stats || json_object_update(l, stats)) {
        json_decref(stats);
        json_decref(l);
        return NULL;
    }
    json_decref(stats);
    return l;
}

/* One line per word of s (spaces kept with the word before them). */
static int words(cs_mock_reply *m, const oturn *t, const char *s, int thinking,
                 size_t *count)
{
    int rc = 0;
    while (*s) {
        const char *e = strchr(s, ' ');
        e = e ? e + 1 : s + strlen(s);
        json_t *w = json_stringn(s, (size_t)(e - s));
        json_t *msg = json_pack("{s:s,s:o}", "role", "assistant",
                                thinking ? "thinking" : "content", w);
        if (msg && thinking)
            json_object_set_new(msg, "content", json_string(""));
        rc |= add_line(m, msg ? line(t, msg, 0, 0) : NULL);
        (*count)++;
        s = e;
    }
    return rc;
}

static int reply(cs_mock_reply *m, const oturn *t)
{
    m->status = 200;
    if (!t->stream) {
        cs_headers_set(&m->headers, "Content-Type",
                       "application/json; charset=utf-8");
        json_t *msg =
            message(t->text, t->thinking, t->tool ? tool_calls(t) : NULL);
        return cs_mock_add_json(m, msg ? line(t, msg, 1, 1) : NULL, 0);
    }
    cs_headers_set(&m->headers, "Content-Type", "application/x-ndjson");
    size_t n = 0;
    int rc = words(m, t, t->thinking, 1, &n);
    if (t->tool)
        rc |= add_line(m, line(t, message("", NULL, tool_calls(t)), 0, 0));
    else
        rc |= words(m, t, t->text, 0, &n);
    rc |= add_line(m, line(t, message("", NULL, NULL), 1, n + 1));
    return rc ? -1 : 0;
}

int cs_mock_ollama(cs_mock_reply *m, const char *body, size_t len)
{
    json_t *req = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL);
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs)) {
        json_decref(req);
        return oerror(m, 400, "the mock model needs a messages array");
    }
    oturn *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(req);
        return -1;
    }
    read_oturn(t, req, msgs, body, len);
    int rc = reply(m, t);
    free(t);
    json_decref(req);
    return rc;
}
