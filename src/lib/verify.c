/*
 * verify.c -- verification of conversation and message tokens (FORMAT.md §5)
 * and the diagnosis of a failure (§5.1).
 *
 * The verdict comes from the 32-byte tag alone, compared in constant time.
 * Only when it fails does the diagnosis run: it recomputes each presented
 * message's 8-byte locator and compares the sequence with the token's roles
 * and locators to name *what* happened (truncated, deleted, inserted,
 * reordered, role or content changed) and *where*.  Diagnosis can only make
 * an invalid verdict more precise, never turn it into a valid one.
 *
 * Past the signed prefix nothing is signed, so what may follow is a policy:
 * the caller names the roles a client may add (user, tool); anything else,
 * above all a forged assistant turn, is refused before anyone re-signs it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* Reorder diagnosis is quadratic; beyond this it is skipped (the verdict
 * is then content_changed or role_changed, still at the first index). */
#define CS_REORDER_MAX 2048

struct cs_diag {
    const cs_token *t;
    const chatseal_conv *conv;
    size_t n, m;
    const uint8_t **L; /* L[j]: locator of signed j, NULL if not located */
    uint8_t *P;        /* P + 8 i: locator of presented i */
};

static int cs_match(const struct cs_diag *d, size_t i, size_t j)
{
    if (d->conv->msgs[i].code != d->t->roles[j])
        return 0;
    return !d->L[j] || CRYPTO_memcmp(d->P + i * CHATSEAL_LOCATORBYTES, d->L[j],
                                     CHATSEAL_LOCATORBYTES) == 0;
}

/*
 * The signed messages from position `from` on, as a sorted array of
 * (locator, role code), plus the role codes of unlocated positions: "does
 * presented i match any signed j >= from" in O(log n) instead of O(n), so
 * that no diagnosis is quadratic in the length of a (hostile) history.
 */
struct cs_sig {
    uint64_t loc;
    char role;
};

struct cs_index {
    struct cs_sig *v;
    size_t n;
    unsigned char wild[128]; /* role codes of unlocated positions */
};

static int cs_sig_cmp(const void *a, const void *b)
{
    const struct cs_sig *x = a, *y = b;
    if (x->loc != y->loc)
        return x->loc < y->loc ? -1 : 1;
    return (x->role > y->role) - (x->role < y->role);
}

static int cs_index_build(const struct cs_diag *d, size_t from,
                          struct cs_index *ix)
{
    memset(ix, 0, sizeof *ix);
    ix->v = malloc((d->n ? d->n : 1) * sizeof *ix->v);
    if (!ix->v)
        return -1;
    for (size_t j = from; j < d->n; j++) {
        char role = d->t->roles[j];
        if (!d->L[j]) {
            ix->wild[(unsigned char)role & 127] = 1;
            continue;
        }
        memcpy(&ix->v[ix->n].loc, d->L[j], CHATSEAL_LOCATORBYTES);
        ix->v[ix->n++].role = role;
    }
    qsort(ix->v, ix->n, sizeof *ix->v, cs_sig_cmp);
    return 0;
}

