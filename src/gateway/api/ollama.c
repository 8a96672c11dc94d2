/*
 * ollama.c -- the Ollama native chat API, POST /api/chat (adapter.h; the
 * mapping is FORMAT.md §8.3, the streaming half is ollama_stream.c).
 *
 * Ollama's messages are already Chat-Completions-like, so the mapping is
 * mostly the identity; the differences are what it is about:
 *
 *   - a tool call's `arguments` is a JSON *object* in Ollama and a string
 *     of JSON text internally: the object becomes its RFC 8785 canonical
 *     text (what the signed form would make of any spelling anyway), and
 *     back.  `null`, absent and `{}` arguments are one value, `{}`, because
 *     Ollama's own server writes an empty map either way.  Ollama's
 *     `function.index` is a streaming artefact its templates never read and
 *     that its versions write or leave out: it is not carried.  Nor is a
 *     tool call's `id`: newer servers write one, older ones do not, and
 *     ollama-python's ToolCall model has no such field, so an app that keeps
 *     the reply it parsed sends the call back without it; a signed id would
 *     refuse every such tool loop.  Ollama's native API pairs a tool result
 *     with its call by `tool_name`; an id is never invented either (it would
 *     be forwarded as if the model had written it).
 *   - `thinking` is the internal `reasoning` member, so it is signed with
 *     its own tag and dropped (never refused) when it does not verify.
 *   - roles are lowercased, as Ollama's server does when it reads them, so
 *     what is verified is the role the model is shown.
 *   - an assistant message keeps only what Ollama reads of it (content,
 *     thinking, tool_calls): members an SDK adds are dropped on the way in,
 *     so they can neither break a signature nor reach the model.  Any other
 *     message keeps every member, so that a new one carrying something the
 *     tail rules do not allow is refused rather than silently passed.
 *
 * write_request rebuilds every message from the verified internal values
 * (only the members Ollama reads), and enforces the tail rules on the
 * unsigned ones: user (and system) messages may carry content and images,
 * tool messages content, tool_name and tool_call_id; nothing else
 * (member_not_allowed), and no chat-template control tokens in their text.
 */
#include "api/ollama_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy/policy.h"

/* The canonical text of an arguments object (NULL: out of memory or not
 * canonicalizable, e.g. a number out of range). */
static json_t *args_text(json_t *args)
{
    if (!args || json_is_null(args))
        return json_string("{}");
    char *t = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!t)
        return NULL;
    char *c = NULL;
    size_t clen = 0;
    chatseal_error e = chatseal_canonicalize(t, strlen(t), 0, &c, &clen);
    free(t);
    if (e != CHATSEAL_OK)
        return NULL;
    json_t *s = json_stringn(c, clen);
    free(c);
    return s;
}

json_t *cs_ollama_call_in(json_t *tc, char *why, size_t wl)
{
    json_t *fn = json_object_get(tc, "function");
    json_t *name = json_object_get(fn, "name");
    json_t *args = json_object_get(fn, "arguments");
    json_t *type = json_object_get(tc, "type");
    if (!json_is_object(tc) || !json_is_object(fn) || !json_is_string(name)) {
        snprintf(why, wl, "a tool call needs a function with a name");
        return NULL;
    }
    if (args && !json_is_object(args) && !json_is_null(args)) {
        snprintf(why, wl,
                 "a tool call's arguments must be a JSON object in Ollama's "
                 "API");
        return NULL;
    }
    if (type && !json_is_null(type) &&
        !(json_is_string(type) &&
          !strcmp(json_string_value(type), "function"))) {
        snprintf(why, wl, "a tool call's type must be \"function\"");
        return NULL;
    }
    json_t *text = args_text(args);
    if (!text) {
        snprintf(why, wl, "a tool call's arguments cannot be canonicalized");
        return NULL;
    }
    /* {"type":"function","function":{"name","arguments"}} */
    json_t *f = json_pack("{s:O,s:o}", "name", name, "arguments", text);
    return f ? json_pack("{s:s,s:o}", "type", "function", "function", f) : NULL;
}

static chatseal_error bad(char *why, size_t wl, size_t idx, const char *what)
{
    snprintf(why, wl, "messages[%zu]: %s", idx, what);
    return CHATSEAL_E_INVALID_REQUEST;
}

/* 1 if v is an array of strings. */
static int strings(json_t *v)
{
    size_t i;
    json_t *s;
    if (!json_is_array(v))
        return 0;
    json_array_foreach(v, i, s) if (!json_is_string(s)) return 0;
    return 1;
}

