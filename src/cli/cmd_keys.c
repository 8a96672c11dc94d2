/*
 * cmd_keys.c -- `chatseal keygen [FILE]`: a new key-ring line, on stdout or
 * appended to FILE.
 *
 * This is the one place the tool ever prints key material, because that is
 * its whole job.  The line goes to its file descriptor with write(2) instead
 * of through stdio, so no copy of the key stays behind in a stdio buffer, and
 * the library's copy is wiped by chatseal_free_secret.  Nothing about the key
 * is ever written to stderr.
 *
 * With FILE the key file is created with mode 0600 (O_CREAT with an explicit
 * mode, so the umask can only narrow it): `keygen > file` would have created
 * it with the shell's umask, typically 0644, readable by every local user.
 * An existing file keeps its mode (an operator may have chosen 0640 for a
 * service group) but one readable or writable by others is refused.  On
 * stdout, a regular file that others can read gets a warning on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int write_all(int fd, const char *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Opens FILE for appending, creating it 0600; -1 with a message printed. */
static int open_key_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
                  S_IRUSR | S_IWUSR);
    if (fd < 0) {
        cs_fail(CHATSEAL_E_IO, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        cs_fail(CHATSEAL_E_INVALID_ARGUMENT, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        close(fd);
        cs_fail(CHATSEAL_E_INVALID_ARGUMENT,
                "%s is readable or writable by others (chmod 600 %s)", path,
                path);
        return -1;
    }
    return fd;
}

int cs_cmd_keygen(const struct cs_command *cmd, struct cs_args *a)
{
    char *line = NULL;
    chatseal_error err;
    const char *path = a->npos > 0 && strcmp(a->pos[0], "-") ? a->pos[0] : NULL;
    int fd = STDOUT_FILENO;

    (void)cmd;
    if (path && (fd = open_key_file(path)) < 0)
        return CS_EXIT_ERROR;
    err = chatseal_key_generate_alg(a->kid, a->alg, &line);
    if (err != CHATSEAL_OK) {
        if (path)
            close(fd);
        return cs_fail(err, "cannot generate a key%s%s: %s",
                       a->kid ? " with kid " : "", a->kid ? a->kid : "",
                       chatseal_strerror(err));
    }
    struct stat st;
    if (!path && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & (S_IRGRP | S_IROTH)))
        fprintf(stderr,
                "chatseal: warning: standard output is a file others can "
                "read; chatseal keygen FILE creates it with mode 0600\n");
    fflush(stdout);
    int bad = write_all(fd, line, strlen(line));
    int saved = errno;
    chatseal_free_secret(line);
    if (path && close(fd) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad)
        return cs_fail(CHATSEAL_E_IO, "cannot write to %s: %s",
                       path ? path : "standard output", strerror(saved));
    return CS_EXIT_OK;
}
