/*
 * test_threads.c -- one key ring shared by four threads (chatseal.h: "a
 * chatseal_keyring is immutable once built and may be shared by any number
 * of threads").
 *
 * Each thread parses, signs, verifies, extends, seals and opens on its own
 * objects with the shared ring, and checks every verdict, including a
 * tampered history; under ThreadSanitizer or Helgrind this also shows that
 * the ring is only read.  The tokens must not depend on the thread: every
 * thread's token for the same input is compared with the main thread's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"

#define THREADS 4
#define ROUNDS 300
#define CONV                                                                   \
    "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":" \
    "\"q\"},{\"role\":\"assistant\",\"content\":\"a \\u00e9\"}]"
#define BAD                                                                    \
    "[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":" \
    "\"Q\"},{\"role\":\"assistant\",\"content\":\"a \\u00e9\"}]"

static chatseal_keyring *ring;
static char *expected;

struct job {
    int id;
    int errors;
};

static void *work(void *arg)
{
    struct job *j = arg;
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    for (int round = 0; round < ROUNDS; round++) {
        chatseal_conv *conv = NULL, *bad = NULL;
        char *tok = NULL, *h1 = NULL, *sealed = NULL, *opened = NULL;
        size_t olen = 0;
        if (chatseal_conv_parse(CONV, strlen(CONV), NULL, &conv) ||
            chatseal_conv_parse(BAD, strlen(BAD), NULL, &bad)) {
            j->errors++;
            break;
        }
        if (chatseal_sign(ring, conv, 3, &o, &tok) || strcmp(tok, expected))
            j->errors++;
        if (chatseal_verify(ring, conv, tok, &o, NULL) != CHATSEAL_OK)
            j->errors++;
        chatseal_report *r = NULL;
        if (chatseal_report_new(&r) ||
            chatseal_verify(ring, bad, tok, &o, r) !=
                CHATSEAL_E_CONTENT_CHANGED ||
            chatseal_report_index(r) != 1)
            j->errors++;
        chatseal_report_free(r);
        o.tail_roles = "user";
        const char *reply = "{\"role\":\"assistant\",\"content\":\"b\"}";
        const char *turn = "{\"role\":\"user\",\"content\":\"n\"}";
        if (chatseal_conv_append(conv, turn, strlen(turn)) ||
            chatseal_extend(ring, conv, tok, reply, strlen(reply), &o, &h1,
                            NULL) ||
            !h1)
            j->errors++;
        o.tail_roles = NULL;
        if (chatseal_state_seal(ring, "[1,2.0]", 7, &o, &sealed) ||
            chatseal_state_open(ring, sealed, &o, &opened, &olen, NULL) ||
            olen != 5 || memcmp(opened, "[1,2]", 5) != 0)
            j->errors++;
        chatseal_free(opened);
        chatseal_free(sealed);
        chatseal_free(h1);
        chatseal_free(tok);
        chatseal_conv_free(bad);
        chatseal_conv_free(conv);
    }
    return NULL;
}

static void shared_ring(void)
{
    ring = cs_test_ring("k1:" TU_K1 "\nk2:" TU_K2);
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    expected = cs_test_sign(ring, CONV, &o);
    pthread_t t[THREADS];
    struct job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i].id = i;
        jobs[i].errors = 0;
        CHECK(pthread_create(&t[i], NULL, work, &jobs[i]) == 0,
              "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].errors == 0, "thread %d: %d errors", i, jobs[i].errors);
    }
    chatseal_free(expected);
    chatseal_keyring_free(ring);
}

int main(void)
{
    static const struct cs_test tests[] = {{"shared_ring", shared_ring}};
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
