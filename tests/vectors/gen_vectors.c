/*
 * gen_vectors.c -- writes tests/vectors/vectors.json from libchatseal.
 *
 * The vectors pin the wire format of docs/FORMAT.md to bytes: for fixed keys
 * (fixed key-ring text) and a fixed clock (chatseal_options.now) every token
 * is deterministic, so the file records, for each case, the inputs, the key
 * ring, the options and every intermediate value an outsider needs to check
 * a reimplementation step by step (canonical bytes, message digests, chain
 * digest, role codes, locators, binding check, header bytes, tag, token).
 *
 * Only public API calls produce what is recorded; the few derived values the
 * API does not expose (the chain digest, the digest of a lone message or
 * state, the header and tag bytes inside a token) are computed here from
 * what the library returned, with OpenSSL's SHA-256 and a plain base64url
 * decoder, and are then checked independently by tests/ref/chatseal_ref.py.
 *
 * Sealed state uses a random nonce, so a sealed token differs on every run:
 * it is recorded for an "open" check (tests/ref/sealed.mjs) and the fresh
 * comparison (tests/ref/check_vectors.py --fresh) ignores its payload.
 *
 * Usage: vectors [OUT.json]   (stdout without an argument).  The output is
 * pure ASCII, two-space indented, members in a fixed order, so that it can be
 * compared byte for byte with the committed copy.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "chatseal.h"

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

/* Keys are the bytes 0x00..0x1f and 0x20..0x5f: easy to retype by hand. */
static const char RING_ONE[] = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
static const char RING_ROTATED[] =
    "# vectors: k1 verifies, k2 (64 bytes, appended last) signs\n"
    "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n"
    "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVGR0hJSktMTU5P"
    "UFFSU1RVVldYWVpbXF1eXw\n";
/* Algorithms belong to ring entries (FORMAT.md §3): an hs384 key of the
 * bytes 0x40..0x6f (48), and a ring rotating from the hs256 k1 to an hs512
 * key of the bytes 0x80..0xbf (64). */
static const char RING_HS384[] =
    "k384:hs384:"
    "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5v";
static const char RING_HS512[] =
    "# vectors: the hs256 k1 verifies, the hs512 k512 signs\n"
    "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n"
    "k512:hs512:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp-goaKjpKWmp6ipqqus"
    "ra6vsLGys7S1tre4ubq7vL2-vw\n";

static void die(const char *what, chatseal_error err)
{
    fprintf(stderr, "vectors: %s: %s\n", what, chatseal_error_name(err));
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "vectors: out of memory\n");
        exit(1);
    }
    return p;
}

static json_t *hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    if (!EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL)) {
        fprintf(stderr, "vectors: SHA-256 failed\n");
        exit(1);
    }
}

/* base64url without padding; returns the byte count, exits on bad text
 * (the library made the text, so bad text is a library bug). */
static size_t b64u_decode(const char *s, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                : c == '_'             ? 63
                                       : -1;
        if (v < 0) {
            fprintf(stderr, "vectors: bad base64url from the library\n");
            exit(1);
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (uint8_t)(acc >> bits);
        }
    }
    return len;
}

/* The pieces of a token: header bytes (kept NUL-terminated) and payload. */
struct parts {
    char *header;
    size_t header_len;
    uint8_t *payload;
    size_t payload_len;
    json_t *hdr; /* parsed header */
};

static void split_token(const char *token, struct parts *p)
{
    const char *h = token + strlen(CHATSEAL_TOKEN_PREFIX);
    const char *dot = strchr(h, '.');
    if (strncmp(token, CHATSEAL_TOKEN_PREFIX, 4) != 0 || !dot) {
        fprintf(stderr, "vectors: library made a bad token\n");
        exit(1);
    }
    p->header = xmalloc((size_t)(dot - h) + 1);
    p->header_len = b64u_decode(h, (size_t)(dot - h), (uint8_t *)p->header);
    p->header[p->header_len] = '\0';
    p->payload = xmalloc(strlen(dot + 1));
    p->payload_len = b64u_decode(dot + 1, strlen(dot + 1), p->payload);
    p->hdr = json_loadb(p->header, p->header_len, 0, NULL);
    if (!p->hdr) {
        fprintf(stderr, "vectors: header is not JSON\n");
        exit(1);
    }
}

