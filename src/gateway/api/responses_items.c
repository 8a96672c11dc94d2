/*
 * responses_items.c -- Responses items <-> internal messages (FORMAT.md
 * §8.1), one projection shared by the request, the JSON reply and the
 * stream, so that every spelling a real client sends back maps to what the
 * gateway signed.
 *
 * Why a projection and not the items' bytes: the SDKs rebuild the output
 * items they send back.  The openai SDK sends them as received (ids,
 * status, annotations, logprobs); the AI SDK sends an assistant message
 * as {"role":"assistant","content":[{"type":"output_text","text"}]} with
 * or without its id, function calls without id/status, and reasoning as
 * {type,id,encrypted_content,summary}.  So an internal message keeps only
 * what the model reads:
 *
 *   message (user/system/developer)  {"role":r,"content":string|parts}
 *       parts normalized to their documented members; one input_text part
 *       is the string (clients disagree on the two spellings)
 *   message (assistant)              {"role":"assistant","content":text,
 *                                     "refusal":text}  (texts joined)
 *   function_call                    {"role":"assistant","tool_calls":[
 *                                     {"id":call_id,"type":"function",
 *                                      "function":{name,arguments}}]}
 *   function_call_output             {"role":"tool","tool_call_id","content"}
 *   reasoning                        the `reasoning` member (an array of
 *       normalized items, encrypted_content byte-exact) of the assistant
 *       item that follows it, so it is verified on its own and dropped,
 *       never refused, when it does not verify (FORMAT.md §2.2); a
 *       reasoning item followed by no assistant item is an assistant
 *       message of its own
 *
 * Hosted-tool records (web_search_call, file_search_call,
 * code_interpreter_call, image_generation_call) are what the provider did;
 * their result is in the message that follows.  They are neither signed
 * nor forwarded: left out on both sides.  Every other item type is refused
 * (invalid_request), never forwarded unverified; item_reference points at
 * provider-stored items (parameter_not_allowed, like store:true).
 */
#include "api/responses_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static chatseal_error fail(chatseal_error e, char *why, size_t wl,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static chatseal_error fail(chatseal_error e, char *why, size_t wl,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, wl, fmt, ap);
    va_end(ap);
    return e;
}

static int is(json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           !strcmp(json_string_value(v), s);
}

/* Copies member k of from into to when it is a string (or, any: any value
 * but null). */
static int copy_member(json_t *to, json_t *from, const char *k, int any)
{
    json_t *v = json_object_get(from, k);
    if (!v || json_is_null(v) || (!any && !json_is_string(v)))
        return 0;
    return json_object_set(to, k, v);
}

/* v when it is a string (new reference), else "" (NUL-safe: never
 * through a C string). */
static json_t *str_or_empty(json_t *v)
{
    return json_is_string(v) ? json_incref(v) : json_string("");
}

static int hosted_record(const char *t)
{
    static const char *const rec[] = {"web_search_call", "file_search_call",
                                      "code_interpreter_call",
                                      "image_generation_call"};
    for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++)
        if (!strcmp(t, rec[i]))
            return 1;
    return 0;
}

/* One content part of a non-assistant message, normalized to the members
 * the model reads; text_only: system/developer parts. */
