/*
 * chatseal.h -- the one public header of libchatseal.
 *
 * libchatseal makes client-held chat history and client-held state
 * tamper-evident.  The server signs what it produced, the client stores it and
 * echoes it back, and the server verifies it before a model sees anything.
 *
 * Everything is described byte for byte in docs/FORMAT.md.  In short:
 *
 *   - A message is hashed as the RFC 8785 canonical JSON of its signed form
 *     (FORMAT.md §2.1): the message without the members that say nothing
 *     (null, "", [], {}) and the client-side extras SDKs add or drop, with
 *     tool-call arguments canonical.  That form is exactly what a gateway
 *     forwards, so the model reads what was verified.  Reasoning a model
 *     returned is covered apart, and dropped unless it verifies (§2.2).
 *   - A conversation token covers a count of messages, a key id, an issue time,
 *     optional expiry, purpose and (bound but not transmitted) conversation id
 *     and principal.  HMAC-SHA256, compared in constant time.
 *   - Optional per-message locator tags let verification say *where* a history
 *     was altered (content, role, insertion, deletion, reordering, truncation).
 *   - Signed state and sealed (AES-256-GCM) state use the same token layout.
 *
 * API conventions:
 *   - every public name starts with chatseal_ (functions, types) or
 *     CHATSEAL_ (macros, enum values).  Calls on one kind of object are
 *     chatseal_<object>_<action>() (chatseal_conv_parse, chatseal_report_free);
 *     calls that act on the library as a whole are chatseal_<action>()
 *     (chatseal_sign, chatseal_verify, chatseal_canonicalize);
 *   - the objects (chatseal_keyring, chatseal_conv, chatseal_report) are
 *     opaque.  The two parameter structs (chatseal_options, chatseal_limits)
 *     are public and extensible: each starts with a `size` member that the
 *     caller sets with CHATSEAL_OPTIONS_INIT / CHATSEAL_LIMITS_INIT, and the
 *     library reads only the members that fit in that size (see "options");
 *   - a call that can fail returns a chatseal_error, CHATSEAL_OK (0) meaning
 *     success, and clears its out-parameters first.  Getters that cannot fail
 *     (counts, names, report fields) return the value itself and say what
 *     they return for NULL or out-of-range arguments;
 *   - every call that signs, verifies or allocates carries warn_unused_result:
 *     ignoring its result is a compile error under -Werror;
 *   - a string or buffer returned through a `char **` out-parameter belongs
 *     to the caller and is released with chatseal_free() (chatseal_free_secret
 *     for key material).  A `const char *` return points into the object it
 *     came from; each such getter states how long the pointer stays valid;
 *   - a chatseal_keyring is immutable once built and may be shared by any
 *     number of threads.  A chatseal_conv or chatseal_report may be read
 *     through const calls from several threads at once (no const call writes
 *     to its object), but a call taking a non-const pointer needs it alone.
 *     There is no global state.
 */
#ifndef CHATSEAL_H
#define CHATSEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CHATSEAL_MUST_CHECK __attribute__((warn_unused_result))
#define CHATSEAL_EXPORT __attribute__((visibility("default")))
#else
#define CHATSEAL_MUST_CHECK
#define CHATSEAL_EXPORT
#endif

/* ---------------------------------------------------------------- sizes -- */

/* Version of this header.  chatseal_version() gives the library's, which
 * differs when a program runs against a newer shared library than it was
 * built with.  CHATSEAL_VERSION_NUMBER is 0xMMmmpp (major, minor, patch). */
#define CHATSEAL_VERSION_MAJOR 0
#define CHATSEAL_VERSION_MINOR 1
#define CHATSEAL_VERSION_PATCH 0
#define CHATSEAL_VERSION_STRING "0.1.0"
#define CHATSEAL_VERSION_NUMBER                                                \
    ((CHATSEAL_VERSION_MAJOR << 16) | (CHATSEAL_VERSION_MINOR << 8) |          \
     CHATSEAL_VERSION_PATCH)
