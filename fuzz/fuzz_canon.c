/*
 * fuzz_canon.c -- the strict canonicalizer under libFuzzer.
 *
 * Properties checked on every input: canonicalization either fails with a
 * JSON error code or succeeds; a success is a fixed point (canon(canon(x)) ==
 * canon(x)); and the streaming form produces the same bytes as the buffered
 * one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct buf {
    char *p;
    size_t n, cap;
};

static int sink(void *ctx, const char *bytes, size_t len)
{
    struct buf *b = ctx;
    if (b->n + len > b->cap) {
        size_t cap = (b->n + len) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, bytes, len);
    b->n += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char *c1 = NULL, *c2 = NULL;
    size_t n1 = 0, n2 = 0;
    chatseal_error e = chatseal_canonicalize(in, size, 0, &c1, &n1);
    struct buf b = {0};
    chatseal_error es = chatseal_canonicalize_to(in, size, 0, sink, &b);
    if (e != es)
        abort(); /* streamed and buffered disagree on accept/reject */
    if (e == CHATSEAL_OK) {
        if (b.n != n1 || (n1 && memcmp(b.p, c1, n1) != 0))
            abort();
        if (chatseal_canonicalize(c1, n1, 0, &c2, &n2) != CHATSEAL_OK)
            abort(); /* canonical output must parse */
        if (n2 != n1 || memcmp(c1, c2, n1) != 0)
            abort(); /* and be a fixed point */
    } else if (c1 != NULL) {
        abort();
    }
    chatseal_free(c1);
    chatseal_free(c2);
    free(b.p);
    return 0;
}
