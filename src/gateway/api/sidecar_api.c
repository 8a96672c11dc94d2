/*
 * sidecar_api.c -- the sidecar's "api" member: sign, verify and extend a
 * history given in the shape of the Responses, Anthropic Messages or Ollama
 * API instead of Chat Completions messages.
 *
 * An app that answers a turn itself keeps its history in the shape of the
 * API it speaks; it should not have to know how the gateway maps that shape
 * onto signed messages (FORMAT.md §8).  So the mapping is the adapter's own:
 * the sidecar body, minus the sidecar's members, IS a request of that API
 * (its "input"/"instructions", "system"/"messages", "messages"), and the
 * adapter's read_request turns it into the internal request, exactly as
 * when the same body comes to the API's endpoint.  A token made here
 * therefore verifies on that endpoint, and vice versa, by construction.
 *
 * The "append" of extend is the reply in the shape the app hands to its
 * client and the client sends back: what "chatseal.output" is in that API
 * (a Responses item list, an Anthropic assistant message, an Ollama
 * message; one object or an array).  Those are history units of the API,
 * so the same read_request maps them, wrapped in a request of their own
 * ({"input":[...]} or {"messages":[...]}); reply_messages is not used
 * because it reads a whole reply body (a response object, a Message with
 * its id and usage), which is not what apps keep.  No adapter hook is
 * needed: the only per-API fact here is the name of the history member.
 *
 * Everything returned is internal JSON text: {"messages":[...]} for the
 * history, a JSON array of messages for the append; the sidecar parses
 * them with libchatseal as the shared path does with the API's requests.
 */
#include "api/sidecar_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The sidecar's own members: never part of the API request. */
static const char *const own[] = {
    "api",       "token",   "append", "count", "exact", "conversation_id",
    "principal", "purpose", "ttl",    NULL};

const cs_adapter *cs_sidecar_api(const char *name)
{
    static const char *const names[] = {"chat", "responses", "messages",
                                        "ollama"};
    for (int i = 0; i < CS_API_COUNT; i++)
        if (!strcmp(name, names[i]))
            return cs_adapter_by_id(i);
    return NULL;
}

/* The request member that holds the history: Responses' "input", the
 * others' "messages". */
static const char *history_member(const cs_adapter *ad)
{
    return ad == &cs_api_responses ? "input" : "messages";
}

/* The internal messages of a body of the adapter's API (new reference), or
 * NULL with the code and why. */
static json_t *read_msgs(const cs_adapter *ad, json_t *body,
                         chatseal_error *err, char *why, size_t wl)
{
    json_t *in = NULL;
    why[0] = '\0';
    *err = ad->read_request(body, &in, why, wl);
    if (*err != CHATSEAL_OK)
        return NULL;
    json_t *msgs = json_incref(json_object_get(in, "messages"));
    json_decref(in);
    if (!json_is_array(msgs)) {
        json_decref(msgs);
        *err = CHATSEAL_E_NO_MEMORY;
        return NULL;
    }
    return msgs;
}

/* v as compact text (malloc'd), numbers as the shared path writes them. */
static char *dump(json_t *v, size_t *len, chatseal_error *err)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    *err = s ? CHATSEAL_OK : CHATSEAL_E_NO_MEMORY;
    *len = s ? strlen(s) : 0;
    return s;
}

char *cs_sidecar_api_history(const cs_adapter *ad, json_t *body, size_t *len,
                             chatseal_error *err, char *why, size_t wl)
{
    json_t *req = json_copy(body); /* shallow: the values are shared */
    if (!req) {
        *err = CHATSEAL_E_NO_MEMORY;
        return NULL;
    }
    for (const char *const *k = own; *k; k++)
        json_object_del(req, *k);
    json_t *msgs = read_msgs(ad, req, err, why, wl);
    json_decref(req);
    if (!msgs)
        return NULL;
    json_t *o = json_pack("{s:o}", "messages", msgs);
    char *text = dump(o, len, err);
    json_decref(o);
    return text;
}

char *cs_sidecar_api_append(const cs_adapter *ad, json_t *append, size_t *len,
                            chatseal_error *err, char *why, size_t wl)
{
    if (!json_is_object(append) && !json_is_array(append)) {
        *err = CHATSEAL_E_INVALID_REQUEST;
        snprintf(why, wl,
                 "append must be the reply in the API's shape: an item or "
                 "message object, or an array of them");
        return NULL;
    }
    json_t *req = json_is_array(append)
                      ? json_pack("{s:O}", history_member(ad), append)
                      : json_pack("{s:[O]}", history_member(ad), append);
    if (!req) {
        *err = CHATSEAL_E_NO_MEMORY;
        return NULL;
    }
    char w[240];
    json_t *msgs = read_msgs(ad, req, err, w, sizeof w);
    json_decref(req);
    if (!msgs) {
        if (*err != CHATSEAL_E_NO_MEMORY)
            snprintf(why, wl, "append: %s", w);
        return NULL;
    }
    char *text = dump(msgs, len, err);
    json_decref(msgs);
    return text;
}
