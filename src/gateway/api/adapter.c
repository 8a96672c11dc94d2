/*
 * adapter.c -- the table of wire protocols (adapter.h).
 */
#include "api/adapter.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/* An integral real within 2^53 as an integer, else NULL. */
static json_t *as_integer(json_t *x)
{
    if (!json_is_real(x))
        return NULL;
    double d = json_real_value(x);
    if (!(d > -9007199254740992.0 && d < 9007199254740992.0) ||
        d != (double)(json_int_t)d)
        return NULL;
    return json_integer((json_int_t)d);
}

static void integers(json_t *v, int depth)
{
    const char *k;
    size_t i;
    json_t *x;
    if (depth > 4 * CHATSEAL_MAX_DEPTH_DEFAULT) /* parsed input: bounded */
        return;
    if (json_is_object(v)) {
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            json_t *n = as_integer(x);
            if (n)
                json_object_set_new(v, k, n);
            else
                integers(x, depth + 1);
        }
    }
    json_array_foreach(v, i, x)
    {
        json_t *n = as_integer(x);
        if (n)
            json_array_set_new(v, i, n);
        else
            integers(x, depth + 1);
    }
}

void cs_json_integers(json_t *v)
{
    integers(v, 0);
}

char *cs_json_canonical(const json_t *v, size_t *len)
{
    char *text =
        json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    char *out = NULL;
    /* twice the default depth: an adapter may nest a little deeper than the
     * body it came from (tool input objects inside content blocks) */
    if (text && chatseal_canonicalize(text, strlen(text),
                                      2 * CHATSEAL_MAX_DEPTH_DEFAULT, &out,
                                      len) != CHATSEAL_OK)
        out = NULL;
    free(text);
    return out;
}
