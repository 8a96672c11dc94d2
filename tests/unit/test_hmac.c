/*
 * test_hmac.c -- the HMAC-SHA-256/384/512 paths of src/lib/mac.c against
 * RFC 4231 test cases 1-7 (case 5 compares the 128-bit truncation, as the
 * RFC does).
 *
 * Every MAC chatseal computes goes through a keyed template that is
 * duplicated per operation and restarted with EVP_MAC_init(ctx, NULL, 0,
 * NULL) for each locator.  That restart is the fast path and the one most
 * likely to go wrong silently (a stale inner state, a lost key), so each RFC
 * 4231 case is computed three times on one context: fresh, restarted, and
 * restarted with the data fed in two pieces.  The hash is chosen the way the
 * key ring chooses it (cs_mac_template's taglen, copied into each cs_mac),
 * and each output must have exactly that hash's length.  (Internal API: this
 * test alone includes internal.h, on purpose.)
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
    size_t cmp; /* bytes compared: the whole output, 16 for case 5 */
    /* RFC 4231 section 4: HMAC-SHA-256, -384, -512 */
    const char *hex[3];
};

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void check_one(const struct vec *v, size_t taglen, const char *want)
{
    cs_key key;
    memset(&key, 0, sizeof key);
    key.taglen = taglen;
    key.tmpl = cs_mac_template(v->key, v->key_len, taglen);
    if (!key.tmpl) {
        printf("FAIL %s/%zu: no template\n", v->name, taglen);
        failures++;
        return;
    }
    cs_mac m = {0};
    if (cs_mac_begin(&m, &key) != CHATSEAL_OK || m.taglen != taglen) {
        printf("FAIL %s/%zu: begin\n", v->name, taglen);
        failures++;
        cs_mac_end(&m);
        EVP_MAC_CTX_free(key.tmpl);
        return;
    }
    for (int round = 0; round < 3; round++) {
        uint8_t tag[CHATSEAL_TAGBYTES_MAX];
        char got[2 * CHATSEAL_TAGBYTES_MAX + 1];
        size_t half = round == 2 ? v->data_len / 2 : v->data_len;
        int ok = cs_mac_init(&m) == CHATSEAL_OK &&
                 cs_mac_update(&m, v->data, half) == CHATSEAL_OK &&
                 cs_mac_update(&m, v->data + half, v->data_len - half) ==
                     CHATSEAL_OK &&
                 cs_mac_final(&m, tag) == CHATSEAL_OK;
        size_t n = v->cmp ? v->cmp : taglen;
        hex(tag, n, got);
        if (!ok || strlen(want) != 2 * n || strcmp(got, want) != 0) {
            printf("FAIL %s/%zu round %d: %s, want %s\n", v->name, taglen,
                   round, got, want);
            failures++;
        }
    }
    cs_mac_end(&m);
    EVP_MAC_CTX_free(key.tmpl);
}

/* Lengths other than 32/48/64 name no hash: no template, never a default. */
static void check_bad_taglen(void)
{
    static const uint8_t k[64] = {1};
    static const size_t bad[] = {0, 16, 20, 31, 33, 65, 128};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EVP_MAC_CTX *t = cs_mac_template(k, sizeof k, bad[i]);
        if (t) {
            printf("FAIL taglen %zu gave a template\n", bad[i]);
            failures++;
            EVP_MAC_CTX_free(t);
        }
    }
}

int main(void)
{
    static const char tc6[] =
        "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char tc7[] =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being used "
        "by the HMAC algorithm.";
    static struct vec v[7];
    char dd[50], cd[50];
    memset(dd, 0xdd, sizeof dd);
    memset(cd, 0xcd, sizeof cd);

    v[0] = (struct vec){
        .name = "test case 1",
        .key_len = 20,
        .data = "Hi There",
        .data_len = 8,
        .hex = {
            "b0344c61d8db38535ca8afceaf0bf12b"
            "881dc200c9833da726e9376c2e32cff7",
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6"
            "82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
            "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a12685"
            "4"}};
    memset(v[0].key, 0x0b, 20);
    v[1] = (struct vec){
        .name = "test case 2",
        .key_len = 4,
        .data = "what do ya want for nothing?",
        .data_len = 28,
        .hex = {
            "5bdcc146bf60754e6a042426089575c7"
            "5a003f089d2739839dec58b964ec3843",
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
            "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce73"
            "7"}};
    memcpy(v[1].key, "Jefe", 4);
    v[2] = (struct vec){
        .name = "test case 3",
        .key_len = 20,
        .data = dd,
        .data_len = 50,
        .hex = {
            "773ea91e36800e46854db8ebd09181a7"
            "2959098b3ef8c122d9635514ced565fe",
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9feb"
            "e83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
            "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292f"
            "b"}};
    memset(v[2].key, 0xaa, 20);
    v[3] = (struct vec){
        .name = "test case 4",
        .key_len = 25,
        .data = cd,
        .data_len = 50,
        .hex = {
            "82558a389a443c0ea4cc819899f2083a"
            "85f0faa3e578f8077a2e3ff46729665b",
            "3e8a69b7783c25851933ab6290af6ca77a9981480850009c"
            "c5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
            "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
            "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298d"
            "d"}};
    for (int i = 0; i < 25; i++)
        v[3].key[i] = (uint8_t)(i + 1);
    v[4] = (struct vec){.name = "test case 5",
                        .key_len = 20,
                        .data = "Test With Truncation",
                        .data_len = 20,
                        .cmp = 16,
                        .hex = {"a3b6167473100ee06e0c796c2955552b",
                                "3abf34c3503b2a23a46efc619baef897",
                                "415fad6271580a531d4179bc891d87a6"}};
    memset(v[4].key, 0x0c, 20);
    v[5] = (struct vec){
        .name = "test case 6",
        .key_len = 131,
        .data = tc6,
        .data_len = sizeof tc6 - 1,
        .hex = {
            "60e431591ee0b67f0d8a26aacbf5b77f"
            "8e0bc6213728c5140546040f0ee37f54",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f"
            "3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
            "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d78659"
            "8"}};
    memset(v[5].key, 0xaa, 131);
    v[6] = (struct vec){
        .name = "test case 7",
        .key_len = 131,
        .data = tc7,
        .data_len = sizeof tc7 - 1,
        .hex = {
            "9b09ffa71b942fcb27635fbcd5b0e944"
            "bfdc63644f0713938a7f51535c3a35e2",
            "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9a"
            "dccebb82461e99c5a678cc31e799176d3860e6110c46523e",
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
            "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a5"
            "8"}};
    memset(v[6].key, 0xaa, 131);
    static const size_t taglens[3] = {32, 48, 64};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (size_t a = 0; a < 3; a++)
            check_one(&v[i], taglens[a], v[i].hex[a]);
    check_bad_taglen();
    printf("%s: %d failures (21 vectors)\n", "rfc4231", failures);
    return failures ? 1 : 0;
}
