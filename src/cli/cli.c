/*
 * cli.c -- the plumbing every chatseal subcommand shares.
 *
 * Design:
 *   - One option table for the whole tool.  Each command declares which
 *     option groups it accepts (CS_O_*); the parser refuses the rest with a
 *     usage error instead of silently ignoring them, because an ignored
 *     --conversation on `verify` would make a binding check pass vacuously.
 *     It is a small loop of our own rather than getopt_long, so that it keeps
 *     no state between calls and reports errors in the tool's own format.
 *   - Exactly one function (cs_exit_code) maps library results to the exit
 *     statuses of CLI-SPEC, and exactly one (cs_fail) prints errors, as
 *     "chatseal: <code>: <detail>".  Details come from the library's
 *     strerror/report text or from file names, never from key material.
 *   - Inputs are read whole (the library parses from memory) but bounded at
 *     64 MiB, so `chatseal verify < /dev/zero` ends with too_large instead of
 *     eating the machine.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ options -- */

enum opt_id {
    OPT_KEY_FILE,
    OPT_DEV,
    OPT_KID,
    OPT_CONVERSATION,
    OPT_PRINCIPAL,
    OPT_PURPOSE,
    OPT_TTL,
    OPT_NOW,
    OPT_LEEWAY,
    OPT_COMPACT,
    OPT_ASSISTANT_ONLY,
    OPT_COUNT,
    OPT_TOKEN,
    OPT_TOKEN_FILE,
    OPT_JSON,
    OPT_QUIET,
    OPT_ALLOW_ROLES,
    OPT_FRESH_ROLES,
    OPT_APPEND,
    OPT_MESSAGES,
    OPT_ROUNDS,
    OPT_MAX_DEPTH,
    OPT_ALG,
    OPT_COUNT_ALL /* number of options */
};

struct opt_def {
    const char *name; /* without the leading "--" */
    unsigned groups;  /* accepted by commands with any of these CS_O_* */
    int has_value;
    enum opt_id id;
};

static const struct opt_def opt_table[] = {
    {"key-file", CS_O_KEY, 1, OPT_KEY_FILE},
    {"dev", CS_O_KEY, 0, OPT_DEV},
    {"kid", CS_O_KID, 1, OPT_KID},
    {"alg", CS_O_KID, 1, OPT_ALG},
    {"conversation", CS_O_BIND, 1, OPT_CONVERSATION},
    {"principal", CS_O_BIND, 1, OPT_PRINCIPAL},
    {"purpose", CS_O_BIND, 1, OPT_PURPOSE},
    {"ttl", CS_O_TTL, 1, OPT_TTL},
    {"now", CS_O_NOW, 1, OPT_NOW},
    {"leeway", CS_O_VERIFY, 1, OPT_LEEWAY},
    {"compact", CS_O_LOC, 0, OPT_COMPACT},
    {"assistant-only", CS_O_LOC, 0, OPT_ASSISTANT_ONLY},
    {"count", CS_O_COUNT, 1, OPT_COUNT},
    {"token", CS_O_TOKEN, 1, OPT_TOKEN},
    {"token-file", CS_O_TOKEN, 1, OPT_TOKEN_FILE},
    {"json", CS_O_VERIFY | CS_O_BENCH, 0, OPT_JSON},
    {"quiet", CS_O_VERIFY, 0, OPT_QUIET},
    {"allow-roles", CS_O_ROLES, 1, OPT_ALLOW_ROLES},
    {"fresh-roles", CS_O_ROLES, 1, OPT_FRESH_ROLES},
    {"append", CS_O_APPEND, 1, OPT_APPEND},
    {"messages", CS_O_BENCH, 1, OPT_MESSAGES},
    {"rounds", CS_O_BENCH, 1, OPT_ROUNDS},
    {"max-depth", CS_O_DEPTH, 1, OPT_MAX_DEPTH},
};

const char *cs_command_title(const struct cs_command *cmd, char *buf,
                             size_t size)
{
    if (cmd->group)
        snprintf(buf, size, "chatseal %s %s", cmd->group, cmd->name);
    else
        snprintf(buf, size, "chatseal %s", cmd->name);
    return buf;
}

