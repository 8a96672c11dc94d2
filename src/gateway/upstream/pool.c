/*
 * pool.c -- the keep-alive pool of upstream connections.
 *
 * A connection whose reply ended cleanly goes back here and is reused by the
 * next request, most recently used first (LIFO: the warmest connection, and
 * the others age out).  While idle a connection must stay silent: if the
 * server closes it, or sends anything, it is unusable and dropped at once,
 * and after IDLE_SECONDS it is closed (servers close idle connections too,
 * and a request would then race that close; upstream.c retries once for the
 * race that remains).
 */
#include "upstream/pool.h"

#include <stdlib.h>
#include <sys/time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#define MAX_IDLE 32
#define IDLE_SECONDS 30

cs_upconn *cs_upconn_new(cs_pool *p, struct bufferevent *bev)
{
    cs_upconn *c = calloc(1, sizeof *c);
    if (!c) {
        bufferevent_free(bev);
        return NULL;
    }
    c->pool = p;
    c->bev = bev;
    return c;
}

void cs_upconn_close(cs_upconn *c)
{
    if (c) {
        bufferevent_free(c->bev);
        free(c);
    }
}

static void idle_drop(cs_upconn *c)
{
    cs_pool *p = c->pool;
    cs_upconn **pp = &p->idle;
    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = c->next;
        p->nidle--;
    }
    cs_upconn_close(c);
}

static void idle_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    idle_drop(arg); /* unexpected bytes: the connection is unusable */
}

static void idle_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    idle_drop(arg);
}

void cs_pool_put(cs_pool *p, cs_upconn *c)
{
    if (p->nidle >= MAX_IDLE) {
        cs_upconn_close(c);
        return;
    }
    struct timeval tv = {IDLE_SECONDS, 0};
    bufferevent_setcb(c->bev, idle_read, NULL, idle_event, c);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
    c->next = p->idle;
    p->idle = c;
    p->nidle++;
}

cs_upconn *cs_pool_take(cs_pool *p)
{
    cs_upconn *c = p->idle;
    if (!c)
        return NULL;
    p->idle = c->next;
    p->nidle--;
    c->next = NULL;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    return c;
}

void cs_pool_clear(cs_pool *p)
{
    while (p->idle) {
        cs_upconn *c = p->idle;
        p->idle = c->next;
        cs_upconn_close(c);
    }
    p->nidle = 0;
}
