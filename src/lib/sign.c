/*
 * sign.c -- the MACs of FORMAT.md §4 and everything that issues a token for a
 * list of messages: chatseal_sign, chatseal_extend, chatseal_message_sign.
 *
 * Every MAC input is a sequence of frame()s (a 4-byte length, then the bytes)
 * that starts with a label naming its purpose ("chatseal/v1/conv",
 * ".../bind", ".../loc"), so no two MACs made with one key can ever be
 * confused and no field can bleed into its neighbour.  The tag covers the
 * exact header bytes, so version, key id, count, times, purpose and the
 * binding check are all inside it; cid and prn are covered too, but never
 * transmitted.
 *
 * The shared verification steps used by every token type (admission: type,
 * key, purpose, binding; and the clock) live here as well, next to the code
 * that produces what they check.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

#define CS_LABEL "chatseal/v1/"

chatseal_error cs_binding_inputs(const chatseal_options *opt, const char **cid,
                                 const char **prn, const char **pur)
{
    *cid = opt && opt->conversation_id ? opt->conversation_id : "";
    *prn = opt && opt->principal ? opt->principal : "";
    *pur = opt && opt->purpose && *opt->purpose ? opt->purpose : NULL;
    if (strnlen(*cid, CHATSEAL_BINDING_MAX + 1) > CHATSEAL_BINDING_MAX ||
        strnlen(*prn, CHATSEAL_BINDING_MAX + 1) > CHATSEAL_BINDING_MAX ||
        (*pur &&
         strnlen(*pur, CHATSEAL_BINDING_MAX + 1) > CHATSEAL_BINDING_MAX))
        return CHATSEAL_E_INVALID_ARGUMENT;
    return CHATSEAL_OK;
}

chatseal_error cs_binding_check(cs_mac *m, const char *cid, const char *prn,
                                uint8_t out[CHATSEAL_BINDBYTES])
{
    static const char label[] = CS_LABEL "bind";
    uint8_t full[CHATSEAL_TAGBYTES_MAX];
    chatseal_error e = cs_mac_init(m);
    if (!e)
        e = cs_mac_frame(m, label, sizeof label - 1);
    if (!e)
        e = cs_mac_frame(m, cid, strlen(cid));
    if (!e)
        e = cs_mac_frame(m, prn, strlen(prn));
    if (!e)
        e = cs_mac_final(m, full);
    memcpy(out, full, CHATSEAL_BINDBYTES);
    return e;
}

chatseal_error cs_locator(cs_mac *m, const uint8_t digest[32],
                          uint8_t out[CHATSEAL_LOCATORBYTES])
{
    static const char label[] = CS_LABEL "loc";
    uint8_t full[CHATSEAL_TAGBYTES_MAX];
    chatseal_error e = cs_mac_init(m);
    if (!e)
        e = cs_mac_frame(m, label, sizeof label - 1);
    if (!e)
        e = cs_mac_frame(m, digest, CHATSEAL_DIGESTBYTES);
    if (!e)
        e = cs_mac_final(m, full);
    memcpy(out, full, CHATSEAL_LOCATORBYTES);
    return e;
}

chatseal_error cs_rsn_tag(cs_mac *m, const uint8_t d[32], const char *rsn,
                          size_t len, uint8_t out[CS_RSN_TAGBYTES])
{
    static const char label[] = "chatseal/v2/rsn";
    uint8_t full[CHATSEAL_TAGBYTES_MAX];
    chatseal_error e = cs_mac_init(m);
    if (!e)
        e = cs_mac_frame(m, label, sizeof label - 1);
    if (!e)
        e = cs_mac_frame(m, d, CHATSEAL_DIGESTBYTES);
    if (!e)
        e = cs_mac_frame(m, rsn, len);
    if (!e)
        e = cs_mac_final(m, full);
    memcpy(out, full, CS_RSN_TAGBYTES);
    return e;
}

chatseal_error cs_tag(cs_mac *m, const char *typ, const uint8_t *header,
                      size_t header_len, const char *cid, const char *prn,
                      const uint8_t *x, size_t xlen,
                      uint8_t out[CHATSEAL_TAGBYTES_MAX])
{
    char label[32];
    size_t ll = strlen(CS_LABEL);
    memcpy(label, CS_LABEL, ll);
    memcpy(label + ll, typ, strlen(typ));
    ll += strlen(typ);
    chatseal_error e = cs_mac_init(m);
    if (!e)
        e = cs_mac_frame(m, label, ll);
    if (!e)
        e = cs_mac_frame(m, header, header_len);
    if (!e)
        e = cs_mac_frame(m, cid, strlen(cid));
    if (!e)
        e = cs_mac_frame(m, prn, strlen(prn));
    if (!e)
        e = cs_mac_frame(m, x, xlen);
    if (!e)
        e = cs_mac_final(m, out);
    return e;
}

chatseal_error cs_token_admit(const chatseal_keyring *ring, const cs_token *t,
                              const char *typ, const chatseal_options *opt,
                              const cs_key **key, cs_mac *m, chatseal_report *r)
{
    const char *cid, *prn, *pur;
    chatseal_error e = cs_binding_inputs(opt, &cid, &prn, &pur);
    if (e)
        return e;
    if (strcmp(t->typ, typ) != 0)
        return cs_report_set(r, CHATSEAL_E_WRONG_TOKEN_TYPE, -1);
    if (!(*key = cs_keyring_find(ring, t->kid)))
        return cs_report_set(r, CHATSEAL_E_UNKNOWN_KEY, -1);
    /* The tag length is the named key's, never the token's choice: a tag of
     * another algorithm's length (an hs256 token whose kid now names an
     * hs512 key, a truncated hs512 tag) is malformed, not a weaker MAC. */
    if (strcmp(t->typ, CS_TYP_SEALED) != 0 && t->payload_len != (*key)->taglen)
        return cs_report_set(r, CHATSEAL_E_MALFORMED_TOKEN, -1);
    if (!pur != !t->pur || (pur && strcmp(pur, t->pur) != 0))
        return cs_report_set(r, CHATSEAL_E_BINDING_MISMATCH, -1);
    if ((e = cs_mac_begin(m, *key)))
        return e;
    int want = *cid || *prn;
    if (want != t->has_bnd)
        return cs_report_set(r, CHATSEAL_E_BINDING_MISMATCH, -1);
    if (want) {
        uint8_t bnd[CHATSEAL_BINDBYTES];
        if ((e = cs_binding_check(m, cid, prn, bnd)))
            return e;
        if (CRYPTO_memcmp(bnd, t->bnd, CHATSEAL_BINDBYTES) != 0)
            return cs_report_set(r, CHATSEAL_E_BINDING_MISMATCH, -1);
    }
    return CHATSEAL_OK;
}