int cs_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    int64_t v = 0;
    int neg = 0;
    const char *p = s;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p; p++) {
        int d;
        if (*p < '0' || *p > '9')
            return -1;
        d = *p - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const struct opt_def *opt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        if (strlen(opt_table[i].name) == len &&
            memcmp(opt_table[i].name, name, len) == 0)
            return &opt_table[i];
    }
    return NULL;
}

/* Numeric option: parses into *out or prints a usage error. */
static int opt_number(const struct cs_command *cmd, const char *name,
                      const char *val, int64_t min, int64_t max, int64_t *out)
{
    if (cs_parse_int(val, min, max, out) != 0)
        return cs_usage(cmd,
                        "--%s needs an integer from %lld to %lld, not '%s'",
                        name, (long long)min, (long long)max, val);
    return 0;
}

static int opt_apply(const struct cs_command *cmd, const struct opt_def *d,
                     const char *val, struct cs_args *a)
{
    int64_t n = 0;
    int rc = 0;

    switch (d->id) {
    case OPT_KEY_FILE:
        a->key_file = val;
        break;
    case OPT_DEV:
        a->dev = 1;
        break;
    case OPT_KID:
        a->kid = val;
        break;
    case OPT_CONVERSATION:
        a->opt.conversation_id = val;
        break;
    case OPT_PRINCIPAL:
        a->opt.principal = val;
        break;
    case OPT_PURPOSE:
        a->opt.purpose = val;
        break;
    case OPT_TTL:
        rc = opt_number(cmd, d->name, val, 1, (INT64_C(1) << 53) - 1, &n);
        a->opt.ttl = n;
        break;
    case OPT_NOW:
        rc = opt_number(cmd, d->name, val, 1, (INT64_C(1) << 53) - 1, &n);
        a->opt.now = n;
        break;
    case OPT_LEEWAY:
        rc = opt_number(cmd, d->name, val, 0, (INT64_C(1) << 53) - 1, &n);
        a->opt.leeway = n;
        break;
    case OPT_COMPACT:
        a->opt.flags |= CHATSEAL_COMPACT;
        break;
    case OPT_ASSISTANT_ONLY:
        a->opt.flags |= CHATSEAL_ASSISTANT_ONLY;
        break;
    case OPT_COUNT:
        rc = opt_number(cmd, d->name, val, 0, INT32_MAX, &n);
        a->count = (size_t)n;
        a->has_count = 1;
        break;
    case OPT_TOKEN:
        a->token = val;
        break;
    case OPT_TOKEN_FILE:
        a->token_file = val;
        break;
    case OPT_JSON:
        a->json = 1;
        break;
    case OPT_QUIET:
        a->quiet = 1;
        break;
    case OPT_ALLOW_ROLES:
        a->opt.tail_roles = val;
        break;
    case OPT_FRESH_ROLES:
        a->opt.fresh_roles = val;
        break;
    case OPT_APPEND:
        a->append = val;
        break;
    case OPT_MESSAGES:
        rc = opt_number(cmd, d->name, val, 1, 1000000, &n);
        a->messages = (size_t)n;
        break;
    case OPT_ROUNDS:
        rc = opt_number(cmd, d->name, val, 1, 100000, &n);
        a->rounds = (size_t)n;
        break;
    case OPT_MAX_DEPTH:
        rc = opt_number(cmd, d->name, val, 1, 100000, &n);
        a->max_depth = (size_t)n;
        break;
    case OPT_ALG: /* the library checks it too; here for a usage message */
        if (strcmp(val, "hs256") && strcmp(val, "hs384") &&
            strcmp(val, "hs512"))
            rc = cs_usage(cmd, "--alg is hs256, hs384 or hs512, not '%s'", val);
        a->alg = val;
        break;
    case OPT_COUNT_ALL:
        break;
    }
    return rc;
}

int cs_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int cs_args_parse(const struct cs_command *cmd, int argc, char **argv,
                  struct cs_args *a)
{
    unsigned char seen[OPT_COUNT_ALL] = {0};
    int only_pos = 0;

