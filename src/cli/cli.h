/*
 * cli.h -- what every chatseal subcommand shares: the parsed command line,
 * input reading, key ring selection, error reporting and exit codes.
 *
 * The command table lives in main.c; each command group lives in its own
 * cmd_*.c file and only ever talks to the user through the helpers declared
 * here, so that error lines, exit codes and the no-key-material rule are
 * enforced in one place.
 */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "chatseal.h"

/* Largest FILE or stdin input read by any command (CLI-SPEC: 64 MiB). */
#define CS_CLI_INPUT_MAX ((size_t)64 << 20)
/* Positional arguments a command may take at most. */
#define CS_CLI_POS_MAX 4

/* Exit statuses (CLI-SPEC). */
enum { CS_EXIT_OK = 0, CS_EXIT_INVALID = 1, CS_EXIT_ERROR = 2 };

/* Option groups a command accepts (cs_command.accepts). */
#define CS_O_KEY 0x0001u    /* --key-file PATH, --dev */
#define CS_O_BIND 0x0002u   /* --conversation, --principal, --purpose */
#define CS_O_NOW 0x0004u    /* --now UNIX */
#define CS_O_TTL 0x0008u    /* --ttl SECONDS */
#define CS_O_LOC 0x0010u    /* --compact, --assistant-only */
#define CS_O_COUNT 0x0020u  /* --count N */
#define CS_O_TOKEN 0x0040u  /* --token T, --token-file F */
#define CS_O_VERIFY 0x0080u /* --leeway SECONDS, --json, --quiet */
#define CS_O_ROLES 0x0100u  /* --allow-roles, --fresh-roles */
#define CS_O_APPEND 0x0200u /* --append FILE */
#define CS_O_KID 0x0400u    /* --kid KID, --alg ALG (keygen) */
#define CS_O_BENCH 0x0800u  /* --messages N, --rounds R, --json */
#define CS_O_DEPTH 0x1000u  /* --max-depth N */

/* Everything a command line can say, filled by cs_args_parse.  Strings point
 * into argv; nothing here is owned. */
struct cs_args {
    const char *key_file;
    int dev;
    const char *kid;
    const char *alg;      /* keygen: hs256 (NULL), hs384, hs512 */
    chatseal_options opt; /* binding, ttl, now, leeway, flags, roles */
    const char *token;
    const char *token_file;
    const char *append;
    int json;
    int quiet;
    int has_count;
    size_t count;
    size_t messages;
    size_t rounds;
    size_t max_depth;
    int help;
    int npos;
    const char *pos[CS_CLI_POS_MAX];
};

struct cs_command;
typedef int (*cs_command_fn)(const struct cs_command *cmd, struct cs_args *a);

/* One entry of the command table (main.c). */
struct cs_command {
    const char *group; /* "message", "state" or NULL */
    const char *name;  /* "sign", "verify", ... */
    unsigned accepts;  /* CS_O_* groups */
    int max_pos;       /* positional arguments allowed */
    cs_command_fn run;
    const char *help; /* full --help text (help.c) */
};

/* "chatseal message sign" style name of a command, for messages. */
const char *cs_command_title(const struct cs_command *cmd, char *buf,
                             size_t size);

/* 1 if --help or -h is among argv[0..argc) (before any "--"). */
int cs_wants_help(int argc, char **argv);

/* Parses argv[0..argc) (the words after the command name).  On a usage error
 * prints it and returns CS_EXIT_ERROR; otherwise 0. */
int cs_args_parse(const struct cs_command *cmd, int argc, char **argv,
                  struct cs_args *a);

/* Exit status for a library result: 0 OK, 1 for a verification verdict (a
 * token or history that does not verify), 2 for everything else. */
int cs_exit_code(chatseal_error err);