static json_t *norm_part(json_t *part, int text_only, size_t idx, char *why,
                         size_t wl, chatseal_error *e)
{
    json_t *type = json_object_get(part, "type");
    json_t *out = NULL;
    if (is(type, "input_text")) {
        if (!json_is_string(json_object_get(part, "text"))) {
            *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                      "input item %zu: an input_text part needs a string "
                      "text",
                      idx);
            return NULL;
        }
        out = json_pack("{s:s,s:O}", "type", "input_text", "text",
                        json_object_get(part, "text"));
    } else if (!text_only && is(type, "input_image")) {
        out = json_pack("{s:s}", "type", "input_image");
        if (out && (copy_member(out, part, "image_url", 0) ||
                    copy_member(out, part, "file_id", 0) ||
                    copy_member(out, part, "detail", 0))) {
            json_decref(out);
            out = NULL;
        }
    } else if (!text_only && is(type, "input_file")) {
        out = json_pack("{s:s}", "type", "input_file");
        if (out && (copy_member(out, part, "file_id", 0) ||
                    copy_member(out, part, "file_url", 0) ||
                    copy_member(out, part, "file_data", 0) ||
                    copy_member(out, part, "filename", 0))) {
            json_decref(out);
            out = NULL;
        }
    } else {
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: content part type %s is not one this "
                  "gateway reads here",
                  idx,
                  json_is_string(type) ? json_string_value(type) : "(none)");
        return NULL;
    }
    if (!out)
        *e = CHATSEAL_E_NO_MEMORY;
    return out;
}

/* Content of a non-assistant message or a function_call_output: a string,
 * or parts (one input_text part is its string). */
static json_t *norm_content(json_t *c, int text_only, size_t idx, char *why,
                            size_t wl, chatseal_error *e)
{
    if (!c || json_is_null(c))
        return json_string("");
    if (json_is_string(c))
        return json_incref(c);
    if (!json_is_array(c)) {
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: content must be a string or an array of "
                  "parts",
                  idx);
        return NULL;
    }
    json_t *arr = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p)
    {
        json_t *n = norm_part(p, text_only, idx, why, wl, e);
        if (!n || json_array_append_new(arr, n)) {
            json_decref(arr);
            if (*e == CHATSEAL_OK)
                *e = CHATSEAL_E_NO_MEMORY;
            return NULL;
        }
    }
    if (json_array_size(arr) == 1 &&
        is(json_object_get(json_array_get(arr, 0), "type"), "input_text")) {
        json_t *s =
            json_incref(json_object_get(json_array_get(arr, 0), "text"));
        json_decref(arr);
        return s;
    }
    return arr;
}

/* A reasoning item, normalized: type, id, summary texts, reasoning texts
 * (vLLM's content), encrypted_content kept byte for byte. */
static json_t *norm_reasoning(json_t *item, size_t idx, char *why, size_t wl,
                              chatseal_error *e)
{
    json_t *out = json_pack("{s:s,s:[]}", "type", "reasoning", "summary");
    if (!out || copy_member(out, item, "id", 0) ||
        copy_member(out, item, "encrypted_content", 0)) {
        json_decref(out);
        *e = CHATSEAL_E_NO_MEMORY;
        return NULL;
    }
    static const char *const lists[2][2] = {{"summary", "summary_text"},
                                            {"content", "reasoning_text"}};
    for (int l = 0; l < 2; l++) {
        json_t *src = json_object_get(item, lists[l][0]);
        if (!src || json_is_null(src))
            continue;
        if (!json_is_array(src)) {
            json_decref(out);
            *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                      "input item %zu: reasoning %s must be an array", idx,
                      lists[l][0]);
            return NULL;
        }
        json_t *dst = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(src, i, p)
        {
            json_t *t = json_object_get(p, "text");
            if (!json_is_string(t)) {
                json_decref(dst);
                json_decref(out);
                *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                          "input item %zu: a reasoning %s part needs a "
                          "string text",
                          idx, lists[l][0]);
                return NULL;
            }
            json_array_append_new(
                dst, json_pack("{s:s,s:O}", "type", lists[l][1], "text", t));
        }
        if (l == 0 || json_array_size(dst))
            json_object_set(out, lists[l][0], dst);
        json_decref(dst);
    }
    return out;
}

