/*
 * messages_conv.c -- one Anthropic message <-> one internal message
 * (FORMAT.md §8.2).
 *
 * Reading is a projection chosen so that every spelling the SDKs send back
 * of a reply the gateway signed is one internal value:
 *   - a content string and a single text block holding only its text are
 *     the same content (the string);
 *   - members whose value is null are left out of blocks (replies carry
 *     "citations": null, SDKs drop it or keep it);
 *   - cache_control is left out everywhere: it moves from turn to turn (a
 *     client marks its newest block) and changes billing, not what the model
 *     reads, so signing it would refuse ordinary turns;
 *   - citations on text blocks are left out: @ai-sdk/anthropic does not send
 *     them back, and the text they annotate is signed;
 *   - thinking and redacted_thinking blocks go, byte for byte, into the
 *     "reasoning" member (an array of the blocks in order): the library
 *     verifies it on its own and drops it when it is missing or altered, as
 *     Anthropic lets a client leave old thinking out;
 *   - tool_use blocks become Chat Completions tool_calls (id, name, input as
 *     canonical JSON text), so re-serialized input verifies.
 * Writing is the inverse on what the model reads: reasoning blocks first,
 * then the other content blocks in order, then the tool_use blocks.  A reply
 * of the form [text, tool_use, text] is forwarded as [text, text, tool_use]:
 * the only reordering, and Claude writes its text before its tool calls.
 */
#include "api/messages_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/errors.h"

static int type_is(json_t *block, const char *t)
{
    const char *s = json_string_value(json_object_get(block, "type"));
    return s && !strcmp(s, t);
}

/* {"type":"text","text":S} and nothing else. */
static int plain_text(json_t *block)
{
    return json_object_size(block) == 2 && type_is(block, "text") &&
           json_is_string(json_object_get(block, "text"));
}

static json_t *norm_content(json_t *content, int *empty, char *why, size_t wl);

/* A block with the members that say nothing (null), cache_control and a
 * text block's citations left out; a tool_result's content normalized like
 * a message's and its is_error: false left out.  NULL with why. */
static json_t *norm_block(json_t *b, char *why, size_t wl)
{
    if (!json_is_object(b) || !json_is_string(json_object_get(b, "type"))) {
        snprintf(why, wl, "a content block must be an object with a type");
        return NULL;
    }
    int text = type_is(b, "text"), result = type_is(b, "tool_result");
    if (text && !json_is_string(json_object_get(b, "text"))) {
        snprintf(why, wl, "a text block must have a string \"text\"");
        return NULL;
    }
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v)
    {
        if (!out)
            break;
        if (json_is_null(v) || !strcmp(k, "cache_control") ||
            (text && !strcmp(k, "citations")) ||
            (result && !strcmp(k, "is_error") && json_is_false(v)))
            continue;
        if (result && !strcmp(k, "content")) {
            int empty = 0;
            json_t *c = norm_content(v, &empty, why, wl);
            if (!c && !empty) {
                json_decref(out);
                return NULL;
            }
            if (c && json_object_set_new(out, k, c) != 0)
                goto oom;
            continue;
        }
        if (json_object_set(out, k, v) != 0)
            goto oom;
    }
    if (out)
        return out;
oom:
    json_decref(out);
    snprintf(why, wl, "out of memory");
    return NULL;
}

/* Content (string or blocks) -> its internal value: the string, a single
 * plain text block as its string, else the normalized blocks.  NULL with
 * *empty set when it says nothing ("" or []), NULL with why when invalid. */
