/*
 * target.h -- the parsed --upstream URL and its TLS context (target.c).
 */
#ifndef CS_GATEWAY_TARGET_H
#define CS_GATEWAY_TARGET_H

#include <stddef.h>

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;

typedef struct cs_target {
    int tls;
    int host_is_ip;
    char *host; /* without brackets */
    char port[8];
    char *base_path; /* "" or "/prefix" */
    char *host_header;
    char describe[300];
    SSL_CTX *ctx; /* https only */
} cs_target;

/* Parses url (http[s]://host[:port][/base]) and, for https, sets up the TLS
 * context with CA file `ca` (NULL: the system store).  0, or -1 with a reason
 * in err (and t left cleared). */
int cs_target_init(cs_target *t, const char *url, const char *ca, char *err,
                   size_t errlen);
void cs_target_clear(cs_target *t);
/* A new, unconnected bufferevent for one connection to t (TLS: verifying the
 * certificate against t's host name or IP address, with SNI); NULL if out of
 * memory. */
struct bufferevent *cs_target_bev(const cs_target *t, struct event_base *base);

#endif
