/*
 * static.h -- the chat page: files from --ui DIR served at /.
 */
#ifndef CS_GATEWAY_STATIC_H
#define CS_GATEWAY_STATIC_H

#include "core/server.h"

/* GET/HEAD of "/" (index.html) or "/NAME.EXT" from --ui; 404 otherwise. */
void cs_static_handle(cs_req *r);

#endif
