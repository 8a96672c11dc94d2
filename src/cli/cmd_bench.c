/*
 * cmd_bench.c -- `chatseal bench`: how fast signing and verifying are,
 * measured against the raw SHA-256 of the same bytes.
 *
 * The yardstick matters more than the absolute numbers: verifying a request
 * has to read, parse, canonicalize and hash every message, so it can never
 * beat one SHA-256 pass over the body; the ratio verify/SHA-256 says how much
 * the parsing and canonicalization cost on top.  The body is generated in
 * memory (an OpenAI chat request, mixed roles, ~1 KB per message, with
 * non-ASCII text and escapes so canonicalization has real work to do) from a
 * fixed seed, so runs are comparable.  The key is an ephemeral one: the bench
 * never needs or touches the user's keys.
 *
 * Method (the same as bench/bench_verify.c): after a warm-up, each
 * measurement gets a batch size that runs for >= 1 ms, so that the clock's
 * own cost and resolution do not matter; then each round runs one batch of
 * *every* measurement in turn.  A burst of load from other processes thus
 * hits all of them alike, and the ratios to SHA-256 are taken per round
 * before their median is printed.  Every figure is the median over the
 * rounds, timed with CLOCK_MONOTONIC.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cli.h"

#define BENCH_DEFAULT_MESSAGES 200
#define BENCH_DEFAULT_ROUNDS 50
#define BENCH_CONTENT_BYTES 1000

/* xorshift64: a fixed, portable word sequence (not for anything secret) */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *const words[] = {
    "the",     "model",     "signed",     "history",
    "token",   "caf\u00e9", "na\u00efve", "\u6f22\u5b57",
    "weather", "is",        "sunny",      "\\\"quoted\\\"",
    "line\\n", "tool",      "result",     "42",
    "1e3",     "\u2603",
};

/* One OpenAI-style request body with n messages, written through a stdio
 * memory stream (the CLI sees only the public header, so it has no buffer
 * type of its own to keep). */
static char *make_body(size_t n, size_t *len)
{
    static const char *const roles[] = {"user", "assistant", "user",
                                        "assistant", "tool"};
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char *p = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&p, &size);
    int bad;

    if (!f)
        return NULL;
    fputs("{\"model\":\"chatseal-bench\",\"temperature\":0.7,"
          "\"messages\":[",
          f);
    for (size_t i = 0; i < n; i++) {
        const char *role = i == 0 ? "system" : roles[(i - 1) % 5];
        long start;
        fprintf(f, "%s{\"role\":\"%s\",", i ? "," : "", role);
        if (strcmp(role, "tool") == 0)
            fprintf(f, "\"tool_call_id\":\"call_%zu\",", i);
        fputs("\"content\":\"", f);
        start = ftell(f);
        while (ftell(f) - start < BENCH_CONTENT_BYTES) {
            fputs(words[next_rand(&seed) % (sizeof words / sizeof words[0])],
                  f);
            fputc(' ', f);
        }
        fputs("\"}", f);
    }
    fputs("]}", f);
    bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(p);
        return NULL;
    }
    *len = size;
    return p;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { T_SHA, T_PARSE_VERIFY, T_PARSE_SIGN, T_VERIFY, T_SIGN, T_COUNT };

static const char *const row_names[T_COUNT] = {
    "sha256 (raw body)", "parse + verify", "parse + sign",
    "verify (pre-parsed)", "sign (pre-parsed)"};
static const char *const row_keys[T_COUNT] = {"sha256", "parse_verify",
                                              "parse_sign", "verify", "sign"};

struct bench_ctx {
    const chatseal_keyring *ring;
    const char *body;
    size_t len;
    chatseal_conv *conv; /* parsed once, for the pre-parsed rows */
    const char *token;
};

/* One call of test t; *err is set on failure. */
static void run_one(const struct bench_ctx *c, int t, chatseal_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    chatseal_conv *conv = NULL;
    char *tok = NULL;

    *err = CHATSEAL_OK;
    switch (t) {
    case T_SHA:
        if (EVP_Digest(c->body, c->len, md, NULL, EVP_sha256(), NULL) != 1)
            *err = CHATSEAL_E_CRYPTO;
        break;
    case T_PARSE_VERIFY:
        *err = chatseal_conv_parse(c->body, c->len, NULL, &conv);
        if (*err == CHATSEAL_OK)
            *err = chatseal_verify(c->ring, conv, c->token, NULL, NULL);
        break;
    case T_PARSE_SIGN:
        *err = chatseal_conv_parse(c->body, c->len, NULL, &conv);
        if (*err == CHATSEAL_OK)
            *err = chatseal_sign(c->ring, conv, chatseal_conv_count(conv), NULL,
                                 &tok);
        break;
    case T_VERIFY:
        *err = chatseal_verify(c->ring, c->conv, c->token, NULL, NULL);
        break;
    case T_SIGN:
        *err = chatseal_sign(c->ring, c->conv, chatseal_conv_count(c->conv),
                             NULL, &tok);
        break;
    }
    chatseal_free(tok);
    chatseal_conv_free(conv);
}

/* k calls of test t; returns microseconds per call. */
static double run_batch(const struct bench_ctx *c, int t, size_t k,
                        chatseal_error *err)
{
    double t0 = now_us();
    *err = CHATSEAL_OK;
    for (size_t i = 0; i < k && *err == CHATSEAL_OK; i++)
        run_one(c, t, err);
    return (now_us() - t0) / (double)k;
}

