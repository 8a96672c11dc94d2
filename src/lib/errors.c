/*
 * errors.c -- a stable name and an English sentence for every chatseal_error.
 *
 * The names are part of the wire contract: the CLI prints them in its JSON
 * output and the gateway puts them in the "code" of its error bodies, so they
 * never change once released.  One table holds both, one row per code, so a
 * new code is one new row.  The values have gaps (groups of ten), so the
 * table is searched, not indexed: about fifty rows, and only error paths
 * look a name up.  Sentences never contain key material or input.
 */
#include <string.h>

#include "chatseal.h"

struct cs_error_entry {
    chatseal_error code;
    const char *name;
    const char *text;
};

static const struct cs_error_entry cs_errors[] = {
    {CHATSEAL_OK, "ok", "success"},
    {CHATSEAL_E_INVALID_ARGUMENT, "invalid_argument",
     "an argument is missing or out of range"},
    {CHATSEAL_E_NO_MEMORY, "out_of_memory", "out of memory"},
    {CHATSEAL_E_IO, "io_error", "reading or writing failed"},
    {CHATSEAL_E_CRYPTO, "crypto_error", "the cryptographic library failed"},
    {CHATSEAL_E_NO_KEY, "no_key",
     "no key is configured (set CHATSEAL_KEYS or CHATSEAL_KEY_FILE)"},
    {CHATSEAL_E_INVALID_KEY, "invalid_key",
     "the key ring is malformed (expected KID:KEY entries, KEY in base64url)"},
    {CHATSEAL_E_WEAK_KEY, "weak_key", "a key is shorter than 32 bytes"},
    {CHATSEAL_E_DUPLICATE_KID, "duplicate_kid",
     "two keys in the ring have the same key id"},
    {CHATSEAL_E_MALFORMED_JSON, "malformed_json", "the input is not JSON"},
    {CHATSEAL_E_DUPLICATE_KEY, "duplicate_key",
     "an object has the same member name twice"},
    {CHATSEAL_E_INVALID_UTF8, "invalid_utf8", "the input is not valid UTF-8"},
    {CHATSEAL_E_LONE_SURROGATE, "lone_surrogate",
     "a string holds an unpaired UTF-16 surrogate escape"},
    {CHATSEAL_E_CONTROL_CHARACTER, "control_character",
     "a string holds a raw control character"},
    {CHATSEAL_E_TOO_DEEP, "too_deep", "the JSON is nested too deeply"},
    {CHATSEAL_E_INVALID_NUMBER, "invalid_number",
     "a number is not a finite double"},
    {CHATSEAL_E_TRAILING_DATA, "trailing_data",
     "there is data after the JSON value"},
    {CHATSEAL_E_TOO_LARGE, "too_large", "the input is over a size limit"},
    {CHATSEAL_E_INVALID_MESSAGE, "invalid_message",
     "a message is not an object with a string role"},
    {CHATSEAL_E_TOO_MANY_MESSAGES, "too_many_messages",
     "the conversation has more messages than allowed"},
    {CHATSEAL_E_INVALID_REQUEST, "invalid_request",
     "the request has no messages array"},
    {CHATSEAL_E_MISSING_SIGNATURE, "missing_signature",
     "no token was given for a history that needs one"},
    {CHATSEAL_E_MALFORMED_TOKEN, "malformed_token",
     "the token cannot be decoded"},
    {CHATSEAL_E_UNSUPPORTED_VERSION, "unsupported_version",
     "the token has an unsupported format version"},
    {CHATSEAL_E_WRONG_TOKEN_TYPE, "wrong_token_type",
     "the token is of another type"},
    {CHATSEAL_E_UNKNOWN_KEY, "unknown_key",
     "the token's key id is not in the key ring"},
    {CHATSEAL_E_EXPIRED, "expired", "the token has expired"},
    {CHATSEAL_E_NOT_YET_VALID, "not_yet_valid",
     "the token was issued in the future"},
    {CHATSEAL_E_BINDING_MISMATCH, "binding_mismatch",
     "the token belongs to another conversation, principal or purpose"},
    {CHATSEAL_E_INVALID_SIGNATURE, "invalid_signature",
     "the signature does not match"},
    {CHATSEAL_E_CONTENT_CHANGED, "content_changed",
     "a message was changed after it was signed"},
    {CHATSEAL_E_ROLE_CHANGED, "role_changed",
     "a message's role was changed after it was signed"},
    {CHATSEAL_E_MESSAGE_INSERTED, "message_inserted",
     "a message was inserted into the signed history"},
    {CHATSEAL_E_MESSAGE_DELETED, "message_deleted",
     "a message was deleted from the signed history"},
    {CHATSEAL_E_TRUNCATED, "truncated",
     "the end of the signed history is missing"},
    {CHATSEAL_E_REORDERED, "reordered",
     "the signed messages are in another order"},
    {CHATSEAL_E_COUNT_MISMATCH, "count_mismatch",
     "the history does not have the number of messages the token covers"},
    {CHATSEAL_E_ROLE_NOT_ALLOWED, "role_not_allowed",
     "a message after the signed history has a role that is not allowed"},
    {CHATSEAL_E_STALE_TOKEN, "stale_token",
     "a newer token exists for this conversation"},
    {CHATSEAL_E_NOT_FOUND, "not_found", "no such endpoint"},
    {CHATSEAL_E_METHOD_NOT_ALLOWED, "method_not_allowed",
     "the method is not allowed here"},
    {CHATSEAL_E_UNSUPPORTED_MEDIA, "unsupported_media_type",
     "the body must be application/json"},
    {CHATSEAL_E_TIMEOUT, "timeout", "the client was too slow"},
    {CHATSEAL_E_OVERLOADED, "overloaded", "too many connections"},
    {CHATSEAL_E_UPSTREAM_UNAVAILABLE, "upstream_unavailable",
     "the model server cannot be reached"},
    {CHATSEAL_E_UPSTREAM_TIMEOUT, "upstream_timeout",
     "the model server did not answer in time"},
    {CHATSEAL_E_UPSTREAM_ERROR, "upstream_error",
     "the model server sent a bad or incomplete reply"},
    {CHATSEAL_E_SHUTTING_DOWN, "shutting_down", "the server is shutting down"},
    {CHATSEAL_E_MEMBER_NOT_ALLOWED, "member_not_allowed",
     "a message after the signed history has a member that is not allowed"},
    {CHATSEAL_E_PARAMETER_NOT_ALLOWED, "parameter_not_allowed",
     "the request has a top-level member that is not allowed"},
    {CHATSEAL_E_CONTROL_TOKEN, "control_token",
     "a new message holds a model control-token string"},
    {CHATSEAL_E_RATE_LIMITED, "rate_limited",
     "this client has too many requests or bytes in flight"},
    {CHATSEAL_E_STORE_UNAVAILABLE, "store_unavailable",
     "the conversation store cannot be reached"},
    {CHATSEAL_E_CONVERSATION_CONFLICT, "conversation_conflict",
     "another request advanced this conversation first"},
    {CHATSEAL_E_CONVERSATION_EXISTS, "conversation_exists",
     "this conversation id already has a history"},
};

#define CS_NERRORS (sizeof cs_errors / sizeof cs_errors[0])

static const struct cs_error_entry *cs_error_find(chatseal_error err)
{
    for (size_t i = 0; i < CS_NERRORS; i++)
        if (cs_errors[i].code == err)
            return &cs_errors[i];
    return NULL;
}

const char *chatseal_error_name(chatseal_error err)
{
    const struct cs_error_entry *e = cs_error_find(err);
    return e ? e->name : "unknown_error";
}

const char *chatseal_strerror(chatseal_error err)
{
    const struct cs_error_entry *e = cs_error_find(err);
    return e ? e->text : "unknown error";
}

chatseal_error chatseal_error_from_name(const char *name)
{
    if (name)
        for (size_t i = 0; i < CS_NERRORS; i++)
            if (strcmp(cs_errors[i].name, name) == 0)
                return cs_errors[i].code;
    return CHATSEAL_E_INVALID_ARGUMENT;
}
