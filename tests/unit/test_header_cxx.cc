/*
 * test_header_cxx.cc -- chatseal.h from C++: it compiles warning-free
 * (-Wall -Wextra -Werror, any standard from C++11), its INIT macros give
 * structs the library accepts, and a sign/verify round trip works.
 *
 * The header promises C++ use (extern "C"); the option structs' INIT macros
 * take a different path there (C++ before C++20 has no designated
 * initializers), so that path needs a test of its own.
 */
#include <cstdio>
#include <cstring>

#include "chatseal.h"

static int failures = 0;

static void check(bool ok, const char *what)
{
    if (!ok) {
        std::printf("FAIL %s\n", what);
        failures++;
    }
}

int main()
{
    chatseal_keyring *ring = nullptr;
    check(chatseal_keyring_ephemeral(&ring) == CHATSEAL_OK, "keyring");
    chatseal_limits lim = CHATSEAL_LIMITS_INIT;
    lim.max_messages = 4;
    check(lim.size == sizeof(chatseal_limits), "limits size");
    const char *json = "[{\"role\":\"user\",\"content\":\"hi\"}]";
    chatseal_conv *conv = nullptr;
    check(chatseal_conv_parse(json, std::strlen(json), &lim, &conv) ==
              CHATSEAL_OK,
          "parse with CHATSEAL_LIMITS_INIT");
    chatseal_options opt = CHATSEAL_OPTIONS_INIT;
    opt.ttl = 60;
    check(opt.size == sizeof(chatseal_options) &&
              opt.conversation_id == nullptr,
          "options zeroed, size set");
    char *token = nullptr;
    check(conv && chatseal_sign(ring, conv, 1, &opt, &token) == CHATSEAL_OK,
          "sign with CHATSEAL_OPTIONS_INIT");
    check(conv && token &&
              chatseal_verify(ring, conv, token, &opt, nullptr) == CHATSEAL_OK,
          "verify");
    check(std::strcmp(chatseal_version(), CHATSEAL_VERSION_STRING) == 0,
          "version");
    chatseal_free(token);
    chatseal_conv_free(conv);
    chatseal_keyring_free(ring);
    std::printf("%s\n", failures ? "failed" : "ok");
    return failures ? 1 : 0;
}
