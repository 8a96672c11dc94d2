/*
 * tu.h -- the small harness every C unit test of libchatseal shares.
 *
 * No framework: a test is a void function that records failed checks with
 * CHECK / CHECK_ERR (which keep going, so one run shows every failure), and
 * main() hands a table of tests to cs_test_run.  Helpers build key rings,
 * conversations and tokens from literal text and abort the test program on
 * a setup failure, because a test that could not set up proves nothing.
 * Everything goes through include/chatseal.h only: these tests pin the
 * public API, not the library's internals.
 */
#ifndef CS_TU_H
#define CS_TU_H

#include <stddef.h>
#include <stdint.h>

#include "chatseal.h"

/* Fixed keys: the bytes 0x00..0x1f, 0x40..0x5f and 0x80..0x9f. */
#define TU_K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define TU_K2 "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8"
#define TU_K3 "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8"
#define TU_NOW 1767225600 /* 2026-01-01T00:00:00Z */

extern int cs_test_failures;

/* helpers that exit instead of returning NULL */
#define TU_NONNULL __attribute__((returns_nonnull))

void cs_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            cs_test_fail(__FILE__, __LINE__, __VA_ARGS__);                     \
    } while (0)

/* expr must give `want`; prints both names otherwise */
#define CHECK_ERR(expr, want)                                                  \
    do {                                                                       \
        chatseal_error got_ = (expr);                                          \
        if (got_ != (want))                                                    \
            cs_test_fail(__FILE__, __LINE__, "%s: got %s, want %s", #expr,     \
                         chatseal_error_name(got_),                            \
                         chatseal_error_name(want));                           \
    } while (0)

struct cs_test {
    const char *name;
    void (*fn)(void);
};

/* Runs every test (or those whose name contains $CS_TEST_FILTER), prints
 * one line each; returns the exit status: 0 when nothing failed. */
int cs_test_run(const struct cs_test *tests, size_t n);

/* Setup helpers: abort the program (exit 99, a hard error) on failure. */
TU_NONNULL chatseal_keyring *cs_test_ring(const char *text);
TU_NONNULL chatseal_conv *cs_test_conv(const char *json);
TU_NONNULL char *cs_test_sign(const chatseal_keyring *ring,
                              const char *conv_json,
                              const chatseal_options *opt);

/* What one verification said. */
struct cs_verdict {
    chatseal_error code;        /* return value of chatseal_verify */
    chatseal_error report_code; /* chatseal_report_code */
    long index;
    int chain_valid;
    size_t count;
    size_t ntampered;
    size_t tampered[16];
};

/* Parses conv_json and verifies it against token (NULL allowed). */
struct cs_verdict cs_test_verify(const chatseal_keyring *ring,
                                 const char *conv_json, const char *token,
                                 const chatseal_options *opt);

/* Checks a verdict: code, index (-2 = don't care), tampered indices
 * (a -1 terminated list; NULL = don't care). */
#define CHECK_VERDICT(v, want_code, want_index, ...)                           \
    cs_test_check_verdict(__FILE__, __LINE__, (v), (want_code), (want_index),  \
                          (const long[]){__VA_ARGS__})
void cs_test_check_verdict(const char *file, int line, struct cs_verdict v,
                           chatseal_error code, long index,
                           const long *tampered);
#define TU_ANY_TAMPERED -2 /* as the only list element: don't check */

/* base64url without padding, for crafting tokens; malloc'ed. */
TU_NONNULL char *cs_test_b64u(const void *data, size_t len);
/* Decodes (lenient: for reading tokens the library made); malloc'ed,
 * NUL-terminated; *len gets the byte count. */
TU_NONNULL uint8_t *cs_test_unb64u(const char *text, size_t text_len,
                                   size_t *len);
/* "cs1." + b64u(header) + "." + b64u(payload) */
TU_NONNULL char *cs_test_token(const char *header, const void *payload,
                               size_t plen);
/* The header bytes of a token (NUL-terminated, malloc'ed). */
TU_NONNULL char *cs_test_token_header(const char *token);
/* The payload (tag) of a token, malloc'ed; *len its size. */
TU_NONNULL uint8_t *cs_test_token_payload(const char *token, size_t *len);
/* "[" m0 "," m1 ... "]" (malloc'ed): a conversation from message texts */
TU_NONNULL char *cs_test_join(const char *const *msgs, size_t n);
/* malloc'ed copy of s with the first `from` replaced by `to` (abort if
 * absent). */
TU_NONNULL char *cs_test_replace(const char *s, const char *from,
                                 const char *to);

#endif /* CS_TU_H */
