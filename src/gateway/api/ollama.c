/*
 * ollama.c -- the Ollama native chat API, POST /api/chat (stub: to be written;
 * see adapter.h for what each step does).
 */
#include "api/adapter.h"

const cs_adapter cs_api_ollama = {
    .id = 3,
    .name = "ollama",
    .path = "/api/chat",
    .style = CS_STYLE_OLLAMA,
    .ndjson = 1,
    .stream_default = 1,
};
