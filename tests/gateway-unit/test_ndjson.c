/*
 * test_ndjson.c -- the NDJSON line splitter (src/gateway/upstream/ndjson.c)
 * on exact inputs.
 *
 * The splitter reads bytes the model server sends (Ollama's streamed
 * /api/chat), so every framing is pinned here with the exact lines it must
 * give: LF and CRLF ends, a lone CR kept inside its line, empty lines, a
 * UTF-8 character and a line cut at every byte and fed in every pair of
 * pieces (same lines whatever the cut), the size limit (also before the LF
 * arrives), a callback that stops, a cut last line reported as pending and
 * handed over by cs_ndjson_finish.  Each line is recorded as (raw bytes,
 * line) and compared byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"
#include "upstream/ndjson.h"

#define MAXL 16

struct line {
    char raw[256];
    size_t rawlen;
    char text[256];
    size_t len;
};

struct rec {
    struct line l[MAXL];
    size_t n;
    size_t stop_after; /* 0: never stop */
};

static int on_line(void *ctx, const char *raw, size_t rawlen, const char *line,
                   size_t len)
{
    struct rec *r = ctx;
    if (r->n >= MAXL || rawlen >= sizeof r->l[0].raw) {
        cs_test_fail(__FILE__, __LINE__, "line too large for the test");
        return 1;
    }
    CHECK(line[len] == '\0', "line is not NUL-terminated");
    struct line *e = &r->l[r->n++];
    memcpy(e->raw, raw, rawlen);
    e->rawlen = rawlen;
    memcpy(e->text, line, len);
    e->len = len;
    return r->stop_after && r->n >= r->stop_after;
}

/* Feeds text in pieces ending at cuts[] (ascending, then len), each a fresh
 * malloc'd block of exactly its size (ASan sees reads past it); then
 * finish when asked.  Returns the last result; *pending before finish. */
static int feed(struct rec *r, const char *text, size_t len, const size_t *cuts,
                size_t ncuts, size_t max, int finish, size_t *pending)
{
    cs_ndjson p;
    if (cs_ndjson_init(&p, max) != 0)
        abort();
    int rc = 0;
    size_t off = 0;
    for (size_t k = 0; k <= ncuts && rc == 0; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        size_t n = end - off;
        char *piece = malloc(n ? n : 1);
        if (!piece)
            abort();
        memcpy(piece, text + off, n);
        rc = cs_ndjson_feed(&p, piece, n, on_line, r);
        free(piece);
        off = end;
    }
    if (pending)
        *pending = cs_ndjson_pending(&p);
    if (rc == 0 && finish)
        rc = cs_ndjson_finish(&p, on_line, r);
    cs_ndjson_free(&p);
    return rc;
}

static int feed_whole(struct rec *r, const char *text, size_t *pending)
{
    return feed(r, text, strlen(text), NULL, 0, 1024, 0, pending);
}

static void want(const struct rec *r, size_t i, const char *raw,
                 const char *text)
{
    if (i >= r->n) {
        cs_test_fail(__FILE__, __LINE__, "line %zu missing (%zu lines)", i,
                     r->n);
        return;
    }
    const struct line *e = &r->l[i];
    CHECK(e->rawlen == strlen(raw) && !memcmp(e->raw, raw, e->rawlen),
          "line %zu raw %.*s", i, (int)e->rawlen, e->raw);
    CHECK(e->len == strlen(text) && !memcmp(e->text, text, e->len),
          "line %zu text %.*s, want %s", i, (int)e->len, e->text, text);
}

static void test_lf_crlf(void)
{
    struct rec r = {0};
    size_t pending = 9;
    CHECK(feed_whole(&r, "{\"a\":1}\n{\"b\":2}\r\n\n\r\n", &pending) == 0,
          "feed");
    CHECK(r.n == 4, "%zu lines, want 4", r.n);
    want(&r, 0, "{\"a\":1}\n", "{\"a\":1}");
    want(&r, 1, "{\"b\":2}\r\n", "{\"b\":2}");
    want(&r, 2, "\n", "");
    want(&r, 3, "\r\n", "");
    CHECK(pending == 0, "pending %zu", pending);
}

static void test_lone_cr(void)
{
    /* a CR that is not before an LF is a byte of the line; only one CR
     * before the LF goes */
    struct rec r = {0};
    CHECK(feed_whole(&r, "a\rb\nc\r\r\n", NULL) == 0, "feed");
    CHECK(r.n == 2, "%zu lines", r.n);
    want(&r, 0, "a\rb\n", "a\rb");
    want(&r, 1, "c\r\r\n", "c\r");
}

static void test_nul_in_line(void)
{
    struct rec r = {0};
    static const char text[] = "a\0b\n";
    CHECK(feed(&r, text, 4, NULL, 0, 64, 0, NULL) == 0, "feed");
    CHECK(r.n == 1 && r.l[0].len == 3 && !memcmp(r.l[0].text, "a\0b", 3),
          "a NUL inside a line is kept with its length");
}

