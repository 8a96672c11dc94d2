/*
 * fuzz_policy.c -- the gateway's request policy (src/gateway/policy/policy.c)
 * under libFuzzer.
 *
 * The policy reads canonical request text with a scanner that trusts its
 * input to be valid canonical JSON, so the input goes through the strict
 * parser first, as in the gateway.  Properties: no crash or overread on any
 * accepted request and any tail start; the verdict does not depend on the
 * drop mode except for parameter_not_allowed; a body rebuilt by drop mode is
 * itself canonical JSON (re-canonicalizing it changes nothing) that the
 * refuse mode then accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"
#include "ops/config.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cs_policy *make(const char *unknown)
{
    cs_config c;
    char why[300];
    memset(&c, 0, sizeof c);
    c.user_members = "role,content,name";
    c.tool_members = "role,content,tool_call_id";
    c.content_parts = "text,image_url";
    c.control_tokens = "pipe,deepseek,gemma,mistral,sentencepiece,<<END>>";
    c.unknown_parameters = unknown;
    c.allow_parameters = "top_k";
    c.fresh_roles = "user";
    cs_policy *p = cs_policy_new(&c, why, sizeof why);
    if (!p)
        abort();
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cs_policy *refuse, *drop;
    if (!refuse) {
        refuse = make("refuse");
        drop = make("drop");
    }
    chatseal_limits lim = CHATSEAL_LIMITS_INIT;
    lim.max_messages = 100;
    lim.max_depth = 32;
    chatseal_conv *conv = NULL;
    if (size == 0 || data[0] != '{' ||
        chatseal_conv_parse((const char *)data, size, &lim, &conv) !=
            CHATSEAL_OK)
        return 0;
    size_t n = chatseal_conv_count(conv);
    char why[300];
    for (size_t from = 0; from <= n; from += n / 2 + 1) {
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        chatseal_error ea =
            cs_policy_forward(refuse, conv, from, &a, &alen, why, sizeof why);
        chatseal_error eb =
            cs_policy_forward(drop, conv, from, &b, &blen, why, sizeof why);
        if ((ea == CHATSEAL_OK) != (a != NULL) ||
            (eb == CHATSEAL_OK) != (b != NULL))
            abort();
        if (ea != eb && ea != CHATSEAL_E_PARAMETER_NOT_ALLOWED)
            abort();
        if (b) {
            char *c = NULL;
            size_t clen = 0;
            if (chatseal_canonicalize(b, blen, 0, &c, &clen) != CHATSEAL_OK ||
                clen != blen || memcmp(b, c, blen) != 0)
                abort();
            chatseal_free(c);
            size_t dropped = 0;
            char *again = malloc(blen + 1);
            if (!again)
                abort();
            memcpy(again, b, blen);
            size_t glen = blen;
            if (cs_policy_params(refuse, &again, &glen, &dropped, why,
                                 sizeof why) != CHATSEAL_OK ||
                dropped != 0 || glen != blen)
                abort();
            free(again);
        }
        if (a && b && (alen != blen || memcmp(a, b, alen) != 0))
            abort(); /* nothing to drop: the same body */
        chatseal_free(a);
        chatseal_free(b);
    }
    chatseal_conv_free(conv);
    return 0;
}
