/*
 * help.c -- the text of `chatseal --help` and of every `COMMAND --help`.
 *
 * Kept apart from the code so the words can be read and reviewed as a whole;
 * docs/CLI.md is the longer reference and says the same things.  Each text
 * ends with a newline and is printed to stdout as is.
 */
#include "cli.h"

#define KEY_OPTIONS                                                            \
    "Keys:\n"                                                                  \
    "  --key-file PATH     key ring file (else CHATSEAL_KEYS, then\n"          \
    "                      CHATSEAL_KEY_FILE); the last key signs, all "       \
    "verify\n"                                                                 \
    "  --dev               ephemeral key for trying things out (warning on\n"  \
    "                      stderr; tokens die with the process)\n"

#define BIND_OPTIONS                                                           \
    "Binding (give the same values to sign and to verify):\n"                  \
    "  --conversation ID   conversation id, bound but not put in the token\n"  \
    "  --principal P       user/principal, bound but not put in the token\n"   \
    "  --purpose P         purpose, carried in the token and bound\n"

#define SIGN_TIME_OPTIONS                                                      \
    "  --ttl SECONDS       the token expires SECONDS after issue\n"            \
    "  --now UNIX          clock override (tests, vectors)\n"

#define VERIFY_OPTIONS                                                         \
    "  --token TOKEN       the token to check\n"                               \
    "  --token-file F      read the token from F ('-': stdin)\n"               \
    "  --leeway SECONDS    allowed clock skew for iat/exp\n"                   \
    "  --now UNIX          clock override (tests, vectors)\n"                  \
    "  --json              print the report object on stdout\n"                \
    "  --quiet             print nothing when valid (exit status only)\n"

#define EXIT_STATUS                                                            \
    "Exit status: 0 valid/success, 1 verification failed, 2 usage error,\n"    \
    "unreadable or malformed input, no key, or any other error.\n"

const char cs_help_main[] =
    "chatseal " CHATSEAL_VERSION_STRING
    " -- tamper-evident chat history and state\n"
    "\n"
    "Usage: chatseal COMMAND [options] [FILE]\n"
    "\n"
    "Commands:\n"
    "  keygen [--kid KID] [FILE]        new key-ring line KID:KEY (FILE: "
    "0600)\n"
    "  sign [FILE]                      sign a conversation, print its token\n"
    "  verify --token T [FILE]          check a conversation against a token\n"
    "  extend --token H0 --append F [FILE]  verify, append, print H1\n"
    "  canon [FILE]                     RFC 8785 canonical JSON\n"
    "  inspect TOKEN                    show a token's header (not "
    "verified)\n"
    "  message sign|verify [FILE]       one message object\n"
    "  state sign|verify [FILE]         any JSON value, signed\n"
    "  state seal [FILE] | open         any JSON value, encrypted "
    "(AES-256-GCM)\n"
    "  serve [options]                  the HTTP gateway (docs/GATEWAY.md)\n"
    "  bench [--messages N]             speed against raw SHA-256\n"
    "  help [COMMAND]                   help on one command\n"
    "  --version                        print the version\n"
    "\n"
    "Input is FILE, or stdin when FILE is absent or '-' (at most 64 MiB).\n"
    "Keys come from --key-file, CHATSEAL_KEYS (key ring text) or\n"
    "CHATSEAL_KEY_FILE (a path); --dev uses an ephemeral key.\n"
    "Errors: 'chatseal: <code>: <detail>' on stderr.\n" EXIT_STATUS
    "See docs/CLI.md for the full reference.\n";

const char cs_help_keygen[] =
    "Usage: chatseal keygen [--kid KID] [--alg ALG] [FILE]\n"
    "\n"
    "Makes one new key-ring line \"KID:KEY\" (32 random bytes, base64url;\n"
    "with --alg hs384 or hs512 \"KID:hs384:KEY\" / \"KID:hs512:KEY\", 48 / 64\n"
    "bytes: HMAC-SHA-384 / HMAC-SHA-512 tags; the algorithm belongs to the\n"
    "key entry, tokens never name it) and prints it on stdout, or appends\n"
    "it to FILE. FILE is created with\n"
    "mode 0600 (a shell redirection would use the umask, often 0644); an\n"
    "existing FILE keeps its mode but is refused if others may read or\n"
    "write it. The last line of a ring signs, every line verifies. This is\n"
    "the only command that ever prints key material.\n"
    "\n"
    "  --kid KID           key id, 1..64 of [A-Za-z0-9._-]\n"
    "                      (default: k<UTC date>-<4 hex digits>)\n"
    "  --alg ALG           hs256 (default), hs384 or hs512\n"
    "\n"
    "Example: chatseal keygen --kid k2 keys.txt\n";

