/*
 * mock_messages.c -- the mock model (`--upstream mock`) speaking Anthropic
 * Messages, POST /v1/messages: deterministic, like the chat mock (mock.c).
 *
 * It echoes the last user message; when the request offers tools and that
 * message mentions "tool" or "weather", it calls the first tool with
 * {"query": <message>}; after a user message holding tool_result blocks it
 * reports the tool's answer.  With "thinking" enabled in the request the
 * reply starts with a thinking block whose signature is a SHA-256 of the
 * thinking text (so tests can carry it forward).  Non-streamed: one message
 * object.  Streamed: Anthropic's named SSE events (message_start, ping,
 * content_block_start/delta/stop with text_delta, input_json_delta in three
 * fragments split on character boundaries, thinking_delta and
 * signature_delta, message_delta, message_stop).  Errors are Anthropic's
 * shape.
 */
#include "upstream/mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#define SAID_MAX 220

typedef struct anth_turn {
    const char *model;
    int stream;
    json_int_t in_tokens;
    char id[40], call_id[40];
    const char *tool_name;
    char thinking[SAID_MAX + 64], signature[64];
    char text[1024];
    char args[SAID_MAX * 6 + 32];
} anth_turn;

static int anth_error(cs_mock_reply *m, int status, const char *type,
                      const char *msg)
{
    m->status = status;
    cs_headers_set(&m->headers, "Content-Type", "application/json");
    return cs_mock_add_json(m,
                            json_pack("{s:s,s:{s:s,s:s}}", "type", "error",
                                      "error", "type", type, "message", msg),
                            0);
}

/* Adds `event: name` + `data: v` (v stolen). */
static int add_event(cs_mock_reply *m, const char *name, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!text)
        return -1;
    size_t n = strlen(text) + strlen(name) + 32;
    char *ev = malloc(n);
    if (!ev) {
        free(text);
        return -1;
    }
    int len = snprintf(ev, n, "event: %s\ndata: %s\n\n", name, text);
    free(text);
    return cs_mock_add_part(m, ev, (size_t)len);
}

/* The text a user message says: its text blocks, or its tool results'. */
static int user_said(json_t *content, char *out, size_t outlen)
{
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        const char *t = json_string_value(json_object_get(b, "type"));
        if (t && !strcmp(t, "tool_result")) {
            json_t *c = json_object_get(b, "content");
            cs_mock_text(c, out, outlen);
            return 1;
        }
    }
    cs_mock_text(content, out, outlen);
    return 0;
}

static void read_turn(anth_turn *t, json_t *req, json_t *msgs, const char *body,
                      size_t len)
{
    const char *model = json_string_value(json_object_get(req, "model"));
    t->model = model && *model ? model : "chatseal-mock";
    t->stream = json_is_true(json_object_get(req, "stream"));
    t->in_tokens = (json_int_t)(len / 4);
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[13];
    EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 6; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(t->id, sizeof t->id, "msg_mock_%s", hex);
    snprintf(t->call_id, sizeof t->call_id, "toolu_mock_%s", hex);

    size_t n = json_array_size(msgs), nuser = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r =
            json_string_value(json_object_get(json_array_get(msgs, i), "role"));
        nuser += r && !strcmp(r, "user");
    }
    json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
    const char *role = json_string_value(json_object_get(last, "role"));
    char said[SAID_MAX];
    int result = user_said(json_object_get(last, "content"), said, sizeof said);
    json_t *tools = json_object_get(req, "tools");
    const char *think = json_string_value(
        json_object_get(json_object_get(req, "thinking"), "type"));
    if (think && (!strcmp(think, "enabled") || !strcmp(think, "adaptive"))) {
        snprintf(t->thinking, sizeof t->thinking,
                 "The user wrote \"%s\"; I echo it.", said);
        unsigned char sd[32];
        EVP_Digest(t->thinking, strlen(t->thinking), sd, &mdlen, EVP_sha256(),
                   NULL);
        EVP_EncodeBlock((unsigned char *)t->signature, sd, 32);
    }
    if (!role || strcmp(role, "user") != 0) {
        snprintf(t->text, sizeof t->text,
                 "[mock] Nothing to answer: the last message is not from the "
                 "user.");
    } else if (result) {
        snprintf(t->text, sizeof t->text, "[mock] The tool answered: \"%s\".",
                 said);
    } else if (json_array_size(tools) && cs_mock_mentions_tool(said)) {
        json_t *name = json_object_get(json_array_get(tools, 0), "name");
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

static json_t *usage(json_int_t in, json_int_t out)
{
    return json_pack("{s:I,s:I}", "input_tokens", in, "output_tokens", out);
}

static int reply_whole(cs_mock_reply *m, const anth_turn *t)
{
    json_t *content = json_array();
    if (t->thinking[0])
        json_array_append_new(
            content, json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking",
                               t->thinking, "signature", t->signature));
    if (t->tool_name)
        json_array_append_new(content,
                              json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use",
                                        "id", t->call_id, "name", t->tool_name,
                                        "input", json_loads(t->args, 0, NULL)));
    else
        json_array_append_new(
            content, json_pack("{s:s,s:s}", "type", "text", "text", t->text));
    cs_headers_set(&m->headers, "Content-Type", "application/json");
    return cs_mock_add_json(
        m,
        json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:n,s:o}", "id", t->id, "type",
                  "message", "role", "assistant", "model", t->model, "content",
                  content, "stop_reason",
                  t->tool_name ? "tool_use" : "end_turn", "stop_sequence",
                  "usage", usage(t->in_tokens, 12)),
        0);
}

