/*
 * cmd_keys.c -- `chatseal keygen`: a new key-ring line on stdout.
 *
 * This is the one place the tool ever prints key material, because that is
 * its whole job.  The line goes straight to file descriptor 1 with write(2)
 * instead of through stdio, so no copy of the key stays behind in a stdio
 * buffer, and the library's copy is wiped by chatseal_free_secret.  Nothing
 * about the key is ever written to stderr.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cs_cmd_keygen(const struct cs_command *cmd, struct cs_args *a)
{
    char *line = NULL;
    size_t len, done = 0;
    chatseal_error err;

    (void)cmd;
    err = chatseal_key_generate(a->kid, &line);
    if (err != CHATSEAL_OK)
        return cs_fail(err, "cannot generate a key%s%s: %s",
                       a->kid ? " with kid " : "", a->kid ? a->kid : "",
                       chatseal_strerror(err));
    fflush(stdout);
    len = strlen(line);
    while (done < len) {
        ssize_t n = write(STDOUT_FILENO, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            chatseal_free_secret(line);
            return cs_fail(CHATSEAL_E_IO, "cannot write to standard output: %s",
                           strerror(saved));
        }
        done += (size_t)n;
    }
    chatseal_free_secret(line);
    return CS_EXIT_OK;
}
