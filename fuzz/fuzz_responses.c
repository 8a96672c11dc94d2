/*
 * fuzz_responses.c -- the OpenAI Responses adapter (src/gateway/api/
 * responses*.c) under libFuzzer: client bodies (untrusted: any client) and
 * upstream streams (untrusted: the model server).
 *
 * Besides "no crash, no leak, no hang" this checks the adapter's contract:
 *   - a body: read_request succeeds exactly when it gives an internal
 *     request, and the same bytes give the same internal request twice;
 *     write_request (every message signed, then only the first) succeeds
 *     exactly when it gives a body, which has an `input` array and a
 *     boolean `store`; output() of the internal messages never fails on
 *     what read_request made, and gives an array;
 *   - a stream: after FINISH the messages are a non-empty array, the
 *     closing bytes start with the held response.completed and end with
 *     the token event, and every later event is SKIP; the error event is
 *     always there.
 *
 * Input: byte 0 even: the rest is a request body; odd: the rest is a
 * stream, events separated by an empty line, each "NAME\nDATA".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/adapter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cs_adapter *A = &cs_api_responses;

static void body(const char *p, size_t n)
{
    json_t *b = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (!b)
        return;
    char why[300];
    json_t *in = NULL, *in2 = NULL;
    chatseal_error e = A->read_request(b, &in, why, sizeof why);
    chatseal_error e2 = A->read_request(b, &in2, why, sizeof why);
    if ((e == CHATSEAL_OK) != (in != NULL) || e != e2 ||
        (in && !json_equal(in, in2)))
        abort();
    json_decref(in2);
    if (in) {
        size_t n_msgs = json_array_size(json_object_get(in, "messages"));
        size_t cuts[2] = {n_msgs, n_msgs ? 1 : 0};
        for (int k = 0; k < 2; k++) {
            json_t *up = NULL;
            why[0] = '\0';
            e = A->write_request(in, cuts[k], NULL, &up, why, sizeof why);
            if ((e == CHATSEAL_OK) != (up != NULL))
                abort();
            if (up && (!json_is_array(json_object_get(up, "input")) ||
                       !json_is_boolean(json_object_get(up, "store"))))
                abort();
            json_decref(up);
        }
        json_t *o = A->output(json_object_get(in, "messages"));
        if (!json_is_array(o))
            abort();
        json_decref(o);
    }
    json_decref(in);
    json_decref(b);
}

static void stream(const char *p, size_t n)
{
    cs_adapter_ctx ctx = {NULL, 4096};
    void *st = A->stream_new(&ctx);
    if (!st)
        return;
    int finished = 0;
    char why[300];
    const char *end = p + n;
    while (p < end) {
        const char *sep = NULL;
        for (const char *q = p; q + 1 < end; q++)
            if (q[0] == '\n' && q[1] == '\n') {
                sep = q;
                break;
            }
        const char *ev_end = sep ? sep : end;
        const char *nl = memchr(p, '\n', (size_t)(ev_end - p));
        char name[64];
        size_t nlen = nl ? (size_t)(nl - p) : 0;
        if (nlen >= sizeof name)
            nlen = sizeof name - 1;
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        const char *d = nl ? nl + 1 : p;
        cs_ev r =
            A->stream_event(st, name, d, (size_t)(ev_end - d), why, sizeof why);
        if (finished && r != CS_EV_SKIP)
            abort();
        if (r == CS_EV_FINISH) {
            finished = 1;
            json_t *m = A->stream_messages(st);
            if (!json_is_array(m) || !json_array_size(m))
                abort();
            json_t *o = A->output(m);
            char *os = o ? json_dumps(o, JSON_COMPACT) : NULL;
            size_t len = 0;
            char *close = os ? A->stream_close(st, os, strlen(os), &len) : NULL;
            if (os && (!close ||
                       strncmp(close,
                               "event: response.completed\n"
                               "data: ",
                               32) ||
                       !strstr(close, "\n\nevent: response.chatseal\n")))
                abort();
            free(close);
            free(os);
            json_decref(o);
            json_decref(m);
        }
        if (r == CS_EV_FAIL || r == CS_EV_UPSTREAM)
            break;
        p = sep ? sep + 2 : end;
    }
    size_t elen = 0;
    char *err = A->stream_error(st, CHATSEAL_E_UPSTREAM_ERROR, "x", &elen);
    if (!err || !elen)
        abort();
    free(err);
    A->stream_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0)
        body((const char *)data + 1, size - 1);
    else
        stream((const char *)data + 1, size - 1);
    return 0;
}