static json_t *delta(int index, const char *type, const char *key,
                     const char *s, size_t n)
{
    return json_pack("{s:s,s:i,s:{s:s,s:s%}}", "type", "content_block_delta",
                     "index", index, "delta", "type", type, key, s, n);
}

static int block_stop(cs_mock_reply *m, int index)
{
    return add_event(
        m, "content_block_stop",
        json_pack("{s:s,s:i}", "type", "content_block_stop", "index", index));
}

/* Text in word-sized deltas, input JSON in three pieces. */
static int stream_blocks(cs_mock_reply *m, const anth_turn *t)
{
    int rc = 0, index = 0;
    if (t->thinking[0]) {
        rc |= add_event(m, "content_block_start",
                        json_pack("{s:s,s:i,s:{s:s,s:s}}", "type",
                                  "content_block_start", "index", 0,
                                  "content_block", "type", "thinking",
                                  "thinking", ""));
        rc |= add_event(m, "content_block_delta",
                        delta(0, "thinking_delta", "thinking", t->thinking,
                              strlen(t->thinking)));
        rc |= add_event(m, "content_block_delta",
                        delta(0, "signature_delta", "signature", t->signature,
                              strlen(t->signature)));
        rc |= block_stop(m, 0);
        index = 1;
    }
    if (t->tool_name) {
        rc |= add_event(m, "content_block_start",
                        json_pack("{s:s,s:i,s:{s:s,s:s,s:s,s:{}}}", "type",
                                  "content_block_start", "index", index,
                                  "content_block", "type", "tool_use", "id",
                                  t->call_id, "name", t->tool_name, "input"));
        size_t alen = strlen(t->args), start = 0;
        for (int k = 1; k <= 3; k++) {
            size_t end = k == 3 ? alen : alen * (size_t)k / 3;
            while (end < alen && ((unsigned char)t->args[end] & 0xC0) == 0x80)
                end++;
            if (end > start)
                rc |= add_event(m, "content_block_delta",
                                delta(index, "input_json_delta", "partial_json",
                                      t->args + start, end - start));
            start = end > start ? end : start;
        }
    } else {
        rc |= add_event(m, "content_block_start",
                        json_pack("{s:s,s:i,s:{s:s,s:s}}", "type",
                                  "content_block_start", "index", index,
                                  "content_block", "type", "text", "text", ""));
        for (const char *p = t->text; *p;) {
            const char *e = strchr(p, ' ');
            e = e ? e + 1 : p + strlen(p);
            rc |= add_event(
                m, "content_block_delta",
                delta(index, "text_delta", "text", p, (size_t)(e - p)));
            p = e;
        }
    }
    return rc | block_stop(m, index);
}

static int reply_stream(cs_mock_reply *m, const anth_turn *t)
{
    cs_headers_set(&m->headers, "Content-Type", "text/event-stream");
    cs_headers_set(&m->headers, "Cache-Control", "no-cache");
    int rc =
        add_event(m, "message_start",
                  json_pack("{s:s,s:{s:s,s:s,s:s,s:[],s:s,s:n,s:n,s:o}}",
                            "type", "message_start", "message", "id", t->id,
                            "type", "message", "role", "assistant", "content",
                            "model", t->model, "stop_reason", "stop_sequence",
                            "usage", usage(t->in_tokens, 1)));
    rc |= add_event(m, "ping", json_pack("{s:s}", "type", "ping"));
    rc |= stream_blocks(m, t);
    rc |= add_event(
        m, "message_delta",
        json_pack("{s:s,s:{s:s,s:n},s:o}", "type", "message_delta", "delta",
                  "stop_reason", t->tool_name ? "tool_use" : "end_turn",
                  "stop_sequence", "usage", usage(t->in_tokens, 12)));
    rc |= add_event(m, "message_stop",
                    json_pack("{s:s}", "type", "message_stop"));
    return rc ? -1 : 0;
}

int cs_mock_messages(cs_mock_reply *m, const char *body, size_t len)
{
    json_t *req = json_loadb(body, len, JSON_DECODE_INT_AS_REAL, NULL);
    json_t *msgs = json_object_get(req, "messages");
    if (!json_is_array(msgs) || !json_array_size(msgs)) {
        json_decref(req);
        return anth_error(m, 400, "invalid_request_error",
                          "messages: the mock model needs at least one "
                          "message");
    }
    anth_turn *t = calloc(1, sizeof *t);
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
