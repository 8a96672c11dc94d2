/*
 * pool.h -- kept-alive connections to the upstream (pool.c).
 */
#ifndef CS_GATEWAY_POOL_H
#define CS_GATEWAY_POOL_H

#include <stddef.h>

struct bufferevent;

typedef struct cs_pool cs_pool;

/* One connection to the upstream; `nreq` counts the requests sent on it. */
typedef struct cs_upconn {
    cs_pool *pool;
    struct cs_upconn *next;
    struct bufferevent *bev;
    unsigned nreq;
} cs_upconn;

struct cs_pool {
    cs_upconn *idle; /* most recently used first */
    size_t nidle;
};

/* Wraps a new bufferevent (taken over, also on failure); NULL if out of
 * memory. */
cs_upconn *cs_upconn_new(cs_pool *p, struct bufferevent *bev);
/* Closes the connection (NULL: nothing). */
void cs_upconn_close(cs_upconn *c);
/* Keeps a connection whose last reply ended cleanly, for the next request
 * (closes it if the pool is full). */
void cs_pool_put(cs_pool *p, cs_upconn *c);
/* The most recently kept connection, or NULL. */
cs_upconn *cs_pool_take(cs_pool *p);
/* Closes every kept connection. */
void cs_pool_clear(cs_pool *p);

#endif
