/*
 * test_jspan.c -- the JSON span scanner (src/gateway/api/jspan.c), which
 * cuts values out of canonical JSON text byte for byte (the assistant
 * message chat.c signs, the "state"/"message" values of sidecar.c).
 *
 * Its callers hand it text that passed the strict parser, but the scanner
 * itself must never read outside the span it is given, whatever the bytes:
 * every input here is copied into a malloc'd block of exactly its length
 * (no NUL after it), so ASan reports any read past the end.  Lookups return
 * the exact bytes of the value; truncated or malformed structure gives -1.
 * (It does not validate what lies inside a number or literal, "1;x" is one
 * token to it, and it stops at the member it looks for: both are fine for
 * text the strict parser accepted, and both are pinned below.)
 */
#include <stdlib.h>
#include <string.h>

#include "api/jspan.h"
#include "tu.h"

/* An exact-size copy of text (no terminator). */
static cs_span span(const char *text)
{
    size_t n = strlen(text);
    char *p = malloc(n ? n : 1);
    if (!p)
        abort();
    memcpy(p, text, n);
    return (cs_span){p, n};
}

static void unspan(cs_span s)
{
    free((void *)s.p);
}

static int span_is(cs_span v, const char *want)
{
    return v.n == strlen(want) && !memcmp(v.p, want, v.n);
}

static void check_member(int line, const char *obj, const char *name, int rc,
                         const char *want)
{
    cs_span o = span(obj), v = {NULL, 0};
    int got = cs_json_member(o, name, &v);
    if (got != rc)
        cs_test_fail(__FILE__, line, "member %s of %s: %d, want %d", name, obj,
                     got, rc);
    else if (rc == 1 && !span_is(v, want))
        cs_test_fail(__FILE__, line, "member %s of %s: \"%.*s\", want \"%s\"",
                     name, obj, (int)v.n, v.p, want);
    unspan(o);
}

static void check_element(int line, const char *arr, size_t idx, int rc,
                          const char *want)
{
    cs_span a = span(arr), v = {NULL, 0};
    int got = cs_json_element(a, idx, &v);
    if (got != rc)
        cs_test_fail(__FILE__, line, "element %zu of %s: %d, want %d", idx, arr,
                     got, rc);
    else if (rc == 1 && !span_is(v, want))
        cs_test_fail(__FILE__, line, "element %zu of %s: \"%.*s\", want \"%s\"",
                     idx, arr, (int)v.n, v.p, want);
    unspan(a);
}

static void test_members(void)
{
    const char *o = "{\"a\":1,\"b\":\"x,}]\\\"\",\"c\":{\"d\":[1,{\"e\":2}]},"
                    "\"e\":null,\"f\":-1.5e3,\"g\":true,\"h\":[]}";
    check_member(__LINE__, o, "a", 1, "1");
    check_member(__LINE__, o, "b", 1, "\"x,}]\\\"\"");
    check_member(__LINE__, o, "c", 1, "{\"d\":[1,{\"e\":2}]}");
    check_member(__LINE__, o, "e", 1, "null"); /* not the nested "e" */
    check_member(__LINE__, o, "f", 1, "-1.5e3");
    check_member(__LINE__, o, "g", 1, "true");
    check_member(__LINE__, o, "h", 1, "[]");
    check_member(__LINE__, o, "d", 0, NULL); /* only at depth 1 */
    check_member(__LINE__, o, "", 0, NULL);
    check_member(__LINE__, "{}", "a", 0, NULL);
    check_member(__LINE__, " { } ", "a", 0, NULL);
    check_member(__LINE__, "{ \"a\" : [ 1 , 2 ] , \"b\" : 3 }", "a", 1,
                 "[ 1 , 2 ]");
    check_member(__LINE__, "{ \"a\" : [ 1 , 2 ] , \"b\" : 3 }", "b", 1, "3");
    /* names are raw bytes between the quotes */
    check_member(__LINE__, "{\"a\\\"b\":1,\"ab\":2}", "ab", 1, "2");
    check_member(__LINE__, "{\"\":5}", "", 1, "5");
}

