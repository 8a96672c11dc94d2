/*
 * backend.c -- the upstream interface (upstream.h) over its backends.
 *
 * `--upstream mock` selects the built-in mock model, anything else the HTTP
 * client; from then on every call goes through the chosen backend's ops
 * table (backend.h), so the code above (api/) is the same for both and a
 * test against the mock exercises the real request path.
 */
#include "upstream/backend.h"

#include <string.h>

cs_upstream *cs_upstream_new(cs_gw *gw, char *err, size_t errlen)
{
    if (!strcmp(gw->cfg.upstream, "mock"))
        return cs_mock_upstream_new(gw, err, errlen);
    return cs_http_upstream_new(gw, err, errlen);
}

void cs_upstream_free(cs_upstream *u)
{
    if (u)
        u->ops->free(u);
}

const char *cs_upstream_describe(const cs_upstream *u)
{
    return u->describe;
}

cs_upreq *cs_upstream_request(cs_upstream *u, const char *method,
                              const char *path_query, const cs_headers *headers,
                              char *body, size_t len,
                              const cs_upstream_cbs *cbs, void *ctx)
{
    return u->ops->request(u, method, path_query, headers, body, len, cbs, ctx);
}

void cs_upstream_cancel(cs_upreq *r)
{
    if (r)
        r->ops->cancel(r);
}

void cs_upstream_pause(cs_upreq *r, int paused)
{
    if (r)
        r->ops->pause(r, paused);
}