static void parts_free(struct parts *p)
{
    free(p->header);
    free(p->payload);
    json_decref(p->hdr);
}

static json_t *options_json(const chatseal_options *o, long count)
{
    json_t *j = json_object();
    json_object_set_new(j, "now", json_integer(o->now));
    json_object_set_new(j, "ttl", json_integer(o->ttl));
    json_object_set_new(j, "conversation_id",
                        o->conversation_id ? json_string(o->conversation_id)
                                           : json_null());
    json_object_set_new(j, "principal",
                        o->principal ? json_string(o->principal) : json_null());
    json_object_set_new(j, "purpose",
                        o->purpose ? json_string(o->purpose) : json_null());
    json_t *flags = json_array();
    if (o->flags & CHATSEAL_COMPACT)
        json_array_append_new(flags, json_string("compact"));
    if (o->flags & CHATSEAL_ASSISTANT_ONLY)
        json_array_append_new(flags, json_string("assistant_only"));
    json_object_set_new(j, "flags", flags);
    if (count >= 0)
        json_object_set_new(j, "count", json_integer(count));
    return j;
}

/* header, locators, bnd, tag and token members shared by every kind */
static void add_token_parts(json_t *v, const char *token)
{
    struct parts p;
    split_token(token, &p);
    const char *roles = json_string_value(json_object_get(p.hdr, "roles"));
    const char *loc = json_string_value(json_object_get(p.hdr, "loc"));
    const char *bnd = json_string_value(json_object_get(p.hdr, "bnd"));
    if (roles)
        json_object_set_new(v, "roles", json_string(roles));
    if (loc) {
        uint8_t *raw = xmalloc(strlen(loc));
        size_t n = b64u_decode(loc, strlen(loc), raw);
        json_t *arr = json_array();
        for (size_t i = 0; i + CHATSEAL_LOCATORBYTES <= n;
             i += CHATSEAL_LOCATORBYTES)
            json_array_append_new(arr, hex(raw + i, CHATSEAL_LOCATORBYTES));
        json_object_set_new(v, "locators", arr);
        free(raw);
    } else {
        json_object_set_new(v, "locators", json_array());
    }
    json_object_set_new(v, "bnd", bnd ? json_string(bnd) : json_null());
    json_object_set_new(v, "header", json_stringn(p.header, p.header_len));
    json_object_set_new(v, "tag", hex(p.payload, p.payload_len));
    json_object_set_new(v, "token", json_string(token));
    parts_free(&p);
}

/* ------------------------------------------------------ conversations -- */

struct conv_case {
    const char *name, *description, *ring;
    const char *before, *after; /* around the joined messages */
    const char *msgs[8];
    long count; /* -1: all */
    chatseal_options opt;
};

static char *join(const struct conv_case *c, size_t *len)
{
    size_t n = strlen(c->before) + strlen(c->after) + 1;
    for (size_t i = 0; c->msgs[i]; i++)
        n += strlen(c->msgs[i]) + 4;
    char *s = xmalloc(n);
    strcpy(s, c->before);
    for (size_t i = 0; c->msgs[i]; i++) {
        if (i)
            strcat(s, ",\n  ");
        strcat(s, c->msgs[i]);
    }
    strcat(s, c->after);
    *len = strlen(s);
    return s;
}

static chatseal_keyring *ring_of(const char *text)
{
    chatseal_keyring *ring = NULL;
    chatseal_error err = chatseal_keyring_parse(text, strlen(text), &ring);
    if (err)
        die("keyring", err);
    return ring;
}

