/*
 * config.c -- options of chatseal serve, from flags and the environment.
 *
 * One table describes every option: its flag, its environment variable, its
 * type, its default and its help line.  Defaults are parsed from text by the
 * same code as user input, so `--help` shows exactly what applies, and the
 * help text cannot drift from the parser.  Precedence: default < environment
 * < flag.  Durations accept "500ms", "30s", "2m" or plain seconds; sizes accept
 * a K/M/G suffix (powers of 1024).
 */
#include "ops/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/cors.h"

enum opt_type { T_STR, T_FLAG, T_INT, T_SIZE, T_SECS };

struct opt {
    const char *name; /* without "--" */
    const char *env;
    enum opt_type type;
    size_t off;
    const char *def;
    const char *arg;
    const char *help;
};

#define O(f) offsetof(cs_config, f)

static const struct opt opts[] = {
    {"listen", "CHATSEAL_LISTEN", T_STR, O(listen), "127.0.0.1:8080",
     "HOST:PORT", "address to listen on (port 0: any free port)"},
    {"upstream", "CHATSEAL_UPSTREAM", T_STR, O(upstream), NULL, "URL|mock",
     "OpenAI-compatible server, e.g. http://127.0.0.1:11434 or "
     "https://api.openai.com; \"mock\" is the built-in demo/test model"},
    {"upstream-ca", "CHATSEAL_UPSTREAM_CA", T_STR, O(upstream_ca), NULL, "FILE",
     "PEM CA bundle for an https upstream (default: system store)"},
    {"key-file", "CHATSEAL_KEY_FILE", T_STR, O(key_file), NULL, "FILE",
     "key ring file (KID:KEY lines; the last key signs); reloaded on SIGHUP. "
     "CHATSEAL_KEYS may hold the ring text instead"},
    {"dev", "CHATSEAL_DEV", T_FLAG, O(dev), NULL, NULL,
     "development mode: an ephemeral key when none is configured, and then "
     "open sidecar endpoints (with a configured key they stay closed)"},
    {"ui", "CHATSEAL_UI", T_STR, O(ui), NULL, "DIR",
     "serve static files (index.html, .js, .css, .svg) from DIR at /"},
    {"tls-cert", "CHATSEAL_TLS_CERT", T_STR, O(tls_cert), NULL, "FILE",
     "serve HTTPS: certificate chain (PEM)"},
    {"tls-key", "CHATSEAL_TLS_KEY", T_STR, O(tls_key), NULL, "FILE",
     "serve HTTPS: private key (PEM)"},
    {"conversation-header", "CHATSEAL_CONVERSATION_HEADER", T_STR,
     O(conversation_header), "Chatseal-Conversation", "NAME",
     "request header whose value (a conversation id) is bound into tokens; "
     "\"\" disables"},
    {"principal-header", "CHATSEAL_PRINCIPAL_HEADER", T_STR,
     O(principal_header), NULL, "NAME",
     "request header set by an auth proxy (e.g. X-User) whose value is bound "
     "into tokens"},
    {"purpose", "CHATSEAL_PURPOSE", T_STR, O(purpose), NULL, "TEXT",
     "purpose written into and required of every token"},
    {"ttl", "CHATSEAL_TTL", T_SECS, O(ttl), "0", "DURATION",
     "token lifetime (0: no expiry)"},
    {"leeway", "CHATSEAL_LEEWAY", T_SECS, O(leeway), "60s", "DURATION",
     "allowed clock skew when checking iat/exp"},
    {"tail-roles", "CHATSEAL_TAIL_ROLES", T_STR, O(tail_roles), "user,tool",
     "ROLES", "roles that may follow the signed prefix"},
    {"fresh-roles", "CHATSEAL_FRESH_ROLES", T_STR, O(fresh_roles), "user",
     "ROLES",
     "roles a conversation without a token may hold (system,developer,user "
     "lets clients write their own system prompt and get it signed)"},
    {"system-prompt", "CHATSEAL_SYSTEM_PROMPT", T_STR, O(system_prompt), NULL,
     "FILE",
     "the operator's system prompt: put first and signed in every "
     "conversation (a client message equal to it is not duplicated)"},
    {"user-members", "CHATSEAL_USER_MEMBERS", T_STR, O(user_members),
     "role,content,name", "LIST",
     "members a new (unsigned) message may have, every role but tool"},
    {"tool-members", "CHATSEAL_TOOL_MEMBERS", T_STR, O(tool_members),
     "role,content,tool_call_id,name", "LIST",
     "members a new tool message may have"},
    {"content-parts", "CHATSEAL_CONTENT_PARTS", T_STR, O(content_parts),
     "text,image_url", "LIST",
     "content part types a new message may have (tool: text only)"},
    {"control-tokens", "CHATSEAL_CONTROL_TOKENS", T_STR, O(control_tokens),
     "pipe,deepseek,gemma,mistral", "LIST|none",
     "refuse these chat-template control tokens in new messages: families "
     "pipe (<|...|>: ChatML, Qwen, Llama 3, Phi, gpt-oss), deepseek, gemma, "
     "mistral, sentencepiece (<s> </s>), or literal strings"},
    {"allow-parameters", "CHATSEAL_ALLOW_PARAMETERS", T_STR,
     O(allow_parameters), NULL, "LIST",
     "top-level request members forwarded besides the OpenAI chat "
     "parameters (e.g. top_k,min_p)"},
    {"bind-parameters", "CHATSEAL_BIND_PARAMETERS", T_STR, O(bind_parameters),
     NULL, "LIST",
     "top-level members bound into tokens (e.g. tools,tool_choice): a later "
     "turn with other values is 403 binding_mismatch"},
    {"unknown-parameters", "CHATSEAL_UNKNOWN_PARAMETERS", T_STR,
     O(unknown_parameters), "refuse", "refuse|drop",
     "other top-level members: 400 parameter_not_allowed, or removed"},
    {"locators", "CHATSEAL_LOCATORS", T_STR, O(locators), "all",
     "all|assistant|none",
     "per-message locators in tokens (which message was changed)"},
    {"store", "CHATSEAL_STORE", T_STR, O(store), "chatseal-store",
     "PATH|lmdb:PATH|redis://HOST[:PORT][/DB]|unix:PATH|none",
     "conversation store: the newest token of every conversation that sends "
     "the conversation header, so clients need no token code and older "
     "tokens are refused (stale_token); a directory (embedded LMDB), Redis "
     "for replicas, or none"},
    {"rollback", "CHATSEAL_ROLLBACK", T_STR, O(rollback), NULL, "URL",
     "old name of --store for Redis (redis://... or unix:PATH)"},
    {"store-timeout", "CHATSEAL_STORE_TIMEOUT", T_SECS, O(store_timeout),
     "100ms", "DURATION",
     "bound on each Redis round trip (then 503 store_unavailable, fail "
     "closed); alias --rollback-timeout"},
    {"rollback-timeout", "CHATSEAL_ROLLBACK_TIMEOUT", T_SECS, O(store_timeout),
     NULL, "DURATION", "old name of --store-timeout"},
    {"store-ttl", "CHATSEAL_STORE_TTL", T_SECS, O(store_ttl), "720h",
     "DURATION",
     "how long a conversation's record lives after its last turn; alias "
     "--rollback-ttl"},
    {"rollback-ttl", "CHATSEAL_ROLLBACK_TTL", T_SECS, O(store_ttl), NULL,
     "DURATION", "old name of --store-ttl"},
    {"cors-origins", "CHATSEAL_CORS_ORIGINS", T_STR, O(cors_origins), NULL,
     "LIST",
     "origins whose pages may call the gateway from a browser (CORS): "
     "https://app.example,http://127.0.0.1:3000 or *; default: same origin "
     "only"},
    {"sidecar-secret-file", "CHATSEAL_SIDECAR_SECRET_FILE", T_STR,
     O(sidecar_secret_file), NULL, "FILE",
     "bearer secret required by /v1/chatseal/* (without it they are off, "
     "or open with --dev)"},
    {"max-body", "CHATSEAL_MAX_BODY", T_SIZE, O(max_body), "8M", "SIZE",
     "largest request body (413 too_large)"},
    {"max-messages", "CHATSEAL_MAX_MESSAGES", T_INT, O(max_messages), "2000",
     "N", "most messages in one request (413 too_many_messages)"},
    {"max-header", "CHATSEAL_MAX_HEADER", T_SIZE, O(max_header), "64K", "SIZE",
     "largest request head (431 too_large)"},
    {"max-connections", "CHATSEAL_MAX_CONNECTIONS", T_INT, O(max_connections),
     "1024", "N", "most open client connections (503 overloaded)"},
    {"max-connections-per-client", "CHATSEAL_MAX_CONNECTIONS_PER_CLIENT", T_INT,
     O(max_connections_per_client), "256", "N",
     "most open connections from one client address (429 rate_limited; 0: "
     "no cap; behind a proxy every client has the proxy's address)"},
    {"max-inflight", "CHATSEAL_MAX_INFLIGHT", T_SIZE, O(max_inflight), "1G",
     "SIZE",
     "request body bytes held at once, per worker, counted from the "
     "declared length (503 overloaded with Retry-After; 0: no bound)"},
    {"max-inflight-per-client", "CHATSEAL_MAX_INFLIGHT_PER_CLIENT", T_SIZE,
     O(max_inflight_per_client), "256M", "SIZE",
     "the same for one client address (429 rate_limited with Retry-After; "
     "0: no bound)"},
    {"workers", "CHATSEAL_WORKERS", T_INT, O(workers), "1", "N|auto",
     "worker processes, one event loop each, sharing the listening socket, "
     "key ring and metrics (auto: one per core; --max-connections is per "
     "worker)"},
    {"max-response", "CHATSEAL_MAX_RESPONSE", T_SIZE, O(max_response), "64M",
     "SIZE", "largest upstream reply or stream event (502 upstream_error)"},
    {"header-timeout", "CHATSEAL_HEADER_TIMEOUT", T_SECS, O(header_timeout),
     "10s", "DURATION", "time to send the request head (408 timeout)"},
    {"body-timeout", "CHATSEAL_BODY_TIMEOUT", T_SECS, O(body_timeout), "30s",
     "DURATION", "time to send the request body (408 timeout)"},
    {"idle-timeout", "CHATSEAL_IDLE_TIMEOUT", T_SECS, O(idle_timeout), "60s",
     "DURATION", "keep-alive connection idle time"},
    {"write-timeout", "CHATSEAL_WRITE_TIMEOUT", T_SECS, O(write_timeout), "60s",
     "DURATION", "a client that reads nothing for this long is dropped"},
    {"upstream-connect-timeout", "CHATSEAL_UPSTREAM_CONNECT_TIMEOUT", T_SECS,
     O(upstream_connect_timeout), "5s", "DURATION",
     "connect + TLS handshake (502 upstream_unavailable)"},
    {"upstream-timeout", "CHATSEAL_UPSTREAM_TIMEOUT", T_SECS,
     O(upstream_timeout), "120s", "DURATION",
     "upstream silence before the reply or between stream bytes (504 "
     "upstream_timeout)"},
    {"drain-timeout", "CHATSEAL_DRAIN_TIMEOUT", T_SECS, O(drain_timeout), "20s",
     "DURATION", "on SIGTERM, how long open requests may finish"},
    {"mock-delay", "CHATSEAL_MOCK_DELAY", T_SECS, O(mock_delay_ms), "30ms",
     "DURATION", "pause between streamed chunks of --upstream mock"},
    {"quiet", "CHATSEAL_QUIET", T_FLAG, O(quiet), NULL, NULL,
     "no per-request log lines (startup and errors are still logged)"},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static int parse_secs(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    if (strcmp(end, "ms") == 0)
        v /= 1000.0;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        v *= 60.0;
    else if (strcmp(end, "h") == 0)
        v *= 3600.0;
    else if (*end && strcmp(end, "s") != 0)
        return -1;
    if (v > 1e9)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int64_t *out, int size)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned long long mult = 1;
    if (size && *end) {
        switch (toupper((unsigned char)*end)) {
        case 'K':
            mult = 1024ull;
            break;
        case 'M':
            mult = 1024ull * 1024;
            break;
        case 'G':
            mult = 1024ull * 1024 * 1024;
            break;
        default:
            return -1;
        }
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0 ||
            strcmp(end, "b") == 0)
            end += strlen(end);
    }
    if (*end || v > (unsigned long long)INT64_MAX / mult)
        return -1;
    *out = (int64_t)(v * mult);
    return 0;
}

