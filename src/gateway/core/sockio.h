/*
 * sockio.h -- writing a bufferevent's output now, not on the next loop turn.
 */
#ifndef CS_GATEWAY_SOCKIO_H
#define CS_GATEWAY_SOCKIO_H

struct bufferevent;

/*
 * Writes what `bev` holds to its socket at once (plain sockets only: pass
 * tls = 1 and nothing happens).  When the socket took everything, the write
 * event is dropped; the next writer must bufferevent_enable(bev, EV_WRITE)
 * before it adds bytes (write_head() and attach() do).  Whatever the socket
 * does not take stays with the bufferevent, which writes it as usual.
 * Returns 1 when the output is empty afterwards, else 0.
 */
int cs_sockio_flush(struct bufferevent *bev, int tls);

#endif
