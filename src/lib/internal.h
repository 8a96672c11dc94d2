/*
 * internal.h -- what the modules of libchatseal share and nothing else sees.
 *
 * The library is split by concern, one file each:
 *
 *   errors.c   names and sentences for chatseal_error
 *   options.c  reading the caller's chatseal_options/limits; the version
 *   buf.c      cs_buf, the one growable buffer (framing, JSON strings)
 *   util.c     base64url, role codes and lists, the clock
 *   mac.c      HMAC-SHA256 and SHA-256 through OpenSSL's EVP interfaces
 *   keyring.c  key ring text, key generation, zeroization
 *   canon.c    the public canonicalize calls (over fastcanon.c)
 *   the canonicalizer, in layers (fcpriv.h; each file calls only those
 *   listed before it):
 *     jstring.c  string codec: strict reading, SIMD scanners, RFC 8785 out
 *     numfmt.c   number codec: lexing, strtod, shortest round-trip (Ryu,
 *                tables in numtab.h from gen_numtab.py)
 *     jobject.c  object members: sort, duplicates, reassembly in place
 *     fastcanon.c  the one-pass parser and its API (fastcanon.h)
 *     fcpool.c   one parser a thread, its buffers kept between requests
 *     fcconv.c   the conversation scan, through the parser's hooks
 *   form.c     the signed form of a message (§2.1): what v2 signs
 *   conv.c     a parsed conversation: per-message digests and roles
 *   token.c    token headers: build, decode, validate, inspect
 *   tokhdr.c   reading a canonical token header (a scanner, no JSON DOM)
 *   sign.c     the tag (FORMAT.md §4.4), signing and turn extension
 *   verify.c   verification (§5) and diagnosis (§5.1)
 *   report.c   the verification report
 *   state.c    signed and sealed application state
 *
 * Internal names start with cs_ (cs_<object>_<action> where there is an
 * object: cs_buf_put, cs_token_decode); public ones with chatseal_, by the
 * rules at the top of include/chatseal.h.
 */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "chatseal.h"

/* ------------------------------------------------------------- buffers -- */

/* A growable byte buffer; p is always NUL-terminated when n > 0. */
typedef struct cs_buf {
    char *p;
    size_t n, cap;
    int oom; /* sticky: an append failed; the contents are incomplete */
} cs_buf;

/* buf.c.  Room for extra more bytes (and the NUL); -1 (and oom set) if
 * none. */
int cs_buf_reserve(cs_buf *b, size_t extra);
/* The buffer as an array: room for count elements of elem bytes at b->p
 * (n is not used); b->p, or NULL (and oom set) when out of memory.  The
 * array moves when it grows: take the returned pointer again. */
