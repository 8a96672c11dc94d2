/*
 * sidecar.h -- POST /v1/chatseal/...: signing for answers the upstream did not
 * produce (cached answers, tool results, agent graphs) and for app state.
 */
#ifndef CS_GATEWAY_SIDECAR_H
#define CS_GATEWAY_SIDECAR_H

#include "core/server.h"

#define CS_SIDECAR_PREFIX "/v1/chatseal/"

void cs_sidecar_handle(cs_req *r);

#endif