static int set_opt(cs_config *c, const struct opt *o, const char *val,
                   const char *from, FILE *err)
{
    char *base = (char *)c + o->off;
    switch (o->type) {
    case T_STR:
        *(const char **)(void *)base = val;
        return 0;
    case T_FLAG: {
        int v;
        if (!val || !strcmp(val, "1") || !strcasecmp(val, "true") ||
            !strcasecmp(val, "yes") || !strcasecmp(val, "on"))
            v = 1;
        else if (!*val || !strcmp(val, "0") || !strcasecmp(val, "false") ||
                 !strcasecmp(val, "no") || !strcasecmp(val, "off"))
            v = 0;
        else
            break;
        *(int *)(void *)base = v;
        return 0;
    }
    case T_INT:
    case T_SIZE: {
        int64_t v;
        if (o->off == O(workers) && val && !strcmp(val, "auto")) {
            long n = sysconf(_SC_NPROCESSORS_ONLN); /* one per core */
            *(int64_t *)(void *)base = n > 0 ? n : 1;
            return 0;
        }
        if (parse_int(val, &v, o->type == T_SIZE) != 0)
            break;
        *(int64_t *)(void *)base = v;
        return 0;
    }
    case T_SECS: {
        double v;
        if (parse_secs(val, &v) != 0)
            break;
        if (o->off == O(ttl) || o->off == O(leeway) || o->off == O(store_ttl))
            *(int64_t *)(void *)base = (int64_t)v;
        else if (o->off == O(mock_delay_ms))
            *(int64_t *)(void *)base = (int64_t)(v * 1000.0);
        else
            *(double *)(void *)base = v;
        return 0;
    }
    }
    fprintf(err, "chatseal: invalid_argument: %s: invalid value \"%s\"\n", from,
            val ? val : "");
    return -1;
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
            return &opts[i];
    return NULL;
}