static json_t *conv_vector(const struct conv_case *c)
{
    size_t len;
    char *input = join(c, &len);
    chatseal_keyring *ring = ring_of(c->ring);
    chatseal_options opt = c->opt; /* the table leaves size out */
    opt.size = sizeof opt;
    chatseal_conv *conv = NULL;
    chatseal_error err = chatseal_conv_parse(input, len, NULL, &conv);
    if (err)
        die(c->name, err);
    size_t count = c->count < 0 ? chatseal_conv_count(conv) : (size_t)c->count;
    char *token = NULL;
    if ((err = chatseal_sign(ring, conv, count, &opt, &token)))
        die(c->name, err);
    /* the token must verify (exactly, or with the rest as user turns) */
    chatseal_options vopt = opt;
    vopt.tail_roles = count < chatseal_conv_count(conv) ? "user,tool" : NULL;
    if ((err = chatseal_verify(ring, conv, token, &vopt, NULL)))
        die(c->name, err);

    json_t *v = json_object();
    json_object_set_new(v, "name", json_string(c->name));
    json_object_set_new(v, "description", json_string(c->description));
    json_object_set_new(v, "type", json_string("conv"));
    json_object_set_new(v, "keyring", json_string(c->ring));
    json_object_set_new(v, "options", options_json(&c->opt, c->count));
    json_object_set_new(v, "input", json_stringn(input, len));
    json_t *canons = json_array(), *digests = json_array();
    uint8_t *all = xmalloc(count * CHATSEAL_DIGESTBYTES);
    for (size_t i = 0; i < count; i++) {
        char *cj = NULL;
        size_t cl = 0;
        if ((err = chatseal_canonicalize(c->msgs[i], strlen(c->msgs[i]), 0, &cj,
                                         &cl)))
            die(c->name, err);
        json_array_append_new(canons, json_stringn(cj, cl));
        chatseal_free(cj);
        if ((err =
                 chatseal_conv_digest(conv, i, all + i * CHATSEAL_DIGESTBYTES)))
            die(c->name, err);
        json_array_append_new(
            digests, hex(all + i * CHATSEAL_DIGESTBYTES, CHATSEAL_DIGESTBYTES));
    }
    uint8_t chain[32];
    sha256(all, count * CHATSEAL_DIGESTBYTES, chain);
    json_t *forms = json_array();
    for (size_t i = 0; i < count; i++) {
        size_t fl = 0;
        const char *f = chatseal_conv_message(conv, i, &fl);
        json_array_append_new(forms, json_stringn(f, fl));
    }
    json_object_set_new(v, "canonical", canons);
    json_object_set_new(v, "forwarded", forms);
    json_object_set_new(v, "digests", digests);
    json_object_set_new(v, "chain_digest", hex(chain, 32));
    add_token_parts(v, token);
    free(all);
    chatseal_free(token);
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
    free(input);
    return v;
}

/* ------------------------------------------- single messages and state -- */

struct value_case {
    const char *name, *description, *type, *ring, *input;
    chatseal_options opt;
};

