/*
 * cors.c -- cross-origin requests from browsers (--cors-origins).
 *
 * A chat page served from another origin than the gateway (an app on
 * https://app.example calling https://gw.example/v1) needs CORS: the browser
 * sends a preflight OPTIONS for the custom Chatseal-Token header and the JSON
 * body, and hides response headers unless they are exposed, so without it
 * the page could neither send its token nor read the new one.
 *
 * Off by default (same origin only).  Origins are compared exactly, as the
 * browser sends them (scheme://host[:port]); "*" allows any.  Credentials are
 * never allowed (no Access-Control-Allow-Credentials): the gateway's
 * authority is the token the page holds, never a cookie, so a foreign page
 * gains nothing a plain HTTP client would not have.  A preflight from an
 * origin that is not allowed gets a 204 without CORS headers, and the browser
 * refuses the request; the gateway says nothing more about its policy.
 * Requested headers are echoed when they are plain header names (the
 * official openai SDK sends several x-stainless-* ones).
 */
#include "core/cors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#define MAX_REQUEST_HEADERS_LIST 2048

/* One origin: http(s)://host[:port], nothing after it. */
static int origin_ok(const char *s, size_t n)
{
    size_t skip = n >= 7 && !strncmp(s, "http://", 7)    ? 7
                  : n >= 8 && !strncmp(s, "https://", 8) ? 8
                                                         : 0;
    if (!skip || skip == n)
        return 0;
    for (size_t i = skip; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-:[]", s[i]))
            return 0;
    return 1;
}

int cs_cors_check_config(const char *origins, FILE *err)
{
    if (!origins)
        return 0;
    if (!strcmp(origins, "*"))
        return 0;
    const char *p = origins;
    for (;;) {
        size_t n = strcspn(p, ",");
        while (n && *p == ' ') {
            p++;
            n--;
        }
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        if (!origin_ok(p, m)) {
            fprintf(err,
                    "chatseal: invalid_argument: serve: --cors-origins takes "
                    "\"*\" or origins like https://app.example or "
                    "http://127.0.0.1:3000, comma-separated; not \"%.*s\"\n",
                    (int)(m > 200 ? 200 : m), p);
            return -1;
        }
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

const char *cs_cors_allow(const cs_config *cfg, const char *origin)
{
    if (!cfg->cors_origins || !origin || !*origin)
        return NULL;
    if (!strcmp(cfg->cors_origins, "*"))
        return "*";
    size_t len = strlen(origin);
    const char *p = cfg->cors_origins;
    for (;;) {
        size_t n = strcspn(p, ",");
        const char *q = p;
        size_t m = n;
        while (m && *q == ' ') {
            q++;
            m--;
        }
        while (m && q[m - 1] == ' ')
            m--;
        if (m == len && !memcmp(q, origin, len))
            return origin;
        if (!p[n])
            return NULL;
        p += n + 1;
    }
}

void cs_cors_head(const cs_config *cfg, const cs_headers *req,
                  struct evbuffer *out)
{
    if (!cfg->cors_origins)
        return;
    /* the answer depends on Origin: caches must keep one per origin */
    evbuffer_add_printf(out, "Vary: Origin\r\n");
    const char *allow = cs_cors_allow(cfg, cs_headers_get(req, "Origin"));
    if (!allow)
        return;
    evbuffer_add_printf(out,
                        "Access-Control-Allow-Origin: %s\r\n"
                        "Access-Control-Expose-Headers: Chatseal-Token, "
                        "X-Request-Id\r\n",
                        allow);
}

/* A list of header names ("content-type, chatseal-token"), nothing else. */
static int header_list_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_REQUEST_HEADERS_LIST)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_, ", s[i]))
            return 0;
    return 1;
}

int cs_cors_preflight(const cs_config *cfg, const cs_headers *req,
                      cs_headers *resp)
{
    const char *origin = cs_headers_get(req, "Origin");
    if (!cfg->cors_origins || !origin)
        return 0;
    if (cs_cors_allow(cfg, origin)) {
        const char *want =
            cs_headers_get(req, "Access-Control-Request-Headers");
        cs_headers_set(resp, "Access-Control-Allow-Methods",
                       "GET, POST, OPTIONS");
        if (want && header_list_ok(want))
            cs_headers_set(resp, "Access-Control-Allow-Headers", want);
        cs_headers_set(resp, "Access-Control-Max-Age", "600");
    }
    return 1;
}