int cs_config_parse(cs_config *c, int argc, char **argv, FILE *err)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].def &&
            set_opt(c, &opts[i], opts[i].def, opts[i].name, err) != 0)
            return CS_CONFIG_ERROR;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && set_opt(c, &opts[i], v, opts[i].env, err) != 0)
            return CS_CONFIG_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return CS_CONFIG_HELP;
        if (strncmp(a, "--", 2) != 0) {
            fprintf(err,
                    "chatseal: invalid_argument: serve: unexpected "
                    "argument \"%s\" (see chatseal serve --help)\n",
                    a);
            return CS_CONFIG_ERROR;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = find_opt(name, nlen);
        if (!o) {
            fprintf(err,
                    "chatseal: invalid_argument: serve: unknown option "
                    "\"%.*s\" (see chatseal serve --help)\n",
                    (int)(nlen + 2), a);
            return CS_CONFIG_ERROR;
        }
        const char *val = NULL;
        if (eq) {
            val = eq + 1;
        } else if (o->type != T_FLAG) {
            if (i + 1 >= argc) {
                fprintf(err,
                        "chatseal: invalid_argument: serve: --%s needs "
                        "a value\n",
                        o->name);
                return CS_CONFIG_ERROR;
            }
            val = argv[++i];
        }
        char from[80];
        snprintf(from, sizeof from, "--%s", o->name);
        if (set_opt(c, o, val, from, err) != 0)
            return CS_CONFIG_ERROR;
    }
    /* empty strings mean "not set" for optional strings */
    const char **strs[] = {
        &c->upstream_ca,      &c->key_file,      &c->ui,
        &c->tls_cert,         &c->tls_key,       &c->conversation_header,
        &c->principal_header, &c->purpose,       &c->sidecar_secret_file,
        &c->rollback,         &c->system_prompt, &c->allow_parameters,
        &c->bind_parameters};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (*strs[i] && !**strs[i])
            *strs[i] = NULL;
    if (c->rollback) { /* the old name wins: it is never a default */
        if (strncmp(c->rollback, "redis://", 8) &&
            strncmp(c->rollback, "unix:", 5)) {
            fprintf(err, "chatseal: invalid_argument: serve: --rollback "
                         "wants redis://HOST[:PORT][/DB] or unix:PATH (see "
                         "--store)\n");
            return CS_CONFIG_ERROR;
        }
        c->store = c->rollback;
    }
    if (!c->upstream || !*c->upstream) {
        fprintf(err, "chatseal: invalid_argument: serve: --upstream URL (or "
                     "CHATSEAL_UPSTREAM) is required; use --upstream mock "
                     "for the built-in demo model\n");
        return CS_CONFIG_ERROR;
    }
    if (!!c->tls_cert != !!c->tls_key) {
        fprintf(err, "chatseal: invalid_argument: serve: --tls-cert and "
                     "--tls-key go together\n");
        return CS_CONFIG_ERROR;
    }
    if (strcmp(c->locators, "all") && strcmp(c->locators, "assistant") &&
        strcmp(c->locators, "none")) {
        fprintf(err, "chatseal: invalid_argument: serve: --locators is all, "
                     "assistant or none\n");
        return CS_CONFIG_ERROR;
    }
    if (c->max_connections < 1 || c->max_body < 1 || c->max_messages < 1 ||
        c->max_header < 1024 || c->max_response < 1024) {
        fprintf(err, "chatseal: invalid_argument: serve: a limit is too "
                     "small\n");
        return CS_CONFIG_ERROR;
    }
    if (strcmp(c->unknown_parameters, "refuse") &&
        strcmp(c->unknown_parameters, "drop")) {
        fprintf(err, "chatseal: invalid_argument: serve: --unknown-parameters "
                     "is refuse or drop\n");
        return CS_CONFIG_ERROR;
    }
    if (cs_cors_check_config(c->cors_origins, err) != 0)
        return CS_CONFIG_ERROR;
    if (c->workers < 1 || c->workers > CS_MAX_WORKERS) {
        fprintf(err,
                "chatseal: invalid_argument: serve: --workers is 1 to %d\n",
                CS_MAX_WORKERS);
        return CS_CONFIG_ERROR;
    }
    if (c->purpose && strlen(c->purpose) > 1024) {
        fprintf(err, "chatseal: invalid_argument: serve: --purpose is at most "
                     "1024 bytes\n");
        return CS_CONFIG_ERROR;
    }
    return CS_CONFIG_OK;
}

