/*
 * responses.c -- the OpenAI Responses API, POST /v1/responses, as an adapter
 * (adapter.h; the mapping is FORMAT.md §8.1, the user's view GATEWAY.md
 * "OpenAI Responses").
 *
 * Request: `instructions` is a first internal "system" message (so
 * --system-prompt pinning and --fresh-roles apply as in chat; the AI SDK's
 * leading developer/system item is the same message), `input` (a string:
 * one user message; or items, responses_items.c) the rest.  Every other
 * top-level member stays a top-level member of the internal request and is
 * judged by the policy against `params` (+ --allow-parameters).
 *
 * Stateless only: `store: true`, `previous_response_id` and `conversation`
 * put history at the provider, beyond what a gateway can verify.  They stay
 * in the internal request, where the parameter check refuses them
 * (parameter_not_allowed) unless the operator allowed them; `store: false`
 * (or none) is sent upstream as an explicit "store": false because
 * OpenAI's default is true.
 *
 * Forwarded: `instructions` and `input` rebuilt from the verified internal
 * messages only (responses_items.c), plus the allowed parameters.  Tail
 * rules (unsigned input): user messages and function_call_output carry
 * text and image parts only; no assistant item (message, function_call,
 * reasoning) is accepted unsigned (member_not_allowed, whatever
 * --tail-roles says); control-token strings in unsigned text are refused.
 *
 * Reply: the `output` items become internal messages (signed); the chatseal
 * member's `output` gives them back as Responses items a client can append
 * to its next `input`.  Streams: responses_stream.c.
 */
#include "api/responses_int.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy.h"

static int is(json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           !strcmp(json_string_value(v), s);
}