    memset(a, 0, sizeof *a);
    a->opt = (chatseal_options)CHATSEAL_OPTIONS_INIT;
    /* --help wins over everything else on the line, even a bad option. */
    if (cs_wants_help(argc, argv)) {
        a->help = 1;
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && arg[0] == '-' && arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const struct opt_def *d = opt_find(name, len);
            const char *val = NULL;
            int rc;

            if (!d)
                return cs_usage(cmd, "unknown option '%.*s'", (int)len + 2,
                                arg);
            if (!(d->groups & cmd->accepts))
                return cs_usage(cmd, "option --%s does not apply here",
                                d->name);
            if (seen[d->id])
                return cs_usage(cmd, "option --%s given twice", d->name);
            seen[d->id] = 1;
            if (d->has_value) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return cs_usage(cmd, "option --%s needs a value", d->name);
            } else if (eq) {
                return cs_usage(cmd, "option --%s takes no value", d->name);
            }
            rc = opt_apply(cmd, d, val, a);
            if (rc)
                return rc;
            continue;
        }
        if (!only_pos && arg[0] == '-' && arg[1] != '\0')
            return cs_usage(cmd, "unknown option '%s'", arg);
        if (a->npos >= cmd->max_pos || a->npos >= CS_CLI_POS_MAX)
            return cs_usage(cmd, "unexpected argument '%s'", arg);
        a->pos[a->npos++] = arg;
    }
    if (a->dev && a->key_file)
        return cs_usage(cmd, "--dev and --key-file exclude each other");
    if (a->token && a->token_file)
        return cs_usage(cmd, "--token and --token-file exclude each other");
    return 0;
}

/* ------------------------------------------------------------- errors -- */

int cs_exit_code(chatseal_error err)
{
    if (err == CHATSEAL_OK)
        return CS_EXIT_OK;
    /* token problems and verdicts: the presented data does not verify */
    if (err >= CHATSEAL_E_MISSING_SIGNATURE && err <= CHATSEAL_E_STALE_TOKEN)
        return CS_EXIT_INVALID;
    return CS_EXIT_ERROR;
}

__attribute__((format(printf, 2, 0))) static void
vprint_line(const char *label, const char *fmt, va_list ap)
{
    fprintf(stderr, "chatseal: %s: ", label);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

int cs_fail(chatseal_error err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint_line(chatseal_error_name(err), fmt, ap);
    va_end(ap);
    return err == CHATSEAL_OK ? CS_EXIT_ERROR : cs_exit_code(err);
}

int cs_usage(const struct cs_command *cmd, const char *fmt, ...)
{
    char title[64];
    va_list ap;

    fprintf(stderr,
            "chatseal: %s: ", chatseal_error_name(CHATSEAL_E_INVALID_ARGUMENT));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, " (see '%s --help')\n",
                cs_command_title(cmd, title, sizeof title));
    else
        fputs(" (see 'chatseal --help')\n", stderr);
    fflush(stderr);
    return CS_EXIT_ERROR;
}

void cs_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint_line("warning", fmt, ap);
    va_end(ap);
}

/* -------------------------------------------------------------- input -- */

int cs_is_stdin(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0;
}

