/*
 * messages.c -- the Anthropic Messages API, POST /v1/messages, as an
 * adapter (adapter.h; the mapping is FORMAT.md §8.2).
 *
 * Requests: the top-level "system" (a string or text blocks) becomes a
 * first internal system message, so the pinned --system-prompt and
 * --fresh-roles apply as in chat, and both spellings of one text are one
 * message; each of "messages" becomes one internal message
 * (messages_conv.c).  The other top-level members stay as they are and are
 * judged by the policy against `params` below.
 *
 * Forwarding rebuilds "system" and "messages" from the verified internal
 * values only.  Unsigned messages (the new input after the signed history)
 * must be user messages holding text, image, document and tool_result
 * blocks (a tool_result's content text or images): a client must not write
 * tool_use or thinking blocks the model would read as its own
 * (member_not_allowed, 403); their strings are checked for control tokens
 * (control_token, 400).  An unsigned assistant message never gets here: the
 * library's tail roles (--tail-roles, user,tool) refuse it first.
 *
 * Parameters forwarded by default: the documented Messages parameters that
 * change how the model answers, not what it reads as history.  Left for the
 * operator to add with --allow-parameters: mcp_servers (connects the model
 * to remote servers whose results it reads unsigned) and context_management
 * (a beta that has the provider edit the history).
 */
#include "api/messages_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy.h"

static chatseal_error invalid(char *why, size_t wl, const char *msg)
{
    snprintf(why, wl, "%s", msg);
    return CHATSEAL_E_INVALID_REQUEST;
}

/* Client message i -> one internal message appended to msgs. */
static chatseal_error read_message(json_t *m, size_t i, json_t *msgs, char *why,
                                   size_t wl)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!json_is_object(m) || !role ||
        (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)) {
        snprintf(why, wl,
                 "messages[%zu] must be an object with the role \"user\" or "
                 "\"assistant\"",
                 i);
        return CHATSEAL_E_INVALID_REQUEST;
    }
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (strcmp(k, "role") != 0 && strcmp(k, "content") != 0) {
            snprintf(why, wl,
                     "messages[%zu] has the member \"%.40s\"; a message has "
                     "only role and content",
                     i, k);
            return CHATSEAL_E_INVALID_REQUEST;
        }
    }
    char w[200] = "";
    json_t *im =
        cs_anth_message_in(role, json_object_get(m, "content"), w, sizeof w);
    if (!im) {
        snprintf(why, wl, "messages[%zu]: %s", i, w);
        return CHATSEAL_E_INVALID_REQUEST;
    }
    return json_array_append_new(msgs, im) ? CHATSEAL_E_NO_MEMORY : CHATSEAL_OK;
}

static chatseal_error read_request(json_t *body, json_t **internal, char *why,
                                   size_t wl)
{
    *internal = NULL;
    json_t *src = json_object_get(body, "messages");
    if (!json_is_object(body) || !json_is_array(src))
        return invalid(why, wl,
                       "the body must be a JSON object with a messages array");
    json_t *out = json_object(), *msgs = json_array();
    if (!out || !msgs) {
        json_decref(out);
        json_decref(msgs);
        return CHATSEAL_E_NO_MEMORY;
    }
    chatseal_error e = CHATSEAL_OK;
    json_t *system = json_object_get(body, "system");
    if (system && !json_is_null(system)) {
        int empty = 0;
        char w[200] = "";
        json_t *c = cs_anth_system_in(system, &empty, w, sizeof w);
        if (!c && !empty) {
            snprintf(why, wl, "system: %s", w);
            e = CHATSEAL_E_INVALID_REQUEST;
        } else if (c && json_array_append_new(
                            msgs, json_pack("{s:s,s:o}", "role", "system",
                                            "content", c)) != 0)
            e = CHATSEAL_E_NO_MEMORY;
    }
    size_t i;
    json_t *m;
    json_array_foreach(src, i, m)
    {
        if (e != CHATSEAL_OK)
            break;
        e = read_message(m, i, msgs, why, wl);
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (e == CHATSEAL_OK && strcmp(k, "messages") != 0 &&
            strcmp(k, "system") != 0 && json_object_set(out, k, v) != 0)
            e = CHATSEAL_E_NO_MEMORY;
    }
    if (e == CHATSEAL_OK && json_object_set(out, "messages", msgs) != 0)
        e = CHATSEAL_E_NO_MEMORY;
    json_decref(msgs);
    if (e != CHATSEAL_OK) {
        json_decref(out);
        return e;
    }
    *internal = out;
    return CHATSEAL_OK;
}