/* Prints "chatseal: <code>: <detail>" to stderr and returns cs_exit_code. */
int cs_fail(chatseal_error err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A usage error: "chatseal: invalid_argument: ..." plus a --help hint. */
int cs_usage(const struct cs_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "chatseal: warning: ..." on stderr. */
void cs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Reads all of path (NULL or "-" = stdin), at most CS_CLI_INPUT_MAX bytes,
 * into a NUL-terminated malloc'd buffer.  On failure prints the error and
 * returns its exit status with *err set (CHATSEAL_E_IO, _TOO_LARGE, ...).
 */
int cs_read_input(const char *path, char **buf, size_t *len,
                  chatseal_error *err);
/* 1 if path means standard input. */
int cs_is_stdin(const char *path);

/* The token of --token or --token-file (surrounding white space removed),
 * malloc'd.  Prints and returns an exit status on failure.  inputs_stdin
 * says whether another input already claims stdin. */
int cs_read_token(const struct cs_command *cmd, const struct cs_args *a,
                  int inputs_stdin, char **token, chatseal_error *err);

/* The key ring chosen by --dev, --key-file, CHATSEAL_KEYS or
 * CHATSEAL_KEY_FILE, in that order.  Prints and returns an exit status on
 * failure (no_key when none is configured). */
int cs_load_ring(const struct cs_args *a, chatseal_keyring **ring,
                 chatseal_error *err);

/* Writes len bytes to stdout and flushes; CS_EXIT_ERROR (printed) if the
 * write fails. */
int cs_write_out(const void *bytes, size_t len);
/* A token (or any line) plus one newline. */
int cs_write_line(const char *s);

/*
 * Verdict output shared by every verify-like command: with --json the report
 * object on stdout; on failure the error line on stderr; on success, unless
 * --quiet or --json, "valid: <what>, kid <kid>" on stdout.  extra_json, if
 * not NULL, is spliced into the JSON object as more members
 * (`"token":"..."`).  Returns the exit status.
 */
int cs_report_verdict(const struct cs_args *a, chatseal_error err,
                      const chatseal_report *r, const char *what,
                      const char *extra_json);
/* For a failure before any verification ran (bad input, no key): the same
 * error line, and with --json a report object saying so.  Returns the exit
 * status.  Use after the error was already printed by a cs_* helper. */
int cs_report_early(const struct cs_args *a, chatseal_error err);

/* Strict decimal integer in [min, max]; 0 on success, -1 otherwise. */
int cs_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * The inputs of one command run, gathered in a fixed order (token, key ring,
 * input, report) by cs_job_begin and released by cs_job_end, so that every
 * command fails the same way at the same point and frees (and wipes, for the
 * key ring) everything on every path.
 */
#define CS_NEED_TOKEN 0x1u  /* --token / --token-file */
#define CS_NEED_RING 0x2u   /* a key ring */
#define CS_NEED_INPUT 0x4u  /* FILE or stdin */
#define CS_NEED_REPORT 0x8u /* a report; --json failures print one */

struct cs_job {
    const char *input_path; /* NULL: standard input */
    const char *label;      /* input name for messages */
    char *input;            /* NUL-terminated */
    size_t input_len;
    char *token;
    chatseal_keyring *ring;
    chatseal_report *report;
};

/* Returns 0, or the exit status after printing the error (and, with
 * CS_NEED_REPORT and --json, an early report).  extra_stdin: another input
 * (e.g. --append -) already reads standard input. */
int cs_job_begin(const struct cs_command *cmd, const struct cs_args *a,
                 unsigned needs, int extra_stdin, struct cs_job *job);
void cs_job_end(struct cs_job *job);

/* Command entry points. */
int cs_cmd_keygen(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_sign(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_verify(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_extend(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_message_sign(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_message_verify(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_state_sign(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_state_verify(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_state_seal(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_state_open(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_canon(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_inspect(const struct cs_command *cmd, struct cs_args *a);
int cs_cmd_bench(const struct cs_command *cmd, struct cs_args *a);

/* Help texts (help.c). */
extern const char cs_help_main[];
extern const char cs_help_keygen[];
extern const char cs_help_sign[];
extern const char cs_help_verify[];
extern const char cs_help_extend[];
extern const char cs_help_canon[];
extern const char cs_help_inspect[];
extern const char cs_help_message[];
extern const char cs_help_message_sign[];
extern const char cs_help_message_verify[];
extern const char cs_help_state[];
extern const char cs_help_state_sign[];
extern const char cs_help_state_verify[];
extern const char cs_help_state_seal[];
extern const char cs_help_state_open[];
extern const char cs_help_bench[];

#endif /* CS_CLI_H */
