/*
 * mock_responses.c -- the mock model (`--upstream mock`) speaking the
 * OpenAI Responses API, POST /v1/responses.  Deterministic, like mock.c's
 * chat mock: it echoes the last user text, calls the first offered
 * function tool when that text mentions "tool" or "weather", and reports
 * a function_call_output it is given.
 *
 * Wire format as OpenAI documents it: a `response` object (output items
 * with ids and status, usage, the request's parameters echoed), or named
 * SSE events (`event:` line + `data:` with the same `type`, increasing
 * `sequence_number`): response.created, response.in_progress, per item
 * response.output_item.added ... response.output_item.done (text as
 * response.content_part.added / response.output_text.delta with an
 * `obfuscation` member / .done / response.content_part.done; arguments as
 * response.function_call_arguments.delta / .done), response.completed, and
 * no `data: [DONE]`.  When the request has a `reasoning` member the reply
 * starts with a reasoning item (a summary, and an encrypted_content when
 * `include` asks for "reasoning.encrypted_content"), so reasoning carried
 * forward is exercised without a real model.
 */
#include "upstream/mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

typedef struct rturn {
    json_t *req;
    const char *model;
    int stream, reasoning, encrypted;
    json_int_t created, seq;
    char hex[13];
    const char *tool; /* call this tool instead of answering */
    char said[256];
    char text[1024];
    char args[2048];
} rturn;

/* The text of an item's content (string or parts). */
static void item_text(json_t *item, const char *member, char *out, size_t n)
{
    cs_mock_text(json_object_get(item, member), out, n);
}

static void read_rturn(rturn *t, const char *body, size_t len)
{
    json_t *req = t->req;
    json_t *mv = json_object_get(req, "model");
    t->model = json_is_string(mv) && json_string_length(mv)
                   ? json_string_value(mv)
                   : "chatseal-mock";
    t->stream = json_is_true(json_object_get(req, "stream"));
    t->reasoning = json_is_object(json_object_get(req, "reasoning"));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(req, "include"), i, v)
    {
        if (json_is_string(v) &&
            !strcmp(json_string_value(v), "reasoning.encrypted_content"))
            t->encrypted = 1;
    }
    t->created = (json_int_t)time(NULL);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
    for (int k = 0; k < 6; k++)
        snprintf(t->hex + 2 * k, 3, "%02x", md[k]);

    json_t *input = json_object_get(req, "input");
    json_t *last = NULL;
    size_t nuser = 0;
    if (json_is_string(input)) {
        snprintf(t->said, sizeof t->said, "%s", json_string_value(input));
        nuser = 1;
    }
    json_array_foreach(input, i, v)
    {
        json_t *role = json_object_get(v, "role");
        if (json_is_string(role) && !strcmp(json_string_value(role), "user"))
            nuser++;
        last = v;
    }
    const char *ltype = json_string_value(json_object_get(last, "type"));
    const char *lrole = json_string_value(json_object_get(last, "role"));
    if (last && ltype && !strcmp(ltype, "function_call_output")) {
        item_text(last, "output", t->said, sizeof t->said);
        snprintf(t->text, sizeof t->text, "[mock] The tool answered: \"%s\".",
                 t->said);
        return;
    }
    if (last && !(lrole && !strcmp(lrole, "user"))) {
        snprintf(t->text, sizeof t->text,
                 "[mock] Nothing to answer: the last item is not from the "
                 "user.");
        return;
    }
    if (last)
        item_text(last, "content", t->said, sizeof t->said);
    json_t *tool = json_array_get(json_object_get(req, "tools"), 0);
    json_t *name = json_object_get(tool, "name");
    if (json_is_string(name) && cs_mock_mentions_tool(t->said)) {
        t->tool = json_string_value(name);
        json_t *a = json_pack("{s:s}", "query", t->said);
        char *as = a ? json_dumps(a, JSON_COMPACT) : NULL;
        snprintf(t->args, sizeof t->args, "%s", as ? as : "{}");
        free(as);
        json_decref(a);
        return;
    }
    snprintf(t->text, sizeof t->text,
             "[mock] Reply %zu. You said: \"%s\". I am the built-in demo "
             "model of chatseal serve: I only echo, but the gateway signs "
             "every reply I give.",
             nuser, t->said);
}

/* The finished output items, in order. */
static json_t *items(const rturn *t)
{
    json_t *out = json_array();
    char id[48];
    if (t->reasoning) {
        snprintf(id, sizeof id, "rs_mock_%s", t->hex);
        json_t *r = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", id, "type",
                              "reasoning", "summary", "type", "summary_text",
                              "text", "[mock] Thinking about the answer.");
        if (t->encrypted) {
            char enc[64];
            snprintf(enc, sizeof enc, "gAAAAAmock+%s/enc==", t->hex);
            json_object_set_new(r, "encrypted_content", json_string(enc));
        }
        json_array_append_new(out, r);
    }
    if (t->tool) {
        char cid[48];
        snprintf(id, sizeof id, "fc_mock_%s", t->hex);
        snprintf(cid, sizeof cid, "call_mock_%s", t->hex);
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "type",
                           "function_call", "status", "completed", "arguments",
                           t->args, "call_id", cid, "name", t->tool));
    } else {
        snprintf(id, sizeof id, "msg_mock_%s", t->hex);
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:[],s:[],s:s}]}", "id",
                           id, "type", "message", "status", "completed", "role",
                           "assistant", "content", "type", "output_text",
                           "annotations", "logprobs", "text", t->text));
    }
    return out;
}

