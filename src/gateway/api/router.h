/*
 * router.h -- which handler answers which path.
 */
#ifndef CS_GATEWAY_ROUTER_H
#define CS_GATEWAY_ROUTER_H

#include "core/server.h"

/* The cs_handler_fn of chatseal serve (arg unused). */
void cs_route(cs_req *r, void *arg);

#endif