static chatseal_error read_request(json_t *body, json_t **internal, char *why,
                                   size_t wl)
{
    *internal = NULL;
    if (!json_is_object(body)) {
        snprintf(why, wl,
                 "the body must be a JSON object (a Responses "
                 "request)");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    json_t *input = json_object_get(body, "input"),
           *instr = json_object_get(body, "instructions"),
           *store = json_object_get(body, "store");
    if (!json_is_string(input) && !json_is_array(input)) {
        snprintf(why, wl,
                 "input must be a string or an array of items (the "
                 "whole history: this gateway is stateless)");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    if (instr && !json_is_null(instr) && !json_is_string(instr)) {
        snprintf(why, wl, "instructions must be a string");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    if (store && !json_is_boolean(store) && !json_is_null(store)) {
        snprintf(why, wl, "store must be a boolean");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    if (json_object_get(body, "messages")) {
        snprintf(why, wl,
                 "a Responses request has no messages member (use "
                 "/v1/chat/completions for those)");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    json_t *out = json_object(), *msgs = json_array();
    chatseal_error e = out && msgs ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
    int has_instr = json_is_string(instr) && json_string_length(instr);
    if (e == CHATSEAL_OK && has_instr &&
        json_array_append_new(
            msgs, json_pack("{s:s,s:O}", "role", "system", "content", instr)))
        e = CHATSEAL_E_NO_MEMORY;
    if (e == CHATSEAL_OK && json_is_string(input) &&
        json_array_append_new(
            msgs, json_pack("{s:s,s:O}", "role", "user", "content", input)))
        e = CHATSEAL_E_NO_MEMORY;
    if (e == CHATSEAL_OK && json_is_array(input))
        e = cs_rsp_items_to_msgs(input, RSP_INPUT, !has_instr, msgs, why, wl);
    if (e == CHATSEAL_OK && json_object_set(out, "messages", msgs))
        e = CHATSEAL_E_NO_MEMORY;
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (e != CHATSEAL_OK)
            break;
        if (!strcmp(k, "input") || !strcmp(k, "instructions"))
            continue;
        /* store:false is the default here; store:true, a stored response
         * or conversation stay for the parameter check to refuse */
        if ((!strcmp(k, "store") && !json_is_true(v)) ||
            ((!strcmp(k, "previous_response_id") ||
              !strcmp(k, "conversation")) &&
             json_is_null(v)))
            continue;
        if (json_object_set(out, k, v))
            e = CHATSEAL_E_NO_MEMORY;
    }
    json_decref(msgs);
    if (e != CHATSEAL_OK) {
        json_decref(out);
        if (e == CHATSEAL_E_NO_MEMORY)
            snprintf(why, wl, "out of memory");
        return e;
    }
    *internal = out;
    return CHATSEAL_OK;
}

/* Control-token strings in a text value (string or parts' texts). */
static int has_ctl(const cs_adapter_ctx *ctx, json_t *c)
{
    if (!ctx || !ctx->policy)
        return 0;
    if (json_is_string(c))
        return cs_policy_has_control_token(ctx->policy, json_string_value(c),
                                           json_string_length(c));
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p)
    {
        json_t *t = json_object_get(p, "text");
        if (json_is_string(t) &&
            cs_policy_has_control_token(ctx->policy, json_string_value(t),
                                        json_string_length(t)))
            return 1;
    }
    return 0;
}

/* The tail rules on unsigned messages [from, n). */
static chatseal_error tail_check(json_t *msgs, size_t from,
                                 const cs_adapter_ctx *ctx, char *why,
                                 size_t wl)
{
    for (size_t i = from; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        json_t *role = json_object_get(m, "role"),
               *c = json_object_get(m, "content");
        if (is(role, "assistant")) {
            snprintf(why, wl,
                     "message %zu: an assistant item (message, "
                     "function_call or reasoning) is not signed: only the "
                     "gateway's own replies are history",
                     i);
            return CHATSEAL_E_MEMBER_NOT_ALLOWED;
        }
        if ((is(role, "user") || is(role, "tool")) && json_is_array(c)) {
            size_t j;
            json_t *p;
            json_array_foreach(c, j, p)
            {
                json_t *t = json_object_get(p, "type");
                if (!is(t, "input_text") && !is(t, "input_image")) {
                    snprintf(why, wl,
                             "message %zu: an unsigned %s item may carry "
                             "input_text and input_image parts only",
                             i,
                             is(role, "user") ? "user message"
                                              : "function_call_output");
                    return CHATSEAL_E_MEMBER_NOT_ALLOWED;
                }
            }
        }
        if (has_ctl(ctx, c)) {
            snprintf(why, wl,
                     "message %zu holds a control-token string of a chat "
                     "template",
                     i);
            return CHATSEAL_E_CONTROL_TOKEN;
        }
    }
    return CHATSEAL_OK;
}

static chatseal_error write_request(json_t *internal, size_t signed_n,
                                    const cs_adapter_ctx *ctx,
                                    json_t **upstream, char *why, size_t wl)
{
    *upstream = NULL;
    why[0] = '\0';
    json_t *msgs = json_object_get(internal, "messages");
    chatseal_error e = tail_check(msgs, signed_n, ctx, why, wl);
    if (e != CHATSEAL_OK)
        return e;
    json_t *instr = NULL;
    json_t *items = cs_rsp_msgs_to_items(msgs, 0, &instr, why, wl);
    json_t *out = items ? json_object() : NULL;
    if (!out) {
        json_decref(items);
        if (why[0]) /* a message no Responses item expresses */
            return CHATSEAL_E_INVALID_REQUEST;
        snprintf(why, wl, "out of memory");
        return CHATSEAL_E_NO_MEMORY;
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(internal, k, v)
    {
        if (strcmp(k, "messages") && strcmp(k, "chatseal_token"))
            rc |= json_object_set(out, k, v);
    }
    if (instr)
        rc |= json_object_set(out, "instructions", instr);
    rc |= json_object_set_new(out, "input", items);
    if (!json_object_get(out, "store")) /* OpenAI's default is true */
        rc |= json_object_set_new(out, "store", json_false());
    /* integral numbers go out as integers: the shared path prints canonical
     * JSON */
    if (rc) {
        json_decref(out);
        snprintf(why, wl, "out of memory");
        return CHATSEAL_E_NO_MEMORY;
    }
    *upstream = out;
    return CHATSEAL_OK;
}

static int reply_messages(json_t *reply, json_t **msgs, char *why, size_t wl)
{
    *msgs = NULL;
    json_t *status = json_object_get(reply, "status"),
           *output = json_object_get(reply, "output");
    if (!json_is_object(reply) || !json_is_array(output)) {
        snprintf(why, wl, "the reply is not a Responses response object");
        return -1;
    }
    if (status && !is(status, "completed") && !is(status, "incomplete")) {
        snprintf(why, wl, "the response's status is not completed");
        return -1;
    }
    json_t *a = json_array();
    if (!a || cs_rsp_items_to_msgs(output, RSP_OUTPUT, 0, a, why, wl) !=
                  CHATSEAL_OK) {
        json_decref(a);
        return -1;
    }
    if (!json_array_size(a)) {
        json_decref(a);
        snprintf(why, wl, "the response has no output item to sign");
        return -1;
    }
    *msgs = a;
    return 0;
}

static json_t *output(json_t *signed_msgs)
{
    char why[8];
    return cs_rsp_msgs_to_items(signed_msgs, 0, NULL, why, sizeof why);
}

const cs_adapter cs_api_responses = {
    .id = 1,
    .name = "responses",
    .path = "/v1/responses",
    .style = CS_STYLE_OPENAI,
    .ndjson = 0,
    .stream_default = 0,
    .params = "messages,model,tools,tool_choice,text,reasoning,temperature,"
              "top_p,max_output_tokens,max_tool_calls,stream,stream_options,"
              "include,parallel_tool_calls,truncation,metadata,user,"
              "service_tier,prompt_cache_key,prompt_cache_retention,"
              "safety_identifier,top_logprobs",
    .read_request = read_request,
    .write_request = write_request,
    .reply_messages = reply_messages,
    .output = output,
    .stream_new = cs_rsp_stream_new,
    .stream_free = cs_rsp_stream_free,
    .stream_event = cs_rsp_stream_event,
    .stream_complete = cs_rsp_stream_complete,
    .stream_messages = cs_rsp_stream_messages,
    .stream_close = cs_rsp_stream_close,
    .stream_error = cs_rsp_stream_error,
};