/* Calls of test t per batch so that a batch runs >= 1 ms, after a warm-up
 * of >= 20 ms (caches, the allocator's free lists, OpenSSL's lazy init). */
static size_t batch_size(const struct bench_ctx *c, int t, chatseal_error *err)
{
    double t0 = now_us(), per;
    size_t n = 0;
    *err = CHATSEAL_OK;
    while ((now_us() - t0 < 2e4 || n < 2) && *err == CHATSEAL_OK) {
        run_one(c, t, err);
        n++;
    }
    per = (now_us() - t0) / (double)n;
    return per >= 1000 ? 1 : (size_t)(1000 / per) + 1;
}

static int print_results(const struct cs_args *a, size_t messages, size_t bytes,
                         size_t rounds, const double med[T_COUNT], double ratio,
                         double sign_ratio)
{
    if (a->json) {
        printf("{\"messages\":%zu,\"bytes\":%zu,\"rounds\":%zu", messages,
               bytes, rounds);
        for (int t = 0; t < T_COUNT; t++)
            printf(",\"%s_us\":%.3f,\"%s_mbps\":%.3f", row_keys[t], med[t],
                   row_keys[t], med[t] > 0 ? (double)bytes / med[t] : 0);
        printf(",\"verify_vs_sha256\":%.3f,\"sign_vs_sha256\":%.3f}\n", ratio,
               sign_ratio);
        return cs_write_out(NULL, 0);
    }
    printf("chatseal bench: %zu messages, %zu bytes of request body, "
           "median of %zu rounds\n",
           messages, bytes, rounds);
    printf("  %-22s %12s %12s\n", "", "time (us)", "MB/s");
    for (int t = 0; t < T_COUNT; t++)
        printf("  %-22s %12.1f %12.1f\n", row_names[t], med[t],
               med[t] > 0 ? (double)bytes / med[t] : 0);
    printf("  verify / sha256: %.2fx (parse + verify time over raw SHA-256 "
           "time)\n",
           ratio);
    printf("  sign / sha256:   %.2fx (parse + sign time over raw SHA-256 "
           "time)\n",
           sign_ratio);
    return cs_write_out(NULL, 0);
}

int cs_cmd_bench(const struct cs_command *cmd, struct cs_args *a)
{
    size_t messages = a->messages ? a->messages : BENCH_DEFAULT_MESSAGES;
    size_t rounds = a->rounds ? a->rounds : BENCH_DEFAULT_ROUNDS;
    struct bench_ctx c = {0};
    chatseal_keyring *ring = NULL;
    chatseal_conv *conv = NULL;
    char *body = NULL, *token = NULL;
    double *samples = NULL, med[T_COUNT], ratio, sign_ratio;
    size_t batch[T_COUNT];
    size_t len = 0;
    chatseal_error err;
    int rc = 0;

    (void)cmd;
    body = make_body(messages, &len);
    samples = calloc(rounds * (T_COUNT + 2), sizeof *samples);
    if (!body || !samples) {
        rc = cs_fail(CHATSEAL_E_NO_MEMORY, "cannot build the bench body");
        goto out;
    }
    err = chatseal_keyring_ephemeral(&ring);
    if (err == CHATSEAL_OK)
        err = chatseal_conv_parse(body, len, NULL, &conv);
    if (err == CHATSEAL_OK)
        err =
            chatseal_sign(ring, conv, chatseal_conv_count(conv), NULL, &token);
    if (err != CHATSEAL_OK) {
        rc = cs_fail(err, "bench setup: %s", chatseal_strerror(err));
        goto out;
    }
    c.ring = ring;
    c.body = body;
    c.len = len;
    c.conv = conv;
    c.token = token;
    /* samples + t * rounds: test t; the last two rows: per-round ratios */
    for (int t = 0; t < T_COUNT && err == CHATSEAL_OK; t++)
        batch[t] = batch_size(&c, t, &err);
    for (size_t r = 0; r < rounds && err == CHATSEAL_OK; r++) {
        for (int t = 0; t < T_COUNT && err == CHATSEAL_OK; t++)
            samples[(size_t)t * rounds + r] = run_batch(&c, t, batch[t], &err);
        if (err == CHATSEAL_OK && samples[T_SHA * rounds + r] > 0) {
            double sha = samples[T_SHA * rounds + r];
            samples[T_COUNT * rounds + r] =
                samples[T_PARSE_VERIFY * rounds + r] / sha;
            samples[(T_COUNT + 1) * rounds + r] =
                samples[T_PARSE_SIGN * rounds + r] / sha;
        }
    }
    if (err != CHATSEAL_OK) {
        rc = cs_fail(err, "bench: %s", chatseal_strerror(err));
        goto out;
    }
    for (int t = 0; t < T_COUNT; t++)
        med[t] = median(samples + (size_t)t * rounds, rounds);
    ratio = median(samples + T_COUNT * rounds, rounds);
    sign_ratio = median(samples + (T_COUNT + 1) * rounds, rounds);
    rc = print_results(a, messages, len, rounds, med, ratio, sign_ratio);
out:
    free(samples);
    chatseal_free(token);
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
    free(body);
    return rc;
}
