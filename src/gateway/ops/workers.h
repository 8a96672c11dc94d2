/*
 * workers.h -- `chatseal serve --workers N`: a master and N worker processes.
 */
#ifndef CS_GATEWAY_WORKERS_H
#define CS_GATEWAY_WORKERS_H

#include <stddef.h>

/* Runs in each worker: the whole single-process gateway; returns its exit
 * status.  `index` is 0..n-1. */
typedef int (*cs_worker_fn)(void *arg, int index);

/*
 * Forks n workers running fn(arg, i) and supervises them until they have all
 * stopped; returns the gateway's exit status.  `fds` are the listening
 * sockets, shared with the workers: the master closes its copies when it
 * starts to stop, so that no connection waits in a queue nobody accepts from.
 */
int cs_workers_run(int n, const int *fds, size_t nfds, cs_worker_fn fn,
                   void *arg);

#endif
