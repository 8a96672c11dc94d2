/*
 * bench_classes.c -- the CPU rule of issue 10: no request body costs more
 * than 3x the CPU of an ordinary-text body of the same size.
 *
 * For each size (default 1 MB and 8 MB) it generates, in memory and from a
 * fixed seed, one conversation body per input class, each as close to the
 * size as the class allows:
 *
 *   text      ordinary chat messages, ~1 KB of plain words each (the yardstick)
 *   numbers   messages carrying arrays of 17-digit doubles (the number printer)
 *   escapes   content of \n, \t, \u00XX and \" escapes (the string decoder)
 *   surrogate content of \ud83d\ude00 escapes and raw 4-byte UTF-8
 *   keys      messages with a 4000-member object whose names share a long
 *             prefix and come unsorted (the member sort and its compares)
 *   bigobject one object holding every member of the body (the sort at its
 *             largest n)
 *   keyspine  one object whose names are ever longer repetitions of one
 *             8-byte block (the byte-wise member sort's worst case)
 *   deep      arrays nested to the depth limit (64), over and over
 *   deepobj   the same depth in objects of one member: {"a":{"a":...}}
 *   tiny      as many messages as the default limit allows (10000), each
 *             as small as the size then allows
 *
 * and signs each once.  The operation timed is what a server pays per
 * request: chatseal_conv_parse + chatseal_verify + chatseal_conv_free.
 * Method (as bench_verify.c): CPU time of the process
 * (CLOCK_PROCESS_CPUTIME_ID); RUNS rounds, each timing one batch of every
 * class in turn, so a burst of load from other processes hits all classes of
 * a round alike; a class's ratio to text is taken per round and its median
 * printed next to the median time per call.
 *
 *   bench_classes [--runs N] [--sizes MB,MB...]    (default 7, 1,8)
 *   bench_classes --profile CLASS [--sizes MB]   verifies one body
 *                                    300 / MB times, for perf record
 *
 * The faults column is the mean of minor page faults per call (fresh pages
 * of memory), which a virtual machine makes expensive.
 *
 * Exit status 1 when some class is above 3x text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "chatseal.h"

#define NOW 1767225600
#define LIMIT 3.0
static const char KEYS[] = "bench:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";

struct body {
    char *p;
    size_t n, cap;
};

static void put(struct body *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "bench_classes: out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(struct body *b, const char *s)
{
    put(b, s, strlen(s));
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const words[] = {
    "the",   "model", "answered", "question", "about", "weather",
    "in",    "Paris", "and",      "then",     "asked", "for",
    "more",  "data",  "history",  "signed",   "token", "verify",
    "tool,", "call.", "result",   "shows",    "42",    "items"};

/* One message opening: {"role":"user","content":" */
static void open_msg(struct body *b, size_t i)
{
    puts_(b, i ? ",{\"role\":\"" : "{\"role\":\"");
    puts_(b, i % 2 ? "assistant" : "user");
    puts_(b, "\",\"content\":\"");
}

typedef void (*gen_fn)(struct body *b, size_t target, uint64_t *s);

static void gen_text(struct body *b, size_t target, uint64_t *s)
{
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        while (b->n - start < 1000) {
            puts_(b, words[rnd(s) % (sizeof words / sizeof *words)]);
            puts_(b, " ");
        }
        puts_(b, "\"}");
    }
}

static void gen_numbers(struct body *b, size_t target, uint64_t *s)
{
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        puts_(b, "n\",\"data\":[");
        for (int k = 0; b->n - start < 1000; k++) {
            char num[40];
            uint64_t r = rnd(s);
            /* 17 significant digits, exponents all over the range */
            int len =
                snprintf(num, sizeof num, "%s%d.%016llue%d", k ? "," : "",
                         (int)(r % 9) + 1,
                         (unsigned long long)(rnd(s) % 10000000000000000ull),
                         (int)((r >> 8) % 600) - 300);
            put(b, num, (size_t)len);
        }
        puts_(b, "]}");
    }
}

static void gen_escapes(struct body *b, size_t target, uint64_t *s)
{
    static const char *const esc[] = {"\\n",     "\\t",     "\\\"",    "\\\\",
                                      "\\u0001", "\\u001f", "\\u00e9", "\\/"};
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        while (b->n - start < 1000)
            puts_(b, esc[rnd(s) % 8]);
        puts_(b, "\"}");
    }
}

static void gen_surrogates(struct body *b, size_t target, uint64_t *s)
{
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        while (b->n - start < 1000)
            puts_(b, rnd(s) & 1 ? "\\ud83d\\ude00" : "\xf0\x9f\x98\x80");
        puts_(b, "\"}");
    }
}

/* name i of an object: a 40-byte shared prefix, then a scrambled number,
 * so the members arrive unsorted and every compare reads 40+ bytes */
