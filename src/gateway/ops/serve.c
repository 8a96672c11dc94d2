/*
 * serve.c -- `chatseal serve`: setup, the event loop, signals, shutdown.
 *
 * One process, one thread, one libevent loop for both sides (clients and the
 * upstream), as nginx and haproxy are built: a stream is copied from the
 * model to the client in the same callback that read it, and nothing needs
 * a lock.  With --workers N, workers.c runs N such processes on one socket;
 * run_workers() below makes what they share (key ring, metrics, socket)
 * before the fork.  Startup order is chosen so that every configuration
 * mistake is reported before anything listens: options, keys, upstream URL
 * and TLS, listener TLS, then bind.  Any failure there exits with status 2
 * and one "chatseal: CODE: ..." line on stderr.
 *
 * Signals are handled inside the loop (evsignal), never in async context:
 *   SIGHUP           reload the key ring and sidecar secret (keys.c); open
 *                    connections are not touched;
 *   SIGTERM, SIGINT  drain: stop accepting, close idle connections, answer
 *                    new requests on open ones with 503 shutting_down, let
 *                    requests in progress (streams included) finish, and
 *                    exit 0 once none is left or --drain-timeout passed;
 *                    a second signal stops at once.
 * Log lines are JSON on stderr (log.c); the address actually bound is
 * logged in the "listening" line, so `--listen 127.0.0.1:0` works for tests.
 */
#include "ops/serve.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ops/config.h"
#include "gw.h"
#include "policy/keys.h"
#include "policy/policy.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "policy/store.h"
#include "api/router.h"
#include "core/server.h"
#include "upstream/upstream.h"
#include "ops/workers.h"

typedef struct serve {
    cs_gw gw;
    SSL_CTX *tls;
    struct event *ev_hup, *ev_term, *ev_int, *drain_timer;
    int listen_fd; /* --workers: bound by the master (workers.c), else -1 */
    int worker;    /* --workers: this worker's index, else -1 */
    char bound[300];
} serve;

static void on_drained(void *arg)
{
    serve *s = arg;
    cs_log_msg("info", "stopped", "all connections closed");
    event_base_loopexit(s->gw.base, NULL);
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    serve *s = arg;
    json_t *f = json_object();
    json_object_set_new(
        f, "connections",
        json_integer((json_int_t)cs_server_connections(s->gw.server)));
    json_object_set_new(f, "message",
                        json_string("drain timeout: closing the connections "
                                    "still open"));
    cs_log("warn", "drain_timeout", f);
    event_base_loopbreak(s->gw.base);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    serve *s = arg;
    if (s->gw.draining) {
        cs_log_msg("warn", "stop", "second signal: stopping now");
        event_base_loopbreak(s->gw.base);
        return;
    }
    s->gw.draining = 1;
    json_t *f = json_object();
    json_object_set_new(f, "signal",
                        json_string(sig == SIGINT ? "SIGINT" : "SIGTERM"));
    json_object_set_new(
        f, "connections",
        json_integer((json_int_t)cs_server_connections(s->gw.server)));
    json_object_set_new(f, "drain_timeout_s",
                        json_real(s->gw.cfg.drain_timeout));
    cs_log("info", "draining", f);
    struct timeval tv;
    tv.tv_sec = (time_t)s->gw.cfg.drain_timeout;
    tv.tv_usec =
        (suseconds_t)((s->gw.cfg.drain_timeout - (double)tv.tv_sec) * 1e6);
    event_add(s->drain_timer, &tv);
    cs_server_drain(s->gw.server, on_drained, s);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    serve *s = arg;
    cs_keys_reload(&s->gw);
}

