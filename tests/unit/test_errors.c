/*
 * test_errors.c -- chatseal_error_name / chatseal_error_from_name /
 * chatseal_strerror and chatseal_free.
 *
 * The names are a public contract (CLI JSON output, gateway error bodies),
 * so every value of the enum is listed here with the name the header's
 * comment gives it: a renamed or renumbered code fails this test.  The
 * round trip name -> value -> name must hold for every value, unknown values
 * and names must map to the documented fallbacks, and no two values may
 * share a name.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tu.h"

static const struct {
    chatseal_error code;
    int number;
    const char *name;
} ALL[] = {
    {CHATSEAL_OK, 0, "ok"},
    {CHATSEAL_E_INVALID_ARGUMENT, 1, "invalid_argument"},
    {CHATSEAL_E_NO_MEMORY, 2, "out_of_memory"},
    {CHATSEAL_E_IO, 3, "io_error"},
    {CHATSEAL_E_CRYPTO, 4, "crypto_error"},
    {CHATSEAL_E_NO_KEY, 10, "no_key"},
    {CHATSEAL_E_INVALID_KEY, 11, "invalid_key"},
    {CHATSEAL_E_WEAK_KEY, 12, "weak_key"},
    {CHATSEAL_E_DUPLICATE_KID, 13, "duplicate_kid"},
    {CHATSEAL_E_MALFORMED_JSON, 20, "malformed_json"},
    {CHATSEAL_E_DUPLICATE_KEY, 21, "duplicate_key"},
    {CHATSEAL_E_INVALID_UTF8, 22, "invalid_utf8"},
    {CHATSEAL_E_LONE_SURROGATE, 23, "lone_surrogate"},
    {CHATSEAL_E_CONTROL_CHARACTER, 24, "control_character"},
    {CHATSEAL_E_TOO_DEEP, 25, "too_deep"},
    {CHATSEAL_E_INVALID_NUMBER, 26, "invalid_number"},
    {CHATSEAL_E_TRAILING_DATA, 27, "trailing_data"},
    {CHATSEAL_E_TOO_LARGE, 28, "too_large"},
    {CHATSEAL_E_INVALID_MESSAGE, 29, "invalid_message"},
    {CHATSEAL_E_TOO_MANY_MESSAGES, 30, "too_many_messages"},
    {CHATSEAL_E_INVALID_REQUEST, 31, "invalid_request"},
    {CHATSEAL_E_MISSING_SIGNATURE, 40, "missing_signature"},
    {CHATSEAL_E_MALFORMED_TOKEN, 41, "malformed_token"},
    {CHATSEAL_E_UNSUPPORTED_VERSION, 42, "unsupported_version"},
    {CHATSEAL_E_WRONG_TOKEN_TYPE, 43, "wrong_token_type"},
    {CHATSEAL_E_UNKNOWN_KEY, 44, "unknown_key"},
    {CHATSEAL_E_EXPIRED, 45, "expired"},
    {CHATSEAL_E_NOT_YET_VALID, 46, "not_yet_valid"},
    {CHATSEAL_E_BINDING_MISMATCH, 47, "binding_mismatch"},
    {CHATSEAL_E_INVALID_SIGNATURE, 60, "invalid_signature"},
    {CHATSEAL_E_CONTENT_CHANGED, 61, "content_changed"},
    {CHATSEAL_E_ROLE_CHANGED, 62, "role_changed"},
    {CHATSEAL_E_MESSAGE_INSERTED, 63, "message_inserted"},
    {CHATSEAL_E_MESSAGE_DELETED, 64, "message_deleted"},
    {CHATSEAL_E_TRUNCATED, 65, "truncated"},
    {CHATSEAL_E_REORDERED, 66, "reordered"},
    {CHATSEAL_E_COUNT_MISMATCH, 67, "count_mismatch"},
    {CHATSEAL_E_ROLE_NOT_ALLOWED, 68, "role_not_allowed"},
    {CHATSEAL_E_STALE_TOKEN, 69, "stale_token"},
    {CHATSEAL_E_NOT_FOUND, 80, "not_found"},
    {CHATSEAL_E_METHOD_NOT_ALLOWED, 81, "method_not_allowed"},
    {CHATSEAL_E_UNSUPPORTED_MEDIA, 82, "unsupported_media_type"},
    {CHATSEAL_E_TIMEOUT, 83, "timeout"},
    {CHATSEAL_E_OVERLOADED, 84, "overloaded"},
    {CHATSEAL_E_UPSTREAM_UNAVAILABLE, 85, "upstream_unavailable"},
    {CHATSEAL_E_UPSTREAM_TIMEOUT, 86, "upstream_timeout"},
    {CHATSEAL_E_UPSTREAM_ERROR, 87, "upstream_error"},
    {CHATSEAL_E_SHUTTING_DOWN, 88, "shutting_down"},
    {CHATSEAL_E_MEMBER_NOT_ALLOWED, 89, "member_not_allowed"},
    {CHATSEAL_E_PARAMETER_NOT_ALLOWED, 90, "parameter_not_allowed"},
    {CHATSEAL_E_CONTROL_TOKEN, 91, "control_token"},
    {CHATSEAL_E_RATE_LIMITED, 92, "rate_limited"},
    {CHATSEAL_E_STORE_UNAVAILABLE, 95, "store_unavailable"},
    {CHATSEAL_E_CONVERSATION_CONFLICT, 96, "conversation_conflict"},
    {CHATSEAL_E_CONVERSATION_EXISTS, 97, "conversation_exists"},
};
#define NALL (sizeof ALL / sizeof *ALL)

static void names_and_numbers(void)
{
    for (size_t i = 0; i < NALL; i++) {
        CHECK((int)ALL[i].code == ALL[i].number, "%s is %d, want %d",
              ALL[i].name, (int)ALL[i].code, ALL[i].number);
        const char *name = chatseal_error_name(ALL[i].code);
        CHECK(name && strcmp(name, ALL[i].name) == 0, "name of %d: %s, want %s",
              ALL[i].number, name ? name : "(null)", ALL[i].name);
    }
}

static void round_trip(void)
{
    for (size_t i = 0; i < NALL; i++) {
        const char *name = chatseal_error_name(ALL[i].code);
        CHECK(chatseal_error_from_name(name) == ALL[i].code,
              "from_name(%s) = %d", name, (int)chatseal_error_from_name(name));
        CHECK(strcmp(chatseal_error_name(chatseal_error_from_name(name)),
                     name) == 0,
              "round trip of %s", name);
    }
}

static void names_are_unique_snake_case(void)
{
    for (size_t i = 0; i < NALL; i++) {
        const char *a = chatseal_error_name(ALL[i].code);
        for (const char *p = a; *p; p++)
            CHECK(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
                      *p == '_',
                  "%s: '%c'", a, *p);
        CHECK(a[0] != '_' && a[strlen(a) - 1] != '_', "%s", a);
        for (size_t j = i + 1; j < NALL; j++)
            CHECK(strcmp(a, chatseal_error_name(ALL[j].code)) != 0,
                  "%d and %d share the name %s", ALL[i].number, ALL[j].number,
                  a);
    }
}

static void unknown_values_and_names(void)
{
    const int unknown[] = {-1, 5, 9, 14, 32, 39, 48, 59, 70, 79, 99, 1000};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        const char *n = chatseal_error_name((chatseal_error)unknown[i]);
        CHECK(n && strcmp(n, "unknown_error") == 0, "name(%d) = %s", unknown[i],
              n ? n : "(null)");
        const char *s = chatseal_strerror((chatseal_error)unknown[i]);
        CHECK(s && *s, "strerror(%d) empty", unknown[i]);
    }
    const char *bad[] = {"",
                         "nope",
                         "OK",
                         "Expired",
                         "expired ",
                         " expired",
                         "unknown_error",
                         "invalid_signature_",
                         "invalid"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(chatseal_error_from_name(bad[i]) == CHATSEAL_E_INVALID_ARGUMENT,
              "from_name('%s') = %d", bad[i],
              (int)chatseal_error_from_name(bad[i]));
    CHECK(chatseal_error_from_name(NULL) == CHATSEAL_E_INVALID_ARGUMENT,
          "from_name(NULL)");
}

static void strerror_sentences(void)
{
    for (size_t i = 0; i < NALL; i++) {
        const char *s = chatseal_strerror(ALL[i].code);
        CHECK(s && strlen(s) > 3, "strerror(%s) too short", ALL[i].name);
        CHECK(s && !strchr(s, '\n'), "strerror(%s) has a newline", ALL[i].name);
        for (size_t j = 0; s && j < i; j++)
            CHECK(strcmp(s, chatseal_strerror(ALL[j].code)) != 0,
                  "%s and %s share a sentence", ALL[i].name, ALL[j].name);
    }
}

static void free_null(void)
{
    chatseal_free(NULL);
    chatseal_free_secret(NULL);
    chatseal_keyring_free(NULL);
    chatseal_conv_free(NULL);
    chatseal_report_free(NULL);
    char *canon = NULL;
    size_t n;
    CHECK_ERR(chatseal_canonicalize("[]", 2, 0, &canon, &n), CHATSEAL_OK);
    chatseal_free(canon);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"names_and_numbers", names_and_numbers},
        {"round_trip", round_trip},
        {"names_are_unique_snake_case", names_are_unique_snake_case},
        {"unknown_values_and_names", unknown_values_and_names},
        {"strerror_sentences", strerror_sentences},
        {"free_null", free_null},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