#define CHATSEAL_FORMAT_VERSION 2     /* "v" of conv and msg tokens      */
#define CHATSEAL_TOKEN_PREFIX "cs1."  /* every token starts with this    */
#define CHATSEAL_KEYBYTES_MIN 32      /* shortest key (hs384:48 hs512:64) */
#define CHATSEAL_KEYBYTES_MAX 128     /* longest key accepted            */
#define CHATSEAL_KEYBYTES_DEFAULT 32  /* what keygen writes              */
#define CHATSEAL_KID_MAX 64           /* key id: 1..64 of [A-Za-z0-9._-] */
#define CHATSEAL_TAGBYTES 32          /* HMAC-SHA256 tag (hs256 keys)    */
#define CHATSEAL_TAGBYTES_MAX 64      /* HMAC-SHA512 tag (hs512 keys)    */
#define CHATSEAL_LOCATORBYTES 8       /* per-message locator tag         */
#define CHATSEAL_BINDBYTES 16         /* binding check in the header     */
#define CHATSEAL_DIGESTBYTES 32       /* SHA-256 of a canonical message  */
#define CHATSEAL_TOKEN_MAX (1u << 20) /* longest token parsed (1 MiB)    */
#define CHATSEAL_BINDING_MAX 1024     /* longest conversation id etc.    */
#define CHATSEAL_MAX_DEPTH_DEFAULT 64 /* JSON nesting limit              */
#define CHATSEAL_MAX_MESSAGES_DEFAULT 10000

/* --------------------------------------------------------------- errors -- */

/*
 * One enum for every failure in the library, the CLI and the gateway.  Each
 * value has a stable lower_snake_case name (chatseal_error_name) that appears
 * in CLI JSON output and in the gateway's error bodies; the numbers are also
 * stable: new values are only ever appended.
 */