/* An assistant message item: texts joined, refusals joined. */
static json_t *assistant_message(json_t *item, size_t idx, char *why, size_t wl,
                                 chatseal_error *e)
{
    json_t *c = json_object_get(item, "content");
    json_t *m = json_pack("{s:s}", "role", "assistant");
    if (!m) {
        *e = CHATSEAL_E_NO_MEMORY;
        return NULL;
    }
    if (json_is_string(c)) {
        json_object_set(m, "content", c);
        return m;
    }
    if (c && !json_is_null(c) && !json_is_array(c)) {
        json_decref(m);
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: content must be a string or an array of "
                  "parts",
                  idx);
        return NULL;
    }
    json_t *text = NULL, *refusal = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p)
    {
        json_t *type = json_object_get(p, "type");
        int is_text = is(type, "output_text") || is(type, "input_text");
        json_t *v =
            json_object_get(p, is(type, "refusal") ? "refusal" : "text");
        if ((!is_text && !is(type, "refusal")) || !json_is_string(v)) {
            json_decref(text);
            json_decref(refusal);
            json_decref(m);
            *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                      "input item %zu: an assistant message holds "
                      "output_text and refusal parts with their text",
                      idx);
            return NULL;
        }
        json_t **acc = is_text ? &text : &refusal;
        if (!*acc)
            *acc = json_string("");
        size_t n0 = json_string_length(*acc), n1 = json_string_length(v);
        char *buf = malloc(n0 + n1 + 1);
        if (!buf || !*acc) {
            free(buf);
            json_decref(text);
            json_decref(refusal);
            json_decref(m);
            *e = CHATSEAL_E_NO_MEMORY;
            return NULL;
        }
        memcpy(buf, json_string_value(*acc), n0);
        memcpy(buf + n0, json_string_value(v), n1);
        json_decref(*acc);
        *acc = json_stringn_nocheck(buf, n0 + n1);
        free(buf);
    }
    if (text)
        json_object_set_new(m, "content", text);
    if (refusal)
        json_object_set_new(m, "refusal", refusal);
    return m;
}

/* A function_call item: an assistant message with one tool call. */
static json_t *function_call(json_t *item, size_t idx, char *why, size_t wl,
                             chatseal_error *e)
{
    json_t *id = json_object_get(item, "call_id"),
           *name = json_object_get(item, "name"),
           *args = json_object_get(item, "arguments");
    if (!json_is_string(id) || !json_is_string(name) ||
        (args && !json_is_string(args))) {
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: a function_call needs string call_id, "
                  "name and arguments",
                  idx);
        return NULL;
    }
    json_t *m =
        json_pack("{s:s,s:[{s:O,s:s,s:{s:O,s:o}}]}", "role", "assistant",
                  "tool_calls", "id", id, "type", "function", "function",
                  "name", name, "arguments", str_or_empty(args));
    if (!m)
        *e = CHATSEAL_E_NO_MEMORY;
    return m;
}

static json_t *tool_output(json_t *item, size_t idx, char *why, size_t wl,
                           chatseal_error *e)
{
    json_t *id = json_object_get(item, "call_id");
    if (!json_is_string(id)) {
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: a function_call_output needs a string "
                  "call_id",
                  idx);
        return NULL;
    }
    json_t *c =
        norm_content(json_object_get(item, "output"), 0, idx, why, wl, e);
    if (!c)
        return NULL;
    json_t *m = json_pack("{s:s,s:O,s:o}", "role", "tool", "tool_call_id", id,
                          "content", c);
    if (!m)
        *e = CHATSEAL_E_NO_MEMORY;
    return m;
}

/* A message item of the input (role user/system/developer/assistant). */
static json_t *message(json_t *item, int side, int as_system, size_t idx,
                       char *why, size_t wl, chatseal_error *e)
{
    json_t *role = json_object_get(item, "role");
    if (is(role, "assistant"))
        return assistant_message(item, idx, why, wl, e);
    if (side == RSP_OUTPUT ||
        !(is(role, "user") || is(role, "system") || is(role, "developer"))) {
        *e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                  "input item %zu: a message's role must be user, system, "
                  "developer or assistant",
                  idx);
        return NULL;
    }
    int text_only = !is(role, "user");
    json_t *c = norm_content(json_object_get(item, "content"), text_only, idx,
                             why, wl, e);
    if (!c)
        return NULL;
    json_t *m =
        json_pack("{s:s,s:o}", "role",
                  as_system ? "system" : json_string_value(role), "content", c);
    if (!m)
        *e = CHATSEAL_E_NO_MEMORY;
    return m;
}

