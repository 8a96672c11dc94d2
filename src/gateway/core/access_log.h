/*
 * access_log.h -- the per-request log line and metrics (access_log.c).
 */
#ifndef CS_GATEWAY_ACCESS_LOG_H
#define CS_GATEWAY_ACCESS_LOG_H

#include "core/server.h"

/* `aborted`: the client went away before the answer ended (status 499). */
void cs_access_log(cs_req *r, int aborted);

#endif
