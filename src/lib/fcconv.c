/*
 * fcconv.c -- the conversation scan of docs/FORMAT.md §2 (cs_fc_conv_scan),
 * on top of the canonicalizer: the parser (fastcanon.c) runs as usual and
 * calls the hooks below at each value, name and closed container, so the
 * shape of a conversation is checked and each message is handed to the
 * caller in the same single pass, as soon as its object is complete.
 *
 * Containers get a tag when they open: the root object (FC_R_ROOT), the
 * messages array (FC_R_MSGS) and each message (FC_R_MSG).  A message's
 * "role" string is kept unescaped for the callback; the root object's
 * members are recorded for cs_fc_root_members.  Shape errors
 * (invalid_request, too_many_messages, invalid_message) are deferred: a
 * JSON error anywhere in the text comes first.
 */
#include <string.h>

#include "fcpriv.h"

/* container tags */
enum { FC_R_NONE = 0, FC_R_ROOT = 1, FC_R_MSGS = 2, FC_R_MSG = 3 };

static void conv_defer(cs_fc *fc, chatseal_error e)
{
    if (!fc->deferred)
        fc->deferred = e;
}

static int conv_is_name(const unsigned char *name, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len == n && memcmp(name, lit, n) == 0;
}

static unsigned char conv_enter(cs_fc *fc, const struct fc_frame *parent,
                                unsigned c)
{
    struct fc_conv *cv = &fc->conv;
    int is_obj = c == '{', is_arr = c == '[';
    if (!parent) {
        if (is_arr)
            return FC_R_MSGS;
        if (is_obj)
            return FC_R_ROOT;
        conv_defer(fc, CHATSEAL_E_INVALID_REQUEST);
        return FC_R_NONE;
    }
    if (cv->want_msgs) {
        cv->want_msgs = 0;
        if (is_arr)
            return FC_R_MSGS;
        conv_defer(fc, CHATSEAL_E_INVALID_REQUEST);
        return FC_R_NONE;
    }
    if (cv->want_role) {
        if (c != '"') { /* a string role is taken by conv_string */
            cv->want_role = 0;
            conv_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
        }
        return FC_R_NONE;
    }
    if (parent->conv == FC_R_MSGS) {
        if (parent->count > cv->max_messages)
            conv_defer(fc, CHATSEAL_E_TOO_MANY_MESSAGES);
        if (is_obj)
            return FC_R_MSG;
        conv_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
    }
    return FC_R_NONE;
}

/* A message's role: kept unescaped for the callback. */
static chatseal_error conv_string(cs_fc *fc, struct fc_frame *f, size_t s,
                                  int esc)
{
    struct fc_conv *cv = &fc->conv;
    size_t n;
    if (!f || f->conv != FC_R_MSG || !cv->want_role)
        return CHATSEAL_OK;
    n = fc->out.n - s - 2;
    cv->want_role = 0;
    cv->role.n = 0;
    cv->role.oom = 0;
    if (cs_buf_reserve(&cv->role, n))
        return CHATSEAL_E_NO_MEMORY;
    if (esc)
        cv->role.n = cs_js_unescape_canon(cv->role.p, fc->out.p + s + 1, n);
    else {
        memcpy(cv->role.p, fc->out.p + s + 1, n);
        cv->role.n = n;
    }
    f->has_role = 1;
    return CHATSEAL_OK;
}

static void conv_key(cs_fc *fc, struct fc_frame *f, const struct fc_member *m)
{
    const unsigned char *nm = fc_name(fc, m);
    if (f->conv == FC_R_MSG && conv_is_name(nm, m->klen, "role"))
        fc->conv.want_role = 1;
    else if (f->conv == FC_R_ROOT && conv_is_name(nm, m->klen, "messages")) {
        fc->conv.want_msgs = 1;
        fc->conv.saw_messages = 1;
    }
}

static void conv_close_array(cs_fc *fc, const struct fc_frame *f)
{
    if (f->conv == FC_R_MSGS && !fc->deferred)
        fc->conv.nmessages = f->count;
}

/* Records the top-level members of a conversation object (already sorted in
 * place by cs_fc_close_object). */
