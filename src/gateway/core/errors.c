/*
 * errors.c -- one table from chatseal_error to HTTP status.
 *
 * The split the gateway promises (docs/GATEWAY.md): a request that cannot be
 * read (JSON, message shape, token syntax) is 400; a request that can be read
 * but is not backed by a valid signature is 403; size limits are 413 (431 for
 * the head, decided by the server); the gateway's own and the upstream's
 * failures are 5xx.  The body is always OpenAI-shaped so that OpenAI client
 * libraries surface it as an APIError with `code` set to the stable name.
 */
#include "core/errors.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int cs_error_status(chatseal_error e)
{
    switch (e) {
    case CHATSEAL_OK:
        return 200;
    case CHATSEAL_E_INVALID_ARGUMENT:
    case CHATSEAL_E_MALFORMED_JSON:
    case CHATSEAL_E_DUPLICATE_KEY:
    case CHATSEAL_E_INVALID_UTF8:
    case CHATSEAL_E_LONE_SURROGATE:
    case CHATSEAL_E_CONTROL_CHARACTER:
    case CHATSEAL_E_TOO_DEEP:
    case CHATSEAL_E_INVALID_NUMBER:
    case CHATSEAL_E_TRAILING_DATA:
    case CHATSEAL_E_INVALID_MESSAGE:
    case CHATSEAL_E_INVALID_REQUEST:
    case CHATSEAL_E_MALFORMED_TOKEN:
    case CHATSEAL_E_UNSUPPORTED_VERSION:
    case CHATSEAL_E_PARAMETER_NOT_ALLOWED:
    case CHATSEAL_E_CONTROL_TOKEN:
        return 400;
    case CHATSEAL_E_TOO_LARGE:
    case CHATSEAL_E_TOO_MANY_MESSAGES:
        return 413;
    case CHATSEAL_E_MISSING_SIGNATURE:
    case CHATSEAL_E_WRONG_TOKEN_TYPE:
    case CHATSEAL_E_UNKNOWN_KEY:
    case CHATSEAL_E_EXPIRED:
    case CHATSEAL_E_NOT_YET_VALID:
    case CHATSEAL_E_BINDING_MISMATCH:
    case CHATSEAL_E_INVALID_SIGNATURE:
    case CHATSEAL_E_CONTENT_CHANGED:
    case CHATSEAL_E_ROLE_CHANGED:
    case CHATSEAL_E_MESSAGE_INSERTED:
    case CHATSEAL_E_MESSAGE_DELETED:
    case CHATSEAL_E_TRUNCATED:
    case CHATSEAL_E_REORDERED:
    case CHATSEAL_E_COUNT_MISMATCH:
    case CHATSEAL_E_ROLE_NOT_ALLOWED:
    case CHATSEAL_E_STALE_TOKEN:
    case CHATSEAL_E_MEMBER_NOT_ALLOWED:
        return 403;
    case CHATSEAL_E_NOT_FOUND:
        return 404;
    case CHATSEAL_E_METHOD_NOT_ALLOWED:
        return 405;
    case CHATSEAL_E_RATE_LIMITED:
        return 429;
    case CHATSEAL_E_UNSUPPORTED_MEDIA:
        return 415;
    case CHATSEAL_E_CONVERSATION_CONFLICT:
    case CHATSEAL_E_CONVERSATION_EXISTS:
        return 409;
    case CHATSEAL_E_TIMEOUT:
        return 408;
    case CHATSEAL_E_OVERLOADED:
    case CHATSEAL_E_SHUTTING_DOWN:
    case CHATSEAL_E_NO_KEY:
    case CHATSEAL_E_STORE_UNAVAILABLE:
        return 503;
    case CHATSEAL_E_UPSTREAM_UNAVAILABLE:
    case CHATSEAL_E_UPSTREAM_ERROR:
        return 502;
    case CHATSEAL_E_UPSTREAM_TIMEOUT:
        return 504;
    default:
        return 500;
    }
}

const char *cs_error_type(chatseal_error e)
{
    int s = cs_error_status(e);
    if (s == 403)
        return "integrity_error";
    if (s == 502 || s == 504)
        return "upstream_error";
    if (s >= 500)
        return "server_error";
    return "invalid_request_error";
}

char *cs_error_json(chatseal_error e, const char *message, const char *extra)
{
    json_t *err = json_object();
    json_t *root = json_object();
    if (!err || !root) {
        json_decref(err);
        json_decref(root);
        return NULL;
    }
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        if (json_is_object(x))
            json_object_update(err, x);
        json_decref(x);
    }
    json_object_set_new(err, "message",
                        json_string(message ? message : chatseal_strerror(e)));
    json_object_set_new(err, "type", json_string(cs_error_type(e)));
    json_object_set_new(err, "param", json_null());
    json_object_set_new(err, "code", json_string(chatseal_error_name(e)));
    json_object_set_new(root, "error", err);
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

/* Anthropic's error types by status (docs.anthropic.com, "Errors"). */
static const char *anthropic_type(int status)
{
    switch (status) {
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
    case 503:
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

char *cs_error_json_style(int style, chatseal_error e, const char *message,
                          const char *extra)
{
    if (style != CS_STYLE_ANTHROPIC && style != CS_STYLE_OLLAMA)
        return cs_error_json(e, message, extra);
    json_t *err = json_object();
    if (!err)
        return NULL;
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        if (json_is_object(x))
            json_object_update(err, x);
        json_decref(x);
    }
    const char *msg = message ? message : chatseal_strerror(e);
    json_object_set_new(err, "code", json_string(chatseal_error_name(e)));
    json_t *root = err;
    if (style == CS_STYLE_ANTHROPIC) {
        /* {"type":"error","error":{"type","message",+ our code, report}} */
        json_object_set_new(err, "message", json_string(msg));
        json_object_set_new(err, "type",
                            json_string(anthropic_type(cs_error_status(e))));
        root = json_pack("{s:s,s:o}", "type", "error", "error", err);
    } else {
        /* Ollama: {"error":"message"} (+ our code, report) */
        json_object_set_new(err, "error", json_string(msg));
    }
    char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return out;
}

int cs_error_style_for_path(const char *path)
{
    /* the adapters' paths (api/adapter.c): known here only so that errors
     * answered before routing (415, 503 while draining) already have the
     * API's shape; the route sets the same style again */
    if (!strcmp(path, "/v1/messages"))
        return CS_STYLE_ANTHROPIC;
    if (!strcmp(path, "/api/chat"))
        return CS_STYLE_OLLAMA;
    return CS_STYLE_OPENAI;
}
