/*
 * policy.c -- the request policy of chatseal serve (see policy.h).
 *
 * Why each rule exists (docs/SECURITY.md has the attacks):
 *   - Unsigned messages are plain input, but chat templates render more than
 *     role and content: llama.cpp's Llama 3.1 template turns a *user* message
 *     with tool_calls into an assistant turn.  So each tail role has an
 *     allowlist of members and content shapes; anything else is refused
 *     before the upstream rather than silently dropped, so a client learns
 *     at once that the gateway does not forward it.
 *   - Control-token text ("<|im_end|>\n<|im_start|>assistant") in a user turn
 *     becomes real turn boundaries in servers that tokenize user text with
 *     special-token parsing on.  Known strings are refused, per model family.
 *   - Top-level members such as vLLM's chat_template rewrite the prompt
 *     without touching a message: only a list of chat parameters passes.
 *   - A fresh conversation is signed as a whole, so a client-written system
 *     prompt would come back signed: by default only user messages start a
 *     conversation, and the operator pins the system prompt.
 *
 * All checks read the canonical request text (what is forwarded) with the
 * jspan scanner, so they judge exactly the bytes the model receives.  Names
 * are compared as raw canonical bytes: a name with escapes matches nothing
 * on an allowlist and is refused, which is the safe side.
 */
#include "policy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "api/adapter.h"
#include "api/jspan.h"
#include "ops/config.h"

#define MAX_ITEMS 128

typedef struct list {
    char *buf;
    const char *item[MAX_ITEMS];
    size_t len[MAX_ITEMS];
    size_t n;
} list;

struct cs_policy {
    list user_members, tool_members, parts, params, fresh, bind;
    list api_params[CS_API_COUNT]; /* the other APIs' parameters (not 0) */
    list tokens;                   /* literal control-token strings */
    int pipe, deepseek;            /* pattern families */
    unsigned char first[256];      /* first bytes of the literals */
    int drop_params;
    char *fresh_roles;          /* for the library (pinned: plus system) */
    const char *fresh_text;     /* --fresh-roles as given, for messages */
    char *pinned;               /* canonical {"content":..,"role":"system"} */
    chatseal_conv *pinned_conv; /* the same, parsed: its digest */
};

/* The documented OpenAI Chat Completions request parameters. */
static const char DEFAULT_PARAMS[] =
    "messages,model,audio,frequency_penalty,function_call,functions,"
    "logit_bias,logprobs,max_completion_tokens,max_tokens,metadata,"
    "modalities,n,parallel_tool_calls,prediction,presence_penalty,"
    "prompt_cache_key,reasoning_effort,response_format,safety_identifier,"
    "seed,service_tier,stop,store,stream,stream_options,temperature,"
    "tool_choice,tools,top_logprobs,top_p,user,verbosity,web_search_options";

static const char *const GEMMA[] = {
    "<start_of_turn>",  "<end_of_turn>",  "<bos>", "<eos>",
    "<start_of_image>", "<end_of_image>", NULL};
static const char *const MISTRAL[] = {"[INST]",
                                      "[/INST]",
                                      "<<SYS>>",
                                      "<</SYS>>",
                                      "[TOOL_CALLS]",
                                      "[AVAILABLE_TOOLS]",
                                      "[/AVAILABLE_TOOLS]",
                                      "[TOOL_RESULTS]",
                                      "[/TOOL_RESULTS]",
                                      "[SYSTEM_PROMPT]",
                                      "[/SYSTEM_PROMPT]",
                                      "[TOOL_CONTENT]",
                                      NULL};
static const char *const SENTENCEPIECE[] = {"<s>", "</s>", "<unk>", NULL};

static const char FW_BAR[] = "\xef\xbd\x9c"; /* U+FF5C, DeepSeek's bar */

