/*
 * fuzz_http.c -- the gateway's HTTP/1.x reader (src/gateway/core/http.c) under
 * libFuzzer.
 *
 * A proxy's parser is where request smuggling lives, so besides "no crash,
 * no leak, no hang" this checks what the gateway relies on:
 *
 *   - the message is read the same whatever the pieces it arrives in: the
 *     input is fed whole, then again cut where the first bytes say, and both
 *     readings must agree on the outcome, the method, target and every
 *     header, and the body bytes;
 *   - cs_http_read_body_direct (one contiguous block; used for every client
 *     request) reads exactly the bytes cs_http_read_body does;
 *   - a body framed by Content-Length is exactly that long, and a complete
 *     message leaves the bytes after it (a pipelined request) in the input.
 *
 * Input: byte 0 picks request or response parsing; bytes 1-3 are cut sizes;
 * the rest is the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct reading {
    int rc; /* final: CS_HTTP_DONE, _AGAIN, _ERROR, _TOO_LARGE */
    cs_http_msg m;
    struct evbuffer *body;
    size_t left; /* bytes of the input after the message */
};

/* Feeds msg in pieces of `cut` bytes (0: whole); direct: read the body as
 * server.c does, with cs_http_read_body_direct (fd -1: no socket). */
static void read_msg(struct reading *r, int response, const uint8_t *msg,
                     size_t len, size_t cut, int direct)
{
    struct evbuffer *in = evbuffer_new();
    r->body = evbuffer_new();
    if (!in || !r->body)
        abort();
    cs_http_msg_init(&r->m, response, 4096);
    int head_done = 0;
    r->rc = CS_HTTP_AGAIN;
    size_t off = 0;
    do {
        size_t n = cut ? cut : len;
        if (n > len - off)
            n = len - off;
        evbuffer_add(in, msg + off, n);
        off += n;
        int eof = off == len;
        if (!head_done) {
            r->rc = cs_http_read_head(&r->m, in);
            if (r->rc == CS_HTTP_AGAIN)
                continue;
            if (r->rc != CS_HTTP_DONE)
                break; /* as server.c: an error ends the connection */
            head_done = 1;
            r->rc = cs_http_frame(&r->m, 0);
            if (r->rc != CS_HTTP_DONE)
                break;
            r->rc = CS_HTTP_AGAIN;
        }
        r->rc = direct && !response
                    ? cs_http_read_body_direct(&r->m, in, r->body, -1)
                    : cs_http_read_body(&r->m, in, r->body, eof);
        if (r->rc == CS_HTTP_AGAIN && eof && direct && !response)
            r->rc = cs_http_read_body(&r->m, in, r->body, 1);
    } while (off < len && r->rc == CS_HTTP_AGAIN);
    r->left = evbuffer_get_length(in) + (len - off); /* not fed yet, too */
    evbuffer_free(in);
}

static void drop(struct reading *r)
{
    cs_http_msg_reset(&r->m);
    evbuffer_free(r->body);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void compare(struct reading *a, struct reading *b)
{
    if (a->rc != b->rc)
        abort();
    if (a->rc != CS_HTTP_DONE)
        return;
    if (!same_str(a->m.method, b->m.method) ||
        !same_str(a->m.target, b->m.target) || a->m.status != b->m.status ||
        a->m.headers.n != b->m.headers.n || a->m.length != b->m.length ||
        a->m.chunked != b->m.chunked)
        abort();
    for (size_t i = 0; i < a->m.headers.n; i++)
        if (strcmp(a->m.headers.v[i].name, b->m.headers.v[i].name) ||
            strcmp(a->m.headers.v[i].value, b->m.headers.v[i].value))
            abort();
    size_t n = evbuffer_get_length(a->body);
    if (n != evbuffer_get_length(b->body) ||
        (n &&
         memcmp(evbuffer_pullup(a->body, -1), evbuffer_pullup(b->body, -1), n)))
        abort();
    if (a->left != b->left)
        abort();
    if (a->m.length >= 0 && !a->m.chunked && !a->m.until_eof &&
        n != (size_t)a->m.length)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int response = data[0] & 1;
    size_t cuts[3] = {(size_t)data[1] % 64 + 1, (size_t)data[2] + 1,
                      (size_t)data[3] % 7 + 1};
    const uint8_t *msg = data + 4;
    size_t len = size - 4;

    struct reading whole;
    read_msg(&whole, response, msg, len, 0, 0);
    for (int i = 0; i < 3; i++) {
        struct reading cut, direct;
        read_msg(&cut, response, msg, len, cuts[i], 0);
        compare(&whole, &cut);
        read_msg(&direct, response, msg, len, cuts[i], 1);
        compare(&whole, &direct);
        drop(&cut);
        drop(&direct);
    }
    drop(&whole);
    return 0;
}
