/*
 * test_report.c -- chatseal_report: accessors and the JSON shape that the
 * CLI (--json) and the gateway hand to clients.
 *
 * The JSON object must have exactly the members chatseal.h lists, with
 * their JSON types, and agree with the accessors, for a valid verdict, a
 * located failure, a failure before any token was read, and a report
 * reused across verifications (no stale indices carried over).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tu.h"

#define RING1 "k1:" TU_K1
#define S0 "{\"role\":\"system\",\"content\":\"s\"}"
#define U1 "{\"role\":\"user\",\"content\":\"u\"}"
#define A2 "{\"role\":\"assistant\",\"content\":\"a\"}"
#define X2 "{\"role\":\"assistant\",\"content\":\"x\"}"

static const char *const MEMBERS[] = {
    "valid", "code", "detail", "count", "chain_valid", "tampered_indices",
    "index", "kid",  "iat",    "exp"};

static json_t *report_json(const chatseal_report *r)
{
    char *text = NULL;
    CHECK_ERR(chatseal_report_json(r, &text), CHATSEAL_OK);
    if (!text)
        return NULL;
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    CHECK(j && json_is_object(j), "report JSON does not parse: %s", text);
    chatseal_free(text);
    if (!j)
        return NULL;
    CHECK(json_object_size(j) == 10, "report has %zu members",
          json_object_size(j));
    for (size_t i = 0; i < 10; i++)
        CHECK(json_object_get(j, MEMBERS[i]) != NULL, "no member %s",
              MEMBERS[i]);
    CHECK(json_is_boolean(json_object_get(j, "valid")), "valid type");
    CHECK(json_is_string(json_object_get(j, "code")), "code type");
    CHECK(json_is_string(json_object_get(j, "detail")), "detail type");
    CHECK(json_is_integer(json_object_get(j, "count")), "count type");
    CHECK(json_is_boolean(json_object_get(j, "chain_valid")), "chain type");
    CHECK(json_is_array(json_object_get(j, "tampered_indices")), "ti type");
    CHECK(json_is_integer(json_object_get(j, "index")), "index type");
    CHECK(json_is_string(json_object_get(j, "kid")) ||
              json_is_null(json_object_get(j, "kid")),
          "kid type");
    CHECK(json_is_integer(json_object_get(j, "iat")), "iat type");
    CHECK(json_is_integer(json_object_get(j, "exp")), "exp type");
    /* the JSON agrees with the accessors */
    chatseal_error code = chatseal_report_code(r);
    CHECK(json_is_true(json_object_get(j, "valid")) == (code == CHATSEAL_OK),
          "valid vs code");
    CHECK(strcmp(json_string_value(json_object_get(j, "code")),
                 chatseal_error_name(code)) == 0,
          "code name");
    CHECK(strcmp(json_string_value(json_object_get(j, "detail")),
                 chatseal_report_detail(r)) == 0,
          "detail");
    CHECK((size_t)json_integer_value(json_object_get(j, "count")) ==
              chatseal_report_count(r),
          "count");
    CHECK(json_is_true(json_object_get(j, "chain_valid")) ==
              chatseal_report_chain_valid(r),
          "chain_valid");
    CHECK(json_integer_value(json_object_get(j, "index")) ==
              chatseal_report_index(r),
          "index");
    CHECK(json_integer_value(json_object_get(j, "iat")) ==
              chatseal_report_iat(r),
          "iat");
    CHECK(json_integer_value(json_object_get(j, "exp")) ==
              chatseal_report_exp(r),
          "exp");
    const size_t *idx;
    size_t n = chatseal_report_tampered(r, &idx);
    json_t *ti = json_object_get(j, "tampered_indices");
    CHECK(json_array_size(ti) == n, "tampered count");
    for (size_t i = 0; i < n && i < json_array_size(ti); i++)
        CHECK((size_t)json_integer_value(json_array_get(ti, i)) == idx[i],
              "tampered[%zu]", i);
    return j;
}