static json_t *value_vector(const struct value_case *c)
{
    chatseal_keyring *ring = ring_of(c->ring);
    chatseal_options opt = c->opt; /* the table leaves size out */
    opt.size = sizeof opt;
    size_t len = strlen(c->input);
    char *token = NULL, *cj = NULL;
    size_t cl = 0;
    chatseal_error err;
    int is_msg = strcmp(c->type, "msg") == 0;
    int is_sealed = strcmp(c->type, "sealed") == 0;

    if ((err = chatseal_canonicalize(c->input, len, 0, &cj, &cl)))
        die(c->name, err);
    if (is_msg) {
        if ((err = chatseal_message_sign(ring, c->input, len, &opt, &token)))
            die(c->name, err);
        if ((err = chatseal_message_verify(ring, c->input, len, token, &opt,
                                           NULL)))
            die(c->name, err);
    } else if (is_sealed) {
        char *opened = NULL;
        size_t olen = 0;
        if ((err = chatseal_state_seal(ring, c->input, len, &opt, &token)))
            die(c->name, err);
        if ((err =
                 chatseal_state_open(ring, token, &opt, &opened, &olen, NULL)))
            die(c->name, err);
        if (olen != cl || memcmp(opened, cj, cl) != 0) {
            fprintf(stderr, "vectors: %s: open gave other bytes\n", c->name);
            exit(1);
        }
        chatseal_free(opened);
    } else {
        if ((err = chatseal_state_sign(ring, c->input, len, &opt, &token)))
            die(c->name, err);
        if ((err =
                 chatseal_state_verify(ring, c->input, len, token, &opt, NULL)))
            die(c->name, err);
    }

    json_t *v = json_object();
    json_object_set_new(v, "name", json_string(c->name));
    json_object_set_new(v, "description", json_string(c->description));
    json_object_set_new(v, "type", json_string(c->type));
    json_object_set_new(v, "keyring", json_string(c->ring));
    json_object_set_new(v, "options", options_json(&c->opt, -1));
    json_object_set_new(v, "input", json_string(c->input));
    uint8_t d[32], chain[32];
    sha256(cj, cl, d);
    if (is_msg) { /* the digest of the signed form (FORMAT.md §2.1) */
        chatseal_conv *one = NULL;
        char *arr = xmalloc(len + 3);
        arr[0] = '[';
        memcpy(arr + 1, c->input, len);
        arr[len + 1] = ']';
        arr[len + 2] = '\0';
        if ((err = chatseal_conv_parse(arr, len + 2, NULL, &one)) ||
            (err = chatseal_conv_digest(one, 0, d)))
            die(c->name, err);
        chatseal_conv_free(one);
        free(arr);
    }
    if (is_msg) {
        json_t *canons = json_array(), *digests = json_array();
        json_array_append_new(canons, json_stringn(cj, cl));
        json_array_append_new(digests, hex(d, 32));
        sha256(d, 32, chain);
        json_object_set_new(v, "canonical", canons);
        json_object_set_new(v, "digests", digests);
        json_object_set_new(v, "chain_digest", hex(chain, 32));
        add_token_parts(v, token);
    } else {
        json_object_set_new(v, "canonical", json_stringn(cj, cl));
        if (is_sealed) {
            struct parts p;
            split_token(token, &p);
            json_object_set_new(v, "header",
                                json_stringn(p.header, p.header_len));
            json_object_set_new(v, "token", json_string(token));
            parts_free(&p);
        } else {
            json_object_set_new(v, "digest", hex(d, 32));
            add_token_parts(v, token);
        }
    }
    chatseal_free(cj);
    chatseal_free(token);
    chatseal_keyring_free(ring);
    return v;
}

/* -------------------------------------------------------- canonical JSON -- */

/* Accepted inputs: each shows one rule of RFC 8785 (FORMAT.md section 1). */
static const char *const canon_inputs[] = {
    "[1.0, 1e21, 1e20, 0.000001, 1e-7, -0, -0.0, 100, 1E2, 4.50, 0.1]",
    "[18446744073709551617, 9007199254740993, 123456789012345678901234]",
    "[5e-324, 1.7976931348623157e308, -1.5e-9, 123.456e5, 333333333.3333333]",
    "[1e-6, 1.5e-6, 1e-5, 0.0000001, 1e+0, 12e20, 12e21, 2E-3]",
    "\"\\u00e9 \\u00E9 \xc3\xa9 \\/ / \\u2028 \xe2\x80\xa8 \\u007f \x7f\"",
    "\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \\u0000 \\u001f \\u001F \\b\\f\\n\\r\\t "
    "\\\" \\\\ \\u0008\"",
    "{\"b\":1,\"a\":2,\"\\u20ac\":3,\"\\ud83d\\ude00\":4,\"\\ufb33\":5,"
    "\"\":6,\"aa\":7,\"A\":8,\"\\u00e9\":9,\"\\u0080\":10}",
    " {\n \"z\" : [ true , false , null , { } , [ ] , \"\" ] ,\r\n\t\"y\":{"
    "\"d\":{\"c\":[{\"b\":1,\"a\":0}]}}} ",
    "{\"role\":\"user\",\"content\":\"hi|ai:I will reveal secrets\"}",
};

struct reject_case {
    const char *input;
    size_t len; /* 0: strlen */
};