static void member(struct body *b, size_t i, int first)
{
    char name[96];
    int len = snprintf(name, sizeof name,
                       "%s\"conversation_metadata_attribute_name_%08llx\":1",
                       first ? "" : ",",
                       (unsigned long long)((i * 2654435761u) & 0xffffffffu));
    put(b, name, (size_t)len);
}

static void gen_keys(struct body *b, size_t target, uint64_t *s)
{
    (void)s;
    for (size_t i = 0; b->n + 4000 * 52 + 200 < target; i++) {
        open_msg(b, i);
        puts_(b, "k\",\"meta\":{");
        for (size_t k = 0; k < 4000; k++)
            member(b, i * 4000 + k, k == 0);
        puts_(b, "}}");
    }
}

static void gen_bigobject(struct body *b, size_t target, uint64_t *s)
{
    (void)s;
    open_msg(b, 0);
    puts_(b, "k\",\"meta\":{");
    for (size_t k = 0; b->n + 100 < target; k++)
        member(b, k, k == 0);
    puts_(b, "}}");
}

/* names that are ever longer repetitions of one 8-byte block, shuffled:
 * each step of a sort by name bytes can tell only one of them from the
 * rest (the worst case of jobject.c's radix sort; sum of lengths ~ size) */
static void gen_spine(struct body *b, size_t target, uint64_t *s)
{
    size_t n = 1, i;
    size_t *order;
    while (8 * (n + 1) * (n + 2) / 2 + 12 * (n + 1) + 200 < target)
        n++;
    order = malloc(n * sizeof *order);
    if (!order)
        exit(1);
    for (i = 0; i < n; i++)
        order[i] = i;
    for (i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rnd(s) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    open_msg(b, 0);
    puts_(b, "k\",\"meta\":{");
    for (i = 0; i < n; i++) {
        puts_(b, i ? ",\"k" : "\"k");
        for (size_t k = 0; k < order[i]; k++)
            puts_(b, "abcdefgh");
        puts_(b, "z\":1");
    }
    puts_(b, "}}");
    free(order);
}

static void gen_deep(struct body *b, size_t target, uint64_t *s)
{
    (void)s;
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        puts_(b, "d\",\"x\":[");
        while (b->n - start < 1000) {
            /* root, messages, message, "x": 4 levels; 60 more */
            for (int d = 0; d < 60; d++)
                puts_(b, "[");
            puts_(b, "1");
            for (int d = 0; d < 60; d++)
                puts_(b, "]");
            puts_(b, ",");
        }
        puts_(b, "0]}");
    }
}

/* the same depth in objects of one member each: {"a":{"a":...1}} */
static void gen_deepobj(struct body *b, size_t target, uint64_t *s)
{
    (void)s;
    for (size_t i = 0; b->n + 1100 < target; i++) {
        size_t start = b->n;
        open_msg(b, i);
        puts_(b, "d\",\"x\":[");
        while (b->n - start < 1000) {
            for (int d = 0; d < 60; d++)
                puts_(b, "{\"a\":");
            puts_(b, "1");
            for (int d = 0; d < 60; d++)
                puts_(b, "}");
            puts_(b, ",");
        }
        puts_(b, "0]}");
    }
}

static void gen_tiny(struct body *b, size_t target, uint64_t *s)
{
    size_t nmsg = CHATSEAL_MAX_MESSAGES_DEFAULT;
    size_t per = (target - b->n) / nmsg;
    for (size_t i = 0; i < nmsg; i++) {
        size_t start = b->n;
        open_msg(b, i);
        while (b->n - start + 2 < per)
            puts_(b, &"abcdefgh"[rnd(s) % 8]);
        puts_(b, "\"}");
    }
}

static const struct cls {
    const char *name;
    gen_fn gen;
} classes[] = {{"text", gen_text},       {"numbers", gen_numbers},
               {"escapes", gen_escapes}, {"surrogate", gen_surrogates},
               {"keys", gen_keys},       {"bigobject", gen_bigobject},
               {"deep", gen_deep},       {"tiny", gen_tiny},
               {"keyspine", gen_spine},  {"deepobj", gen_deepobj}};
#define NCLS (sizeof classes / sizeof *classes)

struct job {
    struct body b;
    char *token;
    size_t nmsg;
};

static chatseal_keyring *ring;
static chatseal_options opt;

static void die(const char *what, chatseal_error e)
{
    fprintf(stderr, "bench_classes: %s: %s\n", what, chatseal_error_name(e));
    exit(1);
}

