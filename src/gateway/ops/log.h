/*
 * log.h -- structured JSON log lines on stderr.
 */
#ifndef CS_GATEWAY_LOG_H
#define CS_GATEWAY_LOG_H

struct json_t;

/*
 * Writes one line {"ts","level","event",...fields} to stderr and consumes
 * `fields` (a jansson object, may be NULL).  Callers put only metadata in
 * fields: never key material, never message text.
 */
void cs_log(const char *level, const char *event, struct json_t *fields);
/* Shorthand: {"ts","level","event","message":text}. */
void cs_log_msg(const char *level, const char *event, const char *text);

/* --workers: adds "worker": index to every line this process writes. */
void cs_log_set_worker(int index);

#endif
