/*
 * mock.c -- a deterministic stand-in for an OpenAI-compatible model server.
 *
 * `chatseal serve --upstream mock` answers from here instead of the network,
 * for `make demo` and for tests.  It is NOT a language model: it echoes the
 * last user message (clearly marked "[mock]"), and the same request always
 * gets the same text.  What it does exercise is everything around a model:
 *
 *   - the non-streaming chat.completion shape and the SSE stream of
 *     chat.completion.chunk events ending in `data: [DONE]`, with the content
 *     split word by word (--mock-delay apart, so streaming is visible);
 *   - tool calls: when the request offers `tools` and the last user message
 *     mentions "tool" or "weather", the reply is a call of the first tool
 *     with {"query": <message>}, streamed as argument fragments; after a
 *     `tool` message it reports the tool's answer;
 *   - `stream_options.include_usage` (a last chunk with empty choices);
 *   - GET /v1/models.
 *
 * The reply is built completely up front and played by mock_upstream.c, a
 * backend behind the same interface as a real upstream (backend.h), so the
 * gateway code paths are identical.
 */
#include "upstream/mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#define ECHO_MAX 200

int cs_mock_add_part(cs_mock_reply *m, char *text, size_t len)
{
    char **p = realloc(m->parts, (m->nparts + 1) * sizeof *p);
    if (!p)
        return -1;
    m->parts = p;
    size_t *l = realloc(m->lens, (m->nparts + 1) * sizeof *l);
    if (!l)
        return -1;
    m->lens = l;
    m->parts[m->nparts] = text;
    m->lens[m->nparts] = len;
    m->nparts++;
    return 0;
}

int cs_mock_add_json(cs_mock_reply *m, json_t *v, int sse)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!text)
        return -1;
    if (!sse)
        return cs_mock_add_part(m, text, strlen(text));
    size_t n = strlen(text);
    char *ev = malloc(n + 9);
    if (!ev) {
        free(text);
        return -1;
    }
    memcpy(ev, "data: ", 6);
    memcpy(ev + 6, text, n);
    memcpy(ev + 6 + n, "\n\n", 3);
    free(text);
    return cs_mock_add_part(m, ev, n + 8);
}

void cs_mock_reply_free(cs_mock_reply *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nparts; i++)
        free(m->parts[i]);
    free(m->parts);
    free(m->lens);
    cs_headers_clear(&m->headers);
    free(m);
}

/* Text of a message's content: a string, or the text parts of an array. */
void cs_mock_text(json_t *content, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = 0;
    if (json_is_string(content)) {
        snprintf(out, outlen, "%s", json_string_value(content));
        n = strlen(out);
    } else if (json_is_array(content)) {
        size_t i;
        json_t *part;
        json_array_foreach(content, i, part)
        {
            json_t *t = json_object_get(part, "text");
            if (json_is_string(t) && n < outlen - 1) {
                snprintf(out + n, outlen - n, "%s%s", n ? " " : "",
                         json_string_value(t));
                n = strlen(out);
            }
        }
    }
    if (n > ECHO_MAX) {
        n = ECHO_MAX;
        while (n && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
        snprintf(out + n, outlen - n, "...");
    }
}

int cs_mock_mentions_tool(const char *s)
{
    return strstr(s, "tool") || strstr(s, "weather") || strstr(s, "Tool") ||
           strstr(s, "Weather");
}

static json_t *chunk(const char *id, json_int_t created, const char *model,
                     json_t *delta, const char *finish)
{
    json_t *choice =
        json_pack("{s:i,s:o,s:n,s:o}", "index", 0, "delta", delta, "logprobs",
                  "finish_reason", finish ? json_string(finish) : json_null());
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:[o]}", "id", id, "object",
                     "chat.completion.chunk", "created", created, "model",
                     model, "system_fingerprint", "chatseal-mock", "choices",
                     choice);
}

int cs_mock_error(cs_mock_reply *m, int status, const char *msg)
{
    m->status = status;
    cs_headers_set(&m->headers, "Content-Type", "application/json");
    return cs_mock_add_json(
        m,
        json_pack("{s:{s:s,s:s,s:n,s:s}}", "error", "message", msg, "type",
                  "invalid_request_error", "param", "code", "mock_error"),
        0);
}

/* One chat turn of the mock model: what it answers, and the reply's ids. */
typedef struct mock_turn {
    const char *model; /* points into the request */
    int stream, usage;
    json_int_t created, prompt_tokens;
    char id[40], call_id[40];
    const char *tool_name; /* a tool call instead of text; into the request */
    char text[1024];
    char args[ECHO_MAX * 6 + 32];
} mock_turn;

