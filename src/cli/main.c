/*
 * main.c -- the chatseal command line: finds the command, parses its options
 * and runs it.
 *
 * The command table below is the single list of what the tool can do: name,
 * accepted option groups, positional arguments, entry point and help text.
 * Dispatch, `--help`, `chatseal help COMMAND` and the group commands
 * (`message`, `state`) are all driven from it, so a command cannot exist
 * without help or accept an option nobody declared.  `serve` is handed to the
 * gateway untouched: it has its own options (docs/GATEWAY.md).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ops/serve.h"

static const struct cs_command commands[] = {
    {NULL, "keygen", CS_O_KID, 1, cs_cmd_keygen, cs_help_keygen},
    {NULL, "sign",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TTL | CS_O_LOC | CS_O_COUNT |
         CS_O_DEPTH,
     1, cs_cmd_sign, cs_help_sign},
    {NULL, "verify",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TOKEN | CS_O_VERIFY | CS_O_ROLES |
         CS_O_DEPTH,
     1, cs_cmd_verify, cs_help_verify},
    {NULL, "extend",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TTL | CS_O_LOC | CS_O_TOKEN |
         CS_O_VERIFY | CS_O_ROLES | CS_O_APPEND | CS_O_DEPTH,
     1, cs_cmd_extend, cs_help_extend},
    {NULL, "canon", CS_O_DEPTH, 1, cs_cmd_canon, cs_help_canon},
    {NULL, "inspect", CS_O_TOKEN, 1, cs_cmd_inspect, cs_help_inspect},
    {"message", "sign", CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TTL | CS_O_LOC,
     1, cs_cmd_message_sign, cs_help_message_sign},
    {"message", "verify",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TOKEN | CS_O_VERIFY, 1,
     cs_cmd_message_verify, cs_help_message_verify},
    {"state", "sign", CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TTL, 1,
     cs_cmd_state_sign, cs_help_state_sign},
    {"state", "verify",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TOKEN | CS_O_VERIFY, 1,
     cs_cmd_state_verify, cs_help_state_verify},
    {"state", "seal", CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TTL, 1,
     cs_cmd_state_seal, cs_help_state_seal},
    {"state", "open",
     CS_O_KEY | CS_O_BIND | CS_O_NOW | CS_O_TOKEN | CS_O_VERIFY, 0,
     cs_cmd_state_open, cs_help_state_open},
    {NULL, "bench", CS_O_BENCH, 0, cs_cmd_bench, cs_help_bench},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int is_group(const char *word)
{
    return strcmp(word, "message") == 0 || strcmp(word, "state") == 0;
}

static const char *group_help(const char *group)
{
    return strcmp(group, "message") == 0 ? cs_help_message : cs_help_state;
}

static const struct cs_command *find_command(const char *group,
                                             const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct cs_command *c = &commands[i];
        if ((c->group == NULL) != (group == NULL))
            continue;
        if (group && strcmp(c->group, group) != 0)
            continue;
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static int print_help(const char *text)
{
    return cs_write_out(text, strlen(text));
}

static int print_version(void)
{
    char line[64];
    snprintf(line, sizeof line, "chatseal %s (token format v%d)",
             CHATSEAL_VERSION_STRING, CHATSEAL_FORMAT_VERSION);
    return cs_write_line(line);
}

static int unknown_command(const char *what)
{
    return cs_usage(NULL, "unknown command '%s'", what);
}

/* `chatseal help [COMMAND [SUBCOMMAND]]` */
static int help_command(int argc, char **argv)
{
    const struct cs_command *c;

    if (argc < 1)
        return print_help(cs_help_main);
    if (strcmp(argv[0], "serve") == 0) {
        char serve[] = "serve", help[] = "--help";
        char *args[] = {serve, help, NULL};
        return cs_serve_main(2, args);
    }
    if (is_group(argv[0])) {
        if (argc < 2)
            return print_help(group_help(argv[0]));
        c = find_command(argv[0], argv[1]);
        if (!c || argc > 2)
            return cs_usage(NULL, "no help for '%s %s'", argv[0], argv[1]);
        return print_help(c->help);
    }
    if (strcmp(argv[0], "help") == 0 && argc == 1)
        return print_help(cs_help_main);
    c = find_command(NULL, argv[0]);
    if (!c || argc > 1)
        return cs_usage(NULL, "no help for '%s'", argv[0]);
    return print_help(c->help);
}

static int run_command(const struct cs_command *c, int argc, char **argv)
{
    struct cs_args args;
    int rc = cs_args_parse(c, argc, argv, &args);

    if (rc)
        return rc;
    if (args.help)
        return print_help(c->help);
    return c->run(c, &args);
}

int main(int argc, char **argv)
{
    const char *word;
    const struct cs_command *c;

    if (argc < 2) {
        fputs(cs_help_main, stderr);
        return CS_EXIT_ERROR;
    }
    word = argv[1];
    if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)
        return argc == 2 ? print_help(cs_help_main)
                         : cs_usage(NULL, "unexpected argument '%s'", argv[2]);
    if (strcmp(word, "--version") == 0 || strcmp(word, "version") == 0)
        return argc == 2 ? print_version()
                         : cs_usage(NULL, "unexpected argument '%s'", argv[2]);
    if (strcmp(word, "help") == 0)
        return help_command(argc - 2, argv + 2);
    if (strcmp(word, "serve") == 0)
        return cs_serve_main(argc - 1, argv + 1);
    if (is_group(word)) {
        if (argc < 3) {
            fputs(group_help(word), stderr);
            return cs_usage(NULL, "'%s' needs a subcommand", word);
        }
        c = find_command(word, argv[2]);
        if (!c && cs_wants_help(argc - 2, argv + 2))
            return print_help(group_help(word));
        if (!c) {
            char both[128];
            snprintf(both, sizeof both, "%s %s", word, argv[2]);
            return unknown_command(both);
        }
        return run_command(c, argc - 3, argv + 3);
    }
    c = find_command(NULL, word);
    if (!c)
        return unknown_command(word);
    return run_command(c, argc - 2, argv + 2);
}