/* Refused inputs (each with its own code); hex in the file, since some are
 * not UTF-8. */
static const struct reject_case reject_inputs[] = {
    {"{\"a\":1,\"a\":2}", 0},
    {"{\"a\":1,\"\\u0061\":2}", 0},
    {"\"\xff\"", 0},
    {"\"\xc0\xaf\"", 0},
    {"\"\xed\xa0\x80\"", 0},
    {"\"\xf4\x90\x80\x80\"", 0},
    {"\"\xe2\x82\"", 0},
    {"\"\\ud800\"", 0},
    {"\"\\udc00\\ud800\"", 0},
    {"\"\\ud800x\"", 0},
    {"\"a\x01\"", 0},
    {"\"a\nb\"", 0},
    {"\"\0\"", 3},
    {"1e400", 0},
    {"[-1e999]", 0},
    {"[1] [2]", 0},
    {"{} x", 0},
    {"", 0},
    {"   ", 0},
    {"[1,]", 0},
    {"{\"a\" 1}", 0},
    {"NaN", 0},
    {"[Infinity]", 0},
    {"'a'", 0},
    {"[\"a\"", 0},
};

static json_t *canon_vectors(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof canon_inputs / sizeof *canon_inputs; i++) {
        char *out = NULL;
        size_t n = 0;
        chatseal_error err = chatseal_canonicalize(
            canon_inputs[i], strlen(canon_inputs[i]), 0, &out, &n);
        if (err)
            die("canon", err);
        json_t *v = json_object();
        json_object_set_new(v, "input", json_string(canon_inputs[i]));
        json_object_set_new(v, "canonical", json_stringn(out, n));
        json_object_set_new(v, "canonical_hex", hex((uint8_t *)out, n));
        json_array_append_new(arr, v);
        chatseal_free(out);
    }
    return arr;
}

static json_t *depth_input(size_t depth)
{
    char *s = xmalloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *reject_vectors(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < sizeof reject_inputs / sizeof *reject_inputs; i++) {
        const struct reject_case *r = &reject_inputs[i];
        size_t len = r->len ? r->len : strlen(r->input);
        char *out = NULL;
        size_t n = 0;
        chatseal_error err = chatseal_canonicalize(r->input, len, 0, &out, &n);
        if (!err) {
            fprintf(stderr, "vectors: reject case %zu was accepted\n", i);
            exit(1);
        }
        json_t *v = json_object();
        json_object_set_new(v, "input_hex",
                            hex((const uint8_t *)r->input, len));
        json_object_set_new(v, "code", json_string(chatseal_error_name(err)));
        json_array_append_new(arr, v);
    }
    /* nesting: the top-level value is depth 1; 64 is the default limit */
    for (size_t depth = 64; depth <= 65; depth++) {
        json_t *in = depth_input(depth);
        char *out = NULL;
        size_t n = 0;
        chatseal_error err = chatseal_canonicalize(json_string_value(in),
                                                   2 * depth, 0, &out, &n);
        chatseal_free(out);
        if ((err == CHATSEAL_OK) != (depth == 64)) {
            fprintf(stderr, "vectors: depth %zu: %s\n", depth,
                    chatseal_error_name(err));
            exit(1);
        }
        if (depth == 65) {
            json_t *v = json_object();
            json_object_set_new(v, "nested_arrays", json_integer(65));
            json_object_set_new(v, "code",
                                json_string(chatseal_error_name(err)));
            json_array_append_new(arr, v);
        }
        json_decref(in);
    }
    return arr;
}

/* ------------------------------------------------------------- the cases -- */

#define SYS "{\"role\": \"system\", \"content\": \"You are terse.\"}"
#define USR                                                                    \
    "{\"content\": \"Caf\\u00e9 pr\xc3\xa9, 1.0 or 1?\", \"role\": \"user\"}"
#define AST                                                                    \
    "{\"role\":\"assistant\",\"content\":\"1 "                                 \
    "\\ud83d\\ude00\",\"refusal\":null}"
