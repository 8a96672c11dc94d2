/*
 * cmd_state.c -- application state: `state sign`, `state verify`,
 * `state seal`, `state open`.
 *
 * Signed state is the ragbits pattern made strict: the client keeps the JSON
 * value and the token, and the server checks both.  Sealed state also hides
 * the value (AES-256-GCM inside the token); `state open` prints the value in
 * its canonical form without a trailing newline, byte for byte what
 * `chatseal canon` prints, so the two can be compared or hashed directly.
 */
#include <stdlib.h>

#include "cli.h"

/* sign and seal share everything but the library call */
typedef chatseal_error (*state_make_fn)(const chatseal_keyring *ring,
                                        const char *json, size_t len,
                                        const chatseal_options *opt,
                                        char **token);

static int make_state_token(const struct cs_command *cmd, struct cs_args *a,
                            state_make_fn make)
{
    struct cs_job job;
    char *token = NULL;
    chatseal_error err;
    int rc = cs_job_begin(cmd, a, CS_NEED_RING | CS_NEED_INPUT, 0, &job);

    if (rc)
        return rc;
    err = make(job.ring, job.input, job.input_len, &a->opt, &token);
    if (err != CHATSEAL_OK)
        rc = cs_fail(err, "%s: %s", job.label, chatseal_strerror(err));
    else
        rc = cs_write_line(token);
    chatseal_free(token);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_state_sign(const struct cs_command *cmd, struct cs_args *a)
{
    return make_state_token(cmd, a, chatseal_state_sign);
}

int cs_cmd_state_seal(const struct cs_command *cmd, struct cs_args *a)
{
    return make_state_token(cmd, a, chatseal_state_seal);
}

int cs_cmd_state_verify(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    chatseal_error err;
    int rc = cs_job_begin(
        cmd, a, CS_NEED_TOKEN | CS_NEED_RING | CS_NEED_INPUT | CS_NEED_REPORT,
        0, &job);

    if (rc)
        return rc;
    err = chatseal_state_verify(job.ring, job.input, job.input_len, job.token,
                                &a->opt, job.report);
    rc = cs_report_verdict(a, err, job.report, "state", NULL);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_state_open(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    char *value = NULL;
    size_t value_len = 0;
    chatseal_error err;
    int rc = cs_job_begin(cmd, a, CS_NEED_TOKEN | CS_NEED_RING | CS_NEED_REPORT,
                          0, &job);

    if (rc)
        return rc;
    err = chatseal_state_open(job.ring, job.token, &a->opt, &value, &value_len,
                              job.report);
    if (err == CHATSEAL_OK && !a->json) {
        rc = cs_write_out(value, value_len);
    } else if (err == CHATSEAL_OK) {
        /* --json: the report plus "value", spliced in as the canonical
         * text itself (already valid JSON, kept byte for byte) */
        size_t size = value_len + 16;
        char *extra = malloc(size);
        if (!extra) {
            rc = cs_fail(CHATSEAL_E_NO_MEMORY, "out of memory");
        } else {
            snprintf(extra, size, "\"value\":%.*s", (int)value_len, value);
            rc = cs_report_verdict(a, err, job.report, NULL, extra);
            free(extra);
        }
    } else {
        rc = cs_report_verdict(a, err, job.report, NULL, NULL);
    }
    chatseal_free(value);
    cs_job_end(&job);
    return rc;
}