typedef enum chatseal_error {
    CHATSEAL_OK = 0,
    /* API use and environment */
    CHATSEAL_E_INVALID_ARGUMENT = 1, /* invalid_argument */
    CHATSEAL_E_NO_MEMORY = 2,        /* out_of_memory */
    CHATSEAL_E_IO = 3,               /* io_error */
    CHATSEAL_E_CRYPTO = 4,           /* crypto_error: OpenSSL failed */
    /* keys */
    CHATSEAL_E_NO_KEY = 10,        /* no_key: no key configured */
    CHATSEAL_E_INVALID_KEY = 11,   /* invalid_key: bad key ring syntax/kid */
    CHATSEAL_E_WEAK_KEY = 12,      /* weak_key: fewer than KEYBYTES_MIN bytes */
    CHATSEAL_E_DUPLICATE_KID = 13, /* duplicate_kid */
    /* JSON input (strict RFC 8259 + RFC 8785 rules) */
    CHATSEAL_E_MALFORMED_JSON = 20,    /* malformed_json: syntax error */
    CHATSEAL_E_DUPLICATE_KEY = 21,     /* duplicate_key */
    CHATSEAL_E_INVALID_UTF8 = 22,      /* invalid_utf8 */
    CHATSEAL_E_LONE_SURROGATE = 23,    /* lone_surrogate: \uD800 alone */
    CHATSEAL_E_CONTROL_CHARACTER = 24, /* control_character: raw U+0000-1F */
    CHATSEAL_E_TOO_DEEP = 25,          /* too_deep: nesting over the limit */
    CHATSEAL_E_INVALID_NUMBER = 26,    /* invalid_number: not a finite double */
    CHATSEAL_E_TRAILING_DATA = 27,     /* trailing_data after the value */
    CHATSEAL_E_TOO_LARGE = 28,         /* too_large: input over a size limit */
    CHATSEAL_E_INVALID_MESSAGE =
        29, /* invalid_message: not an object with a string role */
    CHATSEAL_E_TOO_MANY_MESSAGES = 30, /* too_many_messages */
    CHATSEAL_E_INVALID_REQUEST =
        31, /* invalid_request: no messages array etc. */
    /* tokens */
    CHATSEAL_E_MISSING_SIGNATURE = 40,   /* missing_signature: no token */
    CHATSEAL_E_MALFORMED_TOKEN = 41,     /* malformed_token */
    CHATSEAL_E_UNSUPPORTED_VERSION = 42, /* unsupported_version */
    CHATSEAL_E_WRONG_TOKEN_TYPE =
        43, /* wrong_token_type: state token as conversation etc. */
    CHATSEAL_E_UNKNOWN_KEY = 44,   /* unknown_key: kid not in the ring */
    CHATSEAL_E_EXPIRED = 45,       /* expired */
    CHATSEAL_E_NOT_YET_VALID = 46, /* not_yet_valid: issued in the future */
    CHATSEAL_E_BINDING_MISMATCH =
        47, /* binding_mismatch: conversation/principal/purpose */
    /* verification verdicts: why a history does not match its token */
    CHATSEAL_E_INVALID_SIGNATURE =
        60, /* invalid_signature: tag mismatch, no finer diagnosis */
    CHATSEAL_E_CONTENT_CHANGED = 61,  /* content_changed */
    CHATSEAL_E_ROLE_CHANGED = 62,     /* role_changed */
    CHATSEAL_E_MESSAGE_INSERTED = 63, /* message_inserted */
    CHATSEAL_E_MESSAGE_DELETED = 64,  /* message_deleted: from the middle */
    CHATSEAL_E_TRUNCATED = 65,        /* truncated: tail deleted */
    CHATSEAL_E_REORDERED = 66,        /* reordered */
    CHATSEAL_E_COUNT_MISMATCH =
        67, /* count_mismatch: messages not covered by the token */
    CHATSEAL_E_ROLE_NOT_ALLOWED =
        68,                      /* role_not_allowed: after the signed prefix */
    CHATSEAL_E_STALE_TOKEN = 69, /* stale_token: rollback protection */
    /* gateway */
    CHATSEAL_E_NOT_FOUND = 80,          /* not_found */
    CHATSEAL_E_METHOD_NOT_ALLOWED = 81, /* method_not_allowed */
    CHATSEAL_E_UNSUPPORTED_MEDIA = 82,  /* unsupported_media_type */
    CHATSEAL_E_TIMEOUT = 83,            /* timeout: client too slow */
    CHATSEAL_E_OVERLOADED = 84,         /* overloaded: too many connections */
    CHATSEAL_E_UPSTREAM_UNAVAILABLE =
        85,                           /* upstream_unavailable: connect failed */
    CHATSEAL_E_UPSTREAM_TIMEOUT = 86, /* upstream_timeout */
    CHATSEAL_E_UPSTREAM_ERROR = 87,   /* upstream_error: bad/cut reply */
    CHATSEAL_E_SHUTTING_DOWN = 88,    /* shutting_down */
    /* gateway request policy and budgets (docs/GATEWAY.md) */
    CHATSEAL_E_MEMBER_NOT_ALLOWED = 89, /* member_not_allowed: unsigned msg */
    CHATSEAL_E_PARAMETER_NOT_ALLOWED = 90, /* parameter_not_allowed */
    CHATSEAL_E_CONTROL_TOKEN = 91,         /* control_token in unsigned text */
    CHATSEAL_E_RATE_LIMITED = 92,          /* rate_limited: per-client budget */
    /* gateway: the conversation store */
    CHATSEAL_E_STORE_UNAVAILABLE = 95,     /* store_unavailable */
    CHATSEAL_E_CONVERSATION_CONFLICT = 96, /* conversation_conflict */
    CHATSEAL_E_CONVERSATION_EXISTS = 97    /* conversation_exists */
} chatseal_error;

/* The library's version string, "MAJOR.MINOR.PATCH" (static storage). */
CHATSEAL_EXPORT const char *chatseal_version(void);
/* The library's CHATSEAL_VERSION_NUMBER. */
CHATSEAL_EXPORT unsigned long chatseal_version_number(void);

/* Stable snake_case name ("invalid_signature"); "unknown_error" if unknown.
 * Static storage: never freed, valid for the life of the program. */
CHATSEAL_EXPORT const char *chatseal_error_name(chatseal_error err);
/* One sentence of English for people; never contains key material.  Static
 * storage, like chatseal_error_name. */
