/*
 * responses.c -- the OpenAI Responses API, POST /v1/responses (stub: to be
 * written; see adapter.h for what each step does).
 */
#include "api/adapter.h"

const cs_adapter cs_api_responses = {
    .id = 1,
    .name = "responses",
    .path = "/v1/responses",
    .style = CS_STYLE_OPENAI,
    .ndjson = 0,
    .stream_default = 0,
};
