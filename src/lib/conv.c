/*
 * conv.c -- a parsed conversation: one digest and one role per message.
 *
 * Parsing is the only expensive step of verification, so it happens once:
 * fastcanon.c scans the input in a single pass and hands over each message's
 * canonical bytes the moment the message closes; they are hashed right away
 * (FORMAT.md §2, d_i = SHA256(canon(m_i))) and only the digest, the role code
 * and the role text are kept.  Signing, verifying and extending then work on
 * 32-byte digests alone, so extending a verified history costs the hashing of
 * the new messages only.
 *
 * The canonical text of the whole input is kept too: the gateway forwards
 * exactly that (chatseal_conv_canonical), so the model reads the values that
 * were verified and no second parser ever interprets the client's bytes.
 * Version 2 signs each message's signed form (form.c): conv keeps every
 * message's forms in `texts`, and the messages array is forwarded from
 * there, so the upstream reads the verified projection, never the client's
 * own spelling.  Messages appended later (the model's reply) join `texts`.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fastcanon.h"
#include "internal.h"

struct cs_scan {
    chatseal_conv *conv;
    cs_fc *fc; /* the scan's parser: each message's members (spans) */
    EVP_MD_CTX *md;
    chatseal_error err;
    int in_canon; /* the parse of the input: its text stays in conv->canon */
    cs_buf full, rsn; /* scratch for cs_form_message, reused per message */
};

static chatseal_error cs_conv_grow(chatseal_conv *conv)
{
    if (conv->n < conv->cap)
        return CHATSEAL_OK;
    size_t cap = conv->cap ? conv->cap * 2 : 16;
    cs_msg *m = realloc(conv->msgs, cap * sizeof *m);
    if (!m)
        return CHATSEAL_E_NO_MEMORY;
    conv->msgs = m;
    conv->cap = cap;
    return CHATSEAL_OK;
}

/*
 * Room for every message a body of len bytes can hold, allocated once: the
 * array would otherwise grow by doubling, and 10000 tiny messages (1.5 MB of
 * records) cost each step's copy and fresh pages.  A message takes at least
 * 12 bytes of text (`{"role":""},`), so len / 12 + 1 records are enough;
 * pages never written cost nothing.  Beyond CS_MSGS_RESERVE records (only
 * with a raised message limit) it grows as before.
 */
#define CS_MSGS_RESERVE 65536

static chatseal_error cs_conv_reserve(chatseal_conv *conv, size_t len)
{
    size_t cap = len / 12 + 1;
    if (cap > conv->max_messages)
        cap = conv->max_messages;
    if (cap > CS_MSGS_RESERVE)
        cap = CS_MSGS_RESERVE;
    if (cap <= conv->cap)
        return CHATSEAL_OK;
    cs_msg *m = realloc(conv->msgs, cap * sizeof *m);
    if (!m)
        return CHATSEAL_E_NO_MEMORY;
    conv->msgs = m;
    conv->cap = cap;
    return CHATSEAL_OK;
}

static int cs_digest(EVP_MD_CTX *md, const void *p, size_t n,
                     uint8_t out[CHATSEAL_DIGESTBYTES])
{
    unsigned int dl = 0;
    return EVP_DigestInit_ex2(md, NULL, NULL) && EVP_DigestUpdate(md, p, n) &&
           EVP_DigestFinal_ex(md, out, &dl) && dl == CHATSEAL_DIGESTBYTES;
}

/*
 * Keeps one message: its forms in conv->texts (FORMAT.md §2.1) and the
 * digests of both versions.  The common message is its own signed form, so
 * it is copied once and hashed once.  A message with reasoning starts as
 * CS_RSN_KEEP: whoever parses or appends it is the signer; verification
 * then decides for the messages it was given (verify.c).
 */
