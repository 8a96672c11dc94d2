/*
 * bench_verify.c -- chatseal's costs next to raw SHA-256 of the same bytes.
 *
 * For each request body given (bench/gen_bodies.py writes them) it measures,
 * in one process and with one method:
 *
 *   sha256   raw SHA-256 of the body bytes through OpenSSL (EVP, one reused
 *            context): the floor, since verification must hash every byte
 *   canon    chatseal_canonicalize_to of the whole body into a null sink
 *   verify   chatseal_conv_parse + chatseal_verify + chatseal_conv_free: the
 *            whole request, parse, canonicalize, chain, compare
 *   sign     chatseal_conv_parse + chatseal_sign (locators on)
 *   extend   chatseal_conv_parse + chatseal_extend with one new assistant
 *            message (H0 -> H1)
 *
 * Method.  The machines we measure on are shared (two cores, other builds
 * running), so a ratio is only meaningful if both of its terms saw the same
 * machine.  Each operation is warmed up for 0.1 s and given a batch size
 * that runs for >= 2 ms; then, RUNS times, one batch of *every* operation
 * runs in turn.  A burst of load therefore hits all operations of a round
 * alike, and the ratio op/SHA-256 is taken per round, then its median over
 * the rounds is reported ("vs_sha256") next to each operation's median and
 * minimum time per call.
 *
 * Time is the CPU time of the process (CLOCK_PROCESS_CPUTIME_ID, user +
 * system, page faults included): with more runnable processes than cores,
 * wall-clock batches mostly measure how long we waited for a core, while
 * CPU time is what a request costs.  The seed benchmarks measure the same
 * way (process.cpuUsage, time.process_time_ns).  The wall-clock median is
 * printed too ("wall_median_ns").  Output: one JSON line per measurement,
 * the schema the seed benchmarks print too; bench/report.py makes the
 * table.
 *
 *   bench_verify [--runs N] [--ops LIST] BODY.json...
 *       LIST: comma-separated subset of sha256,canon,verify,sign,extend
 *       (default: all; handy under perf)
 *   bench_verify --sign BODY.json         prints a token for BODY
 *   bench_verify --rss BODY.json TOKEN    one parse + verify in a fresh
 *       process; peak RSS (getrusage ru_maxrss) before reading the body and
 *       after verifying it, so the constant part is visible
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/evp.h>

#include "chatseal.h"

#define NOW 1767225600
#define NOPS 5
static const char KEYS[] = "bench:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
static const char REPLY[] =
    "{\"role\":\"assistant\",\"content\":\"Certainly. The signed history was "
    "verified before this answer was produced, and this reply extends it.\"}";

static int runs = 31;
static const char *ops = "sha256,canon,verify,sign,extend";

struct body {
    const char *name;
    char *data;
    size_t len;
    size_t nmsg;
    char *token;
};

struct ctx {
    chatseal_keyring *ring;
    chatseal_options opt;
    EVP_MD_CTX *md;
    EVP_MD *sha;
    struct body *b;
    size_t sink_bytes;
};

static double clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static double cpu_ns(void)
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static void die(const char *what, chatseal_error e)
{
    fprintf(stderr, "bench_verify: %s: %s\n", what, chatseal_error_name(e));
    exit(1);
}

/* The whole file in one exact allocation (no realloc copies to inflate the
 * peak RSS). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *p;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        exit(1);
    }
    p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static const char *base_name(const char *path)
{
    static char buf[256];
    const char *s = strrchr(path, '/');
    size_t n;
    s = s ? s + 1 : path;
    n = strlen(s);
    if (n > 5 && strcmp(s + n - 5, ".json") == 0)
        n -= 5;
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

/* ------------------------------------------------------------ the ops -- */

static void op_sha256(struct ctx *c)
{
    unsigned char d[32];
    unsigned dl;
    if (!EVP_DigestInit_ex(c->md, c->sha, NULL) ||
        !EVP_DigestUpdate(c->md, c->b->data, c->b->len) ||
        !EVP_DigestFinal_ex(c->md, d, &dl))
        exit(1);
}

static int count_sink(void *ctx, const char *bytes, size_t len)
{
    (void)bytes;
    ((struct ctx *)ctx)->sink_bytes += len;
    return 0;
}

static void op_canon(struct ctx *c)
{
    chatseal_error e =
        chatseal_canonicalize_to(c->b->data, c->b->len, 0, count_sink, c);
    if (e)
        die("canonicalize", e);
}

