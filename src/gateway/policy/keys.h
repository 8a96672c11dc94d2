/*
 * keys.h -- where chatseal serve gets its key ring and sidecar secret.
 */
#ifndef CS_GATEWAY_KEYS_H
#define CS_GATEWAY_KEYS_H

#include <stdio.h>

#include "gw.h"

/*
 * The key ring at startup: --key-file / CHATSEAL_KEY_FILE, or CHATSEAL_KEYS,
 * or with --dev an ephemeral key.  Also the sidecar secret.  On failure
 * prints one "chatseal: CODE: ..." line to `err` (never key material) and
 * returns non-zero: chatseal serve then exits with status 2.
 */
int cs_keys_load(cs_gw *gw, FILE *err);
/* SIGHUP: reloads the ring (and the sidecar secret) from where they came
 * from; on any failure the old ones stay.  0 when reloaded. */
int cs_keys_reload(cs_gw *gw);
/* 1 if the Authorization header of a sidecar request carries the secret (or
 * the sidecar is open), 0 otherwise; constant time in the secret. */
int cs_keys_sidecar_allowed(const cs_gw *gw, const char *authorization);
/* Frees the ring (zeroizing it) and forgets the sidecar secret digest. */
void cs_keys_free(cs_gw *gw);

#endif