void cs_config_help(FILE *out)
{
    fputs("usage: chatseal serve --upstream URL|mock [options]\n"
          "\n"
          "An integrity gateway in front of an OpenAI-compatible chat server.\n"
          "Clients POST /v1/chat/completions with the whole history and the\n"
          "token of the previous turn (header Chatseal-Token or body field\n"
          "chatseal_token); the gateway verifies it, forwards the canonical\n"
          "request, and signs the reply (response header Chatseal-Token and\n"
          "field \"chatseal\"; streams end with a chatseal chunk).\n"
          "Also: POST /v1/chatseal/{sign,verify,extend,message/sign,\n"
          "message/verify,state/sign,state/verify,state/seal,state/open}\n"
          "(sidecar), GET /v1/models, /healthz, /metrics, and with --ui the\n"
          "chat page at /.\n"
          "See docs/GATEWAY.md and docs/DEPLOY.md.\n"
          "\n"
          "Options (each also read from the environment variable shown):\n",
          out);
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &opts[i];
        char lhs[80];
        snprintf(lhs, sizeof lhs, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        fprintf(out, "  %s\n      %s", lhs, o->help);
        if (o->def)
            fprintf(out, " [default: %s]", *o->def ? o->def : "\"\"");
        fprintf(out, "\n      env %s\n", o->env);
    }
    fputs(
        "\n"
        "Keys: --key-file FILE, CHATSEAL_KEY_FILE=FILE or CHATSEAL_KEYS=TEXT\n"
        "(chatseal keygen makes a line).  Without a key chatseal serve exits\n"
        "with status 2 (no_key) unless --dev is given.\n"
        "Signals: SIGHUP reloads the key ring and the sidecar secret;\n"
        "SIGTERM/SIGINT stop accepting, let open requests finish\n"
        "(--drain-timeout), then exit.\n"
        "Exit status: 0 after a clean stop, 2 on a usage or setup error.\n",
        out);
}