static void op_verify(struct ctx *c)
{
    chatseal_conv *conv = NULL;
    chatseal_error e = chatseal_conv_parse(c->b->data, c->b->len, NULL, &conv);
    if (e)
        die("conv_parse", e);
    e = chatseal_verify(c->ring, conv, c->b->token, &c->opt, NULL);
    if (e)
        die("verify", e);
    chatseal_conv_free(conv);
}

static void op_sign(struct ctx *c)
{
    chatseal_conv *conv = NULL;
    char *tok = NULL;
    chatseal_error e = chatseal_conv_parse(c->b->data, c->b->len, NULL, &conv);
    if (e)
        die("conv_parse", e);
    e = chatseal_sign(c->ring, conv, chatseal_conv_count(conv), &c->opt, &tok);
    if (e)
        die("sign", e);
    chatseal_free(tok);
    chatseal_conv_free(conv);
}

static void op_extend(struct ctx *c)
{
    chatseal_conv *conv = NULL;
    char *h1 = NULL;
    chatseal_error e = chatseal_conv_parse(c->b->data, c->b->len, NULL, &conv);
    if (e)
        die("conv_parse", e);
    e = chatseal_extend(c->ring, conv, c->b->token, REPLY, sizeof REPLY - 1,
                        &c->opt, &h1, NULL);
    if (e)
        die("extend", e);
    chatseal_free(h1);
    chatseal_conv_free(conv);
}

static const struct op {
    const char *name;
    void (*fn)(struct ctx *);
} all_ops[NOPS] = {{"sha256", op_sha256},
                   {"canon", op_canon},
                   {"verify", op_verify},
                   {"sign", op_sign},
                   {"extend", op_extend}};

/* --------------------------------------------------------- measuring -- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v (n values) and returns its median. */
static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* 1 if op is one of the comma-separated names in ops */
static int op_wanted(const char *op)
{
    size_t n = strlen(op);
    for (const char *p = ops; *p;) {
        const char *e = strchr(p, ',');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == n && memcmp(p, op, n) == 0)
            return 1;
        p += m + (e != NULL);
    }
    return 0;
}

/* Calls per batch so that one batch of fn runs >= 2 ms (after a 0.1 s
 * warm-up that also fills caches and the allocator's free lists). */
static long batch_size(struct ctx *c, void (*fn)(struct ctx *))
{
    double t0 = now_ns(), per;
    long iters = 0;
    while (now_ns() - t0 < 1e8 || iters < 3) {
        fn(c);
        iters++;
    }
    per = (now_ns() - t0) / (double)iters;
    return (long)(2e6 / per) + 1;
}

/* Every wanted op of all_ops on body c->b, rounds interleaved. */
static void measure_body(struct ctx *c)
{
    long k[NOPS] = {0};
    double *s[NOPS] = {0}, *w[NOPS] = {0};
    double *ratio = calloc((size_t)runs, sizeof(double));
    int on[NOPS], i, r;
    if (!ratio)
        exit(1);
    for (i = 0; i < NOPS; i++) {
        on[i] = op_wanted(all_ops[i].name);
        if (!on[i])
            continue;
        k[i] = batch_size(c, all_ops[i].fn);
        s[i] = calloc((size_t)runs, sizeof(double));
        w[i] = calloc((size_t)runs, sizeof(double));
        if (!s[i] || !w[i])
            exit(1);
    }
    for (r = 0; r < runs; r++)
        for (i = 0; i < NOPS; i++) {
            double t0, c0;
            long j;
            if (!on[i])
                continue;
            t0 = now_ns();
            c0 = cpu_ns();
            for (j = 0; j < k[i]; j++)
                all_ops[i].fn(c);
            s[i][r] = (cpu_ns() - c0) / (double)k[i];
            w[i][r] = (now_ns() - t0) / (double)k[i];
        }
    for (i = 0; i < NOPS; i++) {
        double med, vs = 0;
        if (!on[i])
            continue;
        if (on[0] && i > 0) {
            for (r = 0; r < runs; r++)
                ratio[r] = s[i][r] / s[0][r];
            vs = median_of(ratio, runs);
        }
        med = median_of(s[i], runs);
        printf("{\"impl\":\"chatseal\",\"op\":\"%s\",\"body\":\"%s\","
               "\"bytes\":%zu,\"messages\":%zu,\"median_ns\":%.1f,"
               "\"min_ns\":%.1f,\"wall_median_ns\":%.1f,\"clock\":\"cpu\","
               "\"runs\":%d,\"batch\":%ld",
               all_ops[i].name, c->b->name, c->b->len, c->b->nmsg, med, s[i][0],
               median_of(w[i], runs), runs, k[i]);
        if (vs > 0)
            printf(",\"vs_sha256\":%.3f", vs);
        printf("}\n");
        free(s[i]);
        free(w[i]);
    }
    fflush(stdout);
    free(ratio);
}