static chatseal_error cs_conv_keep(struct cs_scan *s, const char *canon,
                                   size_t len, const char *role,
                                   size_t role_len)
{
    chatseal_conv *conv = s->conv;
    cs_buf *t = &conv->texts;
    chatseal_error e = cs_conv_grow(conv);
    if (e)
        return e;
    cs_msg *m = &conv->msgs[conv->n];
    memset(m, 0, sizeof *m);
    int assistant = role_len == 9 && !memcmp(role, "assistant", 9);
    cs_form_members mb = {NULL, 0};
    mb.nsp = cs_fc_message_members(s->fc, &mb.sp);
    if (!mb.nsp)
        mb.sp = NULL; /* {} or no spans: walk the text */
    m->core_off = t->n;
    m->canon_len = len;
    if (!cs_form_needed(canon, len, assistant, mb)) {
        /* its own form: the input's text is kept anyway (conv->canon), so
         * it is not copied; cs_conv_place sets its offset there */
        m->in_canon = s->in_canon;
        if (!m->in_canon)
            cs_buf_put(t, canon, len);
        m->core_len = m->full_len = len;
        m->full_off = m->core_off;
    } else {
        cs_buf *full = &s->full, *rsn = &s->rsn;
        full->n = rsn->n = 0;
        e = cs_form_message(canon, len, assistant, mb, conv->max_depth, t, full,
                            rsn);
        m->core_len = t->n - m->core_off;
        if (!e && rsn->n) {
            m->full_off = t->n;
            m->full_len = full->n;
            cs_buf_put(t, full->p, full->n);
            m->rsn_off = t->n;
            m->rsn_len = rsn->n;
            cs_buf_put(t, rsn->p, rsn->n);
            m->rsn = CS_RSN_KEEP;
        } else {
            m->full_off = m->core_off;
            m->full_len = m->core_len;
        }
        if (e)
            return e;
    }
    if (t->oom)
        return CHATSEAL_E_NO_MEMORY;
    const char *core = m->in_canon ? canon : t->p + m->core_off;
    if (!cs_digest(s->md, core, m->core_len, m->digest))
        return CHATSEAL_E_CRYPTO;
    /* core is canon itself for a message that is its own form: no need to
     * compare a message with itself */
    if (core == canon || (m->core_len == len && !memcmp(core, canon, len)))
        memcpy(m->digest1, m->digest, CHATSEAL_DIGESTBYTES);
    else if (!cs_digest(s->md, canon, len, m->digest1))
        return CHATSEAL_E_CRYPTO;
    m->code = cs_role_code(role, role_len);
    m->role_off = conv->roles.n;
    m->role_len = role_len;
    cs_buf_put(&conv->roles, role, role_len);
    cs_buf_putc(&conv->roles, '\0');
    if (conv->roles.oom)
        return CHATSEAL_E_NO_MEMORY;
    conv->n++;
    return CHATSEAL_OK;
}

static int cs_on_message(void *ctx, size_t index, const char *canon,
                         size_t canon_len, const char *role, size_t role_len)
{
    struct cs_scan *s = ctx;
    (void)index;
    if (s->conv->n >= s->conv->max_messages) {
        s->err = CHATSEAL_E_TOO_MANY_MESSAGES;
        return 1;
    }
    s->err = cs_conv_keep(s, canon, canon_len, role, role_len);
    return s->err != CHATSEAL_OK;
}

/* Runs the conversation scan over json; the messages go into conv. */
static chatseal_error cs_conv_scan(chatseal_conv *conv, cs_fc *fc,
                                   const char *json, size_t len, int in_canon)
{
    struct cs_scan s = {conv, fc, EVP_MD_CTX_new(), CHATSEAL_OK, in_canon,
                        {0},  {0}};
    EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
    chatseal_error e = CHATSEAL_E_CRYPTO;
    if (s.md && sha && EVP_DigestInit_ex2(s.md, sha, NULL)) {
        size_t nmsg = 0;
        e = cs_fc_conv_scan(fc, json, len, conv->max_depth, conv->max_messages,
                            cs_on_message, &s, &nmsg);
        if (e == CHATSEAL_E_IO && s.err != CHATSEAL_OK)
            e = s.err; /* our callback stopped the scan */
    }
    if (!conv->sha)
        conv->sha = sha; /* kept for cs_conv_chain: see there */
    else
        EVP_MD_free(sha);
    EVP_MD_CTX_free(s.md);
    cs_buf_free(&s.full);
    cs_buf_free(&s.rsn);
    return e;
}

static void cs_conv_clear_members(chatseal_conv *conv)
{
    for (size_t i = 0; i < conv->nmembers; i++) {
        free(conv->members[i].name);
    }
    free(conv->members);
    conv->members = NULL;
    conv->nmembers = 0;
}

void chatseal_conv_free(chatseal_conv *conv)
{
    if (!conv)
        return;
    free(conv->msgs);
    cs_buf_free(&conv->roles);
    cs_buf_free(&conv->texts);
    free(conv->canon);
    cs_conv_clear_members(conv);
    EVP_MD_free(conv->sha);
    free(conv);
}