/* ------------------------------------------------- unsigned messages -- */

/* 1 if any string in v (recursively) holds a control token. */
static int any_token(const cs_adapter_ctx *ctx, json_t *v, int depth)
{
    if (!ctx || !ctx->policy || depth > 64)
        return depth > 64;
    if (json_is_string(v))
        return cs_policy_has_control_token(ctx->policy, json_string_value(v),
                                           json_string_length(v));
    const char *k;
    size_t i;
    json_t *x;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (any_token(ctx, x, depth + 1))
                return 1;
        }
    }
    json_array_foreach(v, i, x)
    {
        if (any_token(ctx, x, depth + 1))
            return 1;
    }
    return 0;
}

static int block_type_in(json_t *b, const char *const *types)
{
    const char *t = json_string_value(json_object_get(b, "type"));
    for (size_t i = 0; t && types[i]; i++)
        if (!strcmp(t, types[i]))
            return 1;
    return 0;
}

/* What a client may write: user text, images, documents and tool results
 * (their content text or images). */
static chatseal_error check_unsigned(json_t *msg, size_t i,
                                     const cs_adapter_ctx *ctx, char *why,
                                     size_t wl)
{
    static const char *const user_blocks[] = {"text", "image", "document",
                                              "tool_result", NULL};
    static const char *const result_blocks[] = {"text", "image", NULL};
    static const char *const text_only[] = {"text", NULL};
    const char *role = json_string_value(json_object_get(msg, "role"));
    json_t *content = json_object_get(msg, "content");
    int sys = role && !strcmp(role, "system") && i == 0;
    if (!role || (!sys && strcmp(role, "user") != 0)) {
        snprintf(why, wl,
                 "message %zu (role %.20s) is not signed: only user messages "
                 "may follow the signed history",
                 i, role ? role : "none");
        return CHATSEAL_E_MEMBER_NOT_ALLOWED;
    }
    size_t j;
    json_t *b;
    json_array_foreach(content, j, b)
    {
        json_t *rc = json_object_get(b, "content");
        int ok = block_type_in(b, sys ? text_only : user_blocks);
        size_t k;
        json_t *c;
        json_array_foreach(rc, k, c)
        {
            ok = ok && block_type_in(c, result_blocks);
        }
        if (!ok) {
            snprintf(why, wl,
                     "message %zu (role %s) holds a %.32s block (or one inside "
                     "a tool_result), which a client may not write after the "
                     "signed history",
                     i, role,
                     json_string_value(json_object_get(b, "type"))
                         ? json_string_value(json_object_get(b, "type"))
                         : "typeless");
            return CHATSEAL_E_MEMBER_NOT_ALLOWED;
        }
    }
    if (any_token(ctx, content, 0)) {
        snprintf(why, wl,
                 "message %zu (role %s) holds a chat-template control token "
                 "such as <|im_start|> or [INST] (--control-tokens)",
                 i, role);
        return CHATSEAL_E_CONTROL_TOKEN;
    }
    return CHATSEAL_OK;
}

