/*
 * adapter.c -- the table of wire protocols (adapter.h).
 */
#include "api/adapter.h"

#include <string.h>

static const cs_adapter *const all[] = {&cs_api_chat, &cs_api_responses,
                                        &cs_api_messages, &cs_api_ollama};

const cs_adapter *cs_adapter_find(const char *path)
{
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(all[i]->path, path))
            return all[i];
    return NULL;
}

const cs_adapter *cs_adapter_by_id(int id)
{
    return id >= 0 && (size_t)id < sizeof all / sizeof all[0] ? all[id] : NULL;
}