static chatseal_conv *cs_conv_new(const chatseal_limits *limits)
{
    chatseal_conv *conv = calloc(1, sizeof *conv);
    if (!conv)
        return NULL;
    conv->max_messages = limits && limits->max_messages
                             ? limits->max_messages
                             : CHATSEAL_MAX_MESSAGES_DEFAULT;
    conv->max_depth = limits && limits->max_depth ? limits->max_depth
                                                  : CHATSEAL_MAX_DEPTH_DEFAULT;
    return conv;
}

/* Keeps the top-level members of an object input (names unescaped). */
static chatseal_error cs_conv_keep_members(chatseal_conv *conv, cs_fc *fc)
{
    const cs_fc_member *m = NULL;
    size_t n = cs_fc_root_members(fc, &m);
    conv->is_object = n > 0 || conv->canon[0] == '{';
    if (!n)
        return CHATSEAL_OK;
    conv->members = calloc(n, sizeof *conv->members);
    if (!conv->members)
        return CHATSEAL_E_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        struct cs_member *c = &conv->members[i];
        c->name = malloc(m[i].name_len + 1);
        if (!c->name)
            return CHATSEAL_E_NO_MEMORY;
        memcpy(c->name, m[i].name, m[i].name_len);
        c->name[m[i].name_len] = '\0';
        c->name_len = m[i].name_len;
        c->off = m[i].value_off;
        c->len = m[i].value_len;
        conv->nmembers++;
        if (m[i].name_len == 8 && memcmp(m[i].name, "messages", 8) == 0) {
            conv->msgs_off = c->off;
            conv->msgs_len = c->len;
        }
    }
    return CHATSEAL_OK;
}

/* The offsets in conv->canon of the messages kept there: the messages
 * array is '[' m_0 ',' m_1 ... ']' with each m_i its canonical text. */
static void cs_conv_place(chatseal_conv *conv)
{
    size_t pos = conv->msgs_off + 1;
    for (size_t i = 0; i < conv->n_parsed; i++) {
        cs_msg *m = &conv->msgs[i];
        if (m->in_canon)
            m->core_off = m->full_off = pos;
        pos += m->canon_len + 1;
    }
}

const char *cs_conv_msg_text(const chatseal_conv *conv, const cs_msg *m,
                             int full, size_t *len)
{
    const char *base = m->in_canon ? conv->canon : conv->texts.p;
    if (len)
        *len = full ? m->full_len : m->core_len;
    return base + (full ? m->full_off : m->core_off);
}

chatseal_error chatseal_conv_parse(const char *json, size_t len,
                                   const chatseal_limits *limits,
                                   chatseal_conv **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    chatseal_limits lim; /* the caller's, at this library's size */
    if ((!json && len) || cs_limits_read(limits, &lim))
        return CHATSEAL_E_INVALID_ARGUMENT;
    chatseal_conv *conv = cs_conv_new(&lim);
    cs_fc *fc = cs_fc_acquire();
    chatseal_error e = CHATSEAL_E_NO_MEMORY;
    if (conv && fc && cs_conv_reserve(conv, len) == CHATSEAL_OK) {
        e = cs_conv_scan(conv, fc, json ? json : "", len, 1);
        if (e == CHATSEAL_OK) {
            conv->canon = cs_fc_take_output(fc, &conv->canon_len);
            conv->msgs_off = 0;
            conv->msgs_len = conv->canon_len;
            e = conv->canon ? cs_conv_keep_members(conv, fc)
                            : CHATSEAL_E_NO_MEMORY;
            conv->n_parsed = conv->n;
            if (e == CHATSEAL_OK)
                cs_conv_place(conv);
        }
    }
    cs_fc_release(fc);
    if (e != CHATSEAL_OK) {
        chatseal_conv_free(conv);
        return e;
    }
    *out = conv;
    return CHATSEAL_OK;
}

/*
 * Appends messages given as text: an array of message objects, or (wrap)
 * one message object.  A single object is first canonicalized on its own, so
 * that its JSON errors are the ones any JSON text gets (trailing_data, not a
 * syntax error of some wrapper), and then its canonical form -- exactly one
 * value -- is scanned as "[" canon "]": text like `{..},{..}` can never
 * smuggle in two messages.  Nothing changes in conv unless all is good.
 */
