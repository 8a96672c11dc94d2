/*
 * test_keyring.c -- key rings (FORMAT.md section 3): parse, load from a file
 * and from the environment, ephemeral rings, key generation, rotation.
 *
 * The syntax cases each assert the exact code (invalid_key, weak_key,
 * duplicate_kid, no_key) and that nothing is returned on failure.  Rotation
 * is tested end to end: a token made by the old key verifies with a ring
 * that has a newer key appended, and the ring then signs with the new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tu.h"

#define K31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg" /* 31 bytes */
/* 129 bytes */
#define K129                                                                   \
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1" \
    "Njc4OTo7PD0-P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr" \
    "bG1ub3BxcnN0dXZ3eHl6e3x9fn-A"
/* 128 bytes: K129 without its last byte */
#define K128                                                                   \
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1" \
    "Njc4OTo7PD0-P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWpr" \
    "bG1ub3BxcnN0dXZ3eHl6e3x9fn8"

static chatseal_error parse(const char *text, chatseal_keyring **out)
{
    *out = (chatseal_keyring *)&parse; /* must be reset */
    return chatseal_keyring_parse(text, strlen(text), out);
}

static void valid_rings(void)
{
    static const struct {
        const char *text;
        size_t size;
        const char *signer;
    } cases[] = {
        {"k1:" TU_K1, 1, "k1"},
        {"k1:" TU_K1 "\n", 1, "k1"},
        {"k1:" TU_K1 "\nk2:" TU_K2, 2, "k2"},
        {"k1:" TU_K1 ",k2:" TU_K2 ",k3:" TU_K3, 3, "k3"},
        {"k1:" TU_K1 " , k2:" TU_K2, 2, "k2"},
        {"# a comment\n\n  k1:" TU_K1 "  \n\t\n# k9:" TU_K3 "\n", 1, "k1"},
        {"  # indented comment, with a comma\nk2:" TU_K2, 1, "k2"},
        {"\tk1:" TU_K1 "\t\n", 1, "k1"},
        {"a.B-c_9:" TU_K1, 1, "a.B-c_9"},
        {"0123456789012345678901234567890123456789012345678901234567890123"
         ":" TU_K1,
         1, "0123456789012345678901234567890123456789012345678901234567890123"},
        {"big:" K128, 1, "big"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        chatseal_keyring *ring;
        chatseal_error e = parse(cases[i].text, &ring);
        CHECK(e == CHATSEAL_OK, "case %zu: %s", i, chatseal_error_name(e));
        if (e)
            continue;
        CHECK(chatseal_keyring_size(ring) == cases[i].size,
              "case %zu: size %zu", i, chatseal_keyring_size(ring));
        const char *kid = chatseal_keyring_signing_kid(ring);
        CHECK(kid && strcmp(kid, cases[i].signer) == 0,
              "case %zu: signing kid %s", i, kid ? kid : "(null)");
        chatseal_keyring_free(ring);
    }
}

static void invalid_rings(void)
{
    static const struct {
        const char *text;
        chatseal_error code;
    } cases[] = {
        {"k1:" K31, CHATSEAL_E_WEAK_KEY},
        {"k1:AAAA", CHATSEAL_E_WEAK_KEY},
        {"k1:" TU_K1 "\nk2:" K31, CHATSEAL_E_WEAK_KEY},
        {"k1:" K129, CHATSEAL_E_INVALID_KEY},
        {"k1:" TU_K1 "\nk1:" TU_K2, CHATSEAL_E_DUPLICATE_KID},
        {"k1:" TU_K1 ",k1:" TU_K1, CHATSEAL_E_DUPLICATE_KID},
        {"k1" TU_K1, CHATSEAL_E_INVALID_KEY},
        {":" TU_K1, CHATSEAL_E_INVALID_KEY},
        {"k 1:" TU_K1, CHATSEAL_E_INVALID_KEY},
        {"k/1:" TU_K1, CHATSEAL_E_INVALID_KEY},
        {"k\xc3\xa9:" TU_K1, CHATSEAL_E_INVALID_KEY},
        {"01234567890123456789012345678901234567890123456789012345678901234"
         ":" TU_K1,
         CHATSEAL_E_INVALID_KEY},
        {"k1:" TU_K1 "=", CHATSEAL_E_INVALID_KEY},
        {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
         CHATSEAL_E_INVALID_KEY},
        {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", /* '+' */
         CHATSEAL_E_INVALID_KEY},
        {"k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9", /* unused bits */
         CHATSEAL_E_INVALID_KEY},
        {"k1:" TU_K1 " x", CHATSEAL_E_INVALID_KEY},
        {"k1:", CHATSEAL_E_WEAK_KEY}, /* 0 bytes */
        {"k1:" TU_K1 ":" TU_K2, CHATSEAL_E_INVALID_KEY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        chatseal_keyring *ring;
        chatseal_error e = parse(cases[i].text, &ring);
        CHECK(e == cases[i].code, "case %zu (%.30s): %s, want %s", i,
              cases[i].text, chatseal_error_name(e),
              chatseal_error_name(cases[i].code));
        CHECK(ring == NULL, "case %zu: ring not NULL on failure", i);
        if (e == CHATSEAL_OK)
            chatseal_keyring_free(ring);
    }
    /* nothing but comments and blanks: no key at all */
    const char *empty[] = {"", "\n\n", "# only a comment\n", " , ,"};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        chatseal_keyring *ring;
        chatseal_error e = parse(empty[i], &ring);
        CHECK(e == CHATSEAL_E_NO_KEY || e == CHATSEAL_E_INVALID_KEY,
              "empty ring %zu: %s", i, chatseal_error_name(e));
        CHECK(ring == NULL, "empty ring %zu returned a ring", i);
    }
    chatseal_keyring *ring = NULL;
    CHECK_ERR(chatseal_keyring_parse(NULL, 5, &ring),
              CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_keyring_parse("k1:" TU_K1, 46, NULL),
              CHATSEAL_E_INVALID_ARGUMENT);
    /* the length counts, not a NUL: a key cut short is weak */
    CHECK_ERR(chatseal_keyring_parse("k1:" TU_K1, 19, &ring),
              CHATSEAL_E_WEAK_KEY);
}

static void rotation(void)
{
    static const char *conv = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    chatseal_keyring *old = cs_test_ring("k1:" TU_K1);
    chatseal_keyring *rotated = cs_test_ring("k1:" TU_K1 "\nk2:" TU_K2);
    chatseal_keyring *retired = cs_test_ring("k2:" TU_K2);
    char *t1 = cs_test_sign(old, conv, &o);
    char *t2 = cs_test_sign(rotated, conv, &o);
    char *h1 = cs_test_token_header(t1), *h2 = cs_test_token_header(t2);
    CHECK(strstr(h1, "\"kid\":\"k1\"") != NULL, "old token kid: %s", h1);
    CHECK(strstr(h2, "\"kid\":\"k2\"") != NULL, "new token kid: %s", h2);
    /* old tokens keep verifying after the new key is appended */
    CHECK_VERDICT(cs_test_verify(rotated, conv, t1, &o), CHATSEAL_OK, -1, -1);
    CHECK_VERDICT(cs_test_verify(rotated, conv, t2, &o), CHATSEAL_OK, -1, -1);
    /* a ring that dropped k1 refuses them */
    CHECK_VERDICT(cs_test_verify(retired, conv, t1, &o), CHATSEAL_E_UNKNOWN_KEY,
                  -1, -1);
    CHECK_VERDICT(cs_test_verify(retired, conv, t2, &o), CHATSEAL_OK, -1, -1);
    /* the old ring does not know k2 */
    CHECK_VERDICT(cs_test_verify(old, conv, t2, &o), CHATSEAL_E_UNKNOWN_KEY, -1,
                  -1);
    /* order matters: the last entry signs */
    chatseal_keyring *reversed = cs_test_ring("k2:" TU_K2 "\nk1:" TU_K1);
    CHECK(strcmp(chatseal_keyring_signing_kid(reversed), "k1") == 0,
          "signing kid of a reversed ring");
    chatseal_keyring_free(reversed);
    free(h1);
    free(h2);
    chatseal_free(t1);
    chatseal_free(t2);
    chatseal_keyring_free(old);
    chatseal_keyring_free(rotated);
    chatseal_keyring_free(retired);
}

static void load_file(void)
{
    char path[] = "/tmp/chatseal-test-keys-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    const char text[] = "# ring\nk1:" TU_K1 "\nk2:" TU_K2 "\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1),
          "write");
    close(fd);
    chatseal_keyring *ring = NULL;
    CHECK_ERR(chatseal_keyring_load_file(path, &ring), CHATSEAL_OK);
    CHECK(ring && chatseal_keyring_size(ring) == 2, "size");
    CHECK(ring && strcmp(chatseal_keyring_signing_kid(ring), "k2") == 0,
          "signing kid");
    chatseal_keyring_free(ring);

    /* CHATSEAL_KEY_FILE is used when CHATSEAL_KEYS is not set */
    unsetenv("CHATSEAL_KEYS");
    setenv("CHATSEAL_KEY_FILE", path, 1);
    ring = NULL;
    CHECK_ERR(chatseal_keyring_load_env(&ring), CHATSEAL_OK);
    CHECK(ring && chatseal_keyring_size(ring) == 2, "env file size");
    chatseal_keyring_free(ring);
    /* CHATSEAL_KEYS wins over CHATSEAL_KEY_FILE */
    setenv("CHATSEAL_KEYS", "k9:" TU_K3, 1);
    ring = NULL;
    CHECK_ERR(chatseal_keyring_load_env(&ring), CHATSEAL_OK);
    CHECK(ring && strcmp(chatseal_keyring_signing_kid(ring), "k9") == 0,
          "CHATSEAL_KEYS first");
    chatseal_keyring_free(ring);
    /* neither: no key, never a default one */
    unsetenv("CHATSEAL_KEYS");
    unsetenv("CHATSEAL_KEY_FILE");
    ring = (chatseal_keyring *)&ring;
    CHECK_ERR(chatseal_keyring_load_env(&ring), CHATSEAL_E_NO_KEY);
    CHECK(ring == NULL, "ring on no_key");
    /* a bad ring in the variable is reported as such */
    setenv("CHATSEAL_KEYS", "k1:" K31, 1);
    CHECK_ERR(chatseal_keyring_load_env(&ring), CHATSEAL_E_WEAK_KEY);
    unsetenv("CHATSEAL_KEYS");

    unlink(path);
    ring = (chatseal_keyring *)&ring;
    CHECK_ERR(chatseal_keyring_load_file(path, &ring), CHATSEAL_E_IO);
    CHECK(ring == NULL, "ring on io_error");
    CHECK_ERR(chatseal_keyring_load_file(NULL, &ring),
              CHATSEAL_E_INVALID_ARGUMENT);
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return 0;
    return 1;
}