/* The response object (status, output stolen). */
static json_t *response(const rturn *t, const char *status, json_t *output)
{
    char id[48];
    snprintf(id, sizeof id, "resp_mock_%s", t->hex);
    json_t *req = t->req;
    json_t *instr = json_object_get(req, "instructions");
    json_t *tools = json_object_get(req, "tools");
    json_int_t in_tok = (json_int_t)strlen(t->said) / 4 + 8,
               out_tok = (json_int_t)(strlen(t->text) + strlen(t->args)) / 4;
    json_t *r = json_pack(
        "{s:s,s:s,s:I,s:s,s:n,s:n,s:O,s:n,s:s,s:o,s:b,s:n,s:{s:n,s:n},"
        "s:b,s:f,s:{s:{s:s}},s:s,s:o,s:f,s:s,s:n,s:{}}",
        "id", id, "object", "response", "created_at", t->created, "status",
        status, "error", "incomplete_details", "instructions",
        instr ? instr : json_null(), "max_output_tokens", "model", t->model,
        "output", output, "parallel_tool_calls", 1, "previous_response_id",
        "reasoning", "effort", "summary", "store", 0, "temperature", 1.0,
        "text", "format", "type", "text", "tool_choice", "auto", "tools",
        tools ? json_incref(tools) : json_array(), "top_p", 1.0, "truncation",
        "disabled", "user", "metadata");
    if (r && !strcmp(status, "completed"))
        json_object_set_new(
            r, "usage",
            json_pack("{s:I,s:{s:i},s:I,s:{s:i},s:I}", "input_tokens", in_tok,
                      "input_tokens_details", "cached_tokens", 0,
                      "output_tokens", out_tok, "output_tokens_details",
                      "reasoning_tokens", 0, "total_tokens", in_tok + out_tok));
    else if (r)
        json_object_set_new(r, "usage", json_null());
    return r;
}

/* One named event: "event: TYPE\ndata: {...,"sequence_number":N}\n\n". */
static int event(cs_mock_reply *m, rturn *t, json_t *ev)
{
    if (!ev)
        return -1;
    json_object_set_new(ev, "sequence_number", json_integer(t->seq++));
    const char *type = json_string_value(json_object_get(ev, "type"));
    char *data = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n = data ? strlen(data) + strlen(type) + 20 : 0;
    char *text = data ? malloc(n) : NULL;
    if (!text) {
        free(data);
        json_decref(ev);
        return -1;
    }
    snprintf(text, n, "event: %s\ndata: %s\n\n", type, data);
    free(data);
    json_decref(ev);
    return cs_mock_add_part(m, text, strlen(text));
}

/* Text in word deltas (each with an obfuscation pad, as OpenAI sends). */
static int stream_message(cs_mock_reply *m, rturn *t, json_t *item, int oi)
{
    json_t *id = json_object_get(item, "id");
    int rc = event(m, t,
                   json_pack("{s:s,s:i,s:{s:O,s:s,s:s,s:s,s:[]}}", "type",
                             "response.output_item.added", "output_index", oi,
                             "item", "id", id, "type", "message", "status",
                             "in_progress", "role", "assistant", "content"));
    rc |=
        event(m, t,
              json_pack("{s:s,s:O,s:i,s:i,s:{s:s,s:[],s:[],s:s}}", "type",
                        "response.content_part.added", "item_id", id,
                        "output_index", oi, "content_index", 0, "part", "type",
                        "output_text", "annotations", "logprobs", "text", ""));
    const char *p = t->text;
    static const char pad[] = "k3Xq9vLmZ2pR";
    while (*p) {
        const char *e = strchr(p, ' ');
        e = e ? e + 1 : p + strlen(p);
        size_t plen = (size_t)(e - p) % 10 + 2;
        rc |= event(m, t,
                    json_pack("{s:s,s:O,s:i,s:i,s:s%,s:[],s:s%}", "type",
                              "response.output_text.delta", "item_id", id,
                              "output_index", oi, "content_index", 0, "delta",
                              p, (size_t)(e - p), "logprobs", "obfuscation",
                              pad, plen));
        p = e;
    }
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:s,s:[]}", "type",
                          "response.output_text.done", "item_id", id,
                          "output_index", oi, "content_index", 0, "text",
                          t->text, "logprobs"));
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:O}", "type",
                          "response.content_part.done", "item_id", id,
                          "output_index", oi, "content_index", 0, "part",
                          json_array_get(json_object_get(item, "content"), 0)));
    return rc;
}