static chatseal_error cs_conv_add(chatseal_conv *conv, const char *json,
                                  size_t len, int wrap)
{
    size_t n0 = conv->n, r0 = conv->roles.n, a0 = conv->texts.n;
    cs_buf wrapped = {0};
    cs_fc *fc = cs_fc_acquire();
    chatseal_error e = fc ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
    if (!e && wrap) {
        e = cs_fc_canonicalize(fc, json, len, conv->max_depth, NULL, NULL);
        size_t cl = 0;
        const char *canon = e ? NULL : cs_fc_output(fc, &cl);
        if (!e && (!cl || canon[0] != '{'))
            e = CHATSEAL_E_INVALID_MESSAGE;
        if (!e) {
            cs_buf_putc(&wrapped, '[');
            cs_buf_put(&wrapped, canon, cl);
            cs_buf_putc(&wrapped, ']');
            e = wrapped.oom ? CHATSEAL_E_NO_MEMORY : CHATSEAL_OK;
            json = wrapped.p;
            len = wrapped.n;
        }
    }
    if (!e) {
        size_t depth = conv->max_depth;
        conv->max_depth = depth + (size_t)wrap;
        e = cs_conv_scan(conv, fc, json, len, 0);
        conv->max_depth = depth;
        if (e == CHATSEAL_OK && wrap && conv->n != n0 + 1)
            e = CHATSEAL_E_INVALID_MESSAGE;
    }
    cs_fc_release(fc);
    cs_buf_free(&wrapped);
    if (e != CHATSEAL_OK) {
        conv->n = n0;
        conv->roles.n = r0;
        conv->texts.n = a0;
        conv->roles.oom = conv->texts.oom = 0;
        if (conv->texts.p)
            conv->texts.p[a0] = '\0';
    }
    return e;
}

chatseal_error chatseal_conv_append(chatseal_conv *conv, const char *msg_json,
                                    size_t len)
{
    if (!conv || (!msg_json && len))
        return CHATSEAL_E_INVALID_ARGUMENT;
    return cs_conv_add(conv, msg_json ? msg_json : "", len, 1);
}

/* Appends an array of messages or one message (extend's new_json). */
chatseal_error cs_conv_append_any(chatseal_conv *conv, const char *json,
                                  size_t len)
{
    size_t i = 0;
    while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' ||
                       json[i] == '\r'))
        i++;
    return cs_conv_add(conv, json, len, !(i < len && json[i] == '['));
}

chatseal_error cs_conv_single(const char *msg_json, size_t len,
                              chatseal_conv **out)
{
    *out = NULL;
    chatseal_conv *conv = cs_conv_new(NULL);
    if (!conv)
        return CHATSEAL_E_NO_MEMORY;
    chatseal_error e = cs_conv_add(conv, msg_json, len, 1);
    if (e != CHATSEAL_OK) {
        chatseal_conv_free(conv);
        return e;
    }
    *out = conv;
    return CHATSEAL_OK;
}

size_t chatseal_conv_count(const chatseal_conv *conv)
{
    return conv ? conv->n : 0;
}

const char *chatseal_conv_role(const chatseal_conv *conv, size_t i)
{
    if (!conv || i >= conv->n)
        return NULL;
    return conv->roles.p + conv->msgs[i].role_off;
}

const char *chatseal_conv_message(const chatseal_conv *conv, size_t i,
                                  size_t *len)
{
    if (!conv || i >= conv->n)
        return NULL;
    const cs_msg *m = &conv->msgs[i];
    return cs_conv_msg_text(conv, m, m->rsn == CS_RSN_KEEP, len);
}

chatseal_error chatseal_conv_digest(const chatseal_conv *conv, size_t i,
                                    uint8_t digest[CHATSEAL_DIGESTBYTES])
{
    if (!conv || !digest || i >= conv->n)
        return CHATSEAL_E_INVALID_ARGUMENT;
    memcpy(digest, conv->msgs[i].digest, CHATSEAL_DIGESTBYTES);
    return CHATSEAL_OK;
}

const uint8_t *cs_conv_msg_digest(const chatseal_conv *conv, size_t i, int v)
{
    return v == 1 ? conv->msgs[i].digest1 : conv->msgs[i].digest;
}