static void ephemeral(void)
{
    chatseal_keyring *a = NULL, *b = NULL;
    CHECK_ERR(chatseal_keyring_ephemeral(&a), CHATSEAL_OK);
    CHECK_ERR(chatseal_keyring_ephemeral(&b), CHATSEAL_OK);
    if (!a || !b)
        return;
    const char *ka = chatseal_keyring_signing_kid(a);
    CHECK(strlen(ka) == 12 && strncmp(ka, "dev-", 4) == 0 && is_hex(ka + 4, 8),
          "ephemeral kid %s", ka);
    CHECK(chatseal_keyring_size(a) == 1, "size");
    CHECK(strcmp(ka, chatseal_keyring_signing_kid(b)) != 0,
          "two ephemeral rings share a kid");
    static const char *conv = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    char *t = cs_test_sign(a, conv, NULL);
    CHECK_VERDICT(cs_test_verify(a, conv, t, NULL), CHATSEAL_OK, -1, -1);
    struct cs_verdict v = cs_test_verify(b, conv, t, NULL);
    CHECK(v.code != CHATSEAL_OK, "another ephemeral ring verified a token");
    chatseal_free(t);
    chatseal_keyring_free(a);
    chatseal_keyring_free(b);
    CHECK_ERR(chatseal_keyring_ephemeral(NULL), CHATSEAL_E_INVALID_ARGUMENT);
}

