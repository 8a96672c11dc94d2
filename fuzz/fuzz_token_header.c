/*
 * fuzz_token_header.c -- the token header scanner against the reference.
 *
 * cs_token_decode reads header members with the scanner of src/lib/tokhdr.c,
 * which is only ever handed headers that passed the canonical-form gate
 * (cs_token_header_canonical); the jansson reader it replaced stays in the
 * static library as cs_token_header_read_reference.  For every candidate
 * header this target requires, and aborts otherwise:
 *
 *   - when the gate accepts it: the same error code from both readers and,
 *     on success, the same decoded fields;
 *   - when the gate refuses it: the scanner, called anyway, returns without
 *     crashing, reading out of bounds or leaking (its verdict is not used).
 *
 * Candidates, from one input: the input bytes themselves; when the input
 * is a token ("cs1." ...), its base64url-decoded first segment, so that the
 * token seeds of fuzz/corpus/token (which this target shares) start from
 * real headers; and the RFC 8785 form of whichever of those is JSON, so
 * that most mutations reach the readers instead of stopping at the gate.
 *
 * Build and run (fuzz/meson.build, suite 'fuzz'):
 *
 *   CC=clang meson setup build-fuzz -Dfuzzing=true \
 *     -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && FUZZ_SECONDS=60 meson test -C build-fuzz \
 *     --suite fuzz fuzz_token_header
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastcanon.h"
#include "internal.h"
#include "tokhdr_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *h, size_t n)
{
    cs_token a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (cs_token_header_canonical(h, n) != CHATSEAL_OK) {
        (void)cs_token_header_read(h, n, &b);
        cs_token_clear(&b);
        return;
    }
    chatseal_error ea = cs_token_header_read_reference(h, n, &a);
    chatseal_error eb = cs_token_header_read(h, n, &b);
    if (ea != eb)
        abort(); /* different verdicts */
    if (ea == CHATSEAL_OK && !cs_token_fields_equal(&a, &b))
        abort(); /* same verdict, different fields */
    cs_token_clear(&a);
    cs_token_clear(&b);
}

/* The candidate itself, then its canonical form when it is JSON. */
static void check_both(const uint8_t *h, size_t n)
{
    char *canon = NULL;
    size_t cl = 0;
    check(h, n);
    if (cs_fc_canonicalize_alloc((const char *)h, n, 4, &canon, &cl) ==
            CHATSEAL_OK &&
        (cl != n || memcmp(canon, h, n) != 0))
        check((const uint8_t *)canon, cl);
    free(canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_both(data, size);
    if (size > 4 && memcmp(data, "cs1.", 4) == 0) {
        const uint8_t *seg = data + 4;
        const uint8_t *dot = memchr(seg, '.', size - 4);
        size_t sl = dot ? (size_t)(dot - seg) : size - 4, hl = 0;
        uint8_t *h = malloc(sl / 4 * 3 + 3);
        if (h && cs_b64u_decode((const char *)seg, sl, h, &hl) == 0)
            check_both(h, hl);
        free(h);
    }
    return 0;
}
