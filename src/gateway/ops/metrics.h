/*
 * metrics.h -- counters for GET /metrics (Prometheus text format 0.0.4).
 */
#ifndef CS_GATEWAY_METRICS_H
#define CS_GATEWAY_METRICS_H

#include <stddef.h>

#include "chatseal.h"

struct evbuffer;
typedef struct cs_metrics cs_metrics;

cs_metrics *cs_metrics_new(void);
void cs_metrics_free(cs_metrics *m);
/* One finished request: endpoint label, HTTP status, code (CHATSEAL_OK). */
void cs_metrics_request(cs_metrics *m, const char *endpoint, int status,
                        chatseal_error code);
/* Seconds from sending the request upstream to its response head. */
void cs_metrics_upstream(cs_metrics *m, double seconds);
void cs_metrics_streams(cs_metrics *m, int delta);
void cs_metrics_connections(cs_metrics *m, int delta);
void cs_metrics_rejected_connection(cs_metrics *m);
void cs_metrics_token(cs_metrics *m);
void cs_metrics_reload(cs_metrics *m, int ok);
long cs_metrics_open_streams(const cs_metrics *m);
void cs_metrics_render(const cs_metrics *m, struct evbuffer *out);

#endif