/* Every cut in two and in three pieces gives the same lines. */
static void test_split_everywhere(void)
{
    /* "é" (2 bytes) and "€" (3 bytes) may be cut in the middle */
    const char *text = "{\"c\":\"h\xc3\xa9\"}\r\n{\"c\":\"\xe2\x82\xac\"}\n"
                       "{\"done\":true}\n";
    size_t len = strlen(text);
    struct rec whole = {0};
    CHECK(feed_whole(&whole, text, NULL) == 0, "feed whole");
    CHECK(whole.n == 3, "%zu lines", whole.n);
    want(&whole, 1, "{\"c\":\"\xe2\x82\xac\"}\n", "{\"c\":\"\xe2\x82\xac\"}");
    for (size_t i = 0; i <= len; i++)
        for (size_t j = i; j <= len; j++) {
            struct rec r = {0};
            size_t cuts[2] = {i, j};
            CHECK(feed(&r, text, len, cuts, 2, 1024, 0, NULL) == 0, "feed");
            CHECK(r.n == whole.n, "cut %zu,%zu: %zu lines", i, j, r.n);
            for (size_t k = 0; k < r.n && k < whole.n; k++)
                CHECK(r.l[k].rawlen == whole.l[k].rawlen &&
                          !memcmp(r.l[k].raw, whole.l[k].raw, r.l[k].rawlen) &&
                          r.l[k].len == whole.l[k].len &&
                          !memcmp(r.l[k].text, whole.l[k].text, r.l[k].len),
                      "cut %zu,%zu: line %zu differs", i, j, k);
        }
}

static void test_limit(void)
{
    cs_ndjson p;
    struct rec r = {0};
    if (cs_ndjson_init(&p, 8) != 0)
        abort();
    CHECK(cs_ndjson_feed(&p, "12345678", 8, on_line, &r) == 0,
          "8 pending bytes are within the limit");
    CHECK(cs_ndjson_pending(&p) == 8, "pending %zu", cs_ndjson_pending(&p));
    CHECK(cs_ndjson_feed(&p, "9", 1, on_line, &r) == -1,
          "9 pending bytes without an LF are over the limit");
    CHECK(r.n == 0, "a line was handed over");
    cs_ndjson_free(&p);

    /* a line over the limit is refused when it arrives whole too */
    if (cs_ndjson_init(&p, 8) != 0)
        abort();
    CHECK(cs_ndjson_feed(&p, "12345678\n", 9, on_line, &r) == -1,
          "9 raw bytes are over a limit of 8");
    CHECK(r.n == 0, "the line was handed over");
    cs_ndjson_free(&p);

    /* complete lines do not add up against the limit */
    if (cs_ndjson_init(&p, 8) != 0)
        abort();
    const char *many = "1234567\n1234567\n1234567\n";
    CHECK(cs_ndjson_feed(&p, many, strlen(many), on_line, &r) == 0,
          "whole lines under the limit each");
    CHECK(r.n == 3, "%zu lines", r.n);
    cs_ndjson_free(&p);
}

static void test_stop(void)
{
    struct rec r = {0};
    r.stop_after = 1;
    CHECK(feed_whole(&r, "1\n2\n", NULL) == -1,
          "a callback that stops makes the feed fail");
    CHECK(r.n == 1, "%zu lines after the stop, want 1", r.n);
}

static void test_pending_finish(void)
{
    struct rec r = {0};
    size_t pending = 0;
    const char *text = "{\"a\":1}\n{\"done\":tr";
    CHECK(feed(&r, text, strlen(text), NULL, 0, 64, 1, &pending) == 0, "feed");
    CHECK(pending == 10, "pending %zu, want the 10 bytes of the cut line",
          pending);
    CHECK(r.n == 2, "%zu lines", r.n);
    want(&r, 1, "{\"done\":tr", "{\"done\":tr");

    /* nothing pending: finish hands nothing over */
    struct rec q = {0};
    CHECK(feed(&q, "x\n", 2, NULL, 0, 64, 1, &pending) == 0 && q.n == 1 &&
              pending == 0,
          "finish after a complete line");
    /* a cut last line ending in CR keeps its CR (no LF came) */
    struct rec c = {0};
    CHECK(feed(&c, "x\r", 2, NULL, 0, 64, 1, NULL) == 0 && c.n == 1 &&
              c.l[0].len == 2,
          "finish keeps a trailing CR");
    /* a freed parser, and one never fed, free cleanly */
    cs_ndjson p;
    memset(&p, 0, sizeof p);
    cs_ndjson_free(&p);
    CHECK(cs_ndjson_pending(&p) == 0, "pending of a freed parser");
}

/* A long line in one-byte pieces: handed over once, whole, when its LF
 * comes. */
static int on_long(void *ctx, const char *raw, size_t rawlen, const char *line,
                   size_t len)
{
    size_t *seen = ctx;
    (void)raw;
    CHECK(line[len] == '\0' && len + 1 == rawlen, "long line %zu/%zu", len,
          rawlen);
    *seen = rawlen;
    return 0;
}

static void test_long_line_bytewise(void)
{
    size_t n = 5000;
    char *text = malloc(n);
    if (!text)
        abort();
    memset(text, 'x', n - 1);
    text[n - 1] = '\n';
    cs_ndjson p;
    if (cs_ndjson_init(&p, n) != 0)
        abort();
    size_t seen = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = cs_ndjson_feed(&p, text + i, 1, on_long, &seen);
        CHECK(i == n - 1 || seen == 0, "handed over early at %zu", i);
    }
    CHECK(rc == 0 && seen == n, "rc %d, line of %zu bytes", rc, seen);
    CHECK(cs_ndjson_pending(&p) == 0, "pending %zu", cs_ndjson_pending(&p));
    cs_ndjson_free(&p);
    free(text);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"lf_crlf", test_lf_crlf},
        {"lone_cr", test_lone_cr},
        {"nul_in_line", test_nul_in_line},
        {"split_everywhere", test_split_everywhere},
        {"limit", test_limit},
        {"stop", test_stop},
        {"pending_finish", test_pending_finish},
        {"long_line_bytewise", test_long_line_bytewise},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
