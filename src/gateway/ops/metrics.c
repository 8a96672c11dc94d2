/*
 * metrics.c -- the gateway's counters, rendered as Prometheus text.
 *
 * Requests are counted by (endpoint, outcome, code); the label values come
 * from fixed sets (endpoint names chosen by the router, chatseal_error names),
 * so the number of series is bounded and no client-controlled text ever
 * becomes a label.  outcome is "ok" (2xx), "rejected" (4xx: the client's
 * request was refused) or "failed" (5xx: the gateway or upstream failed).
 *
 * Why shared memory: with --workers N (workers.c) every worker process
 * answers /metrics for the whole gateway, so the counters live in one
 * anonymous MAP_SHARED mapping made before the workers are forked.  Counters
 * and gauges change with relaxed atomic adds; a new series is appended under
 * a process-shared mutex and published by a release store of the count, so a
 * reader never sees a half-written one.  The endpoint and outcome pointers
 * stored there point to static strings, which have the same address in every
 * forked worker.  With one process the atomics are uncontended and cheap.
 */
#include "ops/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/buffer.h>

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60,   120};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])
/* endpoints x outcomes x codes actually seen; far more than any run makes */
#define MAX_SERIES 1024

#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define GET(p) __atomic_load_n((p), __ATOMIC_RELAXED)

struct series {
    const char *endpoint; /* static strings */
    const char *outcome;
    chatseal_error code;
    uint64_t n;
};

struct cs_metrics {
    pthread_mutex_t lock; /* appending a series */
    size_t ns;            /* published series (release/acquire) */
    struct series s[MAX_SERIES];
    uint64_t hist[NBUCKETS + 1];
    uint64_t hist_sum_ns;
    uint64_t hist_count;
    int64_t streams, connections;
    uint64_t conn_rejected, tokens, reload_ok, reload_err;
};

cs_metrics *cs_metrics_new(void)
{
    cs_metrics *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    memset(m, 0, sizeof *m);
    pthread_mutexattr_t a;
    int bad = pthread_mutexattr_init(&a) != 0;
    if (!bad) {
        bad = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
              pthread_mutex_init(&m->lock, &a) != 0;
        pthread_mutexattr_destroy(&a);
    }
    if (bad) {
        munmap(m, sizeof *m);
        return NULL;
    }
    return m;
}

void cs_metrics_free(cs_metrics *m)
{
    /* no pthread_mutex_destroy: other workers may still use the mutex, and
     * unmapping is all a process-shared one needs here */
    if (m)
        munmap(m, sizeof *m);
}

static struct series *find(cs_metrics *m, size_t from, size_t to,
                           const char *endpoint, const char *outcome,
                           chatseal_error code)
{
    for (size_t i = from; i < to; i++) {
        struct series *s = &m->s[i];
        if (s->code == code && !strcmp(s->endpoint, endpoint) &&
            !strcmp(s->outcome, outcome))
            return s;
    }
    return NULL;
}

void cs_metrics_request(cs_metrics *m, const char *endpoint, int status,
                        chatseal_error code)
{
    const char *outcome = status < 400   ? "ok"
                          : status < 500 ? "rejected"
                                         : "failed";
    size_t n = __atomic_load_n(&m->ns, __ATOMIC_ACQUIRE);
    struct series *s = find(m, 0, n, endpoint, outcome, code);
    if (!s) {
        pthread_mutex_lock(&m->lock);
        size_t now = m->ns; /* another worker may have added it meanwhile */
        s = find(m, n, now, endpoint, outcome, code);
        if (!s && now < MAX_SERIES) {
            s = &m->s[now];
            *s = (struct series){endpoint, outcome, code, 0};
            __atomic_store_n(&m->ns, now + 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&m->lock);
        if (!s)
            return;
    }
    ADD(&s->n, 1);
}

void cs_metrics_upstream(cs_metrics *m, double seconds)
{
    size_t i = 0;
    while (i < NBUCKETS && seconds > buckets[i])
        i++;
    ADD(&m->hist[i], 1);
    ADD(&m->hist_sum_ns, (uint64_t)(seconds * 1e9));
    ADD(&m->hist_count, 1);
}

void cs_metrics_streams(cs_metrics *m, int delta)
{
    ADD(&m->streams, delta);
}
void cs_metrics_connections(cs_metrics *m, int delta)
{
    ADD(&m->connections, delta);
}
void cs_metrics_rejected_connection(cs_metrics *m)
{
    ADD(&m->conn_rejected, 1);
}
void cs_metrics_token(cs_metrics *m)
{
    ADD(&m->tokens, 1);
}
void cs_metrics_reload(cs_metrics *m, int ok)
{
    if (ok)
        ADD(&m->reload_ok, 1);
    else
        ADD(&m->reload_err, 1);
}
long cs_metrics_open_streams(const cs_metrics *m)
{
    return (long)GET(&m->streams);
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
    size_t ns = __atomic_load_n(&m->ns, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < ns; i++)
        evbuffer_add_printf(out,
                            "chatseal_requests_total{endpoint=\"%s\","
                            "outcome=\"%s\",code=\"%s\"} %llu\n",
                            m->s[i].endpoint, m->s[i].outcome,
                            m->s[i].code == CHATSEAL_OK
                                ? "ok"
                                : chatseal_error_name(m->s[i].code),
                            (unsigned long long)GET(&m->s[i].n));
    evbuffer_add_printf(out,
                        "# HELP chatseal_upstream_latency_seconds Time from "
                        "sending a request upstream to its response head.\n"
                        "# TYPE chatseal_upstream_latency_seconds histogram\n");
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += GET(&m->hist[i]);
        evbuffer_add_printf(
            out,
            "chatseal_upstream_latency_seconds_bucket{le=\"%g\"}"
            " %llu\n",
            buckets[i], cum);
    }
    cum += GET(&m->hist[NBUCKETS]);
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
        cum, (double)GET(&m->hist_sum_ns) / 1e9,
        (unsigned long long)GET(&m->hist_count), (long)GET(&m->streams),
        (long)GET(&m->connections), (unsigned long long)GET(&m->conn_rejected),
        (unsigned long long)GET(&m->tokens),
        (unsigned long long)GET(&m->reload_ok),
        (unsigned long long)GET(&m->reload_err));
}
