/*
 * fuzz_differential.c -- the fast canonicalizer against the reference path.
 *
 * libchatseal canonicalizes with src/lib/fastcanon.c (one pass, no DOM); the
 * jansson-based path it replaced stays in the library as
 * cs_canonicalize_reference, the definition of correct.  On every input this
 * target requires, and aborts otherwise:
 *
 *   - the same verdict (accept, or the same error code) and, on accept, the
 *     same bytes from the reference, the fast path with its AVX2 string
 *     scanner and the fast path with the portable one; with the default
 *     depth limit and with a limit of 3 (to reach too_deep often);
 *   - the fast output is a fixed point of the fast path;
 *   - the conversation scan agrees: when it accepts, its canonical text is
 *     the plain one, and every message it reports is, byte for byte, the
 *     reference canonical form of itself.
 *
 * Build and run (fuzz/meson.build, suite 'fuzz'):
 *
 *   CC=clang meson setup build-fuzz -Dfuzzing=true \
 *     -Db_sanitize=address,undefined -Db_lundef=false
 *   ninja -C build-fuzz && FUZZ_SECONDS=60 meson test -C build-fuzz \
 *     --suite fuzz fuzz_differential
 *
 * or by hand: build-fuzz/fuzz/fuzz_differential -max_len=65536 DIR, where
 * DIR is a scratch copy of fuzz/corpus/differential.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"
#include "fastcanon.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cs_fc *simd, *port;

static void same(const char *in, size_t n, size_t depth)
{
    char *ref = NULL;
    size_t rl = 0, l1 = 0, l2 = 0;
    const char *o1, *o2;
    chatseal_error er = cs_canonicalize_reference(in, n, depth, &ref, &rl);
    chatseal_error e1 = cs_fc_canonicalize(simd, in, n, depth, NULL, NULL);
    chatseal_error e2 = cs_fc_canonicalize(port, in, n, depth, NULL, NULL);
    o1 = cs_fc_output(simd, &l1);
    o2 = cs_fc_output(port, &l2);
    if (er != e1 || er != e2)
        abort(); /* accept/reject or error code differs */
    if (er == CHATSEAL_OK) {
        if (l1 != rl || memcmp(o1, ref, rl) != 0)
            abort(); /* bytes differ (AVX2 scanner) */
        if (l2 != rl || memcmp(o2, ref, rl) != 0)
            abort(); /* bytes differ (portable scanner) */
        /* fixed point: the canonical text canonicalizes to itself */
        if (cs_fc_canonicalize(port, ref, rl, depth, NULL, NULL) != CHATSEAL_OK)
            abort();
        o2 = cs_fc_output(port, &l2);
        if (l2 != rl || memcmp(o2, ref, rl) != 0)
            abort();
    } else if (ref != NULL) {
        abort();
    }
    chatseal_free(ref);
}

static int check_message(void *ctx, size_t index, const char *canon, size_t len,
                         const char *role, size_t role_len)
{
    char *ref = NULL;
    size_t rl = 0;
    (void)ctx;
    (void)index;
    (void)role;
    (void)role_len;
    if (cs_canonicalize_reference(canon, len, 0, &ref, &rl) != CHATSEAL_OK ||
        rl != len || memcmp(ref, canon, len) != 0)
        abort(); /* a message's bytes are not canonical */
    chatseal_free(ref);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t nmsg = 0;
    if (!simd) {
        simd = cs_fc_new();
        port = cs_fc_new();
        if (!simd || !port)
            abort();
        cs_fc_set_simd(simd, 1);
        cs_fc_set_simd(port, 0);
    }
    same(in, size, 0);
    same(in, size, 3);
    if (cs_fc_conv_scan(simd, in, size, 0, 0, check_message, NULL, &nmsg) ==
        CHATSEAL_OK) {
        size_t cl = 0, pl = 0;
        const char *c = cs_fc_output(simd, &cl), *p;
        if (cs_fc_canonicalize(port, in, size, 0, NULL, NULL) != CHATSEAL_OK)
            abort(); /* a conversation that is not JSON */
        p = cs_fc_output(port, &pl);
        if (cl != pl || memcmp(c, p, cl) != 0)
            abort();
    }
    return 0;
}