static void test_next_member(void)
{
    cs_span o = span("{\"k\":\"v\",\"n\":[1]}");
    size_t pos = 0;
    cs_span k, v;
    CHECK(cs_json_next_member(o.p, o.n, &pos, &k, &v) == 1, "first");
    CHECK(span_is(k, "k") && span_is(v, "\"v\""), "first member");
    CHECK(cs_json_next_member(o.p, o.n, &pos, &k, &v) == 1, "second");
    CHECK(span_is(k, "n") && span_is(v, "[1]"), "second member");
    CHECK(cs_json_next_member(o.p, o.n, &pos, &k, &v) == 0, "end");
    CHECK(cs_json_next_member(o.p, o.n, &pos, &k, &v) == 0, "still the end");
    unspan(o);
}

static void test_elements(void)
{
    const char *a = "[\"x]\",{\"a\":[2]},3,[[]],null]";
    check_element(__LINE__, a, 0, 1, "\"x]\"");
    check_element(__LINE__, a, 1, 1, "{\"a\":[2]}");
    check_element(__LINE__, a, 2, 1, "3");
    check_element(__LINE__, a, 3, 1, "[[]]");
    check_element(__LINE__, a, 4, 1, "null");
    check_element(__LINE__, a, 5, 0, NULL);
    check_element(__LINE__, "[]", 0, 0, NULL);
    check_element(__LINE__, " [ 1 , 2 ] ", 1, 1, "2");
    check_element(__LINE__, "{\"a\":1}", 0, -1, NULL);
    check_element(__LINE__, "", 0, -1, NULL);
}

static void test_skip(void)
{
    cs_span s = span("  {\"a\":\"}\"} ,x");
    size_t pos = 0;
    CHECK(cs_json_skip(s.p, s.n, &pos) == 0 && pos == 11, "skip object: %zu",
          pos);
    unspan(s);
    s = span("\"a\\\\\"x");
    pos = 0;
    CHECK(cs_json_skip(s.p, s.n, &pos) == 0 && pos == 5,
          "an escaped backslash ends before the quote: %zu", pos);
    unspan(s);
    s = span("123");
    pos = 0;
    CHECK(cs_json_skip(s.p, s.n, &pos) == 0 && pos == 3, "number to the end");
    unspan(s);
    s = span("   ");
    pos = 0;
    CHECK(cs_json_skip(s.p, s.n, &pos) == -1, "nothing to skip");
    unspan(s);
}

/* Truncated and malformed text: -1, and never a read outside the span. */
static void test_malformed(void)
{
    static const char *const objs[] = {
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,",
        "{\"a\":\"x",
        "{\"a\":\"x\\",
        "{\"a\" 1}",
        "{a:1}",
        "[1]",
        "\"x\"",
        "{\"a\":[1,2",
        "{\"a\":{\"b\":}",
        "{\"a\":]",
        "",
    };
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        check_member(__LINE__, objs[i], "b", -1, NULL);
    static const char *const arrs[] = {
        "[", "[1", "[1,", "[\"x", "[\"x\\", "[{", "[{\"a\":[}", "[,",
    };
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++)
        check_element(__LINE__, arrs[i], 9, -1, NULL);
    /* not validated: the bytes of a number, and what follows the member
     * looked up */
    check_member(__LINE__, "{\"a\":1;\"b\":2}", "a", 1, "1;\"b\":2");
    check_member(__LINE__, "{\"a\":1,\"b\":", "a", 1, "1");
    /* every prefix of a valid text: no crash, no read past its end, and a
     * found value lies inside the prefix */
    const char *full = "{\"m\":{\"role\":\"assistant\",\"content\":\"a\\\"b\","
                       "\"tool_calls\":[{\"id\":\"c\",\"n\":[1,2.5,-3]}]},"
                       "\"z\":true}";
    size_t n = strlen(full);
    for (size_t k = 0; k < n; k++) {
        char *p = malloc(k ? k : 1);
        if (!p)
            abort();
        memcpy(p, full, k);
        cs_span o = {p, k}, v = {NULL, 0};
        int rc = cs_json_member(o, "z", &v);
        /* z's value starts at n - 5: before that it cannot be found */
        CHECK(k > n - 5 ? rc == 1 && v.p == p + n - 5 && v.n == k - (n - 5)
                        : rc == -1,
              "prefix %zu: member z %d", k, rc);
        rc = cs_json_member(o, "m", &v);
        CHECK(rc != 1 || (v.p >= p && v.p + v.n <= p + k),
              "prefix %zu: span outside the input", k);
        free(p);
    }
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"members", test_members},     {"next_member", test_next_member},
        {"elements", test_elements},   {"skip", test_skip},
        {"malformed", test_malformed},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
