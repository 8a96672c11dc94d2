/*
 * test_hmac.c -- the HMAC-SHA256 path of src/lib/mac.c against RFC 4231.
 *
 * Every MAC chatseal computes goes through a keyed template that is
 * duplicated per operation and restarted with EVP_MAC_init(ctx, NULL, 0,
 * NULL) for each locator.  That restart is the fast path and the one most
 * likely to go wrong silently (a stale inner state, a lost key), so each RFC
 * 4231 case is computed three times on one context: fresh, restarted, and
 * restarted with the data fed in two pieces.  (Internal API: this test alone
 * includes internal.h, on purpose.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int failures;

struct vec {
    const char *name;
    uint8_t key[131];
    size_t key_len;
    const char *data;
    size_t data_len;
    const char *hmac_hex; /* RFC 4231 section 4, HMAC-SHA-256 */
};

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void check_vec(const struct vec *v)
{
    cs_key key;
    memset(&key, 0, sizeof key);
    key.tmpl = cs_mac_template(v->key, v->key_len);
    if (!key.tmpl) {
        printf("FAIL %s: no template\n", v->name);
        failures++;
        return;
    }
    cs_mac m = {0};
    if (cs_mac_begin(&m, &key) != CHATSEAL_OK) {
        printf("FAIL %s: begin\n", v->name);
        failures++;
        EVP_MAC_CTX_free(key.tmpl);
        return;
    }
    for (int round = 0; round < 3; round++) {
        uint8_t tag[CHATSEAL_TAGBYTES];
        char got[2 * CHATSEAL_TAGBYTES + 1];
        size_t half = round == 2 ? v->data_len / 2 : v->data_len;
        int ok = cs_mac_init(&m) == CHATSEAL_OK &&
                 cs_mac_update(&m, v->data, half) == CHATSEAL_OK &&
                 cs_mac_update(&m, v->data + half, v->data_len - half) ==
                     CHATSEAL_OK &&
                 cs_mac_final(&m, tag) == CHATSEAL_OK;
        hex(tag, sizeof tag, got);
        if (!ok || strcmp(got, v->hmac_hex) != 0) {
            printf("FAIL %s round %d: %s, want %s\n", v->name, round, got,
                   v->hmac_hex);
            failures++;
        }
    }
    cs_mac_end(&m);
    EVP_MAC_CTX_free(key.tmpl);
}

int main(void)
{
    static const char tc6[] =
        "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char tc7[] =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being used "
        "by the HMAC algorithm.";
    static struct vec v[6];
    char dd[50], cd[50];
    memset(dd, 0xdd, sizeof dd);
    memset(cd, 0xcd, sizeof cd);

    v[0] = (struct vec){.name = "test case 1",
                        .key_len = 20,
                        .data = "Hi There",
                        .data_len = 8,
                        .hmac_hex = "b0344c61d8db38535ca8afceaf0bf12b"
                                    "881dc200c9833da726e9376c2e32cff7"};
    memset(v[0].key, 0x0b, 20);
    v[1] = (struct vec){.name = "test case 2",
                        .key_len = 4,
                        .data = "what do ya want for nothing?",
                        .data_len = 28,
                        .hmac_hex = "5bdcc146bf60754e6a042426089575c7"
                                    "5a003f089d2739839dec58b964ec3843"};
    memcpy(v[1].key, "Jefe", 4);
    v[2] = (struct vec){.name = "test case 3",
                        .key_len = 20,
                        .data = dd,
                        .data_len = 50,
                        .hmac_hex = "773ea91e36800e46854db8ebd09181a7"
                                    "2959098b3ef8c122d9635514ced565fe"};
    memset(v[2].key, 0xaa, 20);
    v[3] = (struct vec){.name = "test case 4",
                        .key_len = 25,
                        .data = cd,
                        .data_len = 50,
                        .hmac_hex = "82558a389a443c0ea4cc819899f2083a"
                                    "85f0faa3e578f8077a2e3ff46729665b"};
    for (int i = 0; i < 25; i++)
        v[3].key[i] = (uint8_t)(i + 1);
    v[4] = (struct vec){.name = "test case 6",
                        .key_len = 131,
                        .data = tc6,
                        .data_len = sizeof tc6 - 1,
                        .hmac_hex = "60e431591ee0b67f0d8a26aacbf5b77f"
                                    "8e0bc6213728c5140546040f0ee37f54"};
    memset(v[4].key, 0xaa, 131);
    v[5] = (struct vec){.name = "test case 7",
                        .key_len = 131,
                        .data = tc7,
                        .data_len = sizeof tc7 - 1,
                        .hmac_hex = "9b09ffa71b942fcb27635fbcd5b0e944"
                                    "bfdc63644f0713938a7f51535c3a35e2"};
    memset(v[5].key, 0xaa, 131);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        check_vec(&v[i]);
    printf("%s: %d failures\n", "rfc4231", failures);
    return failures ? 1 : 0;
}
