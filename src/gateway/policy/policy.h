/*
 * policy.h -- what a chat request may carry besides a verified history.
 *
 * The token proves which messages were signed; it says nothing about the
 * rest of the request.  This module decides, before anything reaches the
 * model, what unsigned input is allowed (docs/GATEWAY.md "Request policy"):
 *   - members of the unsigned messages after the signed prefix (per role);
 *   - control-token strings of model chat templates in those messages;
 *   - top-level request members (a known list of chat parameters);
 *   - system prompts: the operator's pinned one, client ones only by option.
 * Every function is pure (config in, verdict out) so it is unit-tested
 * without a server (tests/unit/test_policy.c).
 */
#ifndef CS_GATEWAY_POLICY_H
#define CS_GATEWAY_POLICY_H

#include <stddef.h>

#include "chatseal.h"

struct cs_config;
typedef struct cs_policy cs_policy;

/* Builds the policy from the options; NULL with the reason in why. */
cs_policy *cs_policy_new(const struct cs_config *cfg, char *why, size_t whylen);
void cs_policy_free(cs_policy *p);

/* Roles the library accepts in a conversation without a token: the
 * configured --fresh-roles, plus system when a prompt is pinned (where it may
 * stand is checked by cs_policy_check_fresh). */
const char *cs_policy_fresh_roles(const cs_policy *p);

/* With --system-prompt: unless the first message already is the pinned one,
 * *out is a new conversation with it inserted first (the caller frees conv
 * and uses *out); else *out = NULL.  lim as for chatseal_conv_parse. */
chatseal_error cs_policy_pin_system(const cs_policy *p,
                                    const chatseal_conv *conv,
                                    const chatseal_limits *lim,
                                    chatseal_conv **out);

/* 1 if message 0 of conv is the pinned system prompt. */
int cs_policy_pinned_first(const cs_policy *p, const chatseal_conv *conv);

/* A conversation without a token: every message's role must be in
 * --fresh-roles, except the pinned system prompt as the first message
 * (only_system: judge system and developer messages only).  On refusal
 * (role_not_allowed) why names the index and the option to change. */
chatseal_error cs_policy_check_fresh(const cs_policy *p,
                                     const chatseal_conv *conv, int only_system,
                                     char *why, size_t whylen);

/* The unsigned messages, from index `from` on, of a canonical request text
 * (chatseal_conv_canonical): members allowed per role (member_not_allowed)
 * and no control-token strings (control_token).  why names index and member.
 */
chatseal_error cs_policy_check_tail(const cs_policy *p, const char *canon,
                                    size_t len, size_t from, char *why,
                                    size_t whylen);

/* Top-level members of a canonical request text: members outside the allowed
 * parameters are refused (parameter_not_allowed) or, with
 * --unknown-parameters drop, removed (counted in *dropped).  chatseal_token
 * is always removed, and refused (invalid_request) if it is not a string.
 * When something is removed *body is replaced (malloc'd; the old one freed).
 */
chatseal_error cs_policy_params(const cs_policy *p, char **body, size_t *len,
                                size_t *dropped, char *why, size_t whylen);

/* The same for the other APIs (adapter.h; api is the adapter's id > 0):
 * the canonical internal request less chatseal_token, its top-level members
 * checked against that API's parameters plus --allow-parameters.  The tail
 * rules are the adapter's (write_request). */
chatseal_error cs_policy_forward_api(const cs_policy *p, int api,
                                     const chatseal_conv *conv, char **body,
                                     size_t *len, char *why, size_t whylen);

/* 1 if the text holds a control-token string of the configured families
 * (--control-tokens); for the adapters' tail checks. */
int cs_policy_has_control_token(const cs_policy *p, const char *s, size_t n);

/* With --bind-parameters: *out is the purpose to bind into tokens, the
 * configured one (may be NULL) plus "params:" and a SHA-256 of the named
 * top-level members' canonical values, so a conversation's tools (say) are
 * pinned: other values are binding_mismatch.  Without it *out is NULL. */
chatseal_error cs_policy_purpose(const cs_policy *p, const char *base,
                                 const chatseal_conv *conv, char **out);

/* The body to forward: the canonical request less chatseal_token, after
 * cs_policy_check_tail (messages from signed_n on) and cs_policy_params.
 * On refusal why says what (or is "") and *body is NULL. */
chatseal_error cs_policy_forward(const cs_policy *p, const chatseal_conv *conv,
                                 size_t signed_n, char **body, size_t *len,
                                 char *why, size_t whylen);

#endif
