/*
 * bench_allocs.c -- how many heap allocations one verify (and one sign)
 * makes in steady state, per body.
 *
 * The target is "no allocation per message": the count must not grow with
 * the number of messages (10 vs 200 vs 2000).  This program defines malloc,
 * calloc, realloc and free itself, forwarding to glibc's __libc_* functions,
 * so that every allocation in the process is counted (libchatseal, OpenSSL
 * and jansson alike; the symbols are exported so shared libraries bind to
 * them).  After three warm-up rounds it counts over ten rounds and prints the
 * average per operation as JSON lines.
 *
 *   bench_allocs BODY.json...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatseal.h"

#define NOW 1767225600
#define ROUNDS 10
static const char KEYS[] = "bench:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static unsigned long long n_alloc, n_bytes;

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n)
{
    n_alloc++;
    n_bytes += n;
    return __libc_malloc(n);
}

EXPORT void *calloc(size_t n, size_t m)
{
    n_alloc++;
    n_bytes += n * m;
    return __libc_calloc(n, m);
}

EXPORT void *realloc(void *p, size_t n)
{
    n_alloc++;
    n_bytes += n;
    return __libc_realloc(p, n);
}

EXPORT void free(void *p)
{
    __libc_free(p);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *p;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        exit(1);
    p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static void check(chatseal_error e, const char *what)
{
    if (e) {
        fprintf(stderr, "bench_allocs: %s: %s\n", what, chatseal_error_name(e));
        exit(1);
    }
}

static void verify_once(chatseal_keyring *ring, const char *data, size_t len,
                        const char *token, const chatseal_options *opt)
{
    chatseal_conv *conv = NULL;
    check(chatseal_conv_parse(data, len, NULL, &conv), "conv_parse");
    check(chatseal_verify(ring, conv, token, opt, NULL), "verify");
    chatseal_conv_free(conv);
}

static void sign_once(chatseal_keyring *ring, const char *data, size_t len,
                      const chatseal_options *opt)
{
    chatseal_conv *conv = NULL;
    char *tok = NULL;
    check(chatseal_conv_parse(data, len, NULL, &conv), "conv_parse");
    check(chatseal_sign(ring, conv, chatseal_conv_count(conv), opt, &tok),
          "sign");
    chatseal_free(tok);
    chatseal_conv_free(conv);
}

int main(int argc, char **argv)
{
    chatseal_keyring *ring = NULL;
    chatseal_options opt;
    int i, r;
    memset(&opt, 0, sizeof opt);
    opt.now = NOW;
    check(chatseal_keyring_parse(KEYS, sizeof KEYS - 1, &ring), "keyring");
    for (i = 1; i < argc; i++) {
        size_t len, nmsg;
        char *data = read_file(argv[i], &len), *token = NULL;
        const char *name = strrchr(argv[i], '/');
        chatseal_conv *conv = NULL;
        unsigned long long a0, b0, va, vb;
        name = name ? name + 1 : argv[i];
        check(chatseal_conv_parse(data, len, NULL, &conv), "conv_parse");
        nmsg = chatseal_conv_count(conv);
        check(chatseal_sign(ring, conv, nmsg, &opt, &token), "sign");
        chatseal_conv_free(conv);
        for (r = 0; r < 3; r++)
            verify_once(ring, data, len, token, &opt);
        a0 = n_alloc;
        b0 = n_bytes;
        for (r = 0; r < ROUNDS; r++)
            verify_once(ring, data, len, token, &opt);
        va = n_alloc - a0;
        vb = n_bytes - b0;
        for (r = 0; r < 3; r++)
            sign_once(ring, data, len, &opt);
        a0 = n_alloc;
        for (r = 0; r < ROUNDS; r++)
            sign_once(ring, data, len, &opt);
        printf("{\"impl\":\"chatseal\",\"op\":\"allocs\",\"body\":\"%.*s\","
               "\"bytes\":%zu,\"messages\":%zu,\"verify_allocs\":%.1f,"
               "\"verify_alloc_bytes\":%.0f,\"sign_allocs\":%.1f}\n",
               (int)(strlen(name) > 5 ? strlen(name) - 5 : strlen(name)), name,
               len, nmsg, (double)va / ROUNDS, (double)vb / ROUNDS,
               (double)(n_alloc - a0) / ROUNDS);
        chatseal_free(token);
        free(data);
    }
    chatseal_keyring_free(ring);
    return 0;
}