static chatseal_error conv_keep_root(cs_fc *fc, const struct fc_frame *f)
{
    struct fc_conv *cv = &fc->conv;
    size_t n = fc->nmem - f->mbase, i;
    cv->root = cs_buf_array(&cv->rootb, n ? n : 1, sizeof *cv->root);
    if (!cv->root)
        return CHATSEAL_E_NO_MEMORY;
    for (i = 0; i < n; i++) {
        const struct fc_member *m = &fc->mem[f->mbase + i];
        cv->root[i].name = (const char *)fc_name(fc, m);
        cv->root[i].name_len = m->klen;
        cv->root[i].value_off = m->start + m->kclen + 1;
        cv->root[i].value_len = m->end - m->start - m->kclen - 1;
    }
    cv->nroot = n;
    return CHATSEAL_OK;
}

/* The members of the message object f (sorted and in place) as spans of
 * its text, for cs_fc_message_members; -1 when out of memory. */
static int conv_message_members(cs_fc *fc, const struct fc_frame *f)
{
    struct fc_conv *cv = &fc->conv;
    size_t n = fc->nmem - f->mbase, i;
    cv->msgm = cs_buf_array(&cv->msgmb, n ? n : 1, sizeof *cv->msgm);
    if (!cv->msgm)
        return -1;
    for (i = 0; i < n; i++) {
        const struct fc_member *m = &fc->mem[f->mbase + i];
        cs_fc_span *s = &cv->msgm[i];
        s->name_off = m->start - f->start + 1;
        s->name_len = m->kclen - 2;
        s->value_off = m->start - f->start + m->kclen + 1;
        s->value_len = m->end - m->start - m->kclen - 1;
    }
    cv->nmsgm = n;
    return 0;
}

static chatseal_error conv_close_object(cs_fc *fc, struct fc_frame *f,
                                        int *keep_names)
{
    struct fc_conv *cv = &fc->conv;
    /* the top-level names stay for cs_fc_root_members */
    *keep_names = fc->nfr == 1;
    if (f->conv == FC_R_MSG) {
        int stop;
        if (!f->has_role)
            conv_defer(fc, CHATSEAL_E_INVALID_MESSAGE);
        if (fc->deferred || !cv->on_message)
            return CHATSEAL_OK;
        if (conv_message_members(fc, f))
            return CHATSEAL_E_NO_MEMORY;
        stop = cv->on_message(cv->msg_ctx, fc->fr[fc->nfr - 2].count - 1,
                              fc->out.p + f->start, fc->out.n - f->start,
                              cv->role.p, cv->role.n);
        cv->nmsgm = 0;
        if (stop)
            return CHATSEAL_E_IO;
    } else if (f->conv == FC_R_ROOT) {
        if (!cv->saw_messages)
            conv_defer(fc, CHATSEAL_E_INVALID_REQUEST);
        return conv_keep_root(fc, f);
    }
    return CHATSEAL_OK;
}

static const struct fc_hooks conv_hooks = {
    conv_enter, conv_string, conv_key, conv_close_array, conv_close_object,
};

chatseal_error cs_fc_conv_scan(cs_fc *fc, const char *json, size_t len,
                               size_t max_depth, size_t max_messages,
                               cs_fc_message_fn on_message, void *ctx,
                               size_t *nmessages)
{
    struct fc_conv *cv;
    chatseal_error err;
    if (!fc)
        return CHATSEAL_E_INVALID_ARGUMENT;
    cv = &fc->conv;
    fc->max_depth = max_depth ? max_depth : CHATSEAL_MAX_DEPTH_DEFAULT;
    cv->max_messages =
        max_messages ? max_messages : CHATSEAL_MAX_MESSAGES_DEFAULT;
    fc->sink = NULL;
    fc->sink_ctx = NULL;
    fc->hooks = &conv_hooks;
    cv->on_message = on_message;
    cv->msg_ctx = ctx;
    cv->nmessages = 0;
    cv->saw_messages = cv->want_role = cv->want_msgs = 0;
    cv->role.n = 0;
    cv->nmsgm = 0;
    err = cs_fc_run(fc, json, len);
    fc->hooks = NULL;
    if (nmessages)
        *nmessages = err ? 0 : cv->nmessages;
    return err;
}

size_t cs_fc_message_members(const cs_fc *fc, const cs_fc_span **members)
{
    size_t n = fc ? fc->conv.nmsgm : 0;
    if (members)
        *members = n ? fc->conv.msgm : NULL;
    return n;
}

size_t cs_fc_root_members(const cs_fc *fc, const cs_fc_member **members)
{
    /* nroot is reset when a run starts and when it fails, so it is only
     * non-zero after a successful conversation scan of an object */
    size_t n = fc ? fc->conv.nroot : 0;
    if (members)
        *members = n ? fc->conv.root : NULL;
    return n;
}