/* Appends msg (stolen) to msgs, with the pending reasoning when it is an
 * assistant message. */
static int push(json_t *msgs, json_t *msg, json_t **pending)
{
    if (*pending && is(json_object_get(msg, "role"), "assistant")) {
        json_object_set_new(msg, "reasoning", *pending);
        *pending = NULL;
    }
    return json_array_append_new(msgs, msg);
}

static int flush(json_t *msgs, json_t **pending)
{
    if (!*pending)
        return 0;
    json_t *m =
        json_pack("{s:s,s:o}", "role", "assistant", "reasoning", *pending);
    *pending = NULL;
    return m ? json_array_append_new(msgs, m) : -1;
}

chatseal_error cs_rsp_items_to_msgs(json_t *items, int side, int first_system,
                                    json_t *msgs, char *why, size_t wl)
{
    chatseal_error e = CHATSEAL_OK;
    json_t *pending = NULL; /* reasoning items waiting for their item */
    size_t i;
    json_t *item;
    if (!json_is_array(items))
        return fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                    "input must be a string or an array of items");
    json_array_foreach(items, i, item)
    {
        if (!json_is_object(item)) {
            e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                     "input item %zu is not an object", i);
            break;
        }
        json_t *tv = json_object_get(item, "type");
        const char *t = json_is_string(tv) ? json_string_value(tv)
                        : !tv && json_object_get(item, "role") ? "message"
                                                               : NULL;
        json_t *m = NULL;
        if (!t) {
            e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                     "input item %zu has no type", i);
            break;
        } else if (!strcmp(t, "reasoning")) {
            json_t *r = norm_reasoning(item, i, why, wl, &e);
            if (!r)
                break;
            if (!pending)
                pending = json_array();
            if (json_array_append_new(pending, r)) {
                e = CHATSEAL_E_NO_MEMORY;
                break;
            }
            continue;
        } else if (hosted_record(t)) {
            continue;
        } else if (!strcmp(t, "message")) {
            json_t *role = json_object_get(item, "role");
            int as_sys = side == RSP_INPUT && first_system &&
                         !json_array_size(msgs) && !pending &&
                         (is(role, "system") || is(role, "developer"));
            m = message(item, side, as_sys, i, why, wl, &e);
        } else if (!strcmp(t, "function_call")) {
            m = function_call(item, i, why, wl, &e);
        } else if (side == RSP_INPUT && !strcmp(t, "function_call_output")) {
            m = tool_output(item, i, why, wl, &e);
        } else if (side == RSP_INPUT && !strcmp(t, "item_reference")) {
            e = fail(CHATSEAL_E_PARAMETER_NOT_ALLOWED, why, wl,
                     "input item %zu is an item_reference: it points at "
                     "history stored at the provider, beyond what this "
                     "gateway can verify; send the items themselves "
                     "(with the AI SDK: providerOptions.openai.store = "
                     "false)",
                     i);
            break;
        } else {
            e = fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                     "%s item %zu has type %.40s, which this gateway does "
                     "not verify",
                     side == RSP_INPUT ? "input" : "output", i, t);
            break;
        }
        if (!m)
            break;
        if (!is(json_object_get(m, "role"), "assistant") &&
            flush(msgs, &pending)) {
            json_decref(m);
            e = CHATSEAL_E_NO_MEMORY;
            break;
        }
        if (push(msgs, m, &pending)) {
            e = CHATSEAL_E_NO_MEMORY;
            break;
        }
    }
    if (e == CHATSEAL_OK && flush(msgs, &pending))
        e = CHATSEAL_E_NO_MEMORY;
    json_decref(pending);
    if (e == CHATSEAL_E_NO_MEMORY && !why[0])
        fail(e, why, wl, "out of memory");
    return e;
}

