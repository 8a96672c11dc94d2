/*
 * target.c -- where the upstream is: --upstream parsed into scheme, host,
 * port and base path, and the TLS client context (--upstream-ca or the
 * system store, TLS 1.2 minimum, host name or IP address verification, SNI).
 * There is no way to turn verification off.  Everything here happens once,
 * at start-up, except cs_target_bev(), which makes one socket's bufferevent.
 */
#include "upstream/target.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static int parse_url(cs_target *u, const char *url, char *err, size_t errlen)
{
    const char *p;
    if (!strncasecmp(url, "http://", 7)) {
        p = url + 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        u->tls = 1;
        p = url + 8;
    } else {
        snprintf(err, errlen,
                 "--upstream must start with http:// or "
                 "https:// (or be \"mock\")");
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    const char *path = p + alen;
    if (memchr(p, '@', alen)) {
        snprintf(err, errlen,
                 "--upstream must not hold credentials; the "
                 "client's Authorization header is passed on");
        return -1;
    }
    const char *hs = p, *he, *portp = NULL;
    if (*p == '[') {
        he = memchr(p, ']', alen);
        if (!he) {
            snprintf(err, errlen, "--upstream: bad IPv6 address");
            return -1;
        }
        hs = p + 1;
        if (he + 1 < p + alen) {
            if (he[1] != ':') {
                snprintf(err, errlen, "--upstream: bad address");
                return -1;
            }
            portp = he + 2;
        }
        u->host_is_ip = 1;
    } else {
        he = memchr(p, ':', alen);
        if (he)
            portp = he + 1;
        else
            he = p + alen;
    }
    if (he == hs) {
        snprintf(err, errlen, "--upstream: no host");
        return -1;
    }
    u->host = strndup(hs, (size_t)(he - hs));
    if (portp) {
        size_t pl = (size_t)(p + alen - portp);
        if (pl == 0 || pl > 5) {
            snprintf(err, errlen, "--upstream: bad port");
            return -1;
        }
        long port = 0;
        for (size_t i = 0; i < pl; i++) {
            if (!isdigit((unsigned char)portp[i])) {
                snprintf(err, errlen, "--upstream: bad port");
                return -1;
            }
            port = port * 10 + (portp[i] - '0');
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "--upstream: bad port");
            return -1;
        }
        snprintf(u->port, sizeof u->port, "%ld", port);
    } else {
        snprintf(u->port, sizeof u->port, "%s", u->tls ? "443" : "80");
    }
    if (strpbrk(path, "?#")) { /* anywhere: "/base?x" too */
        snprintf(err, errlen, "--upstream: no query or fragment allowed");
        return -1;
    }
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    /* a trailing "/v1" is the API root the client already addresses */
    if (plen >= 3 && !strncmp(path + plen - 3, "/v1", 3))
        plen -= 3;
    u->base_path = strndup(path, plen);
    for (size_t i = 0; u->base_path && i < plen; i++) {
        unsigned char ch = (unsigned char)u->base_path[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            snprintf(err, errlen, "--upstream: bad character in path");
            return -1;
        }
    }
    if (!u->host_is_ip) {
        struct in_addr a4;
        u->host_is_ip = evutil_inet_pton(AF_INET, u->host, &a4) == 1;
    }
    int default_port = !strcmp(u->port, u->tls ? "443" : "80");
    char hh[300];
    int ipv6 = strchr(u->host, ':') != NULL;
    snprintf(hh, sizeof hh, "%s%s%s%s%s", ipv6 ? "[" : "", u->host,
             ipv6 ? "]" : "", default_port ? "" : ":",
             default_port ? "" : u->port);
    u->host_header = strdup(hh);
    snprintf(u->describe, sizeof u->describe, "%s://%.150s%.120s",
             u->tls ? "https" : "http", hh, u->base_path ? u->base_path : "");
    if (!u->host || !u->base_path || !u->host_header) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (const char *h = u->host; *h; h++)
        if ((unsigned char)*h <= 0x20 || *h == '/' || *h == '\\') {
            snprintf(err, errlen, "--upstream: bad host");
            return -1;
        }
    return 0;
}

int cs_target_init(cs_target *u, const char *url, const char *ca, char *err,
                   size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (parse_url(u, url, err, errlen) != 0) {
        cs_target_clear(u);
        return -1;
    }
    if (u->tls) {
        u->ctx = SSL_CTX_new(TLS_client_method());
        if (!u->ctx) {
            snprintf(err, errlen, "TLS setup failed");
            cs_target_clear(u);
            return -1;
        }
        SSL_CTX_set_min_proto_version(u->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(u->ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca ? SSL_CTX_load_verify_locations(u->ctx, ca, NULL)
                    : SSL_CTX_set_default_verify_paths(u->ctx);
        if (ok != 1) {
            snprintf(err, errlen, "cannot load CA certificates%s%s",
                     ca ? " from " : "", ca ? ca : "");
            cs_target_clear(u);
            return -1;
        }
    } else if (ca) {
        snprintf(err, errlen, "--upstream-ca needs an https:// upstream");
        cs_target_clear(u);
        return -1;
    }
    return 0;
}

void cs_target_clear(cs_target *u)
{
    SSL_CTX_free(u->ctx);
    free(u->host);
    free(u->base_path);
    free(u->host_header);
    memset(u, 0, sizeof *u);
}

struct bufferevent *cs_target_bev(const cs_target *u, struct event_base *base)
{
    if (!u->tls)
        return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    struct bufferevent *bev;
    SSL *ssl = SSL_new(u->ctx);
    if (!ssl)
        return NULL;
    if (u->host_is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host);
    } else {
        SSL_set_tlsext_host_name(ssl, u->host);
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, u->host);
    }
    bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}