/* Splits a comma list into p (one copy of the text); -1 if too many. */
static int list_parse(list *l, const char *text)
{
    memset(l, 0, sizeof *l);
    l->buf = strdup(text ? text : "");
    if (!l->buf)
        return -1;
    for (char *s = l->buf; *s;) {
        char *e = strchr(s, ',');
        if (e)
            *e = '\0';
        while (*s == ' ')
            s++;
        size_t n = strlen(s);
        while (n && s[n - 1] == ' ')
            s[--n] = '\0';
        if (n) {
            if (l->n == MAX_ITEMS)
                return -1;
            l->item[l->n] = s;
            l->len[l->n++] = n;
        }
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static int list_has(const list *l, const char *p, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->len[i] == n && !memcmp(l->item[i], p, n))
            return 1;
    return 0;
}

static int list_add(list *l, const char *s)
{
    if (l->n == MAX_ITEMS)
        return -1;
    l->item[l->n] = s;
    l->len[l->n++] = strlen(s);
    return 0;
}

static void list_free(list *l)
{
    free(l->buf);
}

/* Printable ASCII copy of raw bytes for messages (never invalid UTF-8). */
static void show(char *out, size_t cap, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++)
        out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    if (n && o + 4 >= cap)
        memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

static int add_family(cs_policy *p, const char *name, size_t n)
{
    const char *const *set = NULL;
    if (n == 4 && !memcmp(name, "none", 4))
        return 0;
    if (n == 4 && !memcmp(name, "pipe", 4)) {
        p->pipe = 1;
        return 0;
    }
    if (n == 8 && !memcmp(name, "deepseek", 8)) {
        p->deepseek = 1;
        return 0;
    }
    if (n == 5 && !memcmp(name, "gemma", 5))
        set = GEMMA;
    else if (n == 7 && !memcmp(name, "mistral", 7))
        set = MISTRAL;
    else if (n == 13 && !memcmp(name, "sentencepiece", 13))
        set = SENTENCEPIECE;
    if (!set)
        return 1; /* a literal string */
    for (; *set; set++)
        if (list_add(&p->tokens, *set) != 0)
            return -1;
    return 0;
}

static int setup_tokens(cs_policy *p, const char *spec)
{
    list fams;
    if (list_parse(&fams, spec) != 0) {
        list_free(&fams);
        return -1;
    }
    /* p->tokens owns the family list's text: literals point into it */
    p->tokens = (list){.buf = fams.buf};
    for (size_t i = 0; i < fams.n; i++) {
        int rc = add_family(p, fams.item[i], fams.len[i]);
        if (rc < 0 || (rc == 1 && list_add(&p->tokens, fams.item[i]) != 0))
            return -1;
    }
    for (size_t i = 0; i < p->tokens.n; i++)
        p->first[(unsigned char)p->tokens.item[i][0]] = 1;
    if (p->pipe)
        p->first['<'] = 1;
    if (p->deepseek) {
        p->first['<'] = 1;
        p->first[(unsigned char)FW_BAR[0]] = 1;
    }
    return 0;
}

/* Reads the pinned system prompt: the file's text minus trailing newlines,
 * as the canonical message the gateway puts first. */
static int load_prompt(cs_policy *p, const char *path, char *why, size_t wl)
{
    json_error_t je;
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t n = 0;
    if (f) {
        text = malloc(1024 * 1024 + 1);
        n = text ? fread(text, 1, 1024 * 1024 + 1, f) : 0;
        fclose(f);
    }
    if (!text || n > 1024 * 1024) {
        snprintf(why, wl, "--system-prompt %s: %s", path,
                 text ? "larger than 1 MiB" : "cannot be read");
        free(text);
        return -1;
    }
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    json_t *m = json_pack_ex(&je, 0, "{s:s,s:s%}", "role", "system", "content",
                             text, n);
    free(text);
    char *raw = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    size_t clen = 0;
    chatseal_error e =
        raw ? chatseal_canonicalize(raw, strlen(raw), 0, &p->pinned, &clen)
            : CHATSEAL_E_INVALID_UTF8;
    if (e == CHATSEAL_OK) {
        size_t alen = clen + 3;
        char *arr = malloc(alen);
        if (arr) {
            snprintf(arr, alen, "[%s]", p->pinned);
            e = chatseal_conv_parse(arr, clen + 2, NULL, &p->pinned_conv);
            free(arr);
        } else {
            e = CHATSEAL_E_NO_MEMORY;
        }
    }
    free(raw);
    if (e != CHATSEAL_OK) {
        snprintf(why, wl, "--system-prompt %s: %s", path,
                 e == CHATSEAL_E_INVALID_UTF8 ? "not valid UTF-8"
                                              : chatseal_error_name(e));
        return -1;
    }
    return 0;
}

cs_policy *cs_policy_new(const cs_config *cfg, char *why, size_t wl)
{
    cs_policy *p = calloc(1, sizeof *p);
    char *params = NULL;
    const char *extra = cfg->allow_parameters ? cfg->allow_parameters : "";
    size_t plen = sizeof DEFAULT_PARAMS + strlen(extra) + 1;
    if (!p || !(params = malloc(plen))) {
        snprintf(why, wl, "out of memory");
        free(p);
        return NULL;
    }
    snprintf(params, plen, "%s,%s", DEFAULT_PARAMS, extra);
    const char *which = NULL;
    if (list_parse(&p->user_members, cfg->user_members) != 0)
        which = "--user-members";
    else if (list_parse(&p->tool_members, cfg->tool_members) != 0)
        which = "--tool-members";
    else if (list_parse(&p->parts, cfg->content_parts) != 0)
        which = "--content-parts";
    else if (list_parse(&p->params, params) != 0)
        which = "--allow-parameters";
    else if (list_parse(&p->fresh, cfg->fresh_roles) != 0)
        which = "--fresh-roles";
    else if (setup_tokens(p, cfg->control_tokens) != 0)
        which = "--control-tokens";
    else if (list_parse(&p->bind, cfg->bind_parameters) != 0 ||
             (p->bind.n && cfg->purpose && strlen(cfg->purpose) > 900))
        which = "--bind-parameters (with a --purpose of at most 900 bytes)";
    free(params);
    for (int a = 1; !which && a < CS_API_COUNT; a++) {
        const cs_adapter *ad = cs_adapter_by_id(a);
        const char *dp = ad && ad->params ? ad->params : "";
        size_t n = strlen(dp) + strlen(extra) + 12;
        char *t = malloc(n);
        if (!t) {
            which = "out of memory:";
            break;
        }
        snprintf(t, n, "messages,%s,%s", dp, extra);
        if (list_parse(&p->api_params[a], t) != 0)
            which = "--allow-parameters";
        free(t);
    }
    if (which) {
        snprintf(why, wl, "%s: too many names", which);
        cs_policy_free(p);
        return NULL;
    }
    p->fresh_text = cfg->fresh_roles;
    p->drop_params =
        cfg->unknown_parameters && !strcmp(cfg->unknown_parameters, "drop");
    if (cfg->system_prompt && load_prompt(p, cfg->system_prompt, why, wl)) {
        cs_policy_free(p);
        return NULL;
    }
    /* the pinned prompt is a system message the library must accept in a
     * fresh conversation; cs_policy_check_fresh says where it may stand */
    size_t flen = strlen(cfg->fresh_roles) + 8;
    p->fresh_roles = malloc(flen);
    if (!p->fresh_roles) {
        snprintf(why, wl, "out of memory");
        cs_policy_free(p);
        return NULL;
    }
    snprintf(p->fresh_roles, flen, "%s%s", cfg->fresh_roles,
             p->pinned && !list_has(&p->fresh, "system", 6) ? ",system" : "");
    return p;
}

void cs_policy_free(cs_policy *p)
{
    if (!p)
        return;
    list_free(&p->user_members);
    list_free(&p->tool_members);
    list_free(&p->parts);
    list_free(&p->params);
    for (int a = 0; a < CS_API_COUNT; a++)
        list_free(&p->api_params[a]);
    list_free(&p->fresh);
    list_free(&p->bind);
    list_free(&p->tokens);
    free(p->fresh_roles);
    chatseal_free(p->pinned);
    chatseal_conv_free(p->pinned_conv);
    free(p);
}

const char *cs_policy_fresh_roles(const cs_policy *p)
{
    return p->fresh_roles;
}

/* ------------------------------------------------------ system prompt -- */

static int is_pinned(const cs_policy *p, const chatseal_conv *conv, size_t i)
{
    uint8_t a[CHATSEAL_DIGESTBYTES], b[CHATSEAL_DIGESTBYTES];
    return p->pinned && chatseal_conv_digest(conv, i, a) == CHATSEAL_OK &&
           chatseal_conv_digest(p->pinned_conv, 0, b) == CHATSEAL_OK &&
           !memcmp(a, b, sizeof a);
}

int cs_policy_pinned_first(const cs_policy *p, const chatseal_conv *conv)
{
    return is_pinned(p, conv, 0);
}

chatseal_error cs_policy_pin_system(const cs_policy *p,
                                    const chatseal_conv *conv,
                                    const chatseal_limits *lim,
                                    chatseal_conv **out)
{
    *out = NULL;
    if (!p->pinned || is_pinned(p, conv, 0))
        return CHATSEAL_OK;
    char *canon = NULL;
    size_t clen = 0;
    chatseal_error e = chatseal_conv_canonical(conv, NULL, &canon, &clen);
    if (e != CHATSEAL_OK)
        return e;
    cs_span root = {canon, clen}, msgs;
    if (cs_json_member(root, "messages", &msgs) != 1 || msgs.p[0] != '[') {
        chatseal_free(canon);
        return CHATSEAL_E_INVALID_REQUEST;
    }
    size_t at = (size_t)(msgs.p - canon) + 1, plen = strlen(p->pinned);
    int empty = msgs.p[1] == ']';
    char *body = malloc(clen + plen + 2);
    if (!body) {
        chatseal_free(canon);
        return CHATSEAL_E_NO_MEMORY;
    }
    memcpy(body, canon, at);
    memcpy(body + at, p->pinned, plen);
    size_t n = at + plen;
    if (!empty)
        body[n++] = ',';
    memcpy(body + n, canon + at, clen - at);
    n += clen - at;
    chatseal_free(canon);
    e = chatseal_conv_parse(body, n, lim, out);
    free(body);
    return e;
}

chatseal_error cs_policy_check_fresh(const cs_policy *p,
                                     const chatseal_conv *conv, int only_system,
                                     char *why, size_t wl)
{
    size_t n = chatseal_conv_count(conv);
    for (size_t i = 0; i < n; i++) {
        const char *role = chatseal_conv_role(conv, i);
        int sys = !strcmp(role, "system") || !strcmp(role, "developer");
        if ((only_system && !sys) || list_has(&p->fresh, role, strlen(role)) ||
            (i == 0 && is_pinned(p, conv, 0)))
            continue;
        char r[40];
        show(r, sizeof r, role, strlen(role));
        if (sys)
            snprintf(why, wl,
                     "messages[%zu] has role %s: a conversation without a "
                     "token may hold only %s messages (--fresh-roles); the "
                     "operator pins the system prompt with --system-prompt "
                     "FILE%s, or allows client-written ones with "
                     "--fresh-roles system,developer,user",
                     i, r, p->fresh_text,
                     p->pinned ? " (this message is not the pinned one)" : "");
        else
            snprintf(why, wl,
                     "messages[%zu] has role %s, which a conversation without "
                     "a token may not hold (--fresh-roles %s)",
                     i, r, p->fresh_text);
        return CHATSEAL_E_ROLE_NOT_ALLOWED;
    }
    return CHATSEAL_OK;
}

/* ------------------------------------------------- unsigned messages -- */

static int is_str(cs_span v)
{
    return v.n >= 2 && v.p[0] == '"';
}

/* One content part: {"type":T, T:...}, T on --content-parts (tool: text). */
static int part_ok(const cs_policy *p, cs_span part, int tool)
{
    cs_span type, k, v;
    if (cs_json_member(part, "type", &type) != 1 || !is_str(type))
        return 0;
    const char *t = type.p + 1;
    size_t tn = type.n - 2;
    if (tool ? !(tn == 4 && !memcmp(t, "text", 4))
             : !list_has(&p->parts, t, tn))
        return 0;
    size_t pos = 0;
    int rc, seen = 0;
    while ((rc = cs_json_next_member(part.p, part.n, &pos, &k, &v)) == 1) {
        if (k.n == 4 && !memcmp(k.p, "type", 4))
            continue;
        if (k.n != tn || memcmp(k.p, t, tn) != 0)
            return 0;
        if (tn == 4 && !memcmp(t, "text", 4) && !is_str(v))
            return 0;
        seen = 1;
    }
    return rc == 0 && seen;
}

/* content: a string, or an array of allowed parts. */
static int content_ok(const cs_policy *p, cs_span v, int tool)
{
    if (is_str(v))
        return 1;
    if (v.n < 2 || v.p[0] != '[')
        return 0;
    cs_span part;
    for (size_t i = 0;; i++) {
        int rc = cs_json_element(v, i, &part);
        if (rc == 0)
            return 1;
        if (rc < 0 || part.p[0] != '{' || !part_ok(p, part, tool))
            return 0;
    }
}

/* 1 if a control-token string starts at s[i]. */
static int token_at(const cs_policy *p, const char *s, size_t n, size_t i)
{
    for (size_t t = 0; t < p->tokens.n; t++)
        if (p->tokens.item[t][0] == s[i] && p->tokens.len[t] <= n - i &&
            !memcmp(s + i, p->tokens.item[t], p->tokens.len[t]))
            return 1;
    if (p->deepseek && n - i >= 4 &&
        ((s[i] == '<' && !memcmp(s + i + 1, FW_BAR, 3)) ||
         (!memcmp(s + i, FW_BAR, 3) && s[i + 3] == '>')))
        return 1;
    if (p->pipe && n - i >= 5 && s[i] == '<' && s[i + 1] == '|') {
        /* <|name|>: 1..64 bytes, no bar, bracket or space inside */
        for (size_t j = i + 2; j < n && j - i - 2 <= 64; j++) {
            char c = s[j];
            if (c == '|')
                return j > i + 2 && j + 1 < n && s[j + 1] == '>';
            if (c == '<' || c == '>' || c == ' ' || c == '\\')
                return 0;
        }
    }
    return 0;
}

/* Every start byte gets its own memchr pass: for ordinary text that is a
 * few vectorized scans instead of a table lookup per byte (8 MiB of prose:
 * 36 ms per-byte, a few ms this way).  Many distinct start bytes (literal
 * strings of the operator's): one pass with the table. */
static int has_token(const cs_policy *p, cs_span m)
{
    unsigned char starts[8];
    size_t ns = 0;
    for (int b = 0; b < 256; b++)
        if (p->first[b]) {
            if (ns == sizeof starts) {
                for (size_t i = 0; i < m.n; i++)
                    if (p->first[(unsigned char)m.p[i]] &&
                        token_at(p, m.p, m.n, i))
                        return 1;
                return 0;
            }
            starts[ns++] = (unsigned char)b;
        }
    for (size_t k = 0; k < ns; k++) {
        const char *q = m.p, *end = m.p + m.n;
        while ((q = memchr(q, starts[k], (size_t)(end - q))) != NULL) {
            if (token_at(p, m.p, m.n, (size_t)(q - m.p)))
                return 1;
            q++;
        }
    }
    return 0;
}

static chatseal_error check_message(const cs_policy *p, cs_span m, size_t idx,
                                    char *why, size_t wl)
{
    cs_span role, k, v;
    if (cs_json_member(m, "role", &role) != 1 || !is_str(role))
        return CHATSEAL_E_INVALID_MESSAGE;
    int tool = role.n == 6 && !memcmp(role.p, "\"tool\"", 6);
    const list *allowed = tool ? &p->tool_members : &p->user_members;
    char name[48], r[24];
    show(r, sizeof r, role.p + 1, role.n - 2);
    size_t pos = 0;
    int rc;
    while ((rc = cs_json_next_member(m.p, m.n, &pos, &k, &v)) == 1) {
        int ok = list_has(allowed, k.p, k.n);
        const char *shape = NULL;
        if (ok && k.n == 7 && !memcmp(k.p, "content", 7)) {
            ok = content_ok(p, v, tool);
            shape = tool ? "a string or text parts"
                         : "a string or parts of --content-parts";
        } else if (ok && ((k.n == 4 && !memcmp(k.p, "name", 4)) ||
                          (k.n == 12 && !memcmp(k.p, "tool_call_id", 12)))) {
            ok = is_str(v);
            shape = "a string";
        }
        if (ok)
            continue;
        show(name, sizeof name, k.p, k.n);
        if (shape)
            snprintf(why, wl,
                     "messages[%zu] (role %s): \"%s\" must be %s after the "
                     "signed history",
                     idx, r, name, shape);
        else
            snprintf(why, wl,
                     "messages[%zu] (role %s) has the member \"%s\", which is "
                     "not allowed after the signed history (see %s)",
                     idx, r, name, tool ? "--tool-members" : "--user-members");
        return CHATSEAL_E_MEMBER_NOT_ALLOWED;
    }
    if (rc < 0)
        return CHATSEAL_E_INVALID_MESSAGE;
    if (has_token(p, m)) {
        snprintf(why, wl,
                 "messages[%zu] (role %s) holds a chat-template control "
                 "token such as <|im_start|> or [INST] (--control-tokens)",
                 idx, r);
        return CHATSEAL_E_CONTROL_TOKEN;
    }
    return CHATSEAL_OK;
}

chatseal_error cs_policy_check_tail(const cs_policy *p, const char *canon,
                                    size_t len, size_t from, char *why,
                                    size_t wl)
{
    cs_span root = {canon, len}, msgs, m;
    if (cs_json_member(root, "messages", &msgs) != 1)
        return CHATSEAL_E_INVALID_REQUEST;
    int rc = cs_json_element(msgs, from, &m);
    size_t idx = from;
    while (rc == 1) {
        chatseal_error e = check_message(p, m, idx, why, wl);
        if (e != CHATSEAL_OK)
            return e;
        /* the next element: canonical text has no white space */
        size_t pos = (size_t)(m.p + m.n - msgs.p);
        if (pos >= msgs.n || msgs.p[pos] != ',')
            break;
        pos++;
        size_t start = pos;
        if (cs_json_skip(msgs.p, msgs.n, &pos) != 0)
            return CHATSEAL_E_INVALID_REQUEST;
        m.p = msgs.p + start;
        m.n = pos - start;
        idx++;
    }
    return rc < 0 ? CHATSEAL_E_INVALID_REQUEST : CHATSEAL_OK;
}

/* ---------------------------------------------------------- parameters -- */

static chatseal_error params_check(const cs_policy *p, const list *allowed,
                                   char **body, size_t *len, size_t *dropped,
                                   char *why, size_t wl);

chatseal_error cs_policy_params(const cs_policy *p, char **body, size_t *len,
                                size_t *dropped, char *why, size_t wl)
{
    return params_check(p, &p->params, body, len, dropped, why, wl);
}

static chatseal_error params_check(const cs_policy *p, const list *allowed,
                                   char **body, size_t *len, size_t *dropped,
                                   char *why, size_t wl)
{
    size_t pos = 0, out = 1;
    cs_span k, v;
    int rc;
    char *nb = NULL;
    *dropped = 0;
    while ((rc = cs_json_next_member(*body, *len, &pos, &k, &v)) == 1) {
        if (list_has(allowed, k.p, k.n)) {
            if (nb) { /* copy the member: ,"key":value */
                if (out > 1)
                    nb[out++] = ',';
                size_t n = (size_t)(v.p + v.n - (k.p - 1));
                memcpy(nb + out, k.p - 1, n);
                out += n;
            }
            continue;
        }
        int ours = k.n == 14 && !memcmp(k.p, "chatseal_token", 14);
        if (ours && !is_str(v)) {
            snprintf(why, wl,
                     "the chatseal_token member must be a string "
                     "(the token of the previous reply)");
            free(nb);
            return CHATSEAL_E_INVALID_REQUEST;
        }
        if (!ours && !p->drop_params) {
            char name[48];
            show(name, sizeof name, k.p, k.n);
            /* the Responses API's stateful members (api/responses.c) */
            int stateful =
                (k.n == 5 && !memcmp(k.p, "store", 5)) ||
                (k.n == 20 && !memcmp(k.p, "previous_response_id", 20)) ||
                (k.n == 12 && !memcmp(k.p, "conversation", 12));
            snprintf(why, wl,
                     stateful
                         ? "the request member \"%s\" puts the history at "
                           "the provider, beyond what this gateway can "
                           "verify: send the whole history with store:false "
                           "(the operator may allow it, unverified, with "
                           "--allow-parameters)"
                         : "the request member \"%s\" is not a chat "
                           "parameter this gateway forwards (add it with "
                           "--allow-parameters, or drop unknown members with "
                           "--unknown-parameters drop)",
                     name);
            free(nb);
            return CHATSEAL_E_PARAMETER_NOT_ALLOWED;
        }
        if (!nb) { /* first one dropped: copy what came before */
            if (!(nb = malloc(*len + 1)))
                return CHATSEAL_E_NO_MEMORY;
            nb[0] = '{';
            size_t p0 = 0;
            cs_span k2, v2;
            while (cs_json_next_member(*body, *len, &p0, &k2, &v2) == 1 &&
                   k2.p != k.p) {
                if (out > 1)
                    nb[out++] = ',';
                size_t n = (size_t)(v2.p + v2.n - (k2.p - 1));
                memcpy(nb + out, k2.p - 1, n);
                out += n;
            }
        }
        *dropped += !ours;
    }
    if (rc < 0) {
        free(nb);
        return CHATSEAL_E_INVALID_REQUEST;
    }
    if (nb) {
        nb[out++] = '}';
        nb[out] = '\0';
        free(*body);
        *body = nb;
        *len = out;
    }
    return CHATSEAL_OK;
}

chatseal_error cs_policy_forward(const cs_policy *p, const chatseal_conv *conv,
                                 size_t signed_n, char **body, size_t *len,
                                 char *why, size_t wl)
{
    size_t dropped = 0;
    why[0] = '\0';
    /* with the token member: cs_policy_params removes it, and refuses one
     * that is not a string even when the header carried the token */
    chatseal_error e = chatseal_conv_canonical(conv, NULL, body, len);
    if (e == CHATSEAL_OK)
        e = cs_policy_check_tail(p, *body, *len, signed_n, why, wl);
    if (e == CHATSEAL_OK)
        e = cs_policy_params(p, body, len, &dropped, why, wl);
    if (e != CHATSEAL_OK) {
        chatseal_free(*body);
        *body = NULL;
    }
    return e;
}

chatseal_error cs_policy_forward_api(const cs_policy *p, int api,
                                     const chatseal_conv *conv, char **body,
                                     size_t *len, char *why, size_t wl)
{
    size_t dropped = 0;
    why[0] = '\0';
    if (api <= 0 || api >= CS_API_COUNT)
        return CHATSEAL_E_INVALID_REQUEST;
    chatseal_error e = chatseal_conv_canonical(conv, NULL, body, len);
    if (e == CHATSEAL_OK)
        e = params_check(p, &p->api_params[api], body, len, &dropped, why, wl);
    if (e != CHATSEAL_OK) {
        chatseal_free(*body);
        *body = NULL;
    }
    return e;
}

int cs_policy_has_control_token(const cs_policy *p, const char *s, size_t n)
{
    cs_span m = {s, n};
    return has_token(p, m);
}

/* ---------------------------------------------------- bound parameters -- */

chatseal_error cs_policy_purpose(const cs_policy *p, const char *base,
                                 const chatseal_conv *conv, char **out)
{
    *out = NULL;
    if (!p->bind.n)
        return CHATSEAL_OK;
    char *canon = NULL;
    size_t clen = 0;
    chatseal_error e =
        chatseal_conv_canonical(conv, "chatseal_token", &canon, &clen);
    if (e != CHATSEAL_OK)
        return e;
    /* name, then the canonical value or nothing, each framed by its length:
     * no two member lists hash alike */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    cs_span root = {canon, clen}, v;
    for (size_t i = 0; ok && i < p->bind.n; i++) {
        int has = cs_json_member(root, p->bind.item[i], &v) == 1;
        uint64_t lens[2] = {p->bind.len[i], has ? (uint64_t)v.n : ~0ull};
        unsigned char be[16]; /* big-endian: every replica hashes alike */
        for (int b = 0; b < 16; b++)
            be[b] = (unsigned char)(lens[b / 8] >> (56 - 8 * (b % 8)));
        ok = EVP_DigestUpdate(md, be, sizeof be) == 1 &&
             EVP_DigestUpdate(md, p->bind.item[i], p->bind.len[i]) == 1 &&
             (!has || EVP_DigestUpdate(md, v.p, v.n) == 1);
    }
    unsigned char d[32];
    ok = ok && EVP_DigestFinal_ex(md, d, NULL) == 1;
    EVP_MD_CTX_free(md);
    chatseal_free(canon);
    if (!ok)
        return CHATSEAL_E_CRYPTO;
    size_t n = (base ? strlen(base) + 1 : 0) + 7 + 64 + 1;
    char *s = malloc(n);
    if (!s)
        return CHATSEAL_E_NO_MEMORY;
    size_t k = (size_t)snprintf(s, n, "%s%sparams:", base ? base : "",
                                base ? " " : "");
    for (int i = 0; i < 32; i++)
        k += (size_t)snprintf(s + k, n - k, "%02x", d[i]);
    *out = s;
    return CHATSEAL_OK;
}
