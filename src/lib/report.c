/*
 * report.c -- what a verification found, for people and for programs.
 *
 * A report is filled as verification goes: first what the token claims (key
 * id, times, count), then the verdict with the index where the presented
 * history departs from the signed one, and the indices whose locator did
 * not match.  The detail sentence is built from the code and numbers only:
 * it never quotes the input or the token, so it is safe to log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

chatseal_error chatseal_report_new(chatseal_report **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return CHATSEAL_E_NO_MEMORY;
    cs_report_reset(*out);
    return CHATSEAL_OK;
}

void chatseal_report_free(chatseal_report *r)
{
    if (!r)
        return;
    free(r->tampered);
    free(r);
}

void cs_report_reset(chatseal_report *r)
{
    size_t *t = r->tampered;
    size_t cap = r->tcap;
    memset(r, 0, sizeof *r);
    r->tampered = t;
    r->tcap = cap;
    r->index = -1;
    r->code = CHATSEAL_E_INVALID_ARGUMENT; /* until a verify sets it */
    snprintf(r->detail, sizeof r->detail, "nothing was verified");
}

void cs_report_token(chatseal_report *r, const cs_token *t)
{
    if (!r)
        return;
    memcpy(r->kid, t->kid, sizeof r->kid);
    r->iat = t->iat;
    r->exp = t->exp;
    r->count = t->n > 0 ? (size_t)t->n : 0;
}

int cs_report_add_tampered(chatseal_report *r, size_t i)
{
    if (!r)
        return 1;
    if (r->ntampered == r->tcap) {
        size_t cap = r->tcap ? r->tcap * 2 : 8;
        size_t *p = realloc(r->tampered, cap * sizeof *p);
        if (!p)
            return 0;
        r->tampered = p;
        r->tcap = cap;
    }
    r->tampered[r->ntampered++] = i;
    return 1;
}

static void cs_report_sentence(chatseal_report *r)
{
    char *d = r->detail;
    size_t n = sizeof r->detail;
    long i = r->index;
    switch (r->code) {
    case CHATSEAL_OK:
        snprintf(d, n, "valid: %zu signed message%s", r->count,
                 r->count == 1 ? "" : "s");
        return;
    case CHATSEAL_E_CONTENT_CHANGED:
        snprintf(d, n, "message %ld was changed after it was signed", i);
        return;
    case CHATSEAL_E_ROLE_CHANGED:
        snprintf(d, n,
                 "the role of message %ld was changed after it was signed", i);
        return;
    case CHATSEAL_E_MESSAGE_INSERTED:
        snprintf(d, n,
                 "message %ld was inserted: it is not in the signed history",
                 i);
        return;
    case CHATSEAL_E_MESSAGE_DELETED:
        snprintf(d, n, "signed message %ld was deleted", i);
        return;
    case CHATSEAL_E_TRUNCATED:
        snprintf(d, n,
                 "the history ends after %ld messages but the token covers %zu",
                 i, r->count);
        return;
    case CHATSEAL_E_REORDERED:
        snprintf(d, n, "the signed messages were reordered, from message %ld",
                 i);
        return;
    case CHATSEAL_E_COUNT_MISMATCH:
        snprintf(d, n,
                 "the token covers %zu messages; the history differs in length "
                 "from message %ld",
                 r->count, i);
        return;
    case CHATSEAL_E_ROLE_NOT_ALLOWED:
        snprintf(d, n,
                 "message %ld follows the signed history with a role that is "
                 "not allowed there",
                 i);
        return;
    case CHATSEAL_E_MISSING_SIGNATURE:
        if (i >= 0)
            snprintf(d, n,
                     "no token, and message %ld has a role a new conversation "
                     "may not start with",
                     i);
        else
            snprintf(d, n, "no token was given");
        return;
    default:
        if (i >= 0)
            snprintf(d, n, "%s (message %ld)", chatseal_strerror(r->code), i);
        else
            snprintf(d, n, "%s", chatseal_strerror(r->code));
    }
}

chatseal_error cs_report_set(chatseal_report *r, chatseal_error code,
                             long index)
{
    if (!r)
        return code;
    r->code = code;
    r->index = index;
    cs_report_sentence(r);
    return code;
}

chatseal_error chatseal_report_code(const chatseal_report *r)
{
    return r ? r->code : CHATSEAL_E_INVALID_ARGUMENT;
}

int chatseal_report_chain_valid(const chatseal_report *r)
{
    return r ? r->chain_valid : 0;
}

size_t chatseal_report_count(const chatseal_report *r)
{
    return r ? r->count : 0;
}

size_t chatseal_report_tampered(const chatseal_report *r,
                                const size_t **indices)
{
    if (indices)
        *indices = r ? r->tampered : NULL;
    return r ? r->ntampered : 0;
}

long chatseal_report_index(const chatseal_report *r)
{
    return r ? r->index : -1;
}

const char *chatseal_report_kid(const chatseal_report *r)
{
    return r && r->kid[0] ? r->kid : NULL;
}

int64_t chatseal_report_iat(const chatseal_report *r)
{
    return r ? r->iat : 0;
}

int64_t chatseal_report_exp(const chatseal_report *r)
{
    return r ? r->exp : 0;
}

const char *chatseal_report_detail(const chatseal_report *r)
{
    return r ? r->detail : "";
}

chatseal_error chatseal_report_json(const chatseal_report *r, char **out)
{
    if (!out)
        return CHATSEAL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!r)
        return CHATSEAL_E_INVALID_ARGUMENT;
    cs_buf b = {0};
    cs_buf_printf(&b, "{\"valid\":%s,\"code\":",
                  r->code == CHATSEAL_OK ? "true" : "false");
    const char *name = chatseal_error_name(r->code);
    cs_buf_json_string(&b, name, strlen(name));
    cs_buf_puts(&b, ",\"detail\":");
    cs_buf_json_string(&b, r->detail, strlen(r->detail));
    cs_buf_printf(&b, ",\"count\":%zu,\"chain_valid\":%s", r->count,
                  r->chain_valid ? "true" : "false");
    cs_buf_puts(&b, ",\"tampered_indices\":[");
    for (size_t i = 0; i < r->ntampered; i++)
        cs_buf_printf(&b, i ? ",%zu" : "%zu", r->tampered[i]);
    cs_buf_printf(&b, "],\"index\":%ld,\"kid\":", r->index);
    if (r->kid[0])
        cs_buf_json_string(&b, r->kid, strlen(r->kid));
    else
        cs_buf_puts(&b, "null");
    /* exp 0 = no expiry, as chatseal_report_exp says */
    cs_buf_printf(&b, ",\"iat\":%lld,\"exp\":%lld}", (long long)r->iat,
                  (long long)r->exp);
    *out = cs_buf_take(&b, NULL);
    return *out ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
}