static SSL_CTX *listener_tls(const cs_config *c, FILE *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fprintf(err, "chatseal: crypto_error: serve: TLS setup failed\n");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char e[200];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        ERR_clear_error();
        fprintf(err,
                "chatseal: invalid_argument: serve: cannot use --tls-cert %s "
                "/ --tls-key %s: %s\n",
                c->tls_cert, c->tls_key, e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static unsigned token_flags(const cs_config *c)
{
    if (!strcmp(c->locators, "none"))
        return CHATSEAL_COMPACT;
    if (!strcmp(c->locators, "assistant"))
        return CHATSEAL_ASSISTANT_ONLY;
    return 0;
}

static int setup(serve *s, FILE *err)
{
    cs_gw *gw = &s->gw;
    char why[300] = "";
    if (!gw->ring && cs_keys_load(gw, err) != 0) /* workers: loaded */
        return -1;
    gw->token_flags = token_flags(&gw->cfg);
    if (!(gw->policy = cs_policy_new(&gw->cfg, why, sizeof why))) {
        fprintf(err, "chatseal: invalid_argument: serve: %s\n", why);
        return -1;
    }
    /* the changelist folds an add and a delete of the same event within one
     * loop turn into nothing: see cs_sockio_flush() in core/sockio.c */
    struct event_config *ecfg = event_config_new();
    if (ecfg) {
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        gw->base = event_base_new_with_config(ecfg);
        event_config_free(ecfg);
    }
    if (!gw->metrics) /* workers: shared, made by the master */
        gw->metrics = cs_metrics_new();
    if (!gw->base || !gw->metrics) {
        fprintf(err, "chatseal: out_of_memory: serve: setup failed\n");
        return -1;
    }
    /* every worker opens its own: LMDB handles and Redis connections do
     * not survive a fork */
    /* with expiring tokens a record need not outlive its token: an expired
     * token is no way back, and the id may then start over */
    int64_t rttl = gw->cfg.store_ttl;
    if (gw->cfg.ttl > 0 && gw->cfg.ttl + gw->cfg.leeway < rttl)
        rttl = gw->cfg.ttl + gw->cfg.leeway;
    gw->store = cs_store_open(gw->cfg.store, gw->base,
                              (int)(gw->cfg.store_timeout * 1000.0), rttl, why,
                              sizeof why);
    if (!gw->store && why[0]) {
        fprintf(err, "chatseal: store_unavailable: serve: %s\n", why);
        return -1;
    }
    gw->upstream = cs_upstream_new(gw, why, sizeof why);
    if (!gw->upstream) {
        fprintf(err, "chatseal: invalid_argument: serve: %s\n", why);
        return -1;
    }
    if (strcmp(gw->cfg.upstream, "mock") != 0) {
        /* asynchronous DNS; without it upstream.c resolves synchronously */
        gw->dns = evdns_base_new(gw->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    }
    if (gw->cfg.tls_cert && !(s->tls = listener_tls(&gw->cfg, err)))
        return -1;
    gw->server = cs_server_new(gw, cs_route, NULL);
    if (!gw->server) {
        fprintf(err, "chatseal: out_of_memory: serve: setup failed\n");
        return -1;
    }
    char *bound = s->bound;
    if (s->listen_fd >= 0) {
        if (cs_server_listen_fd(gw->server, s->listen_fd, s->tls) != 0) {
            fprintf(err, "chatseal: out_of_memory: serve: setup failed\n");
            return -1;
        }
        s->listen_fd = -1; /* the listener owns it now */
    } else if (cs_server_listen(gw->server, gw->cfg.listen, s->tls, bound,
                                sizeof s->bound) != 0) {
        fprintf(err, "chatseal: io_error: serve: %s\n", bound);
        return -1;
    }
    s->ev_hup = evsignal_new(gw->base, SIGHUP, on_hup, s);
    s->ev_term = evsignal_new(gw->base, SIGTERM, on_stop, s);
    s->ev_int = evsignal_new(gw->base, SIGINT, on_stop, s);
    s->drain_timer = evtimer_new(gw->base, on_drain_timeout, s);
    if (!s->ev_hup || !s->ev_term || !s->ev_int || !s->drain_timer ||
        event_add(s->ev_hup, NULL) || event_add(s->ev_term, NULL) ||
        event_add(s->ev_int, NULL)) {
        fprintf(err, "chatseal: io_error: serve: cannot install signal "
                     "handlers\n");
        return -1;
    }
    char url[340];
    snprintf(url, sizeof url, "%s://%s/", s->tls ? "https" : "http", bound);
    json_t *f = json_object();
    json_object_set_new(f, "address", json_string(bound));
    json_object_set_new(f, "url", json_string(url));
    json_object_set_new(f, "upstream",
                        json_string(cs_upstream_describe(gw->upstream)));
    json_object_set_new(f, "signing_kid",
                        json_string(chatseal_keyring_signing_kid(gw->ring)));
    json_object_set_new(f, "ui",
                        gw->cfg.ui ? json_string(gw->cfg.ui) : json_null());
    json_object_set_new(f, "sidecar",
                        json_string(gw->sidecar_mode == 1   ? "secret"
                                    : gw->sidecar_mode == 2 ? "open"
                                                            : "off"));
    json_object_set_new(f, "store", json_string(cs_store_describe(gw->store)));
    json_object_set_new(f, "version", json_string(CHATSEAL_VERSION_STRING));
    if (s->worker >= 0)
        json_object_set_new(f, "workers", json_integer(gw->cfg.workers));
    cs_log("info", "listening", f);
    return 0;
}

static void teardown(serve *s)
{
    cs_gw *gw = &s->gw;
    cs_server_free(gw->server); /* aborts what is left: upstream cancelled */
    cs_store_free(gw->store);   /* answers calls still waiting for Redis */
    gw->store = NULL;
    cs_upstream_free(gw->upstream);
    if (gw->dns)
        evdns_base_free(gw->dns, 1);
    if (s->ev_hup)
        event_free(s->ev_hup);
    if (s->ev_term)
        event_free(s->ev_term);
    if (s->ev_int)
        event_free(s->ev_int);
    if (s->drain_timer)
        event_free(s->drain_timer);
    if (gw->base)
        event_base_free(gw->base);
    SSL_CTX_free(s->tls);
    cs_metrics_free(gw->metrics);
    cs_policy_free(gw->policy);
    cs_keys_free(gw);
}

/* The whole single-process gateway: set up, run the loop, tear down. */
static int run(serve *s)
{
    if (setup(s, stderr) != 0) {
        teardown(s);
        return 2;
    }
    int loop = event_base_dispatch(s->gw.base);
    teardown(s);
    if (loop < 0) {
        fprintf(stderr, "chatseal: io_error: serve: the event loop failed\n");
        return 1;
    }
    cs_log_msg("info", "exit", "chatseal serve stopped");
    return 0;
}

static int run_worker(void *arg, int index)
{
    serve *s = arg;
    s->worker = index;
    cs_log_set_worker(index);
    return run(s);
}

/* --workers N: what must be the same in every worker is made here, before
 * the fork (workers.c explains the model). */
static int run_workers(serve *s)
{
    cs_gw *gw = &s->gw;
    int rc = 2;
    if (cs_keys_load(gw, stderr) != 0)
        goto out;
    gw->metrics = cs_metrics_new();
    if (!gw->metrics) {
        fprintf(stderr, "chatseal: out_of_memory: serve: setup failed\n");
        goto out;
    }
    s->listen_fd = cs_listen_socket(gw->cfg.listen, s->bound, sizeof s->bound);
    if (s->listen_fd < 0) {
        fprintf(stderr, "chatseal: io_error: serve: %s\n", s->bound);
        goto out;
    }
    int fd = s->listen_fd;
    rc = cs_workers_run((int)gw->cfg.workers, &fd, 1, run_worker, s);
    s->listen_fd = -1; /* closed by cs_workers_run */
out:
    teardown(s);
    return rc;
}

int cs_serve_main(int argc, char **argv)
{
    serve s;
    memset(&s, 0, sizeof s);
    s.listen_fd = -1;
    s.worker = -1;
    int rc = cs_config_parse(&s.gw.cfg, argc, argv, stderr);
    if (rc == CS_CONFIG_HELP) {
        cs_config_help(stdout);
        return 0;
    }
    if (rc != CS_CONFIG_OK)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* Every request allocates and frees a few copies of its body.  glibc's
     * defaults give large blocks back to the kernel (munmap, heap trim)
     * after each request and fault them in again on the next: measured at
     * about 7% of the time of a 250 KB request, and half the streaming
     * time to first byte (docs/PERFORMANCE.md).  Keep up to 64 MiB. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (s.gw.cfg.workers > 1)
        return run_workers(&s);
    return run(&s);
}
