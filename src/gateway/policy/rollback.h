/*
 * rollback.h -- optional rollback protection: the newest token per
 * conversation, kept in Redis so that every gateway replica agrees.
 */
#ifndef CS_GATEWAY_ROLLBACK_H
#define CS_GATEWAY_ROLLBACK_H

#include <stdint.h>

#include "chatseal.h"

typedef struct cs_rollback cs_rollback;

/*
 * Connects to url ("redis://HOST:PORT[/DB]" or "unix:/path/to/socket").
 * Every Redis round trip is bounded by timeout_ms; records live ttl seconds
 * after their last update.  NULL with a sentence in err on failure.
 */
cs_rollback *cs_rollback_new(const char *url, int timeout_ms, int64_t ttl,
                             char *err, size_t errlen);
void cs_rollback_free(cs_rollback *rb);

/*
 * The record key of a conversation: cid and prn as bound into its tokens.
 * Writes 64 hex digits and a NUL into key.
 */
void cs_rollback_key(const char *cid, const char *prn, char key[65]);

/*
 * Is `token` (NULL or "" = none) the newest token issued for the
 * conversation?  CHATSEAL_OK; CHATSEAL_E_STALE_TOKEN when another token is
 * newer, or when a token is presented for a conversation with no record
 * (fail closed); CHATSEAL_E_UPSTREAM_UNAVAILABLE when Redis cannot answer.
 */
chatseal_error cs_rollback_check(cs_rollback *rb, const char *key,
                                 const char *token);

/*
 * Makes new_token the newest, atomically, if old_token (NULL = none) still
 * is: CHATSEAL_OK, or CHATSEAL_E_STALE_TOKEN when another request advanced
 * the conversation first (the new token must then not be handed out), or
 * CHATSEAL_E_UPSTREAM_UNAVAILABLE.
 */
chatseal_error cs_rollback_commit(cs_rollback *rb, const char *key,
                                  const char *old_token, const char *new_token);

#endif