CHATSEAL_EXPORT const char *chatseal_strerror(chatseal_error err);
/* Reverse of chatseal_error_name; CHATSEAL_E_INVALID_ARGUMENT if unknown. */
CHATSEAL_EXPORT chatseal_error chatseal_error_from_name(const char *name);

/* Releases any string or buffer the library returned.  NULL is fine. */
CHATSEAL_EXPORT void chatseal_free(void *p);

/* ----------------------------------------------------------- canonical -- */

/*
 * RFC 8785 canonical form of one strict JSON text.  Rejects duplicate keys,
 * invalid UTF-8, lone surrogates, raw control characters, nesting deeper than
 * max_depth (0 = CHATSEAL_MAX_DEPTH_DEFAULT), numbers that are not finite
 * doubles and trailing data, each with its own error.  *out is NUL-terminated
 * for convenience; *out_len excludes the NUL.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_canonicalize(const char *json, size_t len, size_t max_depth,
                      char **out, size_t *out_len);

/* The same, streamed: sink is called with consecutive chunks of canonical
 * bytes; a non-zero return from sink aborts with CHATSEAL_E_IO. */
typedef int (*chatseal_sink)(void *ctx, const char *bytes, size_t len);
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_canonicalize_to(const char *json, size_t len, size_t max_depth,
                         chatseal_sink sink, void *ctx);

/* ------------------------------------------------------------- keyring -- */

typedef struct chatseal_keyring chatseal_keyring;

/*
 * Key ring text: one entry per line (or separated by commas), each
 * "KID:KEY" where KID is 1..64 of [A-Za-z0-9._-] and KEY is the key in
 * base64url without padding, 32..128 bytes once decoded.  '#' starts a comment
 * line; blank lines are ignored.  Every key verifies; the LAST entry signs
 * (append a new key to rotate).
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_keyring_parse(const char *text, size_t len, chatseal_keyring **out);
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_keyring_load_file(const char *path, chatseal_keyring **out);
/* CHATSEAL_KEYS (key ring text) or else CHATSEAL_KEY_FILE (a path);
 * CHATSEAL_E_NO_KEY if neither is set. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_keyring_load_env(chatseal_keyring **out);
/* An ephemeral ring with one fresh random key whose kid is "dev-" + 8 hex
 * digits.  For development only: tokens die with the process. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_keyring_ephemeral(chatseal_keyring **out);
/* Key id of the signing key (the last one).  Never NULL for a valid ring;
 * NULL for ring NULL.  Owned by ring: valid until chatseal_keyring_free. */
CHATSEAL_EXPORT const char *
chatseal_keyring_signing_kid(const chatseal_keyring *ring);
/* Number of keys in the ring; 0 for NULL. */
CHATSEAL_EXPORT size_t chatseal_keyring_size(const chatseal_keyring *ring);
/* Zeroizes every key byte, then frees.  NULL is fine. */
CHATSEAL_EXPORT void chatseal_keyring_free(chatseal_keyring *ring);

/* A new key-ring line "KID:KEY\n" with KEYBYTES_DEFAULT random bytes; kid NULL
 * picks "k" + UTC date + "-" + 4 random hex digits.  *line is zeroized by
 * chatseal_free_secret. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_key_generate(const char *kid, char **line);
/* The same for an algorithm: alg NULL or "hs256" (HMAC-SHA256, the line
 * above), "hs384" or "hs512" give "KID:hs384:KEY\n" / "KID:hs512:KEY\n"
 * with 48 / 64 random bytes (FORMAT.md §3); any other alg is
 * invalid_argument.  The algorithm is bound to the key entry: tokens never
 * name it. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_key_generate_alg(const char *kid, const char *alg, char **line);
/* Zeroizes strlen(p) bytes, then frees. */
CHATSEAL_EXPORT void chatseal_free_secret(char *p);

/* ------------------------------------------------------------- options -- */

/* Token flags (chatseal_options.flags).  COMPACT: no per-message locators in
 * the token.  ASSISTANT_ONLY: locators for assistant messages only. */
#define CHATSEAL_COMPACT 0x1u
#define CHATSEAL_ASSISTANT_ONLY 0x2u

