/*
 * cmd_sign.c -- conversations and single messages: `sign`, `verify`,
 * `extend`, `message sign`, `message verify`.
 *
 * Each command is a thin shell over one library call: gather the inputs
 * (cs_job_begin), make the call, print the token or the verdict.  All the
 * judgement (what counts as tampering, where, with which code) is the
 * library's; the CLI only adds what a shell user needs around it: file or
 * stdin input, --count, the H0 -> H1 flow of `extend`, and exit statuses.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses the job's input as a conversation; prints the error on failure. */
static chatseal_error parse_conv(const struct cs_args *a,
                                 const struct cs_job *job, chatseal_conv **conv)
{
    chatseal_limits limits = CHATSEAL_LIMITS_INIT;
    limits.max_depth = a->max_depth;
    chatseal_error err =
        chatseal_conv_parse(job->input, job->input_len, &limits, conv);

    if (err != CHATSEAL_OK)
        cs_fail(err, "%s: %s", job->label, chatseal_strerror(err));
    return err;
}

int cs_cmd_sign(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    chatseal_conv *conv = NULL;
    char *token = NULL;
    chatseal_error err;
    size_t count;
    int rc = cs_job_begin(cmd, a, CS_NEED_RING | CS_NEED_INPUT, 0, &job);

    if (rc)
        return rc;
    err = parse_conv(a, &job, &conv);
    if (err != CHATSEAL_OK) {
        rc = cs_exit_code(err);
        goto out;
    }
    count = chatseal_conv_count(conv);
    if (a->has_count) {
        if (a->count > count) {
            rc = cs_fail(CHATSEAL_E_INVALID_ARGUMENT,
                         "--count %zu, but %s holds %zu messages", a->count,
                         job.label, count);
            goto out;
        }
        count = a->count;
    }
    err = chatseal_sign(job.ring, conv, count, &a->opt, &token);
    if (err != CHATSEAL_OK) {
        rc = cs_fail(err, "cannot sign %s: %s", job.label,
                     chatseal_strerror(err));
        goto out;
    }
    rc = cs_write_line(token);
out:
    chatseal_free(token);
    chatseal_conv_free(conv);
    cs_job_end(&job);
    return rc;
}

/* "5 messages" or "5 signed messages + 1 new" for the valid line. */
static void describe_conv(const chatseal_conv *conv, const chatseal_report *r,
                          char *buf, size_t size)
{
    size_t n = chatseal_report_count(r);
    size_t m = chatseal_conv_count(conv);

    if (m > n)
        snprintf(buf, size, "%zu signed message%s + %zu new", n,
                 n == 1 ? "" : "s", m - n);
    else
        snprintf(buf, size, "%zu message%s", n, n == 1 ? "" : "s");
}

int cs_cmd_verify(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    chatseal_conv *conv = NULL;
    chatseal_error err;
    char what[96];
    int rc = cs_job_begin(
        cmd, a, CS_NEED_TOKEN | CS_NEED_RING | CS_NEED_INPUT | CS_NEED_REPORT,
        0, &job);

    if (rc)
        return rc;
    err = parse_conv(a, &job, &conv);
    if (err != CHATSEAL_OK) {
        rc = cs_report_early(a, err);
        goto out;
    }
    err = chatseal_verify(job.ring, conv, job.token, &a->opt, job.report);
    describe_conv(conv, job.report, what, sizeof what);
    rc = cs_report_verdict(a, err, job.report, what, NULL);
out:
    chatseal_conv_free(conv);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_extend(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    chatseal_conv *conv = NULL;
    char *added = NULL, *h1 = NULL, *extra = NULL;
    size_t added_len = 0;
    chatseal_error err;
    int rc;

    if (!a->append)
        return cs_usage(cmd, "--append FILE is required (the new messages)");
    if (cs_is_stdin(a->append) && (a->npos == 0 || cs_is_stdin(a->pos[0])))
        return cs_usage(cmd, "--append - is not allowed when the history "
                             "comes from standard input");
    rc = cs_job_begin(
        cmd, a, CS_NEED_TOKEN | CS_NEED_RING | CS_NEED_INPUT | CS_NEED_REPORT,
        cs_is_stdin(a->append), &job);
    if (rc)
        return rc;
    rc = cs_read_input(a->append, &added, &added_len, &err);
    if (rc) {
        rc = cs_report_early(a, err);
        goto out;
    }
    err = parse_conv(a, &job, &conv);
    if (err != CHATSEAL_OK) {
        rc = cs_report_early(a, err);
        goto out;
    }
    err = chatseal_extend(job.ring, conv, job.token, added, added_len, &a->opt,
                          &h1, job.report);
    if (err == CHATSEAL_OK && !a->json) {
        rc = cs_write_line(h1);
        goto out;
    }
    if (a->json) {
        /* the report plus "token": H1 on success, null otherwise; a token
         * is base64url and dots, so it needs no escaping */
        size_t size = (h1 ? strlen(h1) : 0) + 16;
        extra = malloc(size);
        if (!extra) {
            rc = cs_fail(CHATSEAL_E_NO_MEMORY, "out of memory");
            goto out;
        }
        if (err == CHATSEAL_OK && h1)
            snprintf(extra, size, "\"token\":\"%s\"", h1);
        else
            snprintf(extra, size, "\"token\":null");
    }
    rc = cs_report_verdict(a, err, job.report, NULL, extra);
out:
    free(extra);
    free(added);
    chatseal_free(h1);
    chatseal_conv_free(conv);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_message_sign(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    char *token = NULL;
    chatseal_error err;
    int rc = cs_job_begin(cmd, a, CS_NEED_RING | CS_NEED_INPUT, 0, &job);

    if (rc)
        return rc;
    err = chatseal_message_sign(job.ring, job.input, job.input_len, &a->opt,
                                &token);
    if (err != CHATSEAL_OK)
        rc = cs_fail(err, "%s: %s", job.label, chatseal_strerror(err));
    else
        rc = cs_write_line(token);
    chatseal_free(token);
    cs_job_end(&job);
    return rc;
}

int cs_cmd_message_verify(const struct cs_command *cmd, struct cs_args *a)
{
    struct cs_job job;
    chatseal_error err;
    int rc = cs_job_begin(
        cmd, a, CS_NEED_TOKEN | CS_NEED_RING | CS_NEED_INPUT | CS_NEED_REPORT,
        0, &job);

    if (rc)
        return rc;
    err = chatseal_message_verify(job.ring, job.input, job.input_len, job.token,
                                  &a->opt, job.report);
    rc = cs_report_verdict(a, err, job.report, "message", NULL);
    cs_job_end(&job);
    return rc;
}