/* The members of one Ollama message, into out (role already there). */
static chatseal_error members_in(json_t *om, int assistant, size_t idx,
                                 json_t *out, char *why, size_t wl)
{
    const char *k;
    json_t *v;
    json_object_foreach(om, k, v)
    {
        int set = 0;
        if (!strcmp(k, "role"))
            continue;
        if (!strcmp(k, "reasoning") || !strcmp(k, "reasoning_content"))
            return bad(why, wl, idx,
                       "reasoning is \"thinking\" in Ollama's API");
        if (!strcmp(k, "content") || !strcmp(k, "thinking") ||
            !strcmp(k, "tool_name") || !strcmp(k, "tool_call_id")) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v))
                return bad(why, wl, idx,
                           "content, thinking, tool_name and "
                           "tool_call_id are strings");
            set = json_object_set(out, strcmp(k, "thinking") ? k : "reasoning",
                                  v);
        } else if (!strcmp(k, "images")) {
            if (json_is_null(v))
                continue;
            if (!strings(v))
                return bad(why, wl, idx, "images is an array of strings");
            set = json_object_set(out, k, v);
        } else if (!strcmp(k, "tool_calls")) {
            if (json_is_null(v))
                continue;
            if (!json_is_array(v))
                return bad(why, wl, idx, "tool_calls is an array");
            json_t *calls = json_array();
            size_t i;
            json_t *tc;
            json_array_foreach(v, i, tc)
            {
                char cw[160];
                json_t *c = calls ? cs_ollama_call_in(tc, cw, sizeof cw) : NULL;
                if (!c) {
                    json_decref(calls);
                    return calls ? bad(why, wl, idx, cw) : CHATSEAL_E_NO_MEMORY;
                }
                if (json_array_append_new(calls, c)) {
                    json_decref(calls);
                    return CHATSEAL_E_NO_MEMORY;
                }
            }
            set = !calls || json_object_set_new(out, k, calls);
        } else if (!assistant) {
            /* kept, for the tail rules to judge (a signed one cannot have
             * it: it would have been refused when it was new) */
            set = json_object_set(out, k, v);
        }
        if (set)
            return CHATSEAL_E_NO_MEMORY;
    }
    return CHATSEAL_OK;
}

