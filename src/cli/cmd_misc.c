/*
 * cmd_misc.c -- the two commands that need no key: `canon` and `inspect`.
 *
 * `canon` prints the RFC 8785 form of a JSON text exactly, with no newline
 * added, so that `chatseal canon x | sha256sum` is the digest the library
 * signs.  The whole output is produced before anything is written: a bad
 * input yields an error and no partial JSON.
 *
 * `inspect` shows what a token's header *claims*.  Nothing is verified (no
 * key is even loaded), and the output says so twice: "verified": false in
 * the JSON and a note on stderr, so nobody mistakes it for a check.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cs_cmd_canon(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    char *out = NULL;
    size_t out_len = 0;
    chatseal_error err;
    int rc = cs_job_begin(cmd, a, CS_NEED_INPUT, 0, &job);

    if (rc)
        return rc;
    err = chatseal_canonicalize(job.input, job.input_len, a->max_depth, &out,
                                &out_len);
    if (err != CHATSEAL_OK)
        rc = cs_fail(err, "%s: %s", job.label, chatseal_strerror(err));
    else
        rc = cs_write_out(out, out_len);
    chatseal_free(out);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_inspect(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    struct cs_args targ = *a;
    char *header = NULL;
    chatseal_error err;
    int rc;

    /* `inspect TOKEN` or `inspect -` (stdin) are --token / --token-file -
     * in disguise */
    if (a->npos > 0) {
        if (a->token || a->token_file)
            return cs_usage(cmd, "give the token once: as TOKEN, --token or "
                                 "--token-file");
        if (cs_is_stdin(a->pos[0]))
            targ.token_file = "-";
        else
            targ.token = a->pos[0];
        targ.npos = 0;
    }
    rc = cs_job_begin(cmd, &targ, CS_NEED_TOKEN, 0, &job);
    if (rc)
        return rc;
    err = chatseal_token_inspect(job.token, &header);
    if (err != CHATSEAL_OK) {
        /* not a verdict: inspect cannot read what it was given */
        cs_fail(err, "cannot read the token: %s", chatseal_strerror(err));
        rc = CS_EXIT_ERROR;
    } else {
        printf("{\"verified\":false,\"header\":%s}\n", header);
        rc = cs_write_out(NULL, 0);
        fputs("chatseal: note: nothing was verified: this is what the token "
              "claims; use 'chatseal verify' to check it\n",
              stderr);
    }
    chatseal_free(header);
    cs_job_end(&job);
    return rc;
}
