/*
 * log.c -- one JSON object per line on stderr.
 *
 * Lines are built with jansson so that every value is escaped correctly; a
 * log consumer can parse each line on its own.  The whole line is written
 * with a single fwrite so that lines from concurrent processes (replicas
 * sharing a journal) do not interleave.  What goes in is decided by callers:
 * request metadata only (see server.c), never message text or key bytes.
 */
#include "ops/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* --workers: this process's worker index, on every line it writes; -1 in
 * the master or without workers.  Set once, right after fork. */
static int worker_index = -1;

void cs_log_set_worker(int index)
{
    worker_index = index;
}

static void timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void cs_log(const char *level, const char *event, json_t *fields)
{
    char ts[40];
    timestamp(ts, sizeof ts);
    json_t *line = json_object();
    if (!line) {
        json_decref(fields);
        return;
    }
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level));
    json_object_set_new(line, "event", json_string(event));
    if (worker_index >= 0)
        json_object_set_new(line, "worker", json_integer(worker_index));
    if (fields)
        json_object_update(line, fields);
    json_decref(fields);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(9));
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL; written by length */
    fwrite(text, 1, n + 1, stderr);
    fflush(stderr);
    free(text);
}

void cs_log_msg(const char *level, const char *event, const char *text)
{
    json_t *f = json_object();
    if (f)
        json_object_set_new(f, "message", json_string(text));
    cs_log(level, event, f);
}
