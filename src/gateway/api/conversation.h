/*
 * conversation.h -- GET /v1/chatseal/conversation (conversation.c): the
 * record of a conversation, to recover a reply lost after its commit.
 */
#ifndef CS_GATEWAY_CONVERSATION_H
#define CS_GATEWAY_CONVERSATION_H

#include "core/server.h"

#define CS_CONVERSATION_PATH "/v1/chatseal/conversation"

void cs_conversation_handle(cs_req *r);

#endif