int cs_read_input(const char *path, char **buf, size_t *len,
                  chatseal_error *err)
{
    const char *label = cs_is_stdin(path) ? "standard input" : path;
    FILE *f = cs_is_stdin(path) ? stdin : fopen(path, "rb");
    size_t cap = 0, used = 0;
    char *p = NULL;
    int rc = 0;

    *buf = NULL;
    *len = 0;
    if (!f) {
        *err = CHATSEAL_E_IO;
        return cs_fail(*err, "cannot open %s: %s", label, strerror(errno));
    }
    for (;;) {
        size_t got;
        if (used == cap) {
            /* grow geometrically, but never past the limit + 1 byte that
             * tells "too large" apart from "exactly 64 MiB" */
            size_t want = cap ? cap * 2 : 65536;
            char *q;
            if (want > CS_CLI_INPUT_MAX + 1)
                want = CS_CLI_INPUT_MAX + 1;
            if (want == cap) {
                *err = CHATSEAL_E_TOO_LARGE;
                rc = cs_fail(*err, "%s is larger than %zu MiB", label,
                             CS_CLI_INPUT_MAX >> 20);
                break;
            }
            q = realloc(p, want + 1);
            if (!q) {
                *err = CHATSEAL_E_NO_MEMORY;
                rc = cs_fail(*err, "cannot hold %s in memory", label);
                break;
            }
            p = q;
            cap = want;
        }
        got = fread(p + used, 1, cap - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f)) {
                *err = CHATSEAL_E_IO;
                rc =
                    cs_fail(*err, "cannot read %s: %s", label, strerror(errno));
            }
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (rc) {
        free(p);
        return rc;
    }
    if (!p) { /* empty input still yields a valid empty string */
        p = malloc(1);
        if (!p) {
            *err = CHATSEAL_E_NO_MEMORY;
            return cs_fail(*err, "out of memory");
        }
    }
    p[used] = '\0';
    *buf = p;
    *len = used;
    *err = CHATSEAL_OK;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies s[0..len) without surrounding white space into a new string. */
static char *dup_trimmed(const char *s, size_t len)
{
    char *out;

    while (len > 0 && is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_blank(s[len - 1]))
        len--;
    out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

int cs_read_token(const struct cs_command *cmd, const struct cs_args *a,
                  int inputs_stdin, char **token, chatseal_error *err)
{
    *token = NULL;
    *err = CHATSEAL_E_INVALID_ARGUMENT;
    if (a->token) {
        *token = dup_trimmed(a->token, strlen(a->token));
    } else if (a->token_file) {
        char *text;
        size_t len;
        int rc;
        if (cs_is_stdin(a->token_file) && inputs_stdin)
            return cs_usage(cmd, "--token-file - and the input cannot both "
                                 "be standard input");
        rc = cs_read_input(a->token_file, &text, &len, err);
        if (rc)
            return rc;
        *token = dup_trimmed(text, len);
        free(text);
    } else {
        return cs_usage(cmd, "a token is needed: --token TOKEN or "
                             "--token-file FILE");
    }
    if (!*token) {
        *err = CHATSEAL_E_NO_MEMORY;
        return cs_fail(*err, "out of memory");
    }
    *err = CHATSEAL_OK;
    return 0;
}

/* ------------------------------------------------------------- keys -- */

int cs_load_ring(const struct cs_args *a, chatseal_keyring **ring,
                 chatseal_error *err)
{
    *ring = NULL;
    if (a->dev) {
        *err = chatseal_keyring_ephemeral(ring);
        if (*err != CHATSEAL_OK)
            return cs_fail(*err, "cannot make a development key: %s",
                           chatseal_strerror(*err));
        /* the kid only: the key itself is never shown */
        cs_warn("--dev: using an ephemeral key (kid %s) that dies with this "
                "process; tokens it makes cannot be verified later. Never "
                "use --dev in production.",
                chatseal_keyring_signing_kid(*ring));
        return 0;
    }
    if (a->key_file) {
        *err = chatseal_keyring_load_file(a->key_file, ring);
        if (*err != CHATSEAL_OK)
            return cs_fail(*err, "key file %s: %s", a->key_file,
                           chatseal_strerror(*err));
        return 0;
    }
    *err = chatseal_keyring_load_env(ring);
    if (*err == CHATSEAL_E_NO_KEY)
        return cs_fail(*err, "no key configured: set CHATSEAL_KEYS or "
                             "CHATSEAL_KEY_FILE, pass --key-file FILE, or "
                             "use --dev for a throw-away key");
    if (*err != CHATSEAL_OK) {
        const char *keys = getenv("CHATSEAL_KEYS");
        const char *file = getenv("CHATSEAL_KEY_FILE");
        if (keys && *keys)
            return cs_fail(*err, "CHATSEAL_KEYS: %s", chatseal_strerror(*err));
        return cs_fail(*err, "CHATSEAL_KEY_FILE %s: %s", file ? file : "",
                       chatseal_strerror(*err));
    }
    return 0;
}

/* ------------------------------------------------------------- output -- */

int cs_write_out(const void *bytes, size_t len)
{
    if ((len && fwrite(bytes, 1, len, stdout) != len) || fflush(stdout) != 0)
        return cs_fail(CHATSEAL_E_IO, "cannot write to standard output: %s",
                       strerror(errno));
    return 0;
}

int cs_write_line(const char *s)
{
    int rc = cs_write_out(s, strlen(s));
    return rc ? rc : cs_write_out("\n", 1);
}

/* Appends s to out as a JSON string (the library's sentences are ASCII, but
 * escape properly anyway). */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* A report object for a failure that happened before any verification. */
static int print_minimal_report(chatseal_error err, const char *extra_json)
{
    fputs("{\"valid\":false,\"code\":", stdout);
    json_string(stdout, chatseal_error_name(err));
    fputs(",\"detail\":", stdout);
    json_string(stdout, chatseal_strerror(err));
    fputs(",\"count\":0,\"chain_valid\":false,\"tampered_indices\":[],"
          "\"index\":-1,\"kid\":null,\"iat\":0,\"exp\":0",
          stdout);
    if (extra_json)
        printf(",%s", extra_json);
    return cs_write_out("}\n", 2);
}

/* The library's report object, with extra members spliced in before its
 * closing brace. */
static int print_report(const chatseal_report *r, chatseal_error err,
                        const char *extra_json)
{
    char *js = NULL;
    char *end;
    int rc;

    if (!r || chatseal_report_json(r, &js) != CHATSEAL_OK || !js ||
        !(end = strrchr(js, '}'))) {
        chatseal_free(js);
        return print_minimal_report(err, extra_json);
    }
    if (extra_json) {
        int empty = end == js + 1;
        *end = '\0';
        printf("%s%s%s}\n", js, empty ? "" : ",", extra_json);
        rc = cs_write_out(NULL, 0);
    } else {
        rc = cs_write_out(js, strlen(js));
        if (!rc)
            rc = cs_write_out("\n", 1);
    }
    chatseal_free(js);
    return rc;
}

int cs_report_verdict(const struct cs_args *a, chatseal_error err,
                      const chatseal_report *r, const char *what,
                      const char *extra_json)
{
    int rc = 0;

    if (a->json)
        rc = print_report(r, err, extra_json);
    if (err != CHATSEAL_OK) {
        const char *detail = r ? chatseal_report_detail(r) : NULL;
        if (!detail || !*detail)
            detail = chatseal_strerror(err);
        cs_fail(err, "%s", detail);
        return cs_exit_code(err);
    }
    if (rc)
        return rc;
    if (what && !a->json && !a->quiet) {
        const char *kid = r ? chatseal_report_kid(r) : NULL;
        int64_t exp = r ? chatseal_report_exp(r) : 0;
        if (exp > 0)
            printf("valid: %s, kid %s, expires %lld\n", what, kid ? kid : "?",
                   (long long)exp);
        else
            printf("valid: %s, kid %s\n", what, kid ? kid : "?");
        rc = cs_write_out(NULL, 0);
    }
    return rc;
}

int cs_report_early(const struct cs_args *a, chatseal_error err)
{
    if (a->json)
        print_minimal_report(err, NULL);
    return err == CHATSEAL_OK ? CS_EXIT_ERROR : cs_exit_code(err);
}

/* --------------------------------------------------------------- jobs -- */

int cs_job_begin(const struct cs_command *cmd, const struct cs_args *a,
                 unsigned needs, int extra_stdin, struct cs_job *job)
{
    chatseal_error err = CHATSEAL_OK;
    int rc = 0;

    memset(job, 0, sizeof *job);
    job->input_path = a->npos > 0 ? a->pos[0] : NULL;
    job->label =
        cs_is_stdin(job->input_path) ? "standard input" : job->input_path;
    if (needs & CS_NEED_TOKEN) {
        int input_stdin = extra_stdin || ((needs & CS_NEED_INPUT) &&
                                          cs_is_stdin(job->input_path));
        rc = cs_read_token(cmd, a, input_stdin, &job->token, &err);
    }
    /* the key before the input: with no key configured, fail at once
     * instead of waiting for stdin */
    if (!rc && (needs & CS_NEED_RING))
        rc = cs_load_ring(a, &job->ring, &err);
    if (!rc && (needs & CS_NEED_INPUT))
        rc = cs_read_input(job->input_path, &job->input, &job->input_len, &err);
    if (!rc && (needs & CS_NEED_REPORT)) {
        err = chatseal_report_new(&job->report);
        if (err != CHATSEAL_OK)
            rc = cs_fail(err, "%s", chatseal_strerror(err));
    }
    if (rc) {
        if (needs & CS_NEED_REPORT)
            cs_report_early(a, err);
        cs_job_end(job);
    }
    return rc;
}

void cs_job_end(struct cs_job *job)
{
    free(job->input);
    free(job->token);
    chatseal_keyring_free(job->ring);
    chatseal_report_free(job->report);
    memset(job, 0, sizeof *job);
}
