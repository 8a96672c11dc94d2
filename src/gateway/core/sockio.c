/*
 * sockio.c -- eager writes on top of libevent 2.1 bufferevents.
 *
 * A bufferevent writes nothing when bytes are added: it adds its write event
 * (epoll_ctl), waits for the next loop turn to see EPOLLOUT (epoll_wait),
 * writes, then deletes the event again (epoll_ctl).  For the gateway's usual
 * exchange -- a request to the upstream, an answer to the client, each a few
 * hundred bytes that the socket takes whole -- that is two epoll_ctl and a
 * loop turn per message on each side.  Writing at once removes the loop turn;
 * and because the event base runs with EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST
 * (serve.c), the add queued by bufferevent_write and the delete done here, in
 * the same loop turn, cancel out and never reach the kernel.
 *
 * TLS bufferevents are left alone: their output goes through OpenSSL, and
 * only the bufferevent may drive it.
 */
#include "core/sockio.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

int cs_sockio_flush(struct bufferevent *bev, int tls)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (tls)
        return evbuffer_get_length(out) == 0;
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* a socket bufferevent keeps the front of its output frozen so that only
     * its own write callback drains it; it thaws it around each write, and so
     * do we */
    evbuffer_unfreeze(out, 1);
    while (fd >= 0 && evbuffer_get_length(out) > 0) {
        if (evbuffer_write(out, fd) <= 0)
            break; /* EAGAIN: the bufferevent finishes; an error: it reports */
    }
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0)
        return 0;
    bufferevent_disable(bev, EV_WRITE);
    return 1;
}