chatseal_error cs_conv_chain_v(const chatseal_conv *conv, size_t n, int v,
                               uint8_t out[CHATSEAL_DIGESTBYTES])
{
    /* the SHA-256 fetched by the parse, when there was one: EVP_sha256()
     * makes OpenSSL 3 fetch the implementation again on every init (about
     * 4% of a small gateway request, three chains per turn).  A fetched
     * EVP_MD is immutable, so a const conv may share it between threads. */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int dl = 0;
    int ok = md &&
             EVP_DigestInit_ex2(md, conv->sha ? conv->sha : EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(md, cs_conv_msg_digest(conv, i, v),
                              CHATSEAL_DIGESTBYTES);
    ok = ok && EVP_DigestFinal_ex(md, out, &dl) && dl == CHATSEAL_DIGESTBYTES;
    EVP_MD_CTX_free(md);
    return ok ? CHATSEAL_OK : CHATSEAL_E_CRYPTO;
}

chatseal_error cs_conv_chain(const chatseal_conv *conv, size_t n,
                             uint8_t out[CHATSEAL_DIGESTBYTES])
{
    return cs_conv_chain_v(conv, n, 2, out);
}

static const struct cs_member *cs_conv_member(const chatseal_conv *conv,
                                              const char *key)
{
    for (size_t i = 0; conv && key && i < conv->nmembers; i++)
        if (strcmp(conv->members[i].name, key) == 0 &&
            strlen(key) == conv->members[i].name_len)
            return &conv->members[i];
    return NULL;
}

/* Decodes a string in RFC 8785 form.  *res stays NULL when it holds U+0000
 * (a C string cannot carry it). */
static chatseal_error cs_canon_string(const char *s, size_t n, char **res)
{
    char *out = NULL;
    size_t len = 0;
    if (cs_canon_string_decode(s, n, &out, &len) != 0) {
        chatseal_error e =
            out ? CHATSEAL_E_INVALID_ARGUMENT : CHATSEAL_E_NO_MEMORY;
        free(out);
        return e;
    }
    if (strlen(out) != len) {
        free(out);
        return CHATSEAL_OK;
    }
    *res = out;
    return CHATSEAL_OK;
}

chatseal_error chatseal_conv_get_string(const chatseal_conv *conv,
                                        const char *key, char **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    const struct cs_member *m = cs_conv_member(conv, key);
    if (!m || m->len < 2 || conv->canon[m->off] != '"')
        return CHATSEAL_OK;
    /* a fresh copy each call: a const conv is never written, so several
     * threads may read one */
    return cs_canon_string(conv->canon + m->off, m->len, out);
}

int chatseal_conv_get_bool(const chatseal_conv *conv, const char *key)
{
    const struct cs_member *m = cs_conv_member(conv, key);
    return m && m->len == 4 && memcmp(conv->canon + m->off, "true", 4) == 0;
}

/*
 * The messages array as forwarded: each message in its signed form, with its
 * reasoning only when that is kept (FORMAT.md §2.2).  This, not the client's
 * text, is what the model reads.
 */
static void cs_put_messages(cs_buf *b, const chatseal_conv *conv)
{
    cs_buf_putc(b, '[');
    for (size_t i = 0; i < conv->n; i++) {
        const cs_msg *m = &conv->msgs[i];
        if (i)
            cs_buf_putc(b, ',');
        size_t n = 0;
        const char *text = cs_conv_msg_text(conv, m, m->rsn == CS_RSN_KEEP, &n);
        cs_buf_put(b, text, n);
    }
    cs_buf_putc(b, ']');
}

chatseal_error chatseal_conv_canonical(const chatseal_conv *conv,
                                       const char *omit_key, char **out,
                                       size_t *out_len)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!conv)
        return CHATSEAL_E_INVALID_ARGUMENT;
    cs_buf b = {0};
    /* the whole body at once: a request of N bytes is copied once, not
     * ~2N bytes through a chain of doublings (the gateway forwards this) */
    cs_buf_reserve(&b, conv->canon_len + conv->texts.n + 16);
    if (!conv->canon || !conv->is_object) {
        cs_put_messages(&b, conv);
    } else {
        cs_buf_putc(&b, '{');
        int first = 1;
        for (size_t i = 0; i < conv->nmembers; i++) {
            const struct cs_member *m = &conv->members[i];
            if (omit_key && strcmp(m->name, omit_key) == 0 &&
                strlen(omit_key) == m->name_len)
                continue;
            if (!first)
                cs_buf_putc(&b, ',');
            first = 0;
            cs_buf_json_string(&b, m->name, m->name_len);
            cs_buf_putc(&b, ':');
            if (m->off == conv->msgs_off && strcmp(m->name, "messages") == 0)
                cs_put_messages(&b, conv);
            else
                cs_buf_put(&b, conv->canon + m->off, m->len);
        }
        cs_buf_putc(&b, '}');
    }
    *out = cs_buf_take(&b, out_len);
    return *out ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
}
