/*
 * errors.h -- how a chatseal_error becomes an HTTP status and an
 * OpenAI-shaped error body.
 */
#ifndef CS_GATEWAY_ERRORS_H
#define CS_GATEWAY_ERRORS_H

#include "chatseal.h"

/* HTTP status the gateway answers for this code. */
int cs_error_status(chatseal_error e);
/* The "type" member of the error object ("integrity_error" ...). */
const char *cs_error_type(chatseal_error e);
/* {"error":{"message","type","param":null,"code"}} as a malloc'd string;
 * `extra` (may be NULL) is a JSON object text whose members are added to the
 * error object (e.g. the verification report). */
char *cs_error_json(chatseal_error e, const char *message, const char *extra);

/* The same in the error shape of an API (adapter.h's CS_STYLE_*): OpenAI
 * as above; Anthropic {"type":"error","error":{"type","message","code"}};
 * Ollama {"error":"message","code"}.  extra's members join the object that
 * holds "code". */
enum { CS_STYLE_OPENAI = 0, CS_STYLE_ANTHROPIC = 1, CS_STYLE_OLLAMA = 2 };
char *cs_error_json_style(int style, chatseal_error e, const char *message,
                          const char *extra);
/* The error style of a request path, for errors answered before routing. */
int cs_error_style_for_path(const char *path);

#endif