/* Reads the request (a JSON object with a messages array) into t. */
static void read_turn(mock_turn *t, json_t *req, json_t *msgs, const char *body,
                      size_t len)
{
    json_t *model_v = json_object_get(req, "model");
    t->model = json_is_string(model_v) && json_string_length(model_v)
                   ? json_string_value(model_v)
                   : "chatseal-mock";
    t->stream = json_is_true(json_object_get(req, "stream"));
    t->usage = json_is_true(json_object_get(
        json_object_get(req, "stream_options"), "include_usage"));
    t->prompt_tokens = (json_int_t)(len / 4);
    t->created = (json_int_t)time(NULL);

    /* deterministic ids from the request bytes */
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[13];
    EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 6; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(t->id, sizeof t->id, "chatcmpl-mock-%s", hex);
    snprintf(t->call_id, sizeof t->call_id, "call_mock_%s", hex);

    size_t nmsg = json_array_size(msgs), nuser = 0;
    for (size_t i = 0; i < nmsg; i++) {
        json_t *role = json_object_get(json_array_get(msgs, i), "role");
        if (json_is_string(role) && !strcmp(json_string_value(role), "user"))
            nuser++;
    }
    json_t *last = nmsg ? json_array_get(msgs, nmsg - 1) : NULL;
    const char *last_role = json_string_value(json_object_get(last, "role"));
    char said[ECHO_MAX + 8];
    cs_mock_text(json_object_get(last, "content"), said, sizeof said);
    json_t *tools = json_object_get(req, "tools");
    if (last_role && !strcmp(last_role, "tool")) {
        snprintf(t->text, sizeof t->text, "[mock] The tool answered: \"%s\".",
                 said);
    } else if (!last_role || strcmp(last_role, "user") != 0) {
        snprintf(t->text, sizeof t->text,
                 "[mock] Nothing to answer: the last message is not from the "
                 "user.");
    } else if (json_array_size(tools) && cs_mock_mentions_tool(said)) {
        json_t *fn = json_object_get(json_array_get(tools, 0), "function");
        json_t *name = json_object_get(fn, "name");
        t->tool_name = json_is_string(name) ? json_string_value(name) : "tool";
        json_t *a = json_pack("{s:s}", "query", said);
        char *as = a ? json_dumps(a, JSON_COMPACT) : NULL;
        snprintf(t->args, sizeof t->args, "%s", as ? as : "{}");
        free(as);
        json_decref(a);
    } else {
        snprintf(t->text, sizeof t->text,
                 "[mock] Reply %zu. You said: \"%s\". I am the built-in demo "
                 "model of chatseal serve: I only echo, but the gateway signs "
                 "every reply I give.",
                 nuser, said);
    }
}

/* The whole reply as one chat.completion. */
static int reply_whole(cs_mock_reply *m, const mock_turn *t)
{
    json_t *msg =
        t->tool_name
            ? json_pack("{s:s,s:n,s:[{s:s,s:s,s:{s:s,s:s}}]}", "role",
                        "assistant", "content", "tool_calls", "id", t->call_id,
                        "type", "function", "function", "name", t->tool_name,
                        "arguments", t->args)
            : json_pack("{s:s,s:s}", "role", "assistant", "content", t->text);
    size_t words = 0;
    for (const char *p = t->tool_name ? t->args : t->text; *p; p++)
        words += *p == ' ';
    cs_headers_set(&m->headers, "Content-Type", "application/json");
    return cs_mock_add_json(
        m,
        json_pack(
            "{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:o,s:n,s:s}],"
            "s:{s:I,s:I,s:I}}",
            "id", t->id, "object", "chat.completion", "created", t->created,
            "model", t->model, "system_fingerprint", "chatseal-mock", "choices",
            "index", 0, "message", msg, "logprobs", "finish_reason",
            t->tool_name ? "tool_calls" : "stop", "usage", "prompt_tokens",
            t->prompt_tokens, "completion_tokens", (json_int_t)(words + 1),
            "total_tokens", (json_int_t)((size_t)t->prompt_tokens + words + 1)),
        0);
}

/* A streamed tool call: the call's head, then its arguments in three
 * fragments split at UTF-8 boundaries. */
static int stream_tool_call(cs_mock_reply *m, const mock_turn *t)
{
    int rc = cs_mock_add_json(
        m,
        chunk(t->id, t->created, t->model,
              json_pack("{s:s,s:n,s:[{s:i,s:s,s:s,s:{s:s,s:s}}]}", "role",
                        "assistant", "content", "tool_calls", "index", 0, "id",
                        t->call_id, "type", "function", "function", "name",
                        t->tool_name, "arguments", ""),
              NULL),
        1);
    size_t alen = strlen(t->args), start = 0;
    for (int k = 1; k <= 3; k++) {
        size_t end = k == 3 ? alen : alen * (size_t)k / 3;
        while (end < alen && ((unsigned char)t->args[end] & 0xC0) == 0x80)
            end++;
        if (end <= start)
            continue;
        json_t *frag = json_stringn(t->args + start, end - start);
        rc |= cs_mock_add_json(
            m,
            chunk(t->id, t->created, t->model,
                  json_pack("{s:[{s:i,s:{s:o}}]}", "tool_calls", "index", 0,
                            "function", "arguments", frag),
                  NULL),
            1);
        start = end;
    }
    return rc;
}

