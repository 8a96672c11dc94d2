/*
 * bench_allocs.c -- how many heap allocations one verify (and one sign)
 * makes in steady state, per body, and whose they are.
 *
 * The target is "no allocation per message": the count must not grow with
 * the number of messages (10 vs 200 vs 2000).  This program defines malloc,
 * calloc and realloc itself, forwarding to glibc's __libc_* functions, so
 * that every allocation in the process is counted (libchatseal, OpenSSL and
 * jansson alike; the symbols are exported so shared libraries bind to them).
 *
 * Each allocation is charged to the object file its caller's return address
 * lies in: libcrypto (OpenSSL), libjansson, or this executable (which has
 * libchatseal linked in statically, so "chatseal" means our own code); the
 * address ranges are read once with dl_iterate_phdr before counting starts,
 * so the hooks themselves never allocate.  That separates what chatseal can
 * fix from what OpenSSL does inside its EVP calls.
 *
 * After three warm-up rounds it counts over ten rounds and prints the
 * average per operation as JSON lines.
 *
 *   bench_allocs BODY.json...
 */
#define _GNU_SOURCE
#include <link.h>
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

enum { W_CHATSEAL, W_CRYPTO, W_JANSSON, W_OTHER, W_COUNT };
static const char *const who_name[W_COUNT] = {"chatseal", "libcrypto",
                                              "libjansson", "other"};

/* executable segments: [lo, hi) -> owner */
#define MAX_RANGES 64
static struct range {
    uintptr_t lo, hi;
    int who;
} ranges[MAX_RANGES];
static int nranges;

static unsigned long long n_alloc[W_COUNT], n_bytes;

#define EXPORT __attribute__((visibility("default")))

static int owner_of(uintptr_t pc)
{
    for (int i = 0; i < nranges; i++)
        if (pc >= ranges[i].lo && pc < ranges[i].hi)
            return ranges[i].who;
    return W_OTHER;
}

static void count(void *ra, size_t n)
{
    n_alloc[owner_of((uintptr_t)ra)]++;
    n_bytes += n;
}

EXPORT void *malloc(size_t n)
{
    count(__builtin_return_address(0), n);
    return __libc_malloc(n);
}

EXPORT void *calloc(size_t n, size_t m)
{
    count(__builtin_return_address(0), n * m);
    return __libc_calloc(n, m);
}

EXPORT void *realloc(void *p, size_t n)
{
    count(__builtin_return_address(0), n);
    return __libc_realloc(p, n);
}

EXPORT void free(void *p)
{
    __libc_free(p);
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    const char *name = info->dlpi_name;
    int who;
    (void)size;
    (void)data;
    if (!name || !*name)
        who = W_CHATSEAL; /* the executable itself */
    else if (strstr(name, "libcrypto"))
        who = W_CRYPTO;
    else if (strstr(name, "libjansson"))
        who = W_JANSSON;
    else
        return 0;
    for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
        ranges[nranges].hi = ranges[nranges].lo + ph->p_memsz;
        ranges[nranges].who = who;
        nranges++;
    }
    return 0;
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

static unsigned long long total(void)
{
    unsigned long long t = 0;
    for (int w = 0; w < W_COUNT; w++)
        t += n_alloc[w];
    return t;
}

int main(int argc, char **argv)
{
    chatseal_keyring *ring = NULL;
    chatseal_options opt = CHATSEAL_OPTIONS_INIT;
    int i, r, w;
    opt.now = NOW;
    dl_iterate_phdr(add_object, NULL);
    check(chatseal_keyring_parse(KEYS, sizeof KEYS - 1, &ring), "keyring");
    for (i = 1; i < argc; i++) {
        size_t len, nmsg;
        char *data = read_file(argv[i], &len), *token = NULL;
        const char *name = strrchr(argv[i], '/');
        chatseal_conv *conv = NULL;
        unsigned long long a0[W_COUNT], va[W_COUNT], b0, vb, s0;
        name = name ? name + 1 : argv[i];
        check(chatseal_conv_parse(data, len, NULL, &conv), "conv_parse");
        nmsg = chatseal_conv_count(conv);
        check(chatseal_sign(ring, conv, nmsg, &opt, &token), "sign");
        chatseal_conv_free(conv);
        for (r = 0; r < 3; r++)
            verify_once(ring, data, len, token, &opt);
        memcpy(a0, n_alloc, sizeof a0);
        b0 = n_bytes;
        for (r = 0; r < ROUNDS; r++)
            verify_once(ring, data, len, token, &opt);
        for (w = 0; w < W_COUNT; w++)
            va[w] = n_alloc[w] - a0[w];
        vb = n_bytes - b0;
        for (r = 0; r < 3; r++)
            sign_once(ring, data, len, &opt);
        s0 = total();
        for (r = 0; r < ROUNDS; r++)
            sign_once(ring, data, len, &opt);
        printf("{\"impl\":\"chatseal\",\"op\":\"allocs\",\"body\":\"%.*s\","
               "\"bytes\":%zu,\"messages\":%zu,\"verify_allocs\":%.1f,"
               "\"verify_alloc_bytes\":%.0f,\"sign_allocs\":%.1f",
               (int)(strlen(name) > 5 ? strlen(name) - 5 : strlen(name)), name,
               len, nmsg, (double)(va[0] + va[1] + va[2] + va[3]) / ROUNDS,
               (double)vb / ROUNDS, (double)(total() - s0) / ROUNDS);
        for (w = 0; w < W_COUNT; w++)
            printf(",\"verify_allocs_%s\":%.1f", who_name[w],
                   (double)va[w] / ROUNDS);
        printf("}\n");
        chatseal_free(token);
        free(data);
    }
    chatseal_keyring_free(ring);
    return 0;
}
