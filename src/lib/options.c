/*
 * options.c -- reading the caller's extensible parameter structs, and the
 * library version.
 *
 * chatseal_options and chatseal_limits start with `size`, the sizeof the
 * caller's header saw (chatseal.h, "options").  Every public call that takes
 * one copies it here into a full-size struct of this library's version
 * before anything reads a member, so the rest of the library can read any
 * member of a struct it was given:
 *
 *   - size below the first published layout (0 included): refused.  A zeroed
 *     struct nobody initialized would otherwise silently mean "defaults",
 *     dropping a ttl or a binding the caller believed it had set.
 *   - size up to ours: the caller's bytes, the rest zero (= defaults).
 *   - size above ours (a newer header): accepted only when every byte we do
 *     not know is zero, the rule Linux uses for extensible syscall structs;
 *     a member we cannot honour is an error, never a silent no-op.
 */
#include <string.h>

#include "internal.h"

/* The first published layouts end with these members: never change them. */
#define CS_OPTIONS_SIZE_V1                                                     \
    (offsetof(chatseal_options, fresh_roles) + sizeof(const char *))
#define CS_LIMITS_SIZE_V1                                                      \
    (offsetof(chatseal_limits, max_depth) + sizeof(size_t))

static chatseal_error cs_struct_read(const void *in, size_t in_size, size_t min,
                                     void *out, size_t out_size)
{
    memset(out, 0, out_size);
    if (in_size < min)
        return CHATSEAL_E_INVALID_ARGUMENT;
    const unsigned char *extra = (const unsigned char *)in + out_size;
    for (size_t i = out_size; i < in_size; i++)
        if (extra[i - out_size])
            return CHATSEAL_E_INVALID_ARGUMENT;
    memcpy(out, in, in_size < out_size ? in_size : out_size);
    return CHATSEAL_OK;
}

chatseal_error cs_options_read(const chatseal_options *in,
                               chatseal_options *out)
{
    if (!in) {
        memset(out, 0, sizeof *out);
        out->size = sizeof *out;
        return CHATSEAL_OK;
    }
    chatseal_error e =
        cs_struct_read(in, in->size, CS_OPTIONS_SIZE_V1, out, sizeof *out);
    out->size = sizeof *out;
    return e;
}

chatseal_error cs_limits_read(const chatseal_limits *in, chatseal_limits *out)
{
    if (!in) {
        memset(out, 0, sizeof *out);
        out->size = sizeof *out;
        return CHATSEAL_OK;
    }
    chatseal_error e =
        cs_struct_read(in, in->size, CS_LIMITS_SIZE_V1, out, sizeof *out);
    out->size = sizeof *out;
    return e;
}

const char *chatseal_version(void)
{
    return CHATSEAL_VERSION_STRING;
}

unsigned long chatseal_version_number(void)
{
    return CHATSEAL_VERSION_NUMBER;
}