/* Arguments in three fragments cut on UTF-8 boundaries. */
static int stream_call(cs_mock_reply *m, rturn *t, json_t *item, int oi)
{
    json_t *id = json_object_get(item, "id");
    int rc = event(m, t,
                   json_pack("{s:s,s:i,s:{s:O,s:s,s:s,s:s,s:O,s:O}}", "type",
                             "response.output_item.added", "output_index", oi,
                             "item", "id", id, "type", "function_call",
                             "status", "in_progress", "arguments", "",
                             "call_id", json_object_get(item, "call_id"),
                             "name", json_object_get(item, "name")));
    size_t alen = strlen(t->args), start = 0;
    for (int k = 1; k <= 3; k++) {
        size_t end = k == 3 ? alen : alen * (size_t)k / 3;
        while (end < alen && ((unsigned char)t->args[end] & 0xC0) == 0x80)
            end++;
        if (end <= start)
            continue;
        rc |=
            event(m, t,
                  json_pack("{s:s,s:O,s:i,s:s%,s:s}", "type",
                            "response.function_call_arguments.delta", "item_id",
                            id, "output_index", oi, "delta", t->args + start,
                            end - start, "obfuscation", "Zq"));
        start = end;
    }
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:s}", "type",
                          "response.function_call_arguments.done", "item_id",
                          id, "output_index", oi, "arguments", t->args));
    return rc;
}

static int stream_reasoning(cs_mock_reply *m, rturn *t, json_t *item, int oi)
{
    json_t *id = json_object_get(item, "id");
    json_t *added = json_deep_copy(item);
    json_object_set_new(added, "summary", json_array());
    int rc =
        event(m, t,
              json_pack("{s:s,s:i,s:o}", "type", "response.output_item.added",
                        "output_index", oi, "item", added));
    const char *s = json_string_value(json_object_get(
        json_array_get(json_object_get(item, "summary"), 0), "text"));
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:{s:s,s:s}}", "type",
                          "response.reasoning_summary_part.added", "item_id",
                          id, "output_index", oi, "summary_index", 0, "part",
                          "type", "summary_text", "text", ""));
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:s,s:s}", "type",
                          "response.reasoning_summary_text.delta", "item_id",
                          id, "output_index", oi, "summary_index", 0, "delta",
                          s, "obfuscation", "pQ"));
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:s}", "type",
                          "response.reasoning_summary_text.done", "item_id", id,
                          "output_index", oi, "summary_index", 0, "text", s));
    rc |= event(m, t,
                json_pack("{s:s,s:O,s:i,s:i,s:{s:s,s:s}}", "type",
                          "response.reasoning_summary_part.done", "item_id", id,
                          "output_index", oi, "summary_index", 0, "part",
                          "type", "summary_text", "text", s));
    return rc;
}

static int reply_stream(cs_mock_reply *m, rturn *t)
{
    cs_headers_set(&m->headers, "Content-Type", "text/event-stream");
    cs_headers_set(&m->headers, "Cache-Control", "no-cache");
    json_t *out = items(t);
    int rc =
        event(m, t,
              json_pack("{s:s,s:o}", "type", "response.created", "response",
                        response(t, "in_progress", json_array())));
    rc |=
        event(m, t,
              json_pack("{s:s,s:o}", "type", "response.in_progress", "response",
                        response(t, "in_progress", json_array())));
    size_t i;
    json_t *item;
    json_array_foreach(out, i, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        if (!strcmp(type, "message"))
            rc |= stream_message(m, t, item, (int)i);
        else if (!strcmp(type, "function_call"))
            rc |= stream_call(m, t, item, (int)i);
        else
            rc |= stream_reasoning(m, t, item, (int)i);
        rc |= event(m, t,
                    json_pack("{s:s,s:i,s:O}", "type",
                              "response.output_item.done", "output_index",
                              (int)i, "item", item));
    }
    rc |= event(m, t,
                json_pack("{s:s,s:o}", "type", "response.completed", "response",
                          response(t, "completed", out)));
    return rc ? -1 : 0;
}

int cs_mock_responses(cs_mock_reply *m, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *req =
        json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &jerr);
    json_t *input = json_object_get(req, "input");
    if (!json_is_array(input) && !json_is_string(input)) {
        json_decref(req);
        return cs_mock_error(m, 400, "the mock model needs an input");
    }
    rturn *t = calloc(1, sizeof *t);
    if (!t) {
        json_decref(req);
        return -1;
    }
    t->req = req;
    read_rturn(t, body, len);
    m->status = 200;
    int rc;
    if (t->stream) {
        rc = reply_stream(m, t);
    } else {
        cs_headers_set(&m->headers, "Content-Type", "application/json");
        rc = cs_mock_add_json(m, response(t, "completed", items(t)), 0);
    }
    free(t);
    json_decref(req);
    return rc;
}