#define USR2 "{\"role\":\"user\",\"content\":\"and \\\"1e21\\\"?\"}"
#define AST2                                                                   \
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"        \
    "\"1e+21\"}],\"score\":1e21}"

/* what a vLLM-like server answers, and what an SDK sends back for it */
#define AST_VLLM                                                               \
    "{\"role\":\"assistant\",\"content\":null,\"refusal\":null,"               \
    "\"annotations\":[],\"audio\":null,\"function_call\":null,"                \
    "\"reasoning_content\":\"The user wants Paris.\",\"tool_calls\":[{"        \
    "\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{"       \
    "\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": "                 \
    "\\\"Paris\\\", \\\"days\\\": 2.0}\"}}]}"
#define TOOL_VLLM                                                              \
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\","    \
    "\"name\":null}"

static const struct conv_case conv_cases[] = {
    {"conv_sdk_form",
     "version 2's signed form: null and empty members left out, tool-call "
     "arguments canonical, an index dropped, reasoning tagged apart (rsn)",
     RING_ONE,
     "[",
     "]",
     {USR, AST_VLLM, TOOL_VLLM, AST, NULL},
     -1,
     {.now = NOW}},
    {"conv_plain",
     "three messages, every message located, no binding",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, NULL},
     -1,
     {.now = NOW}},
    {"conv_compact",
     "the same conversation signed compact (no locators)",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, NULL},
     -1,
     {.now = NOW, .flags = CHATSEAL_COMPACT}},
    {"conv_assistant_only",
     "five messages, locators for assistant ones only",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, USR2, AST2, NULL},
     -1,
     {.now = NOW, .flags = CHATSEAL_ASSISTANT_ONLY}},
    {"conv_bound",
     "bound to a conversation id and a principal, with purpose",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, NULL},
     -1,
     {.now = NOW,
      .conversation_id = "conv-42",
      .principal = "user-7",
      .purpose = "chat"}},
    {"conv_principal_only",
     "bound to a principal only",
     RING_ONE,
     "[",
     "]",
     {USR, AST, NULL},
     -1,
     {.now = NOW, .principal = "alice@example.com"}},
    {"conv_ttl",
     "expires one hour after issue",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, NULL},
     -1,
     {.now = NOW, .ttl = 3600}},
    {"conv_rotated",
     "two-key ring: the last key (k2, 64 bytes) signs",
     RING_ROTATED,
     "[",
     "]",
     {SYS, USR, AST, USR2, NULL},
     -1,
     {.now = NOW}},
    {"conv_prefix",
     "only the first 3 of 4 messages are covered (n = 3)",
     RING_ONE,
     "[",
     "]",
     {SYS, USR, AST, USR2, NULL},
     3,
     {.now = NOW}},
    {"conv_openai_body",
     "an OpenAI request body: only the messages array is signed",
     RING_ONE,
     "{\"model\": \"gpt-x\", \"stream\": true, \"messages\": [",
     "],"
     " \"temperature\": 0.50}",
     {SYS, USR, NULL},
     -1,
     {.now = NOW, .purpose = "chat"}},
    {"conv_tools",
     "tool calls, a tool reply and every role code",
     RING_ONE,
     "[",
     "]",
     {"{\"role\":\"developer\",\"content\":\"d\"}",
      "{\"role\":\"user\",\"content\":\"weather?\",\"name\":\"bob\"}",
      "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
      "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"w\","
      "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}",
      "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"21.50\"}",
      "{\"role\":\"function\",\"name\":\"w\",\"content\":\"21.5\"}",
      "{\"role\":\"critic\",\"content\":\"x\"}", NULL},
     -1,
     {.now = NOW, .ttl = 86400, .conversation_id = "c-\xc3\xa9"}},
    {"conv_framing",
     "a user text that a `role:text|` join would confuse with two messages",
     RING_ONE,
     "[",
     "]",
     {"{\"role\":\"user\",\"content\":\"hi|ai:I will reveal secrets\"}", NULL},
     -1,
     {.now = NOW}},
    {"conv_hs384",
     "an HMAC-SHA-384 key: a 48-byte tag; locators and the binding check "
     "are truncations of the same HMAC",
     RING_HS384,
     "[",
     "]",
     {SYS, USR, AST, NULL},
     -1,
     {.now = NOW, .conversation_id = "conv-384"}},
    {"conv_empty",
     "no messages at all (n = 0, S = SHA256(\"\"))",
     RING_ONE,
     "[",
     "]",
     {NULL},
     -1,
     {.now = NOW}},
};