/* ---------------------------------------------------- internal -> items -- */

/* The items of one assistant message: its reasoning, its text and refusal
 * as one message item, its calls.  forward: a reasoning item with neither
 * encrypted_content nor content is left out -- it only names an item
 * stored at the provider, and with store:false OpenAI answers "not
 * found" (the AI SDK leaves such items out for the same reason); so is
 * reasoning that no item of its own message follows. */
static int assistant_items(json_t *m, json_t *out, int forward)
{
    json_t *r = json_object_get(m, "reasoning");
    size_t i;
    json_t *v;
    /* OpenAI refuses a reasoning item that no message or function_call
     * follows ("provided without its required following item"): reasoning
     * alone (a reply cut during its reasoning) is not forwarded */
    if (forward && !json_object_get(m, "content") &&
        !json_object_get(m, "refusal") && !json_object_get(m, "tool_calls"))
        r = NULL;
    json_array_foreach(r, i, v)
    {
        if (forward && !json_object_get(v, "encrypted_content") &&
            !json_object_get(v, "content"))
            continue;
        if (json_array_append(out, v))
            return -1;
    }
    json_t *c = json_object_get(m, "content"),
           *ref = json_object_get(m, "refusal");
    if (json_is_string(c) && !json_is_string(ref)) {
        if (json_array_append_new(out,
                                  json_pack("{s:s,s:s,s:O}", "type", "message",
                                            "role", "assistant", "content", c)))
            return -1;
    } else if (json_is_string(c) || json_is_string(ref)) {
        json_t *parts = json_array();
        if (json_is_string(c))
            json_array_append_new(parts, json_pack("{s:s,s:O}", "type",
                                                   "output_text", "text", c));
        json_array_append_new(
            parts, json_pack("{s:s,s:O}", "type", "refusal", "refusal", ref));
        if (json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "type",
                                                 "message", "role", "assistant",
                                                 "content", parts)))
            return -1;
    }
    json_array_foreach(json_object_get(m, "tool_calls"), i, v)
    {
        json_t *fn = json_object_get(v, "function");
        json_t *id = json_object_get(v, "id"),
               *name = json_object_get(fn, "name"),
               *args = json_object_get(fn, "arguments");
        if (json_array_append_new(
                out,
                json_pack("{s:s,s:o,s:o,s:o}", "type", "function_call",
                          "call_id", str_or_empty(id), "name",
                          str_or_empty(name), "arguments", str_or_empty(args))))
            return -1;
    }
    return 0;
}

json_t *cs_rsp_msgs_to_items(json_t *msgs, size_t from, json_t **instructions,
                             char *why, size_t wl)
{
    json_t *out = json_array();
    if (instructions)
        *instructions = NULL;
    for (size_t i = from; out && i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        json_t *role = json_object_get(m, "role"),
               *c = json_object_get(m, "content");
        int rc = 0;
        if (!c)
            c = json_string(""); /* the signed form leaves "" out */
        else
            json_incref(c);
        if (is(role, "system") && i == 0 && instructions && json_is_string(c)) {
            *instructions = json_object_get(m, "content");
        } else if (is(role, "system") || is(role, "user") ||
                   is(role, "developer")) {
            rc = json_array_append_new(out, json_pack("{s:s,s:O,s:O}", "type",
                                                      "message", "role", role,
                                                      "content", c));
        } else if (is(role, "assistant")) {
            rc = assistant_items(m, out, instructions != NULL);
        } else if (is(role, "tool")) {
            json_t *id = json_object_get(m, "tool_call_id");
            rc = json_array_append_new(
                out, json_pack("{s:s,s:o,s:O}", "type", "function_call_output",
                               "call_id", str_or_empty(id), "output", c));
        } else {
            fail(CHATSEAL_E_INVALID_REQUEST, why, wl,
                 "message %zu has a role no Responses item expresses", i);
            rc = -1;
        }
        json_decref(c);
        if (rc) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}