static void prepare(struct ctx *c, struct body *b, const char *path)
{
    chatseal_conv *conv = NULL;
    chatseal_error e;
    b->name = strdup(base_name(path));
    b->data = read_file(path, &b->len);
    e = chatseal_conv_parse(b->data, b->len, NULL, &conv);
    if (e)
        die("conv_parse", e);
    b->nmsg = chatseal_conv_count(conv);
    e = chatseal_sign(c->ring, conv, b->nmsg, &c->opt, &b->token);
    if (e)
        die("sign", e);
    chatseal_conv_free(conv);
}

static void setup(struct ctx *c)
{
    chatseal_error e;
    memset(c, 0, sizeof *c);
    e = chatseal_keyring_parse(KEYS, sizeof KEYS - 1, &c->ring);
    if (e)
        die("keyring", e);
    c->opt = (chatseal_options)CHATSEAL_OPTIONS_INIT;
    c->opt.now = NOW;
    c->md = EVP_MD_CTX_new();
    c->sha = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!c->md || !c->sha)
        exit(1);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* --sign BODY: prints the token (for --rss, so that the measured process
 * does nothing but verify). */
static int sign_mode(const char *path)
{
    struct ctx c;
    struct body b = {0};
    setup(&c);
    prepare(&c, &b, path);
    printf("%s\n", b.token);
    return 0;
}

/*
 * --rss BODY TOKEN: one verify in this process.  The peak RSS (getrusage
 * ru_maxrss) is read after a warm-up verify of a tiny body (libraries and
 * OpenSSL providers loaded: the constant part) and again after reading BODY
 * and verifying it: the difference is what the body costs, the body's own
 * bytes included.
 */
static int rss_mode(const char *path, const char *token)
{
    static const char tiny[] = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    struct ctx c;
    chatseal_conv *conv = NULL;
    chatseal_error e;
    char *tok = NULL, *data;
    size_t len, n;
    long base, peak;
    setup(&c);
    e = chatseal_conv_parse(tiny, sizeof tiny - 1, NULL, &conv);
    if (!e)
        e = chatseal_sign(c.ring, conv, 1, &c.opt, &tok);
    if (!e)
        e = chatseal_verify(c.ring, conv, tok, &c.opt, NULL);
    if (e)
        die("warm-up", e);
    chatseal_conv_free(conv);
    chatseal_free(tok);
    base = maxrss_kb();
    data = read_file(path, &len);
    e = chatseal_conv_parse(data, len, NULL, &conv);
    if (e)
        die("conv_parse", e);
    e = chatseal_verify(c.ring, conv, token, &c.opt, NULL);
    if (e)
        die("verify", e);
    n = chatseal_conv_count(conv);
    chatseal_conv_free(conv);
    peak = maxrss_kb();
    printf("{\"impl\":\"chatseal\",\"op\":\"rss\",\"body\":\"%s\","
           "\"bytes\":%zu,\"messages\":%zu,\"base_kb\":%ld,\"peak_kb\":%ld,"
           "\"body_kb\":%.1f,\"extra_over_body\":%.2f}\n",
           base_name(path), len, n, base, peak, (double)len / 1024,
           (double)(peak - base) * 1024 / (double)len);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    struct ctx c;
    int i;
    if (argc >= 4 && strcmp(argv[1], "--rss") == 0)
        return rss_mode(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "--sign") == 0)
        return sign_mode(argv[2]);
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--runs") == 0) {
            runs = (int)strtol(argv[i + 1], NULL, 10);
            if (runs < 1)
                runs = 1;
        } else if (strcmp(argv[i], "--ops") == 0) {
            ops = argv[i + 1];
        } else {
            break;
        }
    }
    if (i >= argc) {
        fprintf(stderr,
                "usage: bench_verify [--runs N] [--ops LIST] BODY.json...\n"
                "       bench_verify --sign BODY.json\n"
                "       bench_verify --rss BODY.json TOKEN\n");
        return 2;
    }
    setup(&c);
    for (; i < argc; i++) {
        struct body b = {0};
        prepare(&c, &b, argv[i]);
        c.b = &b;
        measure_body(&c);
        free(b.data);
        chatseal_free(b.token);
        free((char *)b.name);
    }
    chatseal_keyring_free(c.ring);
    EVP_MD_free(c.sha);
    EVP_MD_CTX_free(c.md);
    return 0;
}