void *cs_buf_array(cs_buf *b, size_t count, size_t elem);
void cs_buf_put(cs_buf *b, const void *s, size_t n);
void cs_buf_puts(cs_buf *b, const char *s);
void cs_buf_putc(cs_buf *b, char c);
void cs_buf_printf(cs_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* u32be(len) || s, FORMAT.md's frame(). */
void cs_buf_frame(cs_buf *b, const void *s, size_t n);
/* A JSON string in RFC 8785 form (s must be valid UTF-8). */
void cs_buf_json_string(cs_buf *b, const char *s, size_t n);
/* Hands the bytes over (NUL-terminated); the buffer is reset. NULL on OOM. */
char *cs_buf_take(cs_buf *b, size_t *len);
/* Zeroizes, then frees. */
void cs_buf_wipe(cs_buf *b);
void cs_buf_free(cs_buf *b);

/* ---------------------------------------------------------- base64url -- */

size_t cs_b64u_encoded_len(size_t n);
/* Writes cs_b64u_encoded_len(n) characters and a NUL. */
void cs_b64u_encode(const uint8_t *in, size_t n, char *out);
/* Strict: no padding, only the url alphabet, zero unused bits.  out must
 * hold n * 3 / 4 bytes.  Returns 0 and sets *out_len, or -1. */
int cs_b64u_decode(const char *in, size_t n, uint8_t *out, size_t *out_len);

/* --------------------------------------------------------------- roles -- */

/* FORMAT.md §2 role code: 's', 'u', 'a', 't', 'd', 'f' or 'x'. */
char cs_role_code(const char *role, size_t len);
/* 1 if role (len bytes) is one of the comma-separated names in list. */
int cs_role_in_list(const char *list, const char *role, size_t len);

/* ------------------------------------------------------------- options -- */

/* Copies the caller's struct into a full-size one of this library's layout
 * (options.c explains the size rules).  in NULL gives the defaults.  On
 * CHATSEAL_E_INVALID_ARGUMENT *out holds the defaults: never use it. */
chatseal_error cs_options_read(const chatseal_options *in,
                               chatseal_options *out);
chatseal_error cs_limits_read(const chatseal_limits *in, chatseal_limits *out);

/* ---------------------------------------------------------------- time -- */

int64_t cs_now(const chatseal_options *opt);

/* ----------------------------------------------------------------- MAC -- */

/*
 * A keyed HMAC context for one operation.  The hash (SHA-256, SHA-384 or
 * SHA-512) belongs to the key entry (FORMAT.md §3), never to a token: taglen
 * is copied from the key by cs_mac_begin.  The key ring holds one
 * keyed template per key; cs_mac_begin duplicates it (no key schedule is
 * recomputed) and every cs_mac_init afterwards restarts it with the same
 * key, which costs a fraction of a one-shot HMAC.
 */
typedef struct cs_mac {
    EVP_MAC_CTX *ctx;
    size_t taglen; /* HMAC output length of the key's hash: 32, 48 or 64 */
} cs_mac;

typedef struct cs_key {
    char kid[CHATSEAL_KID_MAX + 1];
    uint8_t *bytes; /* zeroized on free */
    size_t len;
    EVP_MAC_CTX *tmpl; /* keyed with bytes; only ever duplicated */
    size_t taglen;     /* 32 hs256, 48 hs384, 64 hs512: the entry's choice */
} cs_key;

chatseal_error cs_mac_begin(cs_mac *m, const cs_key *key);
chatseal_error cs_mac_init(cs_mac *m);
chatseal_error cs_mac_update(cs_mac *m, const void *p, size_t n);
/* u32be(n) || p into the MAC */
chatseal_error cs_mac_frame(cs_mac *m, const void *p, size_t n);
/* Writes m->taglen bytes. */
chatseal_error cs_mac_final(cs_mac *m, uint8_t out[CHATSEAL_TAGBYTES_MAX]);
void cs_mac_end(cs_mac *m);
/* A keyed template for key bytes (the ring calls it once per key); taglen
 * 32, 48 or 64 picks HMAC-SHA-256, -384 or -512. */
EVP_MAC_CTX *cs_mac_template(const uint8_t *key, size_t len, size_t taglen);
chatseal_error cs_sha256(const void *p, size_t n,
                         uint8_t out[CHATSEAL_DIGESTBYTES]);

/* ------------------------------------------------------------- keyring -- */

const cs_key *cs_keyring_find(const chatseal_keyring *ring, const char *kid);
const cs_key *cs_keyring_signer(const chatseal_keyring *ring);
int cs_kid_valid(const char *kid, size_t len);

/* -------------------------------------------------------- conversation -- */

/* Reasoning of a message (FORMAT.md §2.2): none, verified or signed by us
 * (forwarded and signed again), or not verified (left out of both). */
enum { CS_RSN_NONE = 0, CS_RSN_KEEP, CS_RSN_DROP };

typedef struct cs_msg {
    uint8_t digest[CHATSEAL_DIGESTBYTES];  /* v2: SHA256(signed form) */
    uint8_t digest1[CHATSEAL_DIGESTBYTES]; /* v1: SHA256(canonical text) */
    char code;                             /* role code */
    unsigned char rsn;                     /* CS_RSN_* */
    size_t role_off; /* into conv->roles (NUL-terminated) */
    size_t role_len;
    /* the signed form and the form with its reasoning (the same span when
     * there is none): into conv->canon when the message parsed with the
     * input is its own form (in_canon: no copy), else into conv->texts;
     * the reasoning object alone, always into conv->texts */
    size_t core_off, core_len, full_off, full_len, rsn_off, rsn_len;
    size_t canon_len; /* length of its canonical text in the input */
    int in_canon;
} cs_msg;

struct chatseal_conv {
    cs_msg *msgs;
    size_t n, cap;
    cs_buf roles; /* role strings, each NUL-terminated */
    cs_buf texts; /* every message's forms (see cs_msg) */
    char *canon;  /* canonical text of the input as parsed */
    size_t canon_len;
    int is_object;   /* the input was an object with "messages" */
    size_t msgs_off; /* span of the messages array in canon */
    size_t msgs_len;
    size_t n_parsed; /* messages that came from the input */
    /* top-level members (object input), offsets into canon */
    struct cs_member {
        char *name; /* unescaped, NUL-terminated */
        size_t name_len;
        size_t off, len;
    } * members;
    size_t nmembers;
    size_t max_messages;
    size_t max_depth;
    EVP_MD *sha; /* SHA-256 as fetched by the parse, or NULL */
};

/* The text of message m: its form with reasoning (full) or without. */
const char *cs_conv_msg_text(const chatseal_conv *conv, const cs_msg *m,
                             int full, size_t *len);
/* Message i's digest as format version v signs it (1: the canonical text,
 * 2: the signed form). */
const uint8_t *cs_conv_msg_digest(const chatseal_conv *conv, size_t i, int v);
/* The chain digest S of the first n messages (FORMAT.md §2), version 2. */
chatseal_error cs_conv_chain(const chatseal_conv *conv, size_t n,
                             uint8_t out[CHATSEAL_DIGESTBYTES]);
/* The same for version v. */
chatseal_error cs_conv_chain_v(const chatseal_conv *conv, size_t n, int v,
                               uint8_t out[CHATSEAL_DIGESTBYTES]);

/* ---------------------------------------------------------------- form -- */

/* A message's members as the parser found them (fastcanon.h), so that form.c
 * need not walk the text for them: sp[0..nsp), or sp NULL to walk. */
struct cs_fc_span;
typedef struct cs_form_members {
    const struct cs_fc_span *sp;
    size_t nsp;
} cs_form_members;

/* 1 when the signed form of the canonical message text differs from it. */
int cs_form_needed(const char *canon, size_t len, int assistant,
                   cs_form_members mb);
/* The signed form (core), the form with reasoning (full) and the reasoning
 * object (rsn; nothing appended when there is none), appended to the three
 * buffers.  canon must be the canonical text of one message object. */
chatseal_error cs_form_message(const char *canon, size_t len, int assistant,
                               cs_form_members mb, size_t max_depth,
                               cs_buf *core, cs_buf *full, cs_buf *rsn);
/* Decodes a JSON string in RFC 8785 form (quotes included in s/n) into a
 * malloc'ed NUL-terminated *out of *len bytes (which may hold U+0000).
 * -1 on a malformed string or no memory (*out is then to be freed too). */
int cs_canon_string_decode(const char *s, size_t n, char **out, size_t *len);

/* Appends a JSON array of messages or one message object (extend). */
chatseal_error cs_conv_append_any(chatseal_conv *conv, const char *json,
                                  size_t len);
/* A conversation of exactly one message object (typ "msg"). */
chatseal_error cs_conv_single(const char *msg_json, size_t len,
                              chatseal_conv **out);

/* ------------------------------------------------------------- tokens -- */

#define CS_TYP_CONV "conv"
#define CS_TYP_MSG "msg"
#define CS_TYP_STATE "state"
#define CS_TYP_SEALED "sealed"

/* A decoded token: header fields plus the raw bytes the MAC covers. */
typedef struct cs_token {
    int v; /* format version, 1 or 2 */
    char typ[8];
    char kid[CHATSEAL_KID_MAX + 1];
    int64_t iat, exp; /* exp 0 = none */
    int64_t n;        /* -1 when absent */
    char *pur;        /* NULL when absent */
    int has_bnd;
    uint8_t bnd[CHATSEAL_BINDBYTES];
    char *roles;  /* NULL when compact */
    uint8_t *loc; /* locators of located messages */
    size_t nloc;
    int ao;
    uint8_t *rsn; /* v2: reasoning entries, CS_RSN_ENTRY bytes each */
    size_t nrsn;
    uint8_t *header; /* decoded header bytes */
    size_t header_len;
    uint8_t *payload;
    size_t payload_len;
} cs_token;

/* Step 2 of FORMAT.md §5: everything but the MAC. */
chatseal_error cs_token_decode(const char *text, cs_token *t);
void cs_token_clear(cs_token *t);

/* OK when the header bytes are their own RFC 8785 form, else
 * malformed_token: the gate every header passes before it is read. */
chatseal_error cs_token_header_canonical(const uint8_t *header, size_t len);
/* The member checks of FORMAT.md §4 on a header that passed
 * cs_token_header_canonical (and only on such a header): fills the header
 * fields of t (zeroed by the caller); malformed_token or
 * unsupported_version on error, when t may hold allocations that
 * cs_token_clear frees.  tokhdr.c. */
chatseal_error cs_token_header_read(const uint8_t *header, size_t len,
                                    cs_token *t);
/* What goes in a new header. */
/* A reasoning entry of `rsn`: u32be(message index) || 16-byte tag. */
#define CS_RSN_TAGBYTES 16
#define CS_RSN_ENTRY (4 + CS_RSN_TAGBYTES)

typedef struct cs_header_in {
    int v;
    const char *typ;
    const char *kid;
    int64_t iat, exp; /* exp 0 = none */
    int64_t n;        /* -1 = absent */
    const char *pur;
    const uint8_t *bnd; /* NULL = absent */
    const char *roles;  /* NULL = absent */
    const uint8_t *loc;
    size_t nloc;
    int ao;
    const uint8_t *rsn; /* NULL = absent */
    size_t nrsn;
} cs_header_in;

chatseal_error cs_header_build(const cs_header_in *h, cs_buf *out);
/* "cs1." b64u(header) "." b64u(payload) */
chatseal_error cs_token_assemble(const cs_buf *header, const uint8_t *payload,
                                 size_t payload_len, char **token);

/* ------------------------------------------------------------ binding -- */

/* cid/prn of opt, "" when absent; checks their sizes. */
chatseal_error cs_binding_inputs(const chatseal_options *opt, const char **cid,
                                 const char **prn, const char **pur);
chatseal_error cs_binding_check(cs_mac *m, const char *cid, const char *prn,
                                uint8_t out[CHATSEAL_BINDBYTES]);
/* Steps 3-5 of §5 for any token type; fills the report's token fields. */
chatseal_error cs_token_admit(const chatseal_keyring *ring, const cs_token *t,
                              const char *typ, const chatseal_options *opt,
                              const cs_key **key, cs_mac *m,
                              chatseal_report *r);
/* Step 8 of §5. */
chatseal_error cs_token_times(const cs_token *t, const chatseal_options *opt);
/* All of §5 for a conv or msg token (verify.c).  On success, when keep is
 * not NULL, the decoded token and its key are moved to *keep / *keep_key
 * (the caller clears *keep with cs_token_clear). */
chatseal_error cs_verify_chain(const chatseal_keyring *ring,
                               chatseal_conv *conv, const char *token,
                               const char *typ, const chatseal_options *opt,
                               chatseal_report *r, cs_token *keep,
                               const cs_key **keep_key);
/* The tag of §4.4 over X. */
chatseal_error cs_tag(cs_mac *m, const char *typ, const uint8_t *header,
                      size_t header_len, const char *cid, const char *prn,
                      const uint8_t *x, size_t xlen,
                      uint8_t out[CHATSEAL_TAGBYTES_MAX]);
chatseal_error cs_locator(cs_mac *m, const uint8_t digest[32],
                          uint8_t out[CHATSEAL_LOCATORBYTES]);
/* The reasoning tag of §2.2 for message digest d and reasoning text. */
chatseal_error cs_rsn_tag(cs_mac *m, const uint8_t d[32], const char *rsn,
                          size_t len, uint8_t out[CS_RSN_TAGBYTES]);

/* ------------------------------------------------------------- reports -- */

struct chatseal_report {
    chatseal_error code;
    int chain_valid;
    size_t count;
    size_t *tampered;
    size_t ntampered, tcap;
    long index;
    char kid[CHATSEAL_KID_MAX + 1];
    int64_t iat, exp;
    char detail[256];
};

void cs_report_reset(chatseal_report *r);
void cs_report_token(chatseal_report *r, const cs_token *t);
int cs_report_add_tampered(chatseal_report *r, size_t i);
/* Sets code, index and a detail sentence; returns code. */
chatseal_error cs_report_set(chatseal_report *r, chatseal_error code,
                             long index);

#endif /* CS_INTERNAL_H */