chatseal_error cs_ollama_msg_in(json_t *om, size_t idx, json_t **out, char *why,
                                size_t wl)
{
    *out = NULL;
    json_t *role = json_object_get(om, "role");
    if (!json_is_object(om) || !json_is_string(role))
        return bad(why, wl, idx, "a message is an object with a string role");
    /* Ollama's server lowercases the role it reads (Go's strings.ToLower).
     * ASCII is enough: the only non-ASCII letter it lowers to an ASCII one
     * is the Kelvin sign (to k), in no role name. */
    char *r = strdup(json_string_value(role));
    if (!r)
        return CHATSEAL_E_NO_MEMORY;
    for (char *p = r; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    json_t *m = json_object();
    if (!m || json_object_set_new(m, "role", json_stringn(r, strlen(r)))) {
        free(r);
        json_decref(m);
        return CHATSEAL_E_NO_MEMORY;
    }
    chatseal_error e = members_in(om, !strcmp(r, "assistant"), idx, m, why, wl);
    free(r);
    if (e != CHATSEAL_OK) {
        json_decref(m);
        return e;
    }
    *out = m;
    return CHATSEAL_OK;
}

/* The object a tool call's canonical arguments text stands for. */
static json_t *args_object(json_t *text)
{
    if (!json_is_string(text))
        return NULL;
    const char *s = json_string_value(text);
    size_t n = json_string_length(text);
    json_t *o = json_loadb(s, n, JSON_ALLOW_NUL, NULL);
    if (!o) /* an integer beyond 64 bits: as the double it is */
        o = json_loadb(s, n, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *call_out(json_t *c, char *why, size_t wl)
{
    json_t *fn = json_object_get(c, "function");
    json_t *name = json_object_get(fn, "name");
    json_t *args = args_object(json_object_get(fn, "arguments"));
    if (!json_is_string(name) || !args) {
        json_decref(args);
        snprintf(why, wl,
                 "a tool call without a name or with arguments "
                 "that are not a JSON object");
        return NULL;
    }
    json_t *f = json_pack("{s:O,s:o}", "name", name, "arguments", args);
    return f ? json_pack("{s:o}", "function", f) : NULL;
}

json_t *cs_ollama_msg_out(json_t *im, char *why, size_t wl)
{
    json_t *role = json_object_get(im, "role");
    json_t *content = json_object_get(im, "content");
    if (!json_is_string(role) || (content && !json_is_string(content))) {
        snprintf(why, wl,
                 "a message without a role or whose content is not "
                 "a string cannot be an Ollama message");
        return NULL;
    }
    /* Ollama always writes content, "" when there is none */
    json_t *o = json_object();
    if (!o || json_object_set(o, "role", role) ||
        json_object_set_new(o, "content",
                            content ? json_incref(content) : json_string("")))
        goto oom;
    json_t *rsn = json_object_get(im, "reasoning");
    if (json_is_string(rsn) && json_object_set(o, "thinking", rsn))
        goto oom;
    static const char *const keep[] = {"images", "tool_name", "tool_call_id"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        json_t *v = json_object_get(im, keep[i]);
        if (v && json_object_set(o, keep[i], v))
            goto oom;
    }
    json_t *calls = json_object_get(im, "tool_calls");
    if (json_array_size(calls)) {
        json_t *arr = json_array();
        size_t i;
        json_t *c;
        if (!arr || json_object_set_new(o, "tool_calls", arr))
            goto oom;
        json_array_foreach(calls, i, c)
        {
            json_t *oc = call_out(c, why, wl);
            if (!oc) {
                json_decref(o);
                return NULL;
            }
            json_array_append_new(arr, oc);
        }
    }
    return o;
oom:
    snprintf(why, wl, "out of memory");
    json_decref(o);
    return NULL;
}

/* Which members an unsigned message may carry (§8.3). */
static int allowed(int tool, const char *k)
{
    if (!strcmp(k, "role") || !strcmp(k, "content"))
        return 1;
    if (tool)
        return !strcmp(k, "tool_name") || !strcmp(k, "tool_call_id");
    return !strcmp(k, "images");
}

static int has_token(const cs_policy *p, json_t *s)
{
    return p && json_is_string(s) &&
           cs_policy_has_control_token(p, json_string_value(s),
                                       json_string_length(s));
}

chatseal_error cs_ollama_check_tail(const cs_policy *policy, json_t *im,
                                    size_t idx, char *why, size_t wl)
{
    const char *role = json_string_value(json_object_get(im, "role"));
    int tool = role && !strcmp(role, "tool");
    const char *k;
    json_t *v;
    json_object_foreach(im, k, v)
    {
        if (!allowed(tool, k)) {
            snprintf(why, wl,
                     "messages[%zu] (role %.20s) has the member \"%.40s\", "
                     "which is not allowed after the signed history",
                     idx, role ? role : "?", k);
            return CHATSEAL_E_MEMBER_NOT_ALLOWED;
        }
        int ok = 1, tok = 0;
        if (json_is_array(v)) { /* images */
            size_t i;
            json_t *s;
            json_array_foreach(v, i, s)
            {
                ok &= json_is_string(s);
                tok |= has_token(policy, s);
            }
        } else {
            ok = json_is_string(v);
            tok = has_token(policy, v);
        }
        if (!ok) {
            snprintf(why, wl,
                     "messages[%zu]: \"%.40s\" must be %s after the signed "
                     "history",
                     idx, k,
                     strcmp(k, "images") ? "a string" : "an array of strings");
            return CHATSEAL_E_MEMBER_NOT_ALLOWED;
        }
        if (tok) {
            snprintf(why, wl,
                     "messages[%zu] (role %.20s) holds a chat-template control "
                     "token such as <|im_start|> or [INST] (--control-tokens)",
                     idx, role ? role : "?");
            return CHATSEAL_E_CONTROL_TOKEN;
        }
    }
    return CHATSEAL_OK;
}

static chatseal_error read_request(json_t *body, json_t **internal, char *why,
                                   size_t wl)
{
    *internal = NULL;
    json_t *msgs = json_object_get(body, "messages");
    if (!json_is_object(body) || !json_is_array(msgs)) {
        snprintf(why, wl, "an Ollama chat request needs a messages array");
        return CHATSEAL_E_INVALID_REQUEST;
    }
    json_t *out = json_object(), *arr = json_array();
    if (!out || !arr) {
        json_decref(out);
        json_decref(arr);
        return CHATSEAL_E_NO_MEMORY;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (json_object_set(out, k, strcmp(k, "messages") ? v : arr)) {
            json_decref(out);
            json_decref(arr);
            return CHATSEAL_E_NO_MEMORY;
        }
    }
    json_decref(arr); /* out holds it */
    size_t i;
    json_array_foreach(msgs, i, v)
    {
        json_t *m;
        chatseal_error e = cs_ollama_msg_in(v, i, &m, why, wl);
        if (e != CHATSEAL_OK) {
            json_decref(out);
            return e;
        }
        if (json_array_append_new(arr, m)) {
            json_decref(out);
            return CHATSEAL_E_NO_MEMORY;
        }
    }
    *internal = out;
    return CHATSEAL_OK;
}

static chatseal_error write_request(json_t *internal, size_t signed_n,
                                    const cs_adapter_ctx *ctx,
                                    json_t **upstream, char *why, size_t wl)
{
    *upstream = NULL;
    json_t *msgs = json_object_get(internal, "messages");
    if (!json_is_array(msgs))
        return CHATSEAL_E_INVALID_REQUEST;
    json_t *out = json_object(), *arr = json_array();
    if (!out || !arr) {
        json_decref(out);
        json_decref(arr);
        return CHATSEAL_E_NO_MEMORY;
    }
    const char *k;
    json_t *v;
    /* the parameters the policy let through, in the client's order */
    json_object_foreach(internal, k, v)
    {
        if (strcmp(k, "chatseal_token") &&
            json_object_set(out, k, strcmp(k, "messages") ? v : arr)) {
            json_decref(out);
            json_decref(arr);
            return CHATSEAL_E_NO_MEMORY;
        }
    }
    json_decref(arr);
    size_t i;
    json_array_foreach(msgs, i, v)
    {
        chatseal_error e = CHATSEAL_OK;
        if (i >= signed_n)
            e = cs_ollama_check_tail(ctx ? ctx->policy : NULL, v, i, why, wl);
        json_t *om = e == CHATSEAL_OK ? cs_ollama_msg_out(v, why, wl) : NULL;
        if (e == CHATSEAL_OK && !om)
            e = CHATSEAL_E_INVALID_REQUEST;
        if (e != CHATSEAL_OK || json_array_append_new(arr, om)) {
            json_decref(out);
            return e != CHATSEAL_OK ? e : CHATSEAL_E_NO_MEMORY;
        }
    }
    *upstream = out;
    return CHATSEAL_OK;
}

static int reply_messages(json_t *reply, json_t **msgs, char *why, size_t wl)
{
    *msgs = NULL;
    json_t *m = json_object_get(reply, "message");
    json_t *role = json_object_get(m, "role");
    if (!json_is_object(m) ||
        (role && !(json_is_string(role) &&
                   !strcmp(json_string_value(role), "assistant")))) {
        snprintf(why, wl, "the reply has no assistant message");
        return -1;
    }
    json_t *im = NULL;
    if (!role) { /* as Ollama's clients read it: the model's */
        m = json_deep_copy(m);
        if (!m || json_object_set_new(m, "role", json_string("assistant"))) {
            json_decref(m);
            return -1;
        }
    } else {
        json_incref(m);
    }
    chatseal_error e = cs_ollama_msg_in(m, 0, &im, why, wl);
    json_decref(m);
    if (e != CHATSEAL_OK)
        return -1;
    *msgs = json_array();
    if (!*msgs || json_array_append_new(*msgs, im)) {
        json_decref(*msgs);
        *msgs = NULL;
        return -1;
    }
    return 0;
}

/* The signed reply in Ollama's shape: its message (an array of them if the
 * reply ever had several). */
static json_t *output(json_t *signed_msgs)
{
    char why[160];
    if (json_array_size(signed_msgs) == 1)
        return cs_ollama_msg_out(json_array_get(signed_msgs, 0), why,
                                 sizeof why);
    json_t *arr = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(signed_msgs, i, m)
    {
        json_t *o = cs_ollama_msg_out(m, why, sizeof why);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

const cs_adapter cs_api_ollama = {
    .id = 3,
    .name = "ollama",
    .path = "/api/chat",
    .style = CS_STYLE_OLLAMA,
    .ndjson = 1,
    .stream_default = 1,
    /* docs.ollama.com/api/chat and api/types.go ChatRequest.  "messages"
     * is the internal request's history member (the policy sees it there);
     * what is forwarded of it is write_request's rebuilt history. */
    .params = "messages,model,tools,format,options,stream,keep_alive,think,"
              "truncate,shift,logprobs,top_logprobs",
    .read_request = read_request,
    .write_request = write_request,
    .reply_messages = reply_messages,
    .output = output,
    .stream_new = cs_ollama_stream_new,
    .stream_free = cs_ollama_stream_free,
    .stream_event = cs_ollama_stream_event,
    .stream_complete = cs_ollama_stream_complete,
    .stream_messages = cs_ollama_stream_messages,
    .stream_close = cs_ollama_stream_close,
    .stream_error = cs_ollama_stream_error,
};