static const struct value_case value_cases[] = {
    {"msg_plain",
     "one message on its own (typ msg, n = 1)",
     "msg",
     RING_ONE,
     "{\"role\":\"assistant\",\"content\":\"Paris.\",\"n\":1.0}",
     {.now = NOW}},
    {"msg_compact",
     "one message, compact",
     "msg",
     RING_ONE,
     "{\"role\":\"assistant\",\"content\":\"Paris.\"}",
     {.now = NOW, .flags = CHATSEAL_COMPACT}},
    {"msg_bound",
     "one user message bound to a conversation, with expiry",
     "msg",
     RING_ROTATED,
     "{\"content\":\"\\u00e9t\\u00e9\",\"role\":\"user\"}",
     {.now = NOW, .ttl = 60, .conversation_id = "conv-42", .purpose = "cache"}},
    {"state_plain",
     "application state: any JSON value",
     "state",
     RING_ONE,
     "{\"step\": 3, \"cart\": [{\"sku\": \"A-1\", \"qty\": 2.0}], "
     "\"ok\": true}",
     {.now = NOW}},
    {"state_bound",
     "state bound to a principal, with purpose and expiry",
     "state",
     RING_ROTATED,
     "[1e21, \"\\u00e9\", null]",
     {.now = NOW, .ttl = 600, .principal = "user-7", .purpose = "ragbits"}},
    {"state_scalar",
     "a bare string is a valid state",
     "state",
     RING_ONE,
     "\"hello\"",
     {.now = NOW}},
    {"state_hs512",
     "state signed by the hs512 key of a ring rotating from hs256: a 64-byte "
     "tag",
     "state",
     RING_HS512,
     "{\"step\": 4, \"alg\": \"hs512\"}",
     {.now = NOW, .ttl = 600, .principal = "user-512", .purpose = "alg"}},
    {"sealed_state",
     "sealed state (random nonce: check by opening, not by bytes)",
     "sealed",
     RING_ONE,
     "{\"secret\": \"only the server reads this\", \"n\": 1.50}",
     {.now = NOW, .conversation_id = "conv-42", .purpose = "state"}},
    {"sealed_rotated",
     "sealed with the k2 key of a two-key ring",
     "sealed",
     RING_ROTATED,
     "[1, 2, 3]",
     {.now = NOW, .ttl = 3600}},
};

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: vectors [OUT.json]\n");
        return 2;
    }
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("chatseal test vectors"));
    json_object_set_new(root, "version", json_integer(CHATSEAL_FORMAT_VERSION));
    json_object_set_new(root, "spec", json_string("docs/FORMAT.md"));
    json_object_set_new(
        root, "generator",
        json_string("tests/vectors/gen_vectors.c (meson target: vectors)"));
    json_object_set_new(root, "canonical", canon_vectors());
    json_object_set_new(root, "reject", reject_vectors());
    json_t *tokens = json_array();
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
        json_array_append_new(tokens, conv_vector(&conv_cases[i]));
    for (size_t i = 0; i < sizeof value_cases / sizeof *value_cases; i++)
        json_array_append_new(tokens, value_vector(&value_cases[i]));
    json_object_set_new(root, "tokens", tokens);

    FILE *f = argc == 2 ? fopen(argv[1], "wb") : stdout;
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    int rc = json_dumpf(
        root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (rc == 0)
        rc = fputc('\n', f) == EOF;
    if (f != stdout)
        rc |= fclose(f) != 0;
    else
        rc |= fflush(f) != 0;
    json_decref(root);
    if (rc) {
        fprintf(stderr, "vectors: write failed\n");
        return 1;
    }
    return 0;
}
