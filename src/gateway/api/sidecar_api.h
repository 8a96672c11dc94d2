/*
 * sidecar_api.h -- histories in the shape of another API for the sidecar's
 * sign/verify/extend (sidecar_api.c says how and why).
 */
#ifndef CS_GATEWAY_SIDECAR_API_H
#define CS_GATEWAY_SIDECAR_API_H

#include <stddef.h>

#include "api/adapter.h"

struct json_t;

/* The adapter of an "api" value ("chat", "responses", "messages",
 * "ollama"), or NULL if there is none. */
const cs_adapter *cs_sidecar_api(const char *name);

/* The history of a sidecar body (its members other than the sidecar's
 * own) read as a request of ad's API: the internal request
 * {"messages":[...]} as JSON text (malloc'd, *len), or NULL with *err and
 * why (the adapter's code: invalid_request ...). */
char *cs_sidecar_api_history(const cs_adapter *ad, struct json_t *body,
                             size_t *len, chatseal_error *err, char *why,
                             size_t wl);

/* extend's "append" in ad's API shape (an object or an array of history
 * units) -> the internal messages, a JSON array text (malloc'd, *len), or
 * NULL with *err and why. */
char *cs_sidecar_api_append(const cs_adapter *ad, struct json_t *append,
                            size_t *len, chatseal_error *err, char *why,
                            size_t wl);

#endif