/* Streamed text: a role chunk, then one chunk per word.  *words: how many. */
static int stream_text(cs_mock_reply *m, const mock_turn *t, size_t *words)
{
    int rc = cs_mock_add_json(
        m,
        chunk(t->id, t->created, t->model,
              json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL),
        1);
    const char *p = t->text;
    while (*p) {
        const char *e = strchr(p, ' ');
        e = e ? e + 1 : p + strlen(p);
        rc |= cs_mock_add_json(
            m,
            chunk(t->id, t->created, t->model,
                  json_pack("{s:s%}", "content", p, (size_t)(e - p)), NULL),
            1);
        (*words)++;
        p = e;
    }
    return rc;
}

/* The reply as an SSE stream of chat.completion.chunk events: content or a
 * tool call, the finish chunk, the usage chunk if asked for, [DONE]. */
static int reply_stream(cs_mock_reply *m, const mock_turn *t)
{
    cs_headers_set(&m->headers, "Content-Type", "text/event-stream");
    cs_headers_set(&m->headers, "Cache-Control", "no-cache");
    size_t words = 0;
    int rc;
    if (t->tool_name) {
        rc = stream_tool_call(m, t);
        words = 3;
    } else {
        rc = stream_text(m, t, &words);
    }
    rc |= cs_mock_add_json(m,
                           chunk(t->id, t->created, t->model, json_object(),
                                 t->tool_name ? "tool_calls" : "stop"),
                           1);
    if (t->usage)
        rc |= cs_mock_add_json(
            m,
            json_pack("{s:s,s:s,s:I,s:s,s:s,s:[],s:{s:I,s:I,s:I}}", "id", t->id,
                      "object", "chat.completion.chunk", "created", t->created,
                      "model", t->model, "system_fingerprint", "chatseal-mock",
                      "choices", "usage", "prompt_tokens", t->prompt_tokens,
                      "completion_tokens", (json_int_t)words, "total_tokens",
                      (json_int_t)((size_t)t->prompt_tokens + words)),
            1);
    char *done = strdup("data: [DONE]\n\n");
    rc |= done ? cs_mock_add_part(m, done, strlen(done)) : -1;
    return rc ? -1 : 0;
}

static int chat_reply(cs_mock_reply *m, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *req =
        json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs)) {
        json_decref(req);
        return cs_mock_error(m, 400, "the mock model needs a messages array");
    }
    mock_turn *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(req);
        return -1;
    }
    read_turn(t, req, msgs, body, len);
    m->status = 200;
    int rc = t->stream ? reply_stream(m, t) : reply_whole(m, t);
    free(t);
    json_decref(req);
    return rc;
}

cs_mock_reply *cs_mock_reply_build(cs_gw *gw, const char *method,
                                   const char *path, const char *body,
                                   size_t len)
{
    cs_mock_reply *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    cs_headers_init(&m->headers);
    m->delay_ms = (long)gw->cfg.mock_delay_ms;
    size_t plen = strcspn(path, "?");
    int rc;
    if (!strcmp(method, "GET") && plen == 10 &&
        !strncmp(path, "/v1/models", 10)) {
        m->status = 200;
        cs_headers_set(&m->headers, "Content-Type", "application/json");
        rc = cs_mock_add_json(m,
                              json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object",
                                        "list", "data", "id", "chatseal-mock",
                                        "object", "model", "created", 0,
                                        "owned_by", "chatseal"),
                              0);
    } else if (!strcmp(method, "POST") && plen == 20 &&
               !strncmp(path, "/v1/chat/completions", 20)) {
        rc = chat_reply(m, body, len);
    } else if (!strcmp(method, "POST") && plen == 13 &&
               !strncmp(path, "/v1/responses", 13)) {
        rc = cs_mock_responses(m, body, len);
    } else if (!strcmp(method, "POST") && plen == 12 &&
               !strncmp(path, "/v1/messages", 12)) {
        rc = cs_mock_messages(m, body, len);
    } else if (!strcmp(method, "POST") && plen == 9 &&
               !strncmp(path, "/api/chat", 9)) {
        rc = cs_mock_ollama(m, body, len);
    } else {
        rc = cs_mock_error(m, 404, "the mock model has no such endpoint");
    }
    if (rc != 0) {
        cs_mock_reply_free(m);
        return NULL;
    }
    return m;
}
