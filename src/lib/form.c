/*
 * form.c -- the signed form of a message (FORMAT.md §2.1, format version 2).
 *
 * Why a form at all: the SDKs that apps use rebuild the assistant messages
 * they store.  They drop `refusal: null` and `annotations: []`, turn
 * `content: null` into "" (or drop it), re-serialize tool-call arguments
 * (`{"city": "Paris"}` comes back as `{"city":"Paris"}`), add `parsed: null`,
 * and drop or mangle reasoning.  Signing the exact bytes refused all of those
 * round trips.  Version 2 signs a projection instead -- the members a model
 * reads, with their empty spellings removed and arguments in canonical form --
 * and the gateway forwards that same projection, so what the model reads is
 * still exactly what was verified.
 *
 * Reasoning (`reasoning_content`, `reasoning`) is kept out of the signed form
 * and covered by its own per-message tag in the token (`rsn`, sign.c): a
 * client may leave it out, and reasoning that does not verify is dropped, not
 * refused.
 *
 * Input is always the canonical text of one message object as the parser
 * just produced it (RFC 8785: no white space, members sorted, strings with the
 * canonical escapes only), so a small walker over that grammar is enough, and
 * removing members keeps the text canonical.  The common message (no empty
 * member, no reasoning, no tool call, no member outside the role's list)
 * leaves the form equal to the text: cs_form_message says so without copying.
 */
#include <stdlib.h>
#include <string.h>

#include "fastcanon.h"
#include "internal.h"

/* One step of a canonical text: a span [p, end). */
typedef struct fw_span {
    const char *p;
    size_t n;
} fw_span;

/* Length of the canonical string starting at s[0] == '"' (quotes included).
 * memchr finds each candidate quote (this runs over every message's text on
 * every verify, so it must not be a byte loop); a quote ends the string
 * unless an odd number of backslashes precede it. */