static void shapes(void)
{
    chatseal_keyring *ring = cs_test_ring(RING1);
    chatseal_options o = CHATSEAL_OPTIONS_INIT;
    o.now = TU_NOW;
    o.ttl = 100;
    char *tok = cs_test_sign(ring, "[" S0 "," U1 "," A2 "]", &o);
    chatseal_report *r = NULL;
    CHECK_ERR(chatseal_report_new(&r), CHATSEAL_OK);
    if (!r)
        return;

    /* valid */
    chatseal_conv *good = cs_test_conv("[" S0 "," U1 "," A2 "]");
    CHECK_ERR(chatseal_verify(ring, good, tok, &o, r), CHATSEAL_OK);
    json_t *j = report_json(r);
    if (j) {
        CHECK(json_is_true(json_object_get(j, "valid")), "valid");
        CHECK(strcmp(json_string_value(json_object_get(j, "code")), "ok") == 0,
              "code ok");
        CHECK(json_integer_value(json_object_get(j, "count")) == 3, "count 3");
        CHECK(json_integer_value(json_object_get(j, "index")) == -1, "index");
        CHECK(strcmp(json_string_value(json_object_get(j, "kid")), "k1") == 0,
              "kid");
        CHECK(json_integer_value(json_object_get(j, "iat")) == TU_NOW, "iat");
        CHECK(json_integer_value(json_object_get(j, "exp")) == TU_NOW + 100,
              "exp");
        json_decref(j);
    }
    CHECK(strcmp(chatseal_report_kid(r), "k1") == 0, "kid accessor");

    /* located failure, same report reused */
    chatseal_conv *bad = cs_test_conv("[" S0 "," U1 "," X2 "]");
    CHECK_ERR(chatseal_verify(ring, bad, tok, &o, r),
              CHATSEAL_E_CONTENT_CHANGED);
    j = report_json(r);
    if (j) {
        CHECK(!json_is_true(json_object_get(j, "valid")), "invalid");
        CHECK(json_integer_value(json_object_get(j, "index")) == 2, "index 2");
        json_t *ti = json_object_get(j, "tampered_indices");
        CHECK(json_array_size(ti) == 1 &&
                  json_integer_value(json_array_get(ti, 0)) == 2,
              "tampered [2]");
        CHECK(!json_is_true(json_object_get(j, "chain_valid")), "chain");
        CHECK(strlen(chatseal_report_detail(r)) > 0, "detail empty");
        json_decref(j);
    }

    /* valid again: nothing left over from the failure */
    CHECK_ERR(chatseal_verify(ring, good, tok, &o, r), CHATSEAL_OK);
    const size_t *idx;
    CHECK(chatseal_report_tampered(r, &idx) == 0, "stale tampered indices");
    CHECK(chatseal_report_index(r) == -1, "stale index");
    j = report_json(r);
    json_decref(j);

    /* a token that cannot be read */
    CHECK_ERR(chatseal_verify(ring, good, "cs1.x.y", &o, r),
              CHATSEAL_E_MALFORMED_TOKEN);
    j = report_json(r);
    if (j) {
        CHECK(json_integer_value(json_object_get(j, "count")) == 0, "count 0");
        CHECK(json_integer_value(json_object_get(j, "iat")) == 0, "iat 0");
        CHECK(!json_is_true(json_object_get(j, "chain_valid")), "chain");
        json_decref(j);
    }
    /* a fresh report, before any verification */
    chatseal_report *fresh = NULL;
    CHECK_ERR(chatseal_report_new(&fresh), CHATSEAL_OK);
    CHECK(chatseal_report_count(fresh) == 0 &&
              chatseal_report_index(fresh) == -1 &&
              chatseal_report_chain_valid(fresh) == 0,
          "fresh report");
    CHECK(chatseal_report_detail(fresh) != NULL, "fresh detail");
    j = report_json(fresh);
    json_decref(j);
    chatseal_report_free(fresh);
    CHECK_ERR(chatseal_report_new(NULL), CHATSEAL_E_INVALID_ARGUMENT);
    CHECK_ERR(chatseal_report_json(r, NULL), CHATSEAL_E_INVALID_ARGUMENT);

    chatseal_conv_free(good);
    chatseal_conv_free(bad);
    chatseal_report_free(r);
    chatseal_free(tok);
    chatseal_keyring_free(ring);
}

int main(void)
{
    static const struct cs_test tests[] = {{"shapes", shapes}};
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