/* Presented i matches some indexed position; any_role: its locator alone. */
static int cs_index_has(const struct cs_index *ix, const struct cs_diag *d,
                        size_t i, int any_role)
{
    struct cs_sig key;
    memcpy(&key.loc, d->P + i * CHATSEAL_LOCATORBYTES, CHATSEAL_LOCATORBYTES);
    key.role = any_role ? 0 : d->conv->msgs[i].code;
    if (!any_role && ix->wild[(unsigned char)key.role & 127])
        return 1;
    size_t lo = 0, hi = ix->n; /* first element >= key */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cs_sig_cmp(&ix->v[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->v[lo].loc == key.loc &&
           (any_role || ix->v[lo].role == key.role);
}

/*
 * Not one presented message carries a locator of the token: the token was
 * made with another key of the same id, or for another history altogether.
 * Naming an index would be a guess, so the verdict stays invalid_signature.
 */
static int cs_nothing_matches(const struct cs_diag *d,
                              const struct cs_index *all)
{
    if (all->n < 2 || d->m == 0)
        return 0;
    for (size_t i = 0; i < d->m; i++)
        if (cs_index_has(all, d, i, 1))
            return 0;
    return 1;
}

/* The first rule of §5.1 that applies; sets *index. */
static chatseal_error cs_diagnose_rules(const struct cs_diag *d, long *index)
{
    size_t n = d->n, m = d->m, i, j, k;
    struct cs_index all;
    if (cs_index_build(d, 0, &all) != 0)
        return CHATSEAL_E_NO_MEMORY;
    int none = cs_nothing_matches(d, &all);
    free(all.v);
    if (none) {
        *index = -1;
        return CHATSEAL_E_INVALID_SIGNATURE;
    }
    if (m < n) {
        for (i = 0; i < m && cs_match(d, i, i); i++)
            ;
        if (i == m) {
            *index = (long)m;
            return CHATSEAL_E_TRUNCATED;
        }
        long removed = -1;
        for (i = 0, j = 0; j < n; j++) {
            if (i < m && cs_match(d, i, j))
                i++;
            else if (removed < 0)
                removed = (long)j;
        }
        if (i == m) {
            *index = removed;
            return CHATSEAL_E_MESSAGE_DELETED;
        }
    }
    /* k: the first position where presented and signed differ */
    size_t lim = m < n ? m : n;
    for (k = 0; k < lim && cs_match(d, k, k); k++)
        ;
    if (m >= n + 1 && k < n) {
        int unknown = 1;
        for (j = 0; j < n && unknown; j++)
            unknown = !cs_match(d, k, j);
        for (i = k; unknown && i < n; i++)
            unknown = cs_match(d, i + 1, i);
        if (unknown) {
            *index = (long)k;
            return CHATSEAL_E_MESSAGE_INSERTED;
        }
    }
    /* one deleted in the middle, new turns after it (k = n-1 is far more
     * likely an edit of the last message, so it is not read as a deletion) */
    if (m >= n && n >= 2 && k < n - 1) {
        for (i = k; i < n - 1 && cs_match(d, i, i + 1); i++)
            ;
        /* ...unless the "deleted" message reappears right after: a move */
        if (i == n - 1 && !cs_match(d, n - 1, k)) {
            *index = (long)k;
            return CHATSEAL_E_MESSAGE_DELETED;
        }
    }
    /* the signed tail from k is gone and new turns stand in its place: a
     * truncation followed by a new turn, not an edit (an edit keeps the role)
     */
    if (m >= n && k > 0 && k < n && d->conv->msgs[k].code != d->t->roles[k]) {
        struct cs_index tail;
        if (cs_index_build(d, k, &tail) != 0)
            return CHATSEAL_E_NO_MEMORY;
        int gone = 1;
        for (i = k; i < m && gone; i++)
            gone = !cs_index_has(&tail, d, i, 0);
        free(tail.v);
        if (gone) {
            *index = (long)k;
            return CHATSEAL_E_TRUNCATED;
        }
    }
    if (m >= n && k < n && n <= CS_REORDER_MAX) {
        unsigned char *used = calloc(n, 1);
        int perm = used != NULL;
        for (i = 0; perm && i < n; i++) {
            for (j = 0; j < n && (used[j] || !cs_match(d, i, j)); j++)
                ;
            if (j == n)
                perm = 0;
            else
                used[j] = 1;
        }
        free(used);
        if (perm) {
            *index = (long)k;
            return CHATSEAL_E_REORDERED;
        }
    }
    for (i = 0; i < lim; i++)
        if (d->conv->msgs[i].code != d->t->roles[i]) {
            *index = (long)i;
            return CHATSEAL_E_ROLE_CHANGED;
        }
    if (k < lim) {
        *index = (long)k;
        return CHATSEAL_E_CONTENT_CHANGED;
    }
    *index = -1;
    return CHATSEAL_E_INVALID_SIGNATURE;
}

static chatseal_error cs_diagnose(const cs_token *t, const chatseal_conv *conv,
                                  cs_mac *mac, chatseal_report *r)
{
    size_t n = (size_t)t->n, m = conv->n;
    if (!t->roles) /* compact: nothing to locate with */
        return m < n ? cs_report_set(r, CHATSEAL_E_COUNT_MISMATCH, (long)m)
                     : cs_report_set(r, CHATSEAL_E_INVALID_SIGNATURE, -1);
    struct cs_diag d = {t, conv, n, m, NULL, NULL};
    d.L = calloc(n ? n : 1, sizeof *d.L);
    d.P = malloc((m ? m : 1) * CHATSEAL_LOCATORBYTES);
    chatseal_error e = CHATSEAL_E_NO_MEMORY;
    if (!d.L || !d.P)
        goto done;
    for (size_t j = 0, q = 0; j < n; j++)
        if (!t->ao || t->roles[j] == 'a')
            d.L[j] = t->loc + CHATSEAL_LOCATORBYTES * q++;
    for (size_t i = 0; i < m; i++)
        if ((e = cs_locator(mac, cs_conv_msg_digest(conv, i, t->v),
                            d.P + i * CHATSEAL_LOCATORBYTES)))
            goto done;
    for (size_t i = 0; i < m && i < n; i++)
        if (!cs_match(&d, i, i) && !cs_report_add_tampered(r, i)) {
            e = CHATSEAL_E_NO_MEMORY;
            goto done;
        }
    long index = -1;
    e = cs_diagnose_rules(&d, &index);
    e = cs_report_set(r, e, index);
done:
    free(d.L);
    free(d.P);
    return e;
}

/* Step 7: what follows the signed prefix. */
static chatseal_error cs_check_tail(const chatseal_conv *conv, size_t n,
                                    const chatseal_options *opt,
                                    chatseal_report *r)
{
    const char *allowed = opt ? opt->tail_roles : NULL;
    if (conv->n > n && !allowed)
        return cs_report_set(r, CHATSEAL_E_COUNT_MISMATCH, (long)n);
    for (size_t i = n; i < conv->n; i++)
        if (!cs_role_in_list(allowed, conv->roles.p + conv->msgs[i].role_off,
                             conv->msgs[i].role_len))
            return cs_report_set(r, CHATSEAL_E_ROLE_NOT_ALLOWED, (long)i);
    return CHATSEAL_OK;
}

/*
 * Which reasoning the model may read (FORMAT.md §2.2), once the chain
 * verified over the first n messages: a version 1 token covered reasoning
 * in the message text itself; a version 2 token carries a tag per message
 * whose reasoning it signed.  Reasoning that does not verify, and reasoning
 * in messages past the signed prefix, is dropped: left out of what is
 * forwarded and of what is signed next, as if the client had not sent it.
 */
static chatseal_error cs_verify_reasoning(chatseal_conv *conv, size_t n,
                                          const cs_token *t, cs_mac *mac)
{
    size_t k = 0;
    for (size_t i = 0; i < conv->n; i++) {
        cs_msg *m = &conv->msgs[i];
        if (m->rsn == CS_RSN_NONE)
            continue;
        if (i >= n) {
            m->rsn = CS_RSN_DROP;
            continue;
        }
        if (t->v == 1) {
            m->rsn = CS_RSN_KEEP;
            continue;
        }
        const uint8_t *ent = NULL;
        for (; k < t->nrsn; k++) { /* entries are in increasing order */
            const uint8_t *e = t->rsn + k * CS_RSN_ENTRY;
            size_t at = (size_t)e[0] << 24 | (size_t)e[1] << 16 |
                        (size_t)e[2] << 8 | e[3];
            if (at >= i) {
                ent = at == i ? e : NULL;
                break;
            }
        }
        uint8_t tag[CS_RSN_TAGBYTES];
        chatseal_error e = CHATSEAL_OK;
        if (ent && (e = cs_rsn_tag(mac, m->digest, conv->texts.p + m->rsn_off,
                                   m->rsn_len, tag)))
            return e;
        m->rsn = ent && CRYPTO_memcmp(tag, ent + 4, CS_RSN_TAGBYTES) == 0
                     ? CS_RSN_KEEP
                     : CS_RSN_DROP;
    }
    return CHATSEAL_OK;
}

/* Unverified input carries no reasoning the model may read. */
static void cs_drop_reasoning(chatseal_conv *conv)
{
    for (size_t i = 0; i < conv->n; i++)
        if (conv->msgs[i].rsn != CS_RSN_NONE)
            conv->msgs[i].rsn = CS_RSN_DROP;
}

/* Step 1: no token. */
static chatseal_error cs_verify_fresh(chatseal_conv *conv,
                                      const chatseal_options *opt,
                                      chatseal_report *r)
{
    const char *fresh = opt ? opt->fresh_roles : NULL;
    if (!fresh)
        return cs_report_set(r, CHATSEAL_E_MISSING_SIGNATURE, -1);
    cs_drop_reasoning(conv);
    for (size_t i = 0; i < conv->n; i++)
        if (!cs_role_in_list(fresh, conv->roles.p + conv->msgs[i].role_off,
                             conv->msgs[i].role_len))
            return cs_report_set(r, CHATSEAL_E_MISSING_SIGNATURE, (long)i);
    return cs_report_set(r, CHATSEAL_OK, -1);
}

/*
 * The verification of FORMAT.md §5.  On success, and when `keep` is not
 * NULL, the decoded token and its key are handed to the caller (who clears
 * the token): chatseal_extend signs next, and reuses what was just verified.
 */
chatseal_error cs_verify_chain(const chatseal_keyring *ring,
                               chatseal_conv *conv, const char *token,
                               const char *typ, const chatseal_options *opt,
                               chatseal_report *r, cs_token *keep,
                               const cs_key **keep_key)
{
    if (r)
        cs_report_reset(r);
    chatseal_options o; /* the caller's, at this library's size */
    if (!conv || cs_options_read(opt, &o))
        return cs_report_set(r, CHATSEAL_E_INVALID_ARGUMENT, -1);
    opt = &o;
    if (!token || !*token)
        return cs_verify_fresh(conv, opt, r);
    if (!ring)
        return cs_report_set(r, CHATSEAL_E_NO_KEY, -1);
    cs_token t;
    chatseal_error e = cs_token_decode(token, &t);
    if (e)
        return cs_report_set(r, e, -1);
    cs_report_token(r, &t);
    const cs_key *key = NULL;
    cs_mac mac = {0};
    e = cs_token_admit(ring, &t, typ, opt, &key, &mac, r);
    if (e)
        goto done;
    size_t n = (size_t)t.n;
    const char *cid, *prn, *pur;
    uint8_t s[CHATSEAL_DIGESTBYTES], tag[CHATSEAL_TAGBYTES_MAX];
    int ok = 0;
    if ((e = cs_binding_inputs(opt, &cid, &prn, &pur)))
        goto done;
    if (conv->n >= n) {
        if ((e = cs_conv_chain_v(conv, n, t.v, s)) ||
            (e = cs_tag(&mac, typ, t.header, t.header_len, cid, prn, s,
                        sizeof s, tag)))
            goto done;
        /* payload_len == mac.taglen: cs_token_admit checked it */
        ok = CRYPTO_memcmp(tag, t.payload, mac.taglen) == 0;
    }
    if (!ok) {
        e = cs_diagnose(&t, conv, &mac, r);
        goto done;
    }
    if (r)
        r->chain_valid = 1;
    if ((e = cs_check_tail(conv, n, opt, r)) ||
        (e = cs_verify_reasoning(conv, n, &t, &mac)))
        goto done;
    e = cs_report_set(r, cs_token_times(&t, opt), -1);
    if (e == CHATSEAL_OK && keep) {
        *keep = t; /* moved: nothing left to clear here */
        *keep_key = key;
        memset(&t, 0, sizeof t);
    }
done:
    cs_mac_end(&mac);
    cs_token_clear(&t);
    if (r && r->code != e)
        cs_report_set(r, e, -1);
    return e;
}

chatseal_error chatseal_verify(const chatseal_keyring *ring,
                               chatseal_conv *conv, const char *token,
                               const chatseal_options *opt,
                               chatseal_report *report)
{
    return cs_verify_chain(ring, conv, token, CS_TYP_CONV, opt, report, NULL,
                           NULL);
}

chatseal_error chatseal_message_verify(const chatseal_keyring *ring,
                                       const char *msg_json, size_t len,
                                       const char *token,
                                       const chatseal_options *opt,
                                       chatseal_report *report)
{
    if (report)
        cs_report_reset(report);
    if (!msg_json && len)
        return cs_report_set(report, CHATSEAL_E_INVALID_ARGUMENT, -1);
    chatseal_conv *conv = NULL;
    chatseal_error e = cs_conv_single(msg_json ? msg_json : "", len, &conv);
    if (e)
        return cs_report_set(report, e, -1);
    /* one message, exactly: no fresh or tail policy applies */
    chatseal_options o;
    if (cs_options_read(opt, &o)) {
        chatseal_conv_free(conv);
        return cs_report_set(report, CHATSEAL_E_INVALID_ARGUMENT, -1);
    }
    o.tail_roles = NULL;
    o.fresh_roles = NULL;
    e = cs_verify_chain(ring, conv, token, CS_TYP_MSG, &o, report, NULL, NULL);
    chatseal_conv_free(conv);
    return e;
}