static chatseal_error write_request(json_t *internal, size_t signed_n,
                                    const cs_adapter_ctx *ctx,
                                    json_t **upstream, char *why, size_t wl)
{
    *upstream = NULL;
    json_t *msgs = json_object_get(internal, "messages");
    if (!json_is_array(msgs))
        return invalid(why, wl, "no messages");
    json_t *out = json_object(), *wire = json_array();
    chatseal_error e = out && wire ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
    const char *k;
    json_t *v;
    json_object_foreach(internal, k, v)
    {
        if (e == CHATSEAL_OK && strcmp(k, "messages") != 0 &&
            json_object_set(out, k, v) != 0)
            e = CHATSEAL_E_NO_MEMORY;
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (e != CHATSEAL_OK)
            break;
        if (i >= signed_n && (e = check_unsigned(m, i, ctx, why, wl)))
            break;
        const char *role = json_string_value(json_object_get(m, "role"));
        if (i == 0 && role && !strcmp(role, "system")) {
            json_t *c = json_object_get(m, "content");
            if (c && json_object_set(out, "system", c) != 0)
                e = CHATSEAL_E_NO_MEMORY;
            continue;
        }
        char w[200] = "";
        json_t *am = cs_anth_message_out(m, w, sizeof w);
        if (!am) {
            snprintf(why, wl, "message %zu: %s", i, w);
            e = CHATSEAL_E_INVALID_REQUEST;
        } else if (json_array_append_new(wire, am) != 0)
            e = CHATSEAL_E_NO_MEMORY;
    }
    if (e == CHATSEAL_OK && json_object_set(out, "messages", wire) != 0)
        e = CHATSEAL_E_NO_MEMORY;
    json_decref(wire);
    if (e != CHATSEAL_OK) {
        json_decref(out);
        return e;
    }
    *upstream =
        out; /* integral numbers: the shared path prints canonical JSON */
    return CHATSEAL_OK;
}

/* ------------------------------------------------------------ replies -- */

static int reply_messages(json_t *reply, json_t **msgs, char *why, size_t wl)
{
    *msgs = NULL;
    const char *role = json_string_value(json_object_get(reply, "role"));
    json_t *content = json_object_get(reply, "content");
    if (!json_is_object(reply) || !json_is_array(content) ||
        (role && strcmp(role, "assistant") != 0)) {
        snprintf(why, wl, "the reply is not an assistant message");
        return -1;
    }
    char w[200] = "";
    json_t *m = cs_anth_message_in("assistant", content, w, sizeof w);
    if (!m) {
        snprintf(why, wl, "the reply's content: %s", w);
        return -1;
    }
    *msgs = json_pack("[o]", m);
    return *msgs ? 0 : -1;
}

/* The signed message(s) as Anthropic messages: one object for the one
 * assistant message of a reply (what the app appends to its history). */
static json_t *output(json_t *signed_msgs)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(signed_msgs, i, m)
    {
        char w[200];
        json_t *am = out ? cs_anth_message_out(m, w, sizeof w) : NULL;
        if (!am || json_array_append_new(out, am) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (json_array_size(out) == 1) {
        json_t *one = json_incref(json_array_get(out, 0));
        json_decref(out);
        return one;
    }
    return out;
}

const cs_adapter cs_api_messages = {
    .id = 2,
    .name = "messages",
    .path = "/v1/messages",
    .style = CS_STYLE_ANTHROPIC,
    .ndjson = 0,
    .stream_default = 0,
    .params = "model,max_tokens,metadata,stop_sequences,stream,temperature,"
              "top_k,top_p,tools,tool_choice,thinking,service_tier,container,"
              "inference_geo,output_config,cache_control",
    .read_request = read_request,
    .write_request = write_request,
    .reply_messages = reply_messages,
    .output = output,
    .stream_new = cs_anth_stream_new,
    .stream_free = cs_anth_stream_free,
    .stream_event = cs_anth_stream_event,
    .stream_complete = cs_anth_stream_complete,
    .stream_messages = cs_anth_stream_messages,
    .stream_close = cs_anth_stream_close,
    .stream_error = cs_anth_stream_error,
};
