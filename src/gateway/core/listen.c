/*
 * listen.c -- listening sockets for the server (cs_listen_socket in
 * server.h): "HOST:PORT", "localhost:PORT", ":PORT" (all addresses) or
 * "[v6]:PORT"; port 0 picks a free port, and the address actually bound is
 * written back so tests and logs can name it.  Kept apart from server.c
 * because it is plain sockets: workers.c binds once before forking, and
 * server.c then accepts on the descriptor.
 */
#include "core/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/util.h>

static int resolve_listen(const char *addr, struct sockaddr_storage *ss,
                          int *len)
{
    char buf[300];
    if (!strncmp(addr, "localhost:", 10))
        snprintf(buf, sizeof buf, "127.0.0.1:%s", addr + 10);
    else if (addr[0] == ':')
        snprintf(buf, sizeof buf, "0.0.0.0%s", addr);
    else
        snprintf(buf, sizeof buf, "%s", addr);
    /* evutil accepts a missing port (as 0); require one */
    const char *colon = strrchr(buf, ':'), *bracket = strrchr(buf, ']');
    if (!colon || (bracket && bracket > colon) || !colon[1])
        return -1;
    /* evutil refuses port 0 ("any free port"): parse with 1, then zero it */
    int any = !strcmp(colon + 1, "0");
    if (any)
        buf[colon + 1 - buf] = '1';
    *len = (int)sizeof *ss;
    memset(ss, 0, sizeof *ss);
    if (evutil_parse_sockaddr_port(buf, (struct sockaddr *)ss, len) != 0)
        return -1;
    if (any && ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = 0;
    else if (any && ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = 0;
    return 0;
}

static void format_bound(int fd, char *bound, size_t boundlen)
{
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    memset(&got, 0, sizeof got);
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0) {
        if (got.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&got;
            evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (got.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&got;
            evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            port = ntohs(in6->sin6_port);
        }
    }
    if (got.ss_family == AF_INET6)
        snprintf(bound, boundlen, "[%s]:%d", host, port);
    else
        snprintf(bound, boundlen, "%s:%d", host, port);
}

int cs_listen_socket(const char *addr, char *bound, size_t boundlen)
{
    struct sockaddr_storage ss;
    int len;
    if (resolve_listen(addr, &ss, &len) != 0) {
        snprintf(bound, boundlen, "invalid listen address \"%s\"", addr);
        return -1;
    }
    int fd =
        socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 ||
        listen(fd, 511) != 0) {
        snprintf(bound, boundlen, "cannot listen on %s: %s", addr,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    format_bound(fd, bound, boundlen);
    return fd;
}