/*
 * Options for sign and verify.  Declare one with CHATSEAL_OPTIONS_INIT, then
 * set what you need:
 *
 *     chatseal_options opt = CHATSEAL_OPTIONS_INIT;
 *     opt.ttl = 3600;
 *
 * Passing NULL instead means all defaults: no binding, no purpose, no
 * expiry, current time, exact verification.
 *
 * Growing without breaking the ABI: `size` is sizeof(chatseal_options) as the
 * caller's header saw it.  New members are only ever appended, and the
 * library reads only the members that lie within `size`; a member a caller's
 * header did not have keeps its default.  The library refuses
 * (CHATSEAL_E_INVALID_ARGUMENT) a size smaller than the first version of the
 * struct -- in particular 0, a struct that was zeroed but never initialized --
 * and a size larger than its own whose extra bytes are not all zero: a newer
 * caller that set a member this library does not know is told so instead of
 * having it ignored.
 */
typedef struct chatseal_options {
    size_t size;                 /* set by CHATSEAL_OPTIONS_INIT */
    const char *conversation_id; /* bound into the MAC, not transmitted */
    const char *principal;       /* bound into the MAC, not transmitted */
    const char *purpose;         /* transmitted in the header and bound */
    int64_t ttl;                 /* sign: seconds until expiry; 0 = none */
    int64_t now;                 /* unix seconds; 0 = time(NULL) */
    int64_t leeway;              /* verify: allowed clock skew, seconds */
    unsigned flags;              /* sign: CHATSEAL_COMPACT | ASSISTANT_ONLY */
    /* verify: comma-separated roles that may follow the signed prefix
     * ("user,tool" in the gateway).  NULL: the token must cover every
     * message (count_mismatch otherwise). */
    const char *tail_roles;
    /* verify with no token: comma-separated roles a fresh conversation may
     * hold ("system,developer,user" in the gateway).  NULL: a missing token
     * is always missing_signature. */
    const char *fresh_roles;
} chatseal_options;

#ifndef __cplusplus
#define CHATSEAL_OPTIONS_INIT                                                  \
    {                                                                          \
        .size = sizeof(chatseal_options)                                       \
    }
#else
/* C++ before C++20 has no designated initializers (and g++ -Wextra warns
 * about the members a C++20 one leaves out): a zeroed struct, size set. */
static inline chatseal_options chatseal_options_init_cxx_(void)
{
    chatseal_options o = chatseal_options();
    o.size = sizeof o;
    return o;
}
#define CHATSEAL_OPTIONS_INIT chatseal_options_init_cxx_()
#endif

/* -------------------------------------------------------- conversation -- */

typedef struct chatseal_conv chatseal_conv;

/*
 * Limits for chatseal_conv_parse.  Declare with CHATSEAL_LIMITS_INIT; the
 * `size` rules are those of chatseal_options.  NULL means all defaults.
 */
typedef struct chatseal_limits {
    size_t size;         /* set by CHATSEAL_LIMITS_INIT */
    size_t max_messages; /* 0 = CHATSEAL_MAX_MESSAGES_DEFAULT */
    size_t max_depth;    /* 0 = CHATSEAL_MAX_DEPTH_DEFAULT */
} chatseal_limits;

#ifndef __cplusplus
#define CHATSEAL_LIMITS_INIT                                                   \
    {                                                                          \
        .size = sizeof(chatseal_limits)                                        \
    }
#else
static inline chatseal_limits chatseal_limits_init_cxx_(void)
{
    chatseal_limits l = chatseal_limits();
    l.size = sizeof l;
    return l;
}
#define CHATSEAL_LIMITS_INIT chatseal_limits_init_cxx_()
#endif

/*
 * Parses a conversation: a JSON array of message objects, or an object with a
 * "messages" array (an OpenAI chat request body).  Every message must be an
 * object whose "role" is a string.  Each message is canonicalized and hashed
 * once, here; signing and verifying afterwards cost one small HMAC per
 * message.  limits may be NULL.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_conv_parse(const char *json, size_t len, const chatseal_limits *limits,
                    chatseal_conv **out);
/* Appends one message (a JSON object text), e.g. the model's reply.  This
 * may move the conversation's storage: every pointer chatseal_conv_role
 * returned before is invalid afterwards (so after chatseal_extend, which
 * appends). */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_conv_append(chatseal_conv *conv, const char *msg_json, size_t len);
