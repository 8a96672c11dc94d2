/*
 * config.h -- the options of chatseal serve (flags and environment).
 */
#ifndef CS_GATEWAY_CONFIG_H
#define CS_GATEWAY_CONFIG_H

#include <stdint.h>
#include <stdio.h>

typedef struct cs_config {
    const char *listen;
    const char *upstream;
    const char *upstream_ca;
    const char *key_file;
    const char *ui;
    const char *tls_cert;
    const char *tls_key;
    const char *conversation_header;
    const char *principal_header;
    const char *purpose;
    const char *tail_roles;
    const char *fresh_roles;
    const char *locators;
    const char *sidecar_secret_file;
    const char *store;        /* conversation store (policy/store.h) */
    const char *rollback;     /* old name of store (Redis URLs) */
    const char *cors_origins; /* cors.c */
    double store_timeout;
    int64_t store_ttl;
    /* request policy (policy/policy.c) */
    const char *user_members;
    const char *tool_members;
    const char *content_parts;
    const char *allow_parameters;
    const char *unknown_parameters;
    const char *control_tokens;
    const char *system_prompt;
    const char *bind_parameters;
    int dev;
    int64_t ttl;
    int64_t leeway;
    int64_t max_body;
    int64_t max_messages;
    int64_t max_header;
    int64_t max_connections;
    int64_t max_connections_per_client; /* 0: no cap (core/server.c) */
    int64_t max_inflight;               /* request bytes held, 0: none */
    int64_t max_inflight_per_client;
    int64_t workers; /* processes (workers.c) */
    int64_t max_response;
    double header_timeout;
    double body_timeout;
    double idle_timeout;
    double write_timeout;
    double upstream_connect_timeout;
    double upstream_timeout;
    double drain_timeout;
    int64_t mock_delay_ms;
    int quiet;
} cs_config;

enum { CS_CONFIG_OK = 0, CS_CONFIG_HELP = 1, CS_CONFIG_ERROR = 2 };
#define CS_MAX_WORKERS 256

/* Defaults, then CHATSEAL_* environment variables, then flags.  Prints a
 * "chatseal: invalid_argument: ..." line to `err` on a usage error.  Strings
 * point into argv, the environment or static storage. */
int cs_config_parse(cs_config *c, int argc, char **argv, FILE *err);
void cs_config_help(FILE *out);

#endif
