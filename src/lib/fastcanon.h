/*
 * fastcanon.h -- the fast strict canonicalizer (internal).
 *
 * One pass over raw JSON bytes, no DOM: strict RFC 8259 checks with the
 * chatseal error codes of docs/FORMAT.md §1, RFC 8785 bytes out.  See
 * fastcanon.c for the design.  A cs_fc holds reusable buffers: keep one per
 * thread and the steady state allocates nothing.
 */
#ifndef CS_FASTCANON_H
#define CS_FASTCANON_H

#include <stddef.h>

#include "chatseal.h"

typedef struct cs_fc cs_fc;

/* A parser with empty buffers; NULL when out of memory. */
cs_fc *cs_fc_new(void);
/* Frees every buffer (canonical bytes held by a finished run included). */
void cs_fc_free(cs_fc *fc);
/* This thread's parser, its buffers kept from earlier runs (a fresh one
 * while it is in use); NULL when out of memory.  Give it back with
 * cs_fc_release, never cs_fc_free. */
cs_fc *cs_fc_acquire(void);
/* Gives back a parser from cs_fc_acquire (NULL is fine): kept for the
 * thread's next run, its buffers trimmed when large. */
void cs_fc_release(cs_fc *fc);
/* Tests: on = 0 forces the portable string scanner; on = 1 uses AVX2 when
 * the CPU has it (the default unless CHATSEAL_NO_AVX2 is set).  Returns
 * whether the AVX2 path is now in use. */
int cs_fc_set_simd(cs_fc *fc, int on);

/*
 * Canonical form of one strict JSON text, streamed: sink receives consecutive
 * chunks (a non-zero return aborts with CHATSEAL_E_IO).  With sink NULL the
 * whole canonical text is kept in fc instead: read it with cs_fc_output or
 * take it with cs_fc_take_output.  max_depth 0 means
 * CHATSEAL_MAX_DEPTH_DEFAULT.  On error nothing more is passed to sink, but
 * chunks passed before (only from top-level arrays) are not taken back.
 */
chatseal_error cs_fc_canonicalize(cs_fc *fc, const char *json, size_t len,
                                  size_t max_depth, chatseal_sink sink,
                                  void *ctx);

/* The canonical text of the last successful run with sink NULL. */
const char *cs_fc_output(const cs_fc *fc, size_t *len);
/* The same, handed over: a malloc'ed NUL-terminated string the caller frees
 * with free(); fc starts its next run with a fresh buffer. NULL if the run
 * failed or had a sink. */
char *cs_fc_take_output(cs_fc *fc, size_t *len);

/* One-shot helpers with a temporary parser (what chatseal_canonicalize and
 * chatseal_canonicalize_to need). *out is malloc'ed and NUL-terminated. */
chatseal_error cs_fc_canonicalize_alloc(const char *json, size_t len,
                                        size_t max_depth, char **out,
                                        size_t *out_len);
chatseal_error cs_fc_canonicalize_to(const char *json, size_t len,
                                     size_t max_depth, chatseal_sink sink,
                                     void *ctx);

/* ------------------------------------------------------- conversations -- */

/*
 * Called once per message, in order, as soon as the message object is
 * complete: its RFC 8785 bytes and its role (unescaped UTF-8, not
 * NUL-terminated; may contain U+0000).  A non-zero return aborts the scan
 * with CHATSEAL_E_IO.  Messages are reported while the rest of the text is
 * still unread: the caller must drop what it computed if the scan fails.
 */
typedef int (*cs_fc_message_fn)(void *ctx, size_t index, const char *canon,
                                size_t canon_len, const char *role,
                                size_t role_len);

/* A member of the message being reported to cs_fc_message_fn, as offsets
 * into its canonical text: the name as written there, quotes excluded, and
 * the value. */
typedef struct cs_fc_span {
    size_t name_off, name_len, value_off, value_len;
} cs_fc_span;

/* Inside cs_fc_message_fn only: the members of the message reported, in
 * canonical order (so the callback need not walk its text again). */
size_t cs_fc_message_members(const cs_fc *fc, const cs_fc_span **members);

/* A top-level member of an object conversation, after a successful scan:
 * name is unescaped (not NUL-terminated), value is a span of cs_fc_output. */
typedef struct cs_fc_member {
    const char *name;
    size_t name_len;
    size_t value_off, value_len;
} cs_fc_member;

/*
 * The conversation scan of docs/FORMAT.md §2 in the same single pass: json
 * is a JSON array of messages or an object whose "messages" member is one.
 * The whole text is checked and canonicalized exactly as
 * cs_fc_canonicalize does (its canonical form is left in fc: cs_fc_output /
 * cs_fc_take_output), and on_message sees each message.  JSON errors come
 * first; then invalid_request (no messages array), too_many_messages (more
 * than max_messages, 0 = CHATSEAL_MAX_MESSAGES_DEFAULT), invalid_message (an
 * element that is not an object with a string "role").  *nmessages (may be
 * NULL) is the count on success.
 */
chatseal_error cs_fc_conv_scan(cs_fc *fc, const char *json, size_t len,
                               size_t max_depth, size_t max_messages,
                               cs_fc_message_fn on_message, void *ctx,
                               size_t *nmessages);

/* After a successful cs_fc_conv_scan of an object: its members in canonical
 * (sorted) order; valid until the next run, and also after
 * cs_fc_take_output, as long as the taken text is not freed (names may point
 * into it; value_off/value_len are offsets into it).  0 members for an
 * array or after a failed run. */
size_t cs_fc_root_members(const cs_fc *fc, const cs_fc_member **members);

#endif /* CS_FASTCANON_H */
