/*
 * metrics.c -- the gateway's counters, rendered as Prometheus text.
 *
 * Requests are counted by (endpoint, outcome, code); the label values come
 * from fixed sets (endpoint names chosen by the router, chatseal_error names),
 * so the number of series is bounded and no client-controlled text ever
 * becomes a label.  outcome is "ok" (2xx), "rejected" (4xx: the client's
 * request was refused) or "failed" (5xx: the gateway or upstream failed).
 * Everything runs on the event loop thread, so plain integers suffice.
 */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60,   120};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct series {
    const char *endpoint; /* static strings */
    const char *outcome;
    chatseal_error code;
    unsigned long long n;
};

struct cs_metrics {
    struct series *s;
    size_t ns, caps;
    unsigned long long hist[NBUCKETS + 1];
    double hist_sum;
    unsigned long long hist_count;
    long streams, connections;
    unsigned long long conn_rejected, tokens, reload_ok, reload_err;
};

cs_metrics *cs_metrics_new(void)
{
    return calloc(1, sizeof(cs_metrics));
}

void cs_metrics_free(cs_metrics *m)
{
    if (m) {
        free(m->s);
        free(m);
    }
}

void cs_metrics_request(cs_metrics *m, const char *endpoint, int status,
                        chatseal_error code)
{
    const char *outcome = status < 400   ? "ok"
                          : status < 500 ? "rejected"
                                         : "failed";
    for (size_t i = 0; i < m->ns; i++) {
        struct series *s = &m->s[i];
        if (s->code == code && !strcmp(s->endpoint, endpoint) &&
            !strcmp(s->outcome, outcome)) {
            s->n++;
            return;
        }
    }
    if (m->ns == m->caps) {
        size_t cap = m->caps ? m->caps * 2 : 32;
        struct series *v = realloc(m->s, cap * sizeof *v);
        if (!v)
            return;
        m->s = v;
        m->caps = cap;
    }
    m->s[m->ns++] = (struct series){endpoint, outcome, code, 1};
}

void cs_metrics_upstream(cs_metrics *m, double seconds)
{
    size_t i = 0;
    while (i < NBUCKETS && seconds > buckets[i])
        i++;
    m->hist[i]++;
    m->hist_sum += seconds;
    m->hist_count++;
}

void cs_metrics_streams(cs_metrics *m, int delta)
{
    m->streams += delta;
}
void cs_metrics_connections(cs_metrics *m, int delta)
{
    m->connections += delta;
}
void cs_metrics_rejected_connection(cs_metrics *m)
{
    m->conn_rejected++;
}
void cs_metrics_token(cs_metrics *m)
{
    m->tokens++;
}
void cs_metrics_reload(cs_metrics *m, int ok)
{
    if (ok)
        m->reload_ok++;
    else
        m->reload_err++;
}
long cs_metrics_open_streams(const cs_metrics *m)
{
    return m->streams;
}

void cs_metrics_render(const cs_metrics *m, struct evbuffer *out)
{
    evbuffer_add_printf(
        out,
        "# HELP chatseal_build_info Version of the running gateway.\n"
        "# TYPE chatseal_build_info gauge\n"
        "chatseal_build_info{version=\"%s\"} 1\n"
        "# HELP chatseal_requests_total Requests answered, by endpoint, "
        "outcome and stable error code.\n"
        "# TYPE chatseal_requests_total counter\n",
        CHATSEAL_VERSION_STRING);
    for (size_t i = 0; i < m->ns; i++)
        evbuffer_add_printf(out,
                            "chatseal_requests_total{endpoint=\"%s\","
                            "outcome=\"%s\",code=\"%s\"} %llu\n",
                            m->s[i].endpoint, m->s[i].outcome,
                            m->s[i].code == CHATSEAL_OK
                                ? "ok"
                                : chatseal_error_name(m->s[i].code),
                            m->s[i].n);
    evbuffer_add_printf(out,
                        "# HELP chatseal_upstream_latency_seconds Time from "
                        "sending a request upstream to its response head.\n"
                        "# TYPE chatseal_upstream_latency_seconds histogram\n");
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += m->hist[i];
        evbuffer_add_printf(
            out,
            "chatseal_upstream_latency_seconds_bucket{le=\"%g\"}"
            " %llu\n",
            buckets[i], cum);
    }
    cum += m->hist[NBUCKETS];
    evbuffer_add_printf(
        out,
        "chatseal_upstream_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
        "chatseal_upstream_latency_seconds_sum %.6f\n"
        "chatseal_upstream_latency_seconds_count %llu\n"
        "# HELP chatseal_open_streams Streaming replies in progress.\n"
        "# TYPE chatseal_open_streams gauge\n"
        "chatseal_open_streams %ld\n"
        "# HELP chatseal_open_connections Client connections open.\n"
        "# TYPE chatseal_open_connections gauge\n"
        "chatseal_open_connections %ld\n"
        "# HELP chatseal_connections_rejected_total Connections refused "
        "with 503 overloaded.\n"
        "# TYPE chatseal_connections_rejected_total counter\n"
        "chatseal_connections_rejected_total %llu\n"
        "# HELP chatseal_tokens_issued_total Conversation tokens signed for "
        "upstream replies.\n"
        "# TYPE chatseal_tokens_issued_total counter\n"
        "chatseal_tokens_issued_total %llu\n"
        "# HELP chatseal_keyring_reloads_total Key ring reloads (SIGHUP).\n"
        "# TYPE chatseal_keyring_reloads_total counter\n"
        "chatseal_keyring_reloads_total{result=\"ok\"} %llu\n"
        "chatseal_keyring_reloads_total{result=\"error\"} %llu\n",
        cum, m->hist_sum, m->hist_count, m->streams, m->connections,
        m->conn_rejected, m->tokens, m->reload_ok, m->reload_err);
}
