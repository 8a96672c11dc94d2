/*
 * chat.h -- the chat APIs (adapter.h): verify, forward, sign the reply.
 */
#ifndef CS_GATEWAY_CHAT_H
#define CS_GATEWAY_CHAT_H

#include "api/adapter.h"
#include "chatseal.h"
#include "core/server.h"

/* Answers a request on the API ad: POST only. */
void cs_api_handle(cs_req *r, const cs_adapter *ad);

/*
 * The binding of a request: conversation id and principal from the
 * configured headers, plus the gateway's purpose, ttl, leeway, roles and
 * token flags.  *cid and *prn are malloc'd (or NULL) and must outlive the
 * options.  Returns CHATSEAL_OK or INVALID_REQUEST (header repeated or over
 * CHATSEAL_BINDING_MAX bytes), with a reason in *why.
 */
chatseal_error cs_request_options(cs_req *r, chatseal_options *opt, char **cid,
                                  char **prn, const char **why);
/* A verification failure answered as 400/403 with the report attached. */
void cs_reply_verify_error(cs_req *r, chatseal_error err,
                           const chatseal_report *rep);
/* The value of --upstream's reply for GET /v1/models, passed through. */
void cs_models_handle(cs_req *r);

#endif
