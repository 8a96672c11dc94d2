/*
 * canon.c -- the public RFC 8785 calls, over the fast canonicalizer.
 *
 * fastcanon.c does the work (one pass, no DOM); this file only checks
 * arguments.  The jansson-based tests/support/reference.c computes the same
 * bytes and the same error codes independently; the unit and fuzz tests hold
 * the two together, and the library itself only ever runs the fast path.
 */
#include <stdlib.h>

#include "fastcanon.h"
#include "internal.h"

void chatseal_free(void *p)
{
    free(p);
}

chatseal_error chatseal_canonicalize(const char *json, size_t len,
                                     size_t max_depth, char **out,
                                     size_t *out_len)
{
    if (!out || (!json && len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    size_t n = 0;
    chatseal_error e =
        cs_fc_canonicalize_alloc(json ? json : "", len, max_depth, out, &n);
    if (e == CHATSEAL_OK && out_len)
        *out_len = n;
    return e;
}

chatseal_error chatseal_canonicalize_to(const char *json, size_t len,
                                        size_t max_depth, chatseal_sink sink,
                                        void *ctx)
{
    if (!sink || (!json && len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    return cs_fc_canonicalize_to(json ? json : "", len, max_depth, sink, ctx);
}
