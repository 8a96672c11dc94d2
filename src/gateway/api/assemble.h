/*
 * assemble.h -- rebuilding the assistant message from streamed deltas.
 */
#ifndef CS_GATEWAY_ASSEMBLE_H
#define CS_GATEWAY_ASSEMBLE_H

#include <stddef.h>

struct json_t;
typedef struct cs_assembly cs_assembly;

cs_assembly *cs_assembly_new(size_t max_bytes);
void cs_assembly_free(cs_assembly *a);
/* Adds one parsed chat.completion.chunk.  0, or -1 when it is not a chunk
 * (wrong shape) or the message grows over max_bytes. */
int cs_assembly_add(cs_assembly *a, struct json_t *chunk);
/* 1 once choice 0 reported a finish_reason. */
int cs_assembly_finished(const cs_assembly *a);
/* The assembled message as compact JSON (malloc'd), NULL if out of memory. */
char *cs_assembly_message(const cs_assembly *a);
/* id / model / created of the first chunk (for the chatseal chunk). */
const char *cs_assembly_id(const cs_assembly *a);
const char *cs_assembly_model(const cs_assembly *a);
long long cs_assembly_created(const cs_assembly *a);

#endif