static size_t fw_string_len(const char *s, size_t max)
{
    size_t i = 1;
    while (i < max) {
        const char *q = memchr(s + i, '"', max - i);
        if (!q)
            return max;
        size_t at = (size_t)(q - s), bs = 0;
        while (at - bs > 1 && s[at - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return at + 1;
        i = at + 1;
    }
    return max;
}

/* Length of the canonical value starting at s[0]. */
static size_t fw_value_len(const char *s, size_t max)
{
    if (!max)
        return 0;
    if (s[0] == '"')
        return fw_string_len(s, max);
    if (s[0] != '{' && s[0] != '[') {
        size_t i = 0;
        while (i < max && s[i] != ',' && s[i] != '}' && s[i] != ']')
            i++;
        return i;
    }
    size_t depth = 0, i = 0;
    while (i < max) {
        char c = s[i];
        if (c == '"') {
            i += fw_string_len(s + i, max - i);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return max;
}

/* Next member of the object text obj (starting at '{'); *pos starts at 1.
 * name excludes the quotes (canonical names of chat messages need no
 * unescaping to be compared with ASCII names); 0 at the end. */
static int fw_member(fw_span obj, size_t *pos, fw_span *name, fw_span *value)
{
    size_t i = *pos;
    if (i >= obj.n || obj.p[i] == '}')
        return 0;
    if (obj.p[i] == ',')
        i++;
    size_t nl = fw_string_len(obj.p + i, obj.n - i);
    name->p = obj.p + i + 1;
    name->n = nl >= 2 ? nl - 2 : 0;
    i += nl + 1; /* the name and ':' */
    if (i > obj.n)
        return 0;
    value->p = obj.p + i;
    value->n = fw_value_len(obj.p + i, obj.n - i);
    *pos = i + value->n;
    return 1;
}

/* The members of a message object: from the parser's spans when it gave
 * them (no walk over the values: a member holding a megabyte of numbers or
 * nested arrays costs nothing here), else by walking the text. */
typedef struct fw_iter {
    fw_span obj;
    size_t pos, i;
    cs_form_members mb;
} fw_iter;

static fw_iter fw_begin(const char *canon, size_t len, cs_form_members mb)
{
    fw_iter it = {{canon, len}, 1, 0, mb};
    return it;
}

static int fw_next(fw_iter *it, fw_span *name, fw_span *value)
{
    const cs_fc_span *s;
    if (!it->mb.sp)
        return fw_member(it->obj, &it->pos, name, value);
    if (it->i >= it->mb.nsp)
        return 0;
    s = &it->mb.sp[it->i++];
    name->p = it->obj.p + s->name_off;
    name->n = s->name_len;
    value->p = it->obj.p + s->value_off;
    value->n = s->value_len;
    return 1;
}

static int fw_is(fw_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* null, "", [] or {}: a member that says nothing (rule 2). */
static int fw_empty(fw_span v)
{
    return v.n <= 4 && (fw_is(v, "null") || fw_is(v, "\"\"") ||
                        fw_is(v, "[]") || fw_is(v, "{}"));
}

static int fw_reasoning(fw_span name)
{
    return fw_is(name, "reasoning_content") || fw_is(name, "reasoning");
}

/* Rule 3: what an assistant message keeps. */
static int fw_assistant_keeps(fw_span name)
{
    static const char *const keep[] = {
        "audio",   "content",   "function_call",
        "name",    "reasoning", "reasoning_content",
        "refusal", "role",      "tool_calls"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (fw_is(name, keep[i]))
            return 1;
    return 0;
}

static int fw_has_calls(fw_span name)
{
    return fw_is(name, "tool_calls") || fw_is(name, "function_call");
}

static int fw_hex(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10; /* canonical hex is lowercase */
}

int cs_canon_string_decode(const char *s, size_t n, char **out, size_t *len)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    *out = o;
    if (!o || n < 2)
        return -1;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 2 < n) {
            c = s[++i];
            switch (c) {
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                if (i + 4 >= n)
                    return -1;
                c = (char)(fw_hex(s[i + 3]) << 4 | fw_hex(s[i + 4]));
                i += 4;
                break;
            default:
                break; /* \" and \\ */
            }
        }
        o[k++] = c;
    }
    o[k] = '\0';
    *len = k;
    return 0;
}

/* Rule 5: the arguments string s (a canonical JSON string value) as the JSON
 * string of the canonical form of the text it holds, when that text is
 * strict JSON; otherwise as it is. */
static void fw_put_arguments(cs_buf *b, fw_span s, size_t max_depth)
{
    char *text = NULL, *canon = NULL;
    size_t tl = 0, cl = 0;
    if (cs_canon_string_decode(s.p, s.n, &text, &tl) == 0 &&
        cs_fc_canonicalize_alloc(text, tl, max_depth, &canon, &cl) ==
            CHATSEAL_OK)
        cs_buf_json_string(b, canon, cl);
    else
        cs_buf_put(b, s.p, s.n);
    free(text);
    free(canon);
}

static void fw_put_object(cs_buf *b, fw_span obj, int level, size_t max_depth);

/* The value of member `name` at `level` (0 message, 1 tool call, 2 its
 * function), with the rules that apply there. */
static void fw_put_value(cs_buf *b, fw_span name, fw_span v, int level,
                         size_t max_depth)
{
    if (level == 0 && fw_is(name, "tool_calls") && v.p[0] == '[') {
        /* each call: rule 2, `index` dropped, function normalized */
        size_t i = 1;
        cs_buf_putc(b, '[');
        while (i < v.n && v.p[i] != ']') {
            if (v.p[i] == ',') {
                cs_buf_putc(b, ',');
                i++;
            }
            fw_span el = {v.p + i, fw_value_len(v.p + i, v.n - i)};
            if (el.n && el.p[0] == '{')
                fw_put_object(b, el, 1, max_depth);
            else
                cs_buf_put(b, el.p, el.n);
            i += el.n ? el.n : 1;
        }
        cs_buf_putc(b, ']');
    } else if (v.p[0] == '{' && ((level == 0 && fw_is(name, "function_call")) ||
                                 (level == 1 && fw_is(name, "function")))) {
        fw_put_object(b, v, 2, max_depth);
    } else if (level == 2 && fw_is(name, "arguments") && v.p[0] == '"') {
        fw_put_arguments(b, v, max_depth);
    } else {
        cs_buf_put(b, v.p, v.n);
    }
}

/* An object with rule 2 (and, for a tool call, no `index`). */
static void fw_put_object(cs_buf *b, fw_span obj, int level, size_t max_depth)
{
    fw_span name, v;
    size_t pos = 1;
    int first = 1;
    cs_buf_putc(b, '{');
    while (fw_member(obj, &pos, &name, &v)) {
        if ((fw_empty(v) && !(level == 0 && fw_is(name, "role"))) ||
            (level == 1 && fw_is(name, "index")))
            continue;
        if (!first)
            cs_buf_putc(b, ',');
        first = 0;
        cs_buf_put(b, name.p - 1, name.n + 3); /* "name": */
        fw_put_value(b, name, v, level, max_depth);
    }
    cs_buf_putc(b, '}');
}

int cs_form_needed(const char *canon, size_t len, int assistant,
                   cs_form_members mb)
{
    fw_iter it = fw_begin(canon, len, mb);
    fw_span name, v;
    if (!len || canon[0] != '{')
        return 0;
    while (fw_next(&it, &name, &v)) {
        /* the common members first: every message has them */
        if (fw_is(name, "role") || (fw_is(name, "content") && !fw_empty(v)))
            continue;
        if ((fw_empty(v) && !fw_is(name, "role")) || fw_reasoning(name) ||
            fw_has_calls(name) || (assistant && !fw_assistant_keeps(name)))
            return 1;
    }
    return 0;
}

chatseal_error cs_form_message(const char *canon, size_t len, int assistant,
                               cs_form_members mb, size_t max_depth,
                               cs_buf *core, cs_buf *full, cs_buf *rsn)
{
    fw_iter it = fw_begin(canon, len, mb);
    fw_span name, v;
    int first_core = 1, first_full = 1, first_rsn = 1;
    cs_buf_putc(core, '{');
    cs_buf_putc(full, '{');
    while (fw_next(&it, &name, &v)) {
        /* the role is what makes a message: never left out, even "" */
        if ((fw_empty(v) && !fw_is(name, "role")) ||
            (assistant && !fw_assistant_keeps(name)))
            continue;
        int reasoning = fw_reasoning(name);
        cs_buf *outs[2] = {reasoning ? rsn : core, full};
        int *firsts[2] = {reasoning ? &first_rsn : &first_core, &first_full};
        if (reasoning && first_rsn)
            cs_buf_putc(rsn, '{');
        for (int k = 0; k < 2; k++) {
            if (!*firsts[k])
                cs_buf_putc(outs[k], ',');
            *firsts[k] = 0;
            cs_buf_put(outs[k], name.p - 1, name.n + 3);
            fw_put_value(outs[k], name, v, 0, max_depth);
        }
    }
    cs_buf_putc(core, '}');
    cs_buf_putc(full, '}');
    if (!first_rsn)
        cs_buf_putc(rsn, '}');
    return core->oom || full->oom || rsn->oom ? CHATSEAL_E_NO_MEMORY
                                              : CHATSEAL_OK;
}