static json_t *norm_content(json_t *content, int *empty, char *why, size_t wl)
{
    *empty = 0;
    if (json_is_string(content)) {
        if (!json_string_length(content)) {
            *empty = 1;
            return NULL;
        }
        return json_incref(content);
    }
    if (!json_is_array(content)) {
        snprintf(why, wl, "content must be a string or an array of blocks");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        json_t *n = out ? norm_block(b, why, wl) : NULL;
        if (!n || json_array_append_new(out, n) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (!out)
        return NULL;
    if (json_array_size(out) == 0) {
        json_decref(out);
        *empty = 1;
        return NULL;
    }
    if (json_array_size(out) == 1 && plain_text(json_array_get(out, 0))) {
        json_t *s =
            json_incref(json_object_get(json_array_get(out, 0), "text"));
        json_decref(out);
        if (!json_string_length(s)) {
            json_decref(s);
            *empty = 1;
            return NULL;
        }
        return s;
    }
    return out;
}

/* The canonical JSON text of a value (RFC 8785, as the library signs). */
static json_t *canonical_string(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return NULL;
    char *canon = NULL;
    size_t clen = 0;
    json_t *s = NULL;
    if (chatseal_canonicalize(text, strlen(text), 0, &canon, &clen) ==
        CHATSEAL_OK)
        s = json_stringn(canon, clen);
    free(canon);
    free(text);
    return s;
}

/* A tool_use block -> a Chat Completions tool call. */
static json_t *tool_call_in(json_t *b, char *why, size_t wl)
{
    json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
    json_t *input = json_object_get(b, "input");
    if (!json_is_string(id) || !json_is_string(name) ||
        !json_is_object(input)) {
        snprintf(why, wl,
                 "a tool_use block needs a string id and name and an object "
                 "input");
        return NULL;
    }
    json_t *args = canonical_string(input);
    if (!args) {
        snprintf(why, wl, "a tool_use block's input cannot be canonicalized");
        return NULL;
    }
    return json_pack("{s:O,s:s,s:{s:O,s:o}}", "id", id, "type", "function",
                     "function", "name", name, "arguments", args);
}

/* Sorts an assistant block into reasoning, tool_calls or content. */
static int assistant_block(json_t *b, json_t *content, json_t *reasoning,
                           json_t *calls, char *why, size_t wl)
{
    if (json_is_object(b) &&
        (type_is(b, "thinking") || type_is(b, "redacted_thinking"))) {
        json_t *n = norm_block(b, why, wl);
        return n ? json_array_append_new(reasoning, n) : -1;
    }
    if (json_is_object(b) && type_is(b, "tool_use")) {
        json_t *c = tool_call_in(b, why, wl);
        return c ? json_array_append_new(calls, c) : -1;
    }
    return json_array_append(content, b);
}

json_t *cs_anth_message_in(const char *role, json_t *content, char *why,
                           size_t wl)
{
    int assistant = !strcmp(role, "assistant");
    json_t *msg = json_pack("{s:s}", "role", role);
    json_t *blocks = json_array(), *reasoning = json_array();
    json_t *calls = json_array(), *c = NULL;
    int ok = msg && blocks && reasoning && calls;
    if (!ok)
        snprintf(why, wl, "out of memory");
    if (ok && assistant && json_is_array(content)) {
        size_t i;
        json_t *b;
        json_array_foreach(content, i, b)
        {
            if (assistant_block(b, blocks, reasoning, calls, why, wl) != 0) {
                ok = 0;
                break;
            }
        }
        content = blocks;
    }
    int empty = 0;
    if (ok && !content) {
        snprintf(why, wl, "a message needs content");
        ok = 0;
    } else if (ok) {
        c = norm_content(content, &empty, why, wl);
        ok = c || empty;
    }
    if (ok && c)
        ok = json_object_set_new(msg, "content", c) == 0;
    if (ok && json_array_size(calls))
        ok = json_object_set(msg, "tool_calls", calls) == 0;
    if (ok && json_array_size(reasoning))
        ok = json_object_set(msg, "reasoning", reasoning) == 0;
    json_decref(blocks);
    json_decref(reasoning);
    json_decref(calls);
    if (ok)
        return msg;
    json_decref(msg);
    return NULL;
}

json_t *cs_anth_system_in(json_t *system, int *empty, char *why, size_t wl)
{
    *empty = 0;
    if (json_is_array(system)) {
        size_t i;
        json_t *b;
        json_array_foreach(system, i, b)
        {
            if (!json_is_object(b) || !type_is(b, "text")) {
                snprintf(why, wl, "system blocks must be text blocks");
                return NULL;
            }
        }
    } else if (!json_is_string(system)) {
        snprintf(why, wl, "system must be a string or an array of text blocks");
        return NULL;
    }
    return norm_content(system, empty, why, wl);
}

/* ------------------------------------------------------------ writing -- */

/* A tool call -> {"type":"tool_use","id","name","input"}. */
static json_t *tool_use_out(json_t *call, char *why, size_t wl)
{
    json_t *id = json_object_get(call, "id");
    json_t *fn = json_object_get(call, "function");
    json_t *name = json_object_get(fn, "name");
    json_t *args = json_object_get(fn, "arguments");
    const char *type = json_string_value(json_object_get(call, "type"));
    if (!json_is_string(id) || !json_is_string(name) ||
        (type && strcmp(type, "function") != 0) ||
        (args && !json_is_string(args))) {
        snprintf(why, wl,
                 "a tool call that is not a function call with an "
                 "id and a name has no tool_use form");
        return NULL;
    }
    json_t *input =
        args ? json_loadb(json_string_value(args), json_string_length(args),
                          JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
                              JSON_ALLOW_NUL,
                          NULL)
             : json_object();
    if (!json_is_object(input)) {
        json_decref(input);
        snprintf(why, wl,
                 "a tool call's arguments are not a JSON object, "
                 "which a tool_use input must be");
        return NULL;
    }
    return json_pack("{s:s,s:O,s:O,s:o}", "type", "tool_use", "id", id, "name",
                     name, "input", input);
}

/* Appends the content value's blocks (string: one text block). */
static int content_out(json_t *blocks, json_t *content, char *why, size_t wl)
{
    if (!content)
        return 0;
    if (json_is_string(content))
        return json_array_append_new(
            blocks, json_pack("{s:s,s:O}", "type", "text", "text", content));
    if (!json_is_array(content)) {
        snprintf(why, wl, "content must be a string or blocks");
        return -1;
    }
    return json_array_extend(blocks, content);
}

/* Thinking blocks of a reasoning member, if it holds only those (reasoning
 * of another shape is not this API's: it is left out, as unverified
 * reasoning is). */
static int reasoning_out(json_t *blocks, json_t *reasoning)
{
    if (!json_is_array(reasoning))
        return 0;
    size_t i;
    json_t *b;
    json_array_foreach(reasoning, i, b)
    {
        if (!json_is_object(b) ||
            !(type_is(b, "thinking") || type_is(b, "redacted_thinking")))
            return 0;
    }
    return json_array_extend(blocks, reasoning);
}

static int member_ok(const char *role, const char *k)
{
    if (!strcmp(k, "role") || !strcmp(k, "content"))
        return 1;
    return !strcmp(role, "assistant") &&
           (!strcmp(k, "tool_calls") || !strcmp(k, "reasoning"));
}

json_t *cs_anth_message_out(json_t *msg, char *why, size_t wl)
{
    const char *role = json_string_value(json_object_get(msg, "role"));
    if (!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant"))) {
        snprintf(why, wl, "a %s message has no form in the Messages API",
                 role ? role : "role-less");
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(msg, k, v)
    {
        if (!member_ok(role, k)) {
            snprintf(why, wl,
                     "a %s message with the member \"%.40s\" has no form in "
                     "the Messages API",
                     role, k);
            return NULL;
        }
    }
    json_t *content = json_object_get(msg, "content");
    if (!strcmp(role, "user")) /* "o" takes the reference we pass */
        return json_pack("{s:s,s:o}", "role", role, "content",
                         content ? json_incref(content) : json_string(""));
    json_t *blocks = json_array();
    int rc = blocks ? 0 : -1;
    if (rc == 0)
        rc = reasoning_out(blocks, json_object_get(msg, "reasoning"));
    if (rc == 0)
        rc = content_out(blocks, content, why, wl);
    json_t *calls = json_object_get(msg, "tool_calls");
    if (rc == 0 && calls && !json_is_array(calls)) {
        snprintf(why, wl, "tool_calls must be an array");
        rc = -1;
    }
    size_t i;
    json_t *call;
    json_array_foreach(calls, i, call)
    {
        json_t *t = rc == 0 ? tool_use_out(call, why, wl) : NULL;
        if (!t || json_array_append_new(blocks, t) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc != 0) {
        json_decref(blocks);
        if (!why[0])
            snprintf(why, wl, "out of memory");
        return NULL;
    }
    return json_pack("{s:s,s:o}", "role", role, "content", blocks);
}

/* By the HTTP status, as Anthropic's own errors go (the SDKs pick their
 * error class from the status; the type is for people). */
const char *cs_anth_error_type(chatseal_error e)
{
    if (e == CHATSEAL_E_OVERLOADED || e == CHATSEAL_E_SHUTTING_DOWN)
        return "overloaded_error";
    switch (cs_error_status(e)) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    default:
        break;
    }
    return cs_error_status(e) >= 500 ? "api_error" : "invalid_request_error";
}