static void generate(void)
{
    char *line = NULL;
    CHECK_ERR(chatseal_key_generate("prod-1", &line), CHATSEAL_OK);
    if (line) {
        /* "prod-1:" + 43 base64url chars + "\n" */
        CHECK(strncmp(line, "prod-1:", 7) == 0 && strlen(line) == 7 + 43 + 1 &&
                  line[50] == '\n',
              "line '%s'", line);
        chatseal_keyring *ring = NULL;
        CHECK_ERR(chatseal_keyring_parse(line, strlen(line), &ring),
                  CHATSEAL_OK);
        CHECK(ring && strcmp(chatseal_keyring_signing_kid(ring), "prod-1") == 0,
              "generated kid");
        chatseal_keyring_free(ring);
    }
    char *other = NULL;
    CHECK_ERR(chatseal_key_generate("prod-1", &other), CHATSEAL_OK);
    CHECK(line && other && strcmp(line, other) != 0, "two keys are equal");
    chatseal_free_secret(line);
    chatseal_free_secret(other);

    /* default kid: "k" + UTC date (8 digits) + "-" + 4 hex digits */
    line = NULL;
    CHECK_ERR(chatseal_key_generate(NULL, &line), CHATSEAL_OK);
    if (line) {
        const char *colon = strchr(line, ':');
        CHECK(colon && colon - line == 14 && line[0] == 'k' &&
                  is_hex(line + 1, 8) && line[9] == '-' && is_hex(line + 10, 4),
              "default kid in '%s'", line);
        chatseal_free_secret(line);
    }
    line = (char *)"sentinel";
    chatseal_error e = chatseal_key_generate("bad kid", &line);
    CHECK(e == CHATSEAL_E_INVALID_KEY || e == CHATSEAL_E_INVALID_ARGUMENT,
          "bad kid: %s", chatseal_error_name(e));
    CHECK(line == NULL, "line on failure");
    CHECK_ERR(chatseal_key_generate("k", NULL), CHATSEAL_E_INVALID_ARGUMENT);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"valid_rings", valid_rings}, {"invalid_rings", invalid_rings},
        {"rotation", rotation},       {"load_file", load_file},
        {"ephemeral", ephemeral},     {"generate", generate},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
