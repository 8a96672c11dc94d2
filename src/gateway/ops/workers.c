/*
 * workers.c -- `chatseal serve --workers N`: one master, N worker processes.
 *
 * One event loop uses one core; a gateway that verifies and signs every
 * request needs all of them.  The model is nginx's: the master loads the key
 * ring, maps the metrics (shared memory, metrics.c) and binds the listening
 * socket, then forks N workers that are each the whole single-process
 * gateway (serve.c) on that socket.  Processes, not threads: a worker owns
 * its loop, its connections, its upstream pool and its Redis connection, and
 * nothing but the metrics is shared, so none of the gateway's code needs a
 * lock, and a crash takes down one worker, not the gateway.
 *
 * Everything a token depends on is identical in every worker: the ring is
 * loaded before the fork (so even an ephemeral --dev key is the same key),
 * and SIGHUP is passed to every worker, which each reload the same file.
 *
 * The master runs no event loop.  It blocks its signals and takes them one
 * at a time with sigwaitinfo(), so there is no async-signal-safety to worry
 * about:
 *   SIGHUP          passed to every worker (key ring reload);
 *   SIGTERM/SIGINT  the master closes its listening sockets and passes the
 *                   signal on; workers drain and exit; a second signal is
 *                   passed on too (workers then stop at once);
 *   SIGCHLD         a worker that exits while the gateway is not stopping is
 *                   logged and started again -- unless it exited with status
 *                   2, the status of a failed setup (a bad certificate, Redis
 *                   unreachable), or workers keep dying (more than
 *                   MAX_RESTARTS in RESTART_WINDOW): then the master stops
 *                   the others and exits with that worker's status.
 * The master's status is 0 when every worker stopped cleanly, else the first
 * non-zero worker status.
 */
#include "ops/workers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ops/log.h"

#define MAX_RESTARTS 10
#define RESTART_WINDOW_NS (10 * 1000000000ll)
#define EXIT_SETUP_FAILED 2 /* serve.c: setup failed */

typedef struct worker {
    pid_t pid; /* 0: not running */
} worker;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void log_worker(const char *level, const char *event, int index,
                       pid_t pid, int status)
{
    json_t *f = json_object();
    json_object_set_new(f, "index", json_integer(index));
    json_object_set_new(f, "pid", json_integer(pid));
    if (status >= 0)
        json_object_set_new(f, "status", json_integer(status));
    cs_log(level, event, f);
}

static int spawn(worker *w, int index, const sigset_t *old, cs_worker_fn fn,
                 void *arg)
{
#ifdef __linux__
    pid_t master = getpid();
#endif
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
#ifdef __linux__
        /* a master killed with SIGKILL cannot stop its workers: they drain
         * and exit on their own instead of serving on without supervision */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != master)
            _exit(0); /* it died before prctl took effect */
#endif
        sigprocmask(SIG_SETMASK, old, NULL);
        _exit(fn(arg, index));
    }
    w->pid = pid;
    log_worker("info", "worker_started", index, pid, -1);
    return 0;
}

static void signal_all(worker *w, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (w[i].pid > 0)
            kill(w[i].pid, sig);
}

static void close_fds(const int *fds, size_t nfds, int *closed)
{
    if (*closed)
        return;
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
    *closed = 1;
}

int cs_workers_run(int n, const int *fds, size_t nfds, cs_worker_fn fn,
                   void *arg)
{
    worker *w = calloc((size_t)n, sizeof *w);
    if (!w)
        return 1;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);

    int status = 0, stopping = 0, closed = 0, alive = 0, restarts = 0;
    long long window_ns = now_ns();
    for (int i = 0; i < n; i++) {
        if (spawn(&w[i], i, &old, fn, arg) != 0) {
            cs_log_msg("error", "worker_failed", "cannot fork a worker");
            status = 1;
            stopping = 1;
            close_fds(fds, nfds, &closed);
            signal_all(w, n, SIGTERM);
            break;
        }
        alive++;
    }
    while (alive > 0) {
        siginfo_t si;
        int sig = sigwaitinfo(&set, &si);
        if (sig < 0)
            continue; /* EINTR */
        if (sig == SIGHUP) {
            signal_all(w, n, SIGHUP);
        } else if (sig == SIGTERM || sig == SIGINT) {
            stopping = 1;
            close_fds(fds, nfds, &closed);
            signal_all(w, n, sig);
        } else if (sig == SIGCHLD) {
            int st;
            pid_t pid;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                int i = 0;
                while (i < n && w[i].pid != pid)
                    i++;
                if (i == n)
                    continue;
                int code = WIFEXITED(st)     ? WEXITSTATUS(st)
                           : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                             : 1;
                alive--;
                w[i].pid = 0;
                if (stopping) {
                    if (code != 0 && status == 0)
                        status = code;
                    continue;
                }
                log_worker("warn", "worker_exited", i, pid, code);
                if (now_ns() - window_ns > RESTART_WINDOW_NS) {
                    window_ns = now_ns();
                    restarts = 0;
                }
                if (code == EXIT_SETUP_FAILED || ++restarts > MAX_RESTARTS ||
                    spawn(&w[i], i, &old, fn, arg) != 0) {
                    /* it cannot start: stop the gateway, with its status */
                    status = code ? code : 1;
                    stopping = 1;
                    close_fds(fds, nfds, &closed);
                    signal_all(w, n, SIGTERM);
                } else {
                    alive++;
                }
            }
        }
    }
    close_fds(fds, nfds, &closed);
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(w);
    return status;
}
