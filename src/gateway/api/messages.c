/*
 * messages.c -- the Anthropic Messages API, POST /v1/messages (stub: to be
 * written; see adapter.h for what each step does).
 */
#include "api/adapter.h"

const cs_adapter cs_api_messages = {
    .id = 2,
    .name = "messages",
    .path = "/v1/messages",
    .style = CS_STYLE_ANTHROPIC,
    .ndjson = 0,
    .stream_default = 0,
};