chatseal_error cs_token_times(const cs_token *t, const chatseal_options *opt)
{
    int64_t now = cs_now(opt);
    int64_t leeway = opt && opt->leeway > 0 ? opt->leeway : 0;
    if (t->iat > now + leeway)
        return CHATSEAL_E_NOT_YET_VALID;
    if (t->exp && now >= t->exp + leeway)
        return CHATSEAL_E_EXPIRED;
    return CHATSEAL_OK;
}

/* Issue time and expiry for a new token. */
static chatseal_error cs_sign_times(const chatseal_options *opt, int64_t *iat,
                                    int64_t *exp)
{
    *iat = cs_now(opt);
    int64_t ttl = opt ? opt->ttl : 0;
    if (ttl < 0 || *iat < 0 || *iat >= ((int64_t)1 << 53) ||
        ttl >= ((int64_t)1 << 53) - *iat)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *exp = ttl ? *iat + ttl : 0;
    return CHATSEAL_OK;
}

/*
 * How many leading messages of the new token may take their locators from
 * `prior`, a token just verified over those very messages with `prior_key`.
 * Its tag covers its header, so its locators are the ones its signer
 * computed over the digests the verification matched; when that signer's
 * key is the key signing now, and the same messages are located (the same
 * assistant-only choice), they are exactly what cs_locator would compute
 * again.  Anything else: none.  (chatseal_extend; saves one HMAC per message
 * of the history, most of the cost of signing a long one.)
 */
