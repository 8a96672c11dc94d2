/*
 * chat_api.c -- Chat Completions, POST /v1/chat/completions, as an adapter
 * (adapter.h).  Its body already is the internal request: no read or write
 * step, and the policy's own tail rules apply (policy.c).
 */
#include "api/adapter.h"

const cs_adapter cs_api_chat = {
    .id = 0,
    .name = "chat",
    .path = "/v1/chat/completions",
    .style = CS_STYLE_OPENAI,
};
