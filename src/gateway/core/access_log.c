/*
 * access_log.c -- one JSON log line and the request metrics per answered (or
 * abandoned) request.  Written once the answer is complete, so the line
 * carries the status, stable error code, byte counts and timings.  The path
 * is logged without the query string (a query may carry credentials).
 */
#include "core/access_log.h"

#include <string.h>

#include <jansson.h>

#include "ops/log.h"
#include "ops/metrics.h"

void cs_access_log(cs_req *r, int aborted)
{
    cs_gw *gw = r->gw;
    double ms = (double)(cs_now_ns() - r->t0_ns) / 1e6;
    int status = aborted ? 499 : r->status;
    chatseal_error code =
        aborted && r->code == CHATSEAL_OK ? CHATSEAL_E_IO : r->code;
    if (gw->metrics)
        cs_metrics_request(gw->metrics, r->endpoint ? r->endpoint : "other",
                           status, code);
    if (gw->cfg.quiet)
        return;
    json_t *f = json_object();
    if (!f)
        return;
    json_object_set_new(f, "id", json_string(r->id));
    json_object_set_new(f, "remote", json_string(r->peer));
    json_object_set_new(f, "method", json_string(r->method));
    /* the path only: a query string may carry credentials */
    json_t *p = json_stringn(r->path, strlen(r->path));
    json_object_set_new(f, "path", p ? p : json_string("(not utf-8)"));
    json_object_set_new(f, "endpoint",
                        json_string(r->endpoint ? r->endpoint : "other"));
    json_object_set_new(f, "status", json_integer(status));
    json_object_set_new(
        f, "code",
        json_string(code == CHATSEAL_OK ? "ok" : chatseal_error_name(code)));
    json_object_set_new(f, "ms", json_real((double)(long)(ms * 1000) / 1000));
    if (r->upstream_ms >= 0)
        json_object_set_new(
            f, "upstream_ms",
            json_real((double)(long)(r->upstream_ms * 1000) / 1000));
    if (r->stream)
        json_object_set_new(f, "stream", json_true());
    if (r->count >= 0)
        json_object_set_new(f, "count", json_integer(r->count));
    if (r->kid[0])
        json_object_set_new(f, "kid", json_string(r->kid));
    json_object_set_new(f, "in_bytes", json_integer((json_int_t)r->in_bytes));
    json_object_set_new(f, "out_bytes", json_integer((json_int_t)r->out_bytes));
    if (aborted)
        json_object_set_new(f, "client_closed", json_true());
    cs_log(status >= 500 && !aborted ? "warn" : "info", "request", f);
}