static size_t cs_reusable_locators(const cs_token *prior,
                                   const cs_key *prior_key, const cs_key *key,
                                   int ao, size_t count)
{
    if (!prior || !prior_key || prior_key != key || !prior->roles ||
        prior->v != CHATSEAL_FORMAT_VERSION || !prior->ao != !ao ||
        prior->n < 0 || (size_t)prior->n > count)
        return 0;
    return (size_t)prior->n;
}

/* The reasoning entries (§2.2) of the first count messages: one for each
 * message whose reasoning is kept.  *out is NULL when there is none. */
static chatseal_error cs_sign_rsn(cs_mac *m, const chatseal_conv *conv,
                                  size_t count, uint8_t **out, size_t *nout)
{
    size_t k = 0;
    *out = NULL;
    *nout = 0;
    for (size_t i = 0; i < count; i++)
        k += conv->msgs[i].rsn == CS_RSN_KEEP;
    if (!k)
        return CHATSEAL_OK;
    if (count > UINT32_MAX)
        return CHATSEAL_E_TOO_MANY_MESSAGES;
    uint8_t *v = malloc(k * CS_RSN_ENTRY);
    if (!v)
        return CHATSEAL_E_NO_MEMORY;
    chatseal_error e = CHATSEAL_OK;
    for (size_t i = 0, j = 0; !e && i < count; i++) {
        const cs_msg *msg = &conv->msgs[i];
        if (msg->rsn != CS_RSN_KEEP)
            continue;
        uint8_t *ent = v + j++ * CS_RSN_ENTRY;
        ent[0] = (uint8_t)(i >> 24);
        ent[1] = (uint8_t)(i >> 16);
        ent[2] = (uint8_t)(i >> 8);
        ent[3] = (uint8_t)i;
        e = cs_rsn_tag(m, msg->digest, conv->texts.p + msg->rsn_off,
                       msg->rsn_len, ent + 4);
    }
    if (e) {
        free(v);
        return e;
    }
    *out = v;
    *nout = k;
    return CHATSEAL_OK;
}

/* The conv/msg token over the first count messages of conv; `prior` (may
 * be NULL) is a verified token over a prefix of them (see above). */
