/*
 * tokhdr_ref.h -- the reference token header reader and the field
 * comparison the differential tests use (tests/support, test-only).
 *
 * Nothing in the library or the programs links this: it lives in the
 * test-support library (tests/support/meson.build) that the unit tests and
 * fuzz targets link beside the library.  See tokhdr_ref.c for the design.
 */
#ifndef CS_TOKHDR_REF_H
#define CS_TOKHDR_REF_H

#include "internal.h"

/* The member checks of FORMAT.md §4, with the contract of
 * cs_token_header_read: header passed cs_token_header_canonical, t zeroed,
 * on error t may hold allocations that cs_token_clear frees. */
chatseal_error cs_token_header_read_reference(const uint8_t *header, size_t len,
                                              cs_token *t);

/* 1 when a and b hold the same header fields. */
int cs_token_fields_equal(const cs_token *a, const cs_token *b);

#endif /* CS_TOKHDR_REF_H */