/* Number of messages; 0 for NULL. */
CHATSEAL_EXPORT size_t chatseal_conv_count(const chatseal_conv *conv);
/* Role of message i (NUL-terminated), NULL if i is out of range.  Owned by
 * conv: valid until the next chatseal_conv_append or chatseal_extend on conv,
 * or chatseal_conv_free, whichever comes first.  Copy it to keep it. */
CHATSEAL_EXPORT const char *chatseal_conv_role(const chatseal_conv *conv,
                                               size_t i);
/*
 * Message i as it is signed and forwarded (FORMAT.md §2.1): its signed form,
 * with its reasoning members when they are kept (§2.2).  Points into conv and
 * stays valid until the next call that changes conv (append, extend,
 * verify); *len (may be NULL) is its length.  NULL if i is out of range.
 */
CHATSEAL_EXPORT const char *chatseal_conv_message(const chatseal_conv *conv,
                                                  size_t i, size_t *len);
/* SHA-256 of message i's signed form (FORMAT.md §2 "message digest"). */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_conv_digest(
    const chatseal_conv *conv, size_t i, uint8_t digest[CHATSEAL_DIGESTBYTES]);
/*
 * When the input was an object: a copy of its top-level string member `key`,
 * decoded and NUL-terminated, in *out (the caller's, chatseal_free it).
 * *out is NULL and the result CHATSEAL_OK when there is no such member, it is
 * not a string, or it holds U+0000.  The gateway reads its "chatseal_token"
 * body field this way.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_conv_get_string(
    const chatseal_conv *conv, const char *key, char **out);
/* 1 if the top-level member `key` is JSON true, else 0 (the gateway reads
 * "stream" this way). */
CHATSEAL_EXPORT int chatseal_conv_get_bool(const chatseal_conv *conv,
                                           const char *key);
/*
 * Canonical JSON of the whole input with top-level member `omit_key` left out
 * (NULL: nothing left out), plus any messages appended since parsing, where
 * every message is in its signed form (FORMAT.md §2.1) with its reasoning
 * only when that verified (§2.2; see chatseal_verify).  This is what the
 * gateway forwards, so that the model reads exactly the values that were
 * verified.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_conv_canonical(const chatseal_conv *conv, const char *omit_key,
                        char **out, size_t *out_len);
CHATSEAL_EXPORT void chatseal_conv_free(chatseal_conv *conv);

/* ------------------------------------------------------------- reports -- */

/*
 * What a verification found: the verdict, where, and what the token says.
 * Create one, pass it to any verify call (or pass NULL), read it, free it.
 * A report may be reused: each verify call resets it first.  Every pointer a
 * report getter returns is owned by the report and stays valid until the
 * next verify call that is given this report, or chatseal_report_free.
 */
typedef struct chatseal_report chatseal_report;

CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_report_new(chatseal_report **out);
CHATSEAL_EXPORT void chatseal_report_free(chatseal_report *r);
/* The verdict (same value the verify call returned). */
CHATSEAL_EXPORT chatseal_error chatseal_report_code(const chatseal_report *r);
/* 1 when the chain tag matched: content, order and length as signed. */
CHATSEAL_EXPORT int chatseal_report_chain_valid(const chatseal_report *r);
/* Messages the token covers ("n"), or 0 if the token was not readable. */
CHATSEAL_EXPORT size_t chatseal_report_count(const chatseal_report *r);
/* Indices (into the presented history) whose own locator did not match;
 * returns how many, and points *indices at them (owned by r; read no more
 * than the returned count). */
CHATSEAL_EXPORT size_t chatseal_report_tampered(const chatseal_report *r,
                                                const size_t **indices);
/* First index where the presented history departs from the signed one, or
 * -1 if unknown or none. */