static chatseal_error cs_sign_chain(const chatseal_keyring *ring,
                                    const chatseal_conv *conv, size_t count,
                                    const chatseal_options *opt,
                                    const char *typ, const cs_token *prior,
                                    const cs_key *prior_key, char **token)
{
    chatseal_options o; /* the caller's, at this library's size */
    if (cs_options_read(opt, &o))
        return CHATSEAL_E_INVALID_ARGUMENT;
    opt = &o;
    const cs_key *key = cs_keyring_signer(ring);
    if (!key)
        return CHATSEAL_E_NO_KEY;
    const char *cid, *prn, *pur;
    cs_header_in h = {.v = CHATSEAL_FORMAT_VERSION,
                      .typ = typ,
                      .kid = key->kid,
                      .n = (int64_t)count};
    chatseal_error e = cs_binding_inputs(opt, &cid, &prn, &pur);
    if (!e)
        e = cs_sign_times(opt, &h.iat, &h.exp);
    if (e)
        return e;
    h.pur = pur;
    unsigned flags = opt ? opt->flags : 0;
    int compact = (flags & CHATSEAL_COMPACT) != 0;
    h.ao = !compact && (flags & CHATSEAL_ASSISTANT_ONLY);

    cs_mac m = {0};
    uint8_t bnd[CHATSEAL_BINDBYTES], s[CHATSEAL_DIGESTBYTES],
        tag[CHATSEAL_TAGBYTES_MAX];
    char *roles = NULL;
    uint8_t *loc = NULL, *rsn = NULL;
    cs_buf header = {0};
    if ((e = cs_mac_begin(&m, key)))
        goto done;
    if (*cid || *prn) {
        if ((e = cs_binding_check(&m, cid, prn, bnd)))
            goto done;
        h.bnd = bnd;
    }
    if (!compact) {
        roles = malloc(count + 1);
        loc = malloc(count * CHATSEAL_LOCATORBYTES + 1);
        if (!roles || !loc) {
            e = CHATSEAL_E_NO_MEMORY;
            goto done;
        }
        size_t reuse = cs_reusable_locators(prior, prior_key, key, h.ao, count);
        for (size_t i = 0; i < count; i++) {
            roles[i] = conv->msgs[i].code;
            if (h.ao && roles[i] != 'a')
                continue;
            uint8_t *out = loc + h.nloc * CHATSEAL_LOCATORBYTES;
            if (i < reuse && h.nloc < prior->nloc) /* same filter, same roles */
                memcpy(out, prior->loc + h.nloc * CHATSEAL_LOCATORBYTES,
                       CHATSEAL_LOCATORBYTES);
            else if ((e = cs_locator(&m, conv->msgs[i].digest, out)))
                goto done;
            h.nloc++;
        }
        roles[count] = '\0';
        h.roles = roles;
        h.loc = loc;
    }
    if ((e = cs_sign_rsn(&m, conv, count, &rsn, &h.nrsn)))
        goto done;
    h.rsn = rsn;
    if ((e = cs_header_build(&h, &header)) ||
        (e = cs_conv_chain(conv, count, s)) ||
        (e = cs_tag(&m, typ, (const uint8_t *)header.p, header.n, cid, prn, s,
                    sizeof s, tag)))
        goto done;
    e = cs_token_assemble(&header, tag, m.taglen, token);
done:
    cs_mac_end(&m);
    cs_buf_free(&header);
    free(roles);
    free(loc);
    free(rsn);
    return e;
}

chatseal_error chatseal_sign(const chatseal_keyring *ring,
                             const chatseal_conv *conv, size_t count,
                             const chatseal_options *opt, char **token)
{
    if (!token)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *token = NULL;
    if (!conv || count > conv->n)
        return CHATSEAL_E_INVALID_ARGUMENT;
    if (!ring)
        return CHATSEAL_E_NO_KEY;
    return cs_sign_chain(ring, conv, count, opt, CS_TYP_CONV, NULL, NULL,
                         token);
}

chatseal_error chatseal_extend(const chatseal_keyring *ring,
                               chatseal_conv *conv, const char *h0,
                               const char *new_json, size_t new_len,
                               const chatseal_options *opt, char **h1,
                               chatseal_report *report)
{
    if (!h1)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *h1 = NULL;
    if (!conv || (!new_json && new_len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    cs_token t0 = {0};
    const cs_key *k0 = NULL;
    chatseal_error e =
        cs_verify_chain(ring, conv, h0, CS_TYP_CONV, opt, report, &t0, &k0);
    if (e != CHATSEAL_OK)
        return e;
    /* never sign what was not verified: only the reply is added here */
    if (new_json && new_len &&
        (e = cs_conv_append_any(conv, new_json, new_len))) {
        cs_token_clear(&t0);
        return cs_report_set(report, e, -1);
    }
    e = cs_sign_chain(ring, conv, conv->n, opt, CS_TYP_CONV, &t0, k0, h1);
    cs_token_clear(&t0);
    return e ? cs_report_set(report, e, -1) : CHATSEAL_OK;
}

chatseal_error chatseal_message_sign(const chatseal_keyring *ring,
                                     const char *msg_json, size_t len,
                                     const chatseal_options *opt, char **token)
{
    if (!token)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *token = NULL;
    if (!msg_json && len)
        return CHATSEAL_E_INVALID_ARGUMENT;
    if (!ring)
        return CHATSEAL_E_NO_KEY;
    chatseal_conv *conv = NULL;
    chatseal_error e = cs_conv_single(msg_json ? msg_json : "", len, &conv);
    if (!e)
        e = cs_sign_chain(ring, conv, 1, opt, CS_TYP_MSG, NULL, NULL, token);
    chatseal_conv_free(conv);
    return e;
}