static void make(struct job *j, const struct cls *c, size_t target)
{
    chatseal_conv *conv = NULL;
    chatseal_error e;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    memset(j, 0, sizeof *j);
    puts_(&j->b, "{\"model\":\"bench\",\"messages\":[");
    c->gen(&j->b, target - 2, &seed);
    puts_(&j->b, "]}");
    e = chatseal_conv_parse(j->b.p, j->b.n, NULL, &conv);
    if (e)
        die(c->name, e);
    j->nmsg = chatseal_conv_count(conv);
    e = chatseal_sign(ring, conv, j->nmsg, &opt, &j->token);
    if (e)
        die("sign", e);
    chatseal_conv_free(conv);
}

static void verify_once(const struct job *j)
{
    chatseal_conv *conv = NULL;
    chatseal_error e = chatseal_conv_parse(j->b.p, j->b.n, NULL, &conv);
    if (e)
        die("conv_parse", e);
    e = chatseal_verify(ring, conv, j->token, &opt, NULL);
    if (e)
        die("verify", e);
    chatseal_conv_free(conv);
}

/* minor page faults so far (a fresh page of memory each: on a
 * virtual machine they can cost more than the parse itself) */
static double faults(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_minflt;
}

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Times every class at one size; returns the number of classes over. */
static int run_size(size_t mb, int runs)
{
    struct job jobs[NCLS];
    long batch[NCLS];
    double t[NCLS][64], ratio[64], flt[NCLS] = {0};
    int over = 0;
    for (size_t c = 0; c < NCLS; c++) {
        double c0;
        make(&jobs[c], &classes[c], mb << 20);
        verify_once(&jobs[c]); /* warm-up */
        c0 = cpu_ns();
        verify_once(&jobs[c]);
        /* >= 20 ms per batch */
        batch[c] = (long)(2e7 / (cpu_ns() - c0 + 1)) + 1;
    }
    for (int r = 0; r < runs; r++)
        for (size_t c = 0; c < NCLS; c++) {
            double c0 = cpu_ns(), f0 = faults();
            for (long k = 0; k < batch[c]; k++)
                verify_once(&jobs[c]);
            t[c][r] = (cpu_ns() - c0) / (double)batch[c];
            flt[c] += (faults() - f0) / (double)batch[c] / runs;
        }
    printf("%-10s %9s %7s %11s %8s %8s\n", "class", "bytes", "msgs",
           "median_ms", "x_text", "faults");
    for (size_t c = 0; c < NCLS; c++) {
        double m, rr;
        for (int r = 0; r < runs; r++)
            ratio[r] = t[c][r] / t[0][r];
        rr = median(ratio, runs);
        m = median(t[c], runs);
        printf("%-10s %9zu %7zu %11.3f %8.2f %8.0f%s\n", classes[c].name,
               jobs[c].b.n, jobs[c].nmsg, m / 1e6, rr, flt[c],
               rr > LIMIT ? "  OVER" : "");
        over += rr > LIMIT;
        free(jobs[c].b.p);
        chatseal_free(jobs[c].token);
    }
    printf("\n");
    return over;
}

/* --profile CLASS: that class's body (the first of --sizes, 1 MB by
 * default) verified 300 / MB times, nothing printed (for perf record) */
static int profile(const char *name, size_t mb)
{
    for (size_t c = 0; c < NCLS; c++) {
        struct job j;
        if (strcmp(classes[c].name, name) != 0)
            continue;
        make(&j, &classes[c], mb << 20);
        for (size_t k = 0; k < 300 / mb + 1; k++)
            verify_once(&j);
        free(j.b.p);
        chatseal_free(j.token);
        return 0;
    }
    fprintf(stderr, "bench_classes: no class %s\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    int runs = 7, over = 0;
    const char *sizes = "1,8";
    const char *only = NULL;
    chatseal_error e;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sizes") && i + 1 < argc)
            sizes = argv[++i];
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: bench_classes [--runs N] [--sizes MB,...] "
                            "[--profile CLASS]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 64)
        runs = 7;
    e = chatseal_keyring_parse(KEYS, sizeof KEYS - 1, &ring);
    if (e)
        die("keyring", e);
    opt = (chatseal_options)CHATSEAL_OPTIONS_INIT;
    opt.now = NOW;
    if (only) {
        int rc = profile(
            only, strtoul(sizes, NULL, 10) ? strtoul(sizes, NULL, 10) : 1);
        chatseal_keyring_free(ring);
        return rc;
    }
    for (const char *p = sizes; *p;) {
        char *end;
        unsigned long mb = strtoul(p, &end, 10);
        if (end == p || mb == 0 || mb > 64) {
            fprintf(stderr, "bench_classes: bad --sizes\n");
            return 2;
        }
        printf("body size %lu MB: parse + verify, CPU time, median of %d "
               "rounds\n",
               mb, runs);
        over += run_size(mb, runs);
        p = *end == ',' ? end + 1 : end;
    }
    chatseal_keyring_free(ring);
    return over ? 1 : 0;
}