const char cs_help_sign[] =
    "Usage: chatseal sign [options] [FILE]\n"
    "\n"
    "Signs a conversation and prints its token and a newline. FILE is a\n"
    "JSON array of messages, or an object with a \"messages\" array (an\n"
    "OpenAI chat request body). Every message is signed as the canonical\n"
    "JSON of the whole message object.\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "Token:\n" SIGN_TIME_OPTIONS
    "  --compact           no per-message locators (smaller; verify cannot\n"
    "                      say where a change is)\n"
    "  --assistant-only    locate assistant messages only (all still signed)\n"
    "  --count N           sign only the first N messages (default: all)\n"
    "  --max-depth N       JSON nesting limit (default 64)\n"
    "\n" EXIT_STATUS;

const char cs_help_verify[] =
    "Usage: chatseal verify --token TOKEN|--token-file F [options] [FILE]\n"
    "\n"
    "Checks that FILE holds exactly the messages the token covers, in order,\n"
    "for the same binding, and that the token is current. On failure the\n"
    "error line names the reason (content_changed, role_changed,\n"
    "message_inserted, message_deleted, truncated, reordered, "
    "count_mismatch,\n"
    "role_not_allowed, expired, binding_mismatch, unknown_key, ...).\n"
    "\n"
    "Options:\n" VERIFY_OPTIONS
    "  --allow-roles R,..  roles allowed after the signed prefix, e.g.\n"
    "                      user,tool (default: none, the token must cover\n"
    "                      every message)\n"
    "  --fresh-roles R,..  with an empty token: roles a fresh conversation\n"
    "                      may hold (default: a missing token never "
    "verifies)\n"
    "  --max-depth N       JSON nesting limit (default 64)\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "--json prints {\"valid\",\"code\",\"detail\",\"count\",\"chain_valid\",\n"
    "\"tampered_indices\",\"index\",\"kid\",\"iat\",\"exp\"}, also when the "
    "input\n"
    "cannot be read.\n"
    "\n" EXIT_STATUS;

const char cs_help_extend[] =
    "Usage: chatseal extend --token H0 --append NEW [options] [FILE]\n"
    "\n"
    "One turn of the H0 -> H1 flow: verifies FILE (the history, possibly\n"
    "followed by new turns of the --allow-roles roles) against H0, then\n"
    "appends the message(s) in NEW (one object or an array) and prints the\n"
    "token H1 over everything. Nothing is signed unless H0 verifies.\n"
    "--append - reads NEW from stdin (not when FILE is stdin too).\n"
    "\n"
    "Options:\n" VERIFY_OPTIONS
    "  --allow-roles R,..  roles allowed after the signed prefix (user,tool)\n"
    "  --fresh-roles R,..  with an empty H0: roles a new conversation may "
    "hold\n"
    "  --ttl SECONDS       H1 expires SECONDS after issue\n"
    "  --compact, --assistant-only   locators of H1, as for sign\n"
    "  --max-depth N       JSON nesting limit (default 64)\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "--json prints the verify report with one more member, \"token\" (H1,\n"
    "or null when H0 did not verify).\n"
    "\n" EXIT_STATUS;

const char cs_help_canon[] =
    "Usage: chatseal canon [--max-depth N] [FILE]\n"
    "\n"
    "Prints the RFC 8785 canonical form of one JSON text, with no newline\n"
    "added: the exact bytes chatseal hashes. Refuses ambiguous input with\n"
    "its own code: malformed_json, duplicate_key, invalid_utf8,\n"
    "lone_surrogate, control_character, too_deep, invalid_number,\n"
    "trailing_data, too_large.\n"
    "\n" EXIT_STATUS;

const char cs_help_inspect[] =
    "Usage: chatseal inspect TOKEN | - | --token-file F\n"
    "\n"
    "Prints {\"verified\":false,\"header\":{...}}: what the token's header\n"
    "claims (type, kid, iat, exp, n, purpose, ...). NOTHING IS VERIFIED and\n"
    "no key is used; a note on stderr repeats it. Use verify to check.\n"
    "\n"
    "Exit status: 0 the header could be read, 2 otherwise.\n";

const char cs_help_message[] =
    "Usage: chatseal message sign|verify [options] [FILE]\n"
    "\n"
    "One message object on its own (the MessageSigner pattern):\n"
    "  message sign [FILE]               print a token for the message\n"
    "  message verify --token T [FILE]   check the message against it\n"
    "\n"
    "See 'chatseal help message sign' and 'chatseal help message verify'.\n";

const char cs_help_message_sign[] =
    "Usage: chatseal message sign [options] [FILE]\n"
    "\n"
    "Prints a token (and a newline) for one message object, e.g.\n"
    "{\"role\":\"assistant\",\"content\":\"...\"}.\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "Token:\n" SIGN_TIME_OPTIONS "  --compact           no locator\n"
    "  --assistant-only    locate only if the role is assistant\n"
    "\n" EXIT_STATUS;

const char cs_help_message_verify[] =
    "Usage: chatseal message verify --token T [options] [FILE]\n"
    "\n"
    "Checks one message object against its token.\n"
    "\n"
    "Options:\n" VERIFY_OPTIONS "\n" KEY_OPTIONS "\n" BIND_OPTIONS
    "\n" EXIT_STATUS;

const char cs_help_state[] =
    "Usage: chatseal state sign|verify|seal|open [options] [FILE]\n"
    "\n"
    "Client-held application state, any JSON value:\n"
    "  state sign [FILE]                 token over the value (the client\n"
    "                                    keeps both)\n"
    "  state verify --token T [FILE]     check the value against it\n"
    "  state seal [FILE]                 token that carries the value\n"
    "                                    encrypted (AES-256-GCM)\n"
    "  state open --token T              print the value (canonical JSON)\n"
    "\n"
    "See 'chatseal help state COMMAND'.\n";

const char cs_help_state_sign[] =
    "Usage: chatseal state sign [options] [FILE]\n"
    "\n"
    "Prints a token (and a newline) over the canonical form of any JSON\n"
    "value. The value stays readable; send both back and check them with\n"
    "'chatseal state verify'.\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "Token:\n" SIGN_TIME_OPTIONS "\n" EXIT_STATUS;

const char cs_help_state_verify[] =
    "Usage: chatseal state verify --token T [options] [FILE]\n"
    "\n"
    "Checks a JSON value against its state token. Formatting, key order and\n"
    "number spelling do not matter (the canonical form is compared).\n"
    "\n"
    "Options:\n" VERIFY_OPTIONS "\n" KEY_OPTIONS "\n" BIND_OPTIONS
    "\n" EXIT_STATUS;

const char cs_help_state_seal[] =
    "Usage: chatseal state seal [options] [FILE]\n"
    "\n"
    "Prints a sealed token (and a newline): the canonical JSON value\n"
    "encrypted with AES-256-GCM under a key derived from the signing key.\n"
    "The client cannot read or change it; 'chatseal state open' returns it.\n"
    "\n" KEY_OPTIONS "\n" BIND_OPTIONS "\n"
    "Token:\n" SIGN_TIME_OPTIONS "\n" EXIT_STATUS;

const char cs_help_state_open[] =
    "Usage: chatseal state open --token T|--token-file F [options]\n"
    "\n"
    "Decrypts and checks a sealed token and prints the value as canonical\n"
    "JSON, with no newline added (the same bytes 'chatseal canon' prints).\n"
    "With --json, prints the report with one more member, \"value\".\n"
    "\n"
    "Options:\n" VERIFY_OPTIONS "\n" KEY_OPTIONS "\n" BIND_OPTIONS
    "\n" EXIT_STATUS;

const char cs_help_bench[] =
    "Usage: chatseal bench [--messages N] [--rounds R] [--json]\n"
    "\n"
    "Builds an OpenAI-style request body in memory (N messages, default 200,\n"
    "mixed roles, ~1 KB each) and prints the median time and throughput of\n"
    "raw SHA-256 over the body (OpenSSL EVP), parse + verify, parse + sign,\n"
    "and verify and sign of an already parsed conversation, then the ratio\n"
    "parse+verify / SHA-256. Uses an ephemeral key; needs no key "
    "configured.\n"
    "\n"
    "  --messages N        messages in the body (default 200)\n"
    "  --rounds R          timed rounds per measurement (default 50)\n"
    "  --json              one JSON object instead of the table\n";
