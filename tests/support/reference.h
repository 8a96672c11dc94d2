/*
 * reference.h -- the reference canonicalizer (internal).
 *
 * A slow, plain RFC 8785 canonicalizer built on jansson, kept as the
 * definition of correct for the fast one (fastcanon.c): the differential
 * test and fuzz target compare the two byte for byte and error for error.
 * See reference.c for the design.
 */
#ifndef CS_REFERENCE_H
#define CS_REFERENCE_H

#include <stddef.h>

#include "chatseal.h"

/* Deepest max_depth the reference can check (jansson stops at 2048 values,
 * scalars included); a larger max_depth is CHATSEAL_E_INVALID_ARGUMENT. */
#define CS_REFERENCE_MAX_DEPTH 2047

/*
 * Canonical form of one strict JSON text, with the same contract and error
 * codes as chatseal_canonicalize (docs/FORMAT.md §1).  max_depth 0 means
 * CHATSEAL_MAX_DEPTH_DEFAULT.  *out is malloc'ed and NUL-terminated (release
 * it with chatseal_free); *out_len (may be NULL) excludes the NUL.  On error
 * *out is NULL.
 */
chatseal_error cs_canonicalize_reference(const char *json, size_t len,
                                         size_t max_depth, char **out,
                                         size_t *out_len);

#endif /* CS_REFERENCE_H */