CHATSEAL_EXPORT long chatseal_report_index(const chatseal_report *r);
/* Key id (NULL if the token was not readable; owned by r), issue time and
 * expiry (0 = none) read from the token. */
CHATSEAL_EXPORT const char *chatseal_report_kid(const chatseal_report *r);
CHATSEAL_EXPORT int64_t chatseal_report_iat(const chatseal_report *r);
CHATSEAL_EXPORT int64_t chatseal_report_exp(const chatseal_report *r);
/* One line of English saying what went wrong and where (owned by r; "" for
 * r NULL, never NULL). */
CHATSEAL_EXPORT const char *chatseal_report_detail(const chatseal_report *r);
/* The report as a JSON object: {"valid","code","detail","count",
 * "chain_valid","tampered_indices","index","kid","iat","exp"}. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_report_json(const chatseal_report *r, char **out);

/* -------------------------------------------------- sign and verify -- */

/* Token over the first `count` messages of conv (count = chatseal_conv_count
 * for all of them).  *token is a NUL-terminated string; chatseal_free it. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_sign(const chatseal_keyring *ring, const chatseal_conv *conv,
              size_t count, const chatseal_options *opt, char **token);

/*
 * Verifies conv against token.  The token covers its own count n of messages;
 * conv must hold exactly n, or n followed only by messages whose roles are in
 * opt->tail_roles.  token NULL or "" is a missing signature unless
 * opt->fresh_roles allows every message of conv.  Returns CHATSEAL_OK or the
 * reason; report (may be NULL) says where.  conv is not const: verify records
 * in it which messages' reasoning verified (FORMAT.md §2.2), which changes
 * what chatseal_conv_message and chatseal_conv_canonical return.  So one conv
 * is verified by one thread at a time.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_verify(
    const chatseal_keyring *ring, chatseal_conv *conv, const char *token,
    const chatseal_options *opt, chatseal_report *report);

/*
 * One turn: verifies conv against its token h0 as chatseal_verify does,
 * then appends the server's new messages (a JSON array of message objects, or
 * one message object; may be NULL) to conv and signs the whole of it.  On
 * failure nothing is signed and *h1 is NULL.  *h1, the new token, is byte for
 * byte the token
 * chatseal_sign makes of the new conv, but cheaper: when the same key signs,
 * the locators of the history are taken from the verified h0.
 */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_extend(
    const chatseal_keyring *ring, chatseal_conv *conv, const char *h0,
    const char *new_json, size_t new_len, const chatseal_options *opt,
    char **h1, chatseal_report *report);

/* One message on its own, outside any conversation: its token covers exactly
 * that message (a distinct token type, so it never verifies as a
 * conversation token or the reverse). */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_message_sign(const chatseal_keyring *ring, const char *msg_json,
                      size_t len, const chatseal_options *opt, char **token);
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_message_verify(
    const chatseal_keyring *ring, const char *msg_json, size_t len,
    const char *token, const chatseal_options *opt, chatseal_report *report);

/* ---------------------------------------------------------------- state -- */

/* Signed state: any JSON value, canonicalized; the client keeps the value and
 * the token and sends both back. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_state_sign(const chatseal_keyring *ring, const char *json, size_t len,
                    const chatseal_options *opt, char **token);
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error chatseal_state_verify(
    const chatseal_keyring *ring, const char *json, size_t len,
    const char *token, const chatseal_options *opt, chatseal_report *report);

/* Sealed state: AES-256-GCM; the token carries the encrypted canonical JSON,
 * the client cannot read it.  open returns the canonical JSON text. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_state_seal(const chatseal_keyring *ring, const char *json, size_t len,
                    const chatseal_options *opt, char **token);
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_state_open(const chatseal_keyring *ring, const char *token,
                    const chatseal_options *opt, char **json, size_t *json_len,
                    chatseal_report *report);

/* --------------------------------------------------------------- tokens -- */

/* The header of a token as canonical JSON, NOT verified: for display only. */
CHATSEAL_EXPORT CHATSEAL_MUST_CHECK chatseal_error
chatseal_token_inspect(const char *token, char **header_json);

#ifdef __cplusplus
}
#endif
#endif /* CHATSEAL_H */
