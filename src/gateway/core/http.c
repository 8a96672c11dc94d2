/*
 * http.c -- a strict, incremental HTTP/1.x message reader.
 *
 * The gateway talks HTTP on both sides of one event loop, and it must answer
 * every client failure (slow headers, a body over the limit, too many
 * connections) with its own status and an OpenAI-shaped JSON body.  libevent's
 * evhttp (2.1) answers those cases itself, with HTML or by dropping the
 * connection, so the gateway reads messages with this module instead, on top
 * of libevent bufferevents.
 *
 * Strictness is a security property of a proxy: anything two HTTP parsers
 * could read differently (request smuggling) is refused.  So: only HTTP/1.0
 * and 1.1; no whitespace before a header colon; no obsolete line folding; no
 * control characters in values; a request with both Content-Length and
 * Transfer-Encoding, with two Content-Length headers, or with a transfer
 * coding other than "chunked" is an error; Content-Length is plain digits;
 * chunk sizes are hex with a bounded length.
 *
 * Lines are read with evbuffer_readln(EVBUFFER_EOL_CRLF), which accepts CRLF
 * and bare LF (robustness: RFC 9112 section 2.2).  The whole head is bounded by
 * max_head bytes; a line that has not ended by then is CS_HTTP_TOO_LARGE.
 */
#include "core/http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#define MAX_HEADERS 128
#define MAX_CHUNK_LINE 1024
#define MAX_TRAILERS 16384
/* A body is reserved in one block up to this size before its bytes arrive:
 * a client can claim a large Content-Length and send nothing, so larger
 * bodies grow as they come, at most this much ahead of what arrived (and
 * cost one copy at pull-up). */
#define MAX_BODY_RESERVE (1024 * 1024)

enum {
    B_NONE,
    B_LENGTH,
    B_CHUNK_SIZE,
    B_CHUNK_DATA,
    B_CHUNK_CRLF,
    B_TRAILERS,
    B_EOF,
    B_DONE
};

void cs_headers_init(cs_headers *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void cs_headers_clear(cs_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].name);
        free(h->v[i].value);
    }
    free(h->v);
    cs_headers_init(h);
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int cs_headers_add(cs_headers *h, const char *name, size_t nlen,
                   const char *value, size_t vlen)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        cs_header *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -1;
        h->v = v;
        h->cap = cap;
    }
    char *n = dupn(name, nlen), *val = dupn(value, vlen);
    if (!n || !val) {
        free(n);
        free(val);
        return -1;
    }
    h->v[h->n].name = n;
    h->v[h->n].value = val;
    h->n++;
    return 0;
}

int cs_headers_set(cs_headers *h, const char *name, const char *value)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->v[i].name, name) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(h->v[i].value);
            h->v[i].value = v;
            return 0;
        }
    }
    return cs_headers_add(h, name, strlen(name), value, strlen(value));
}

const char *cs_headers_get(const cs_headers *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            return h->v[i].value;
    return NULL;
}

size_t cs_headers_count(const cs_headers *h, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, name) == 0)
            c++;
    return c;
}

int cs_http_list_has(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = e;
    }
    return 0;
}

int cs_http_is_hop_by_hop(const cs_headers *h, const char *name)
{
    static const char *const hop[] = {"Connection",
                                      "Keep-Alive",
                                      "Proxy-Authenticate",
                                      "Proxy-Authorization",
                                      "Proxy-Connection",
                                      "TE",
                                      "Trailer",
                                      "Transfer-Encoding",
                                      "Upgrade"};
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (strcasecmp(name, hop[i]) == 0)
            return 1;
    for (size_t i = 0; i < h->n; i++)
        if (strcasecmp(h->v[i].name, "Connection") == 0 &&
            cs_http_list_has(h->v[i].value, name))
            return 1;
    return 0;
}

void cs_http_msg_init(cs_http_msg *m, int response, size_t max_head)
{
    memset(m, 0, sizeof *m);
    m->response = response;
    m->max_head = max_head;
    m->length = -1;
    cs_headers_init(&m->headers);
}

void cs_http_msg_reset(cs_http_msg *m)
{
    int response = m->response;
    size_t max_head = m->max_head;
    free(m->method);
    free(m->target);
    cs_headers_clear(&m->headers);
    cs_http_msg_init(m, response, max_head);
}

static int is_tchar(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Reads one line (without its EOL) into *line (malloc'd).  AGAIN when no
 * complete line is buffered yet; TOO_LARGE when it exceeds `budget`. */
static int read_line(struct evbuffer *in, size_t budget, char **line,
                     size_t *len)
{
    struct evbuffer_ptr eol =
        evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_CRLF);
    if (eol.pos < 0)
        return evbuffer_get_length(in) > budget ? CS_HTTP_TOO_LARGE
                                                : CS_HTTP_AGAIN;
    if ((size_t)eol.pos > budget)
        return CS_HTTP_TOO_LARGE;
    *line = evbuffer_readln(in, len, EVBUFFER_EOL_CRLF);
    return *line ? CS_HTTP_DONE : CS_HTTP_ERROR;
}

static int parse_version(const char *s, int *minor)
{
    if (strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1'))
        return -1;
    *minor = s[7] - '0';
    return 0;
}

static int parse_request_line(cs_http_msg *m, const char *l, size_t len)
{
    const char *sp1 = memchr(l, ' ', len);
    if (!sp1 || sp1 == l)
        return -1;
    for (const char *p = l; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            return -1;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', len - (size_t)(t - l));
    if (!sp2 || sp2 == t)
        return -1;
    for (const char *p = t; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
            return -1;
    const char *v = sp2 + 1;
    if ((size_t)(l + len - v) != 8 || parse_version(v, &m->minor) != 0)
        return -1;
    m->method = dupn(l, (size_t)(sp1 - l));
    m->target = dupn(t, (size_t)(sp2 - t));
    return m->method && m->target ? 0 : -1;
}

static int parse_status_line(cs_http_msg *m, const char *l, size_t len)
{
    if (len < 12 || parse_version(l, &m->minor) != 0 || l[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)l[i]))
            return -1;
    if (len > 12 && l[12] != ' ')
        return -1;
    m->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    return m->status >= 100 ? 0 : -1;
}

static int parse_header(cs_http_msg *m, const char *l, size_t len)
{
    if (l[0] == ' ' || l[0] == '\t')
        return -1; /* obsolete line folding */
    const char *colon = memchr(l, ':', len);
    if (!colon || colon == l)
        return -1;
    for (const char *p = l; p < colon; p++)
        if (!is_tchar((unsigned char)*p))
            return -1;
    const char *v = colon + 1, *e = l + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    for (const char *p = v; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
    }
    if (m->headers.n >= MAX_HEADERS)
        return -1;
    return cs_headers_add(&m->headers, l, (size_t)(colon - l), v,
                          (size_t)(e - v));
}

int cs_http_read_head(cs_http_msg *m, struct evbuffer *in)
{
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        size_t budget =
            m->max_head > m->head_bytes ? m->max_head - m->head_bytes : 0;
        int rc = read_line(in, budget, &line, &len);
        if (rc != CS_HTTP_DONE) {
            if (rc == CS_HTTP_TOO_LARGE)
                m->error = "header section too large";
            return rc;
        }
        m->head_bytes += len + 2;
        if (!m->got_line) {
            if (len == 0 && !m->response && m->head_bytes <= 4) {
                free(line); /* tolerate one empty line before a request */
                continue;
            }
            int bad = m->response ? parse_status_line(m, line, len)
                                  : parse_request_line(m, line, len);
            free(line);
            if (bad) {
                m->error = m->response ? "malformed status line"
                                       : "malformed request line";
                return CS_HTTP_ERROR;
            }
            m->got_line = 1;
            continue;
        }
        if (len == 0) {
            free(line);
            return CS_HTTP_DONE;
        }
        int bad = parse_header(m, line, len);
        free(line);
        if (bad) {
            m->error = "malformed header field";
            return CS_HTTP_ERROR;
        }
    }
}

static int parse_length(const char *s, int64_t *out)
{
    if (!*s)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s) || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* The last transfer coding of a Transfer-Encoding value is "chunked". */
static int last_coding_chunked(const char *te)
{
    const char *c = strrchr(te, ',');
    c = c ? c + 1 : te;
    while (*c == ' ' || *c == '\t')
        c++;
    size_t n = strlen(c);
    while (n && (c[n - 1] == ' ' || c[n - 1] == '\t'))
        n--;
    return n == 7 && strncasecmp(c, "chunked", 7) == 0;
}

int cs_http_frame(cs_http_msg *m, int head_request)
{
    size_t nte = cs_headers_count(&m->headers, "Transfer-Encoding");
    size_t ncl = cs_headers_count(&m->headers, "Content-Length");
    const char *te = cs_headers_get(&m->headers, "Transfer-Encoding");
    const char *cl = cs_headers_get(&m->headers, "Content-Length");
    const char *conn = cs_headers_get(&m->headers, "Connection");

    if (m->minor == 1)
        m->keep_alive = !(conn && cs_http_list_has(conn, "close"));
    else
        m->keep_alive = conn && cs_http_list_has(conn, "keep-alive");
    m->chunked = m->until_eof = 0;
    m->length = -1;

    if (m->response && (head_request || m->status < 200 || m->status == 204 ||
                        m->status == 304)) {
        m->body_state = B_DONE;
        return CS_HTTP_DONE;
    }
    if (nte > 1 || ncl > 1) {
        m->error = "repeated Transfer-Encoding or Content-Length";
        return CS_HTTP_ERROR;
    }
    if (te) {
        if (!m->response) {
            if (cl || strcasecmp(te, "chunked") != 0) {
                m->error = "unsupported Transfer-Encoding";
                return CS_HTTP_ERROR;
            }
        }
        if (last_coding_chunked(te)) {
            m->chunked = 1;
            m->body_state = B_CHUNK_SIZE;
        } else {
            m->until_eof = 1;
            m->keep_alive = 0;
            m->body_state = B_EOF;
        }
        return CS_HTTP_DONE;
    }
    if (cl) {
        if (parse_length(cl, &m->length) != 0) {
            m->error = "invalid Content-Length";
            return CS_HTTP_ERROR;
        }
        m->remaining = (uint64_t)m->length;
        m->body_state = m->length ? B_LENGTH : B_DONE;
        return CS_HTTP_DONE;
    }
    if (m->response) {
        m->until_eof = 1;
        m->keep_alive = 0;
        m->body_state = B_EOF;
    } else {
        m->length = 0;
        m->body_state = B_DONE;
    }
    return CS_HTTP_DONE;
}

static int parse_chunk_size(const char *l, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; isxdigit((unsigned char)l[i]); i++) {
        if (i >= 15)
            return -1; /* over 2^60 */
        int d = isdigit((unsigned char)l[i])
                    ? l[i] - '0'
                    : (tolower((unsigned char)l[i]) - 'a' + 10);
        v = v * 16 + (uint64_t)d;
    }
    if (i == 0)
        return -1;
    while (l[i] == ' ' || l[i] == '\t')
        i++;
    if (l[i] != '\0' && l[i] != ';')
        return -1;
    *out = v;
    return 0;
}

int cs_http_read_body(cs_http_msg *m, struct evbuffer *in, struct evbuffer *out,
                      int eof)
{
    for (;;) {
        switch (m->body_state) {
        case B_DONE:
            return CS_HTTP_DONE;
        case B_EOF: {
            evbuffer_remove_buffer(in, out, evbuffer_get_length(in));
            if (eof) {
                m->body_state = B_DONE;
                return CS_HTTP_DONE;
            }
            return CS_HTTP_AGAIN;
        }
        case B_LENGTH:
        case B_CHUNK_DATA: {
            size_t avail = evbuffer_get_length(in);
            size_t take = avail < m->remaining ? avail : (size_t)m->remaining;
            if (take)
                evbuffer_remove_buffer(in, out, take);
            m->remaining -= take;
            if (m->remaining == 0) {
                m->body_state =
                    m->body_state == B_LENGTH ? B_DONE : B_CHUNK_CRLF;
                continue;
            }
            goto need_more;
        }
        case B_CHUNK_SIZE:
        case B_CHUNK_CRLF:
        case B_TRAILERS: {
            char *line = NULL;
            size_t len = 0;
            int rc = read_line(in, MAX_CHUNK_LINE, &line, &len);
            if (rc == CS_HTTP_AGAIN)
                goto need_more;
            if (rc != CS_HTTP_DONE) {
                m->error = "malformed chunked encoding";
                return CS_HTTP_ERROR;
            }
            int bad = 0;
            if (m->body_state == B_CHUNK_CRLF) {
                bad = len != 0;
                m->body_state = B_CHUNK_SIZE;
            } else if (m->body_state == B_CHUNK_SIZE) {
                bad = parse_chunk_size(line, &m->remaining) != 0;
                m->body_state = m->remaining ? B_CHUNK_DATA : B_TRAILERS;
            } else {
                m->trailer_bytes += len + 2;
                bad = m->trailer_bytes > MAX_TRAILERS;
                if (len == 0)
                    m->body_state = B_DONE;
            }
            free(line);
            if (bad) {
                m->error = "malformed chunked encoding";
                return CS_HTTP_ERROR;
            }
            continue;
        }
        default:
            m->error = "internal parser state";
            return CS_HTTP_ERROR;
        }
    need_more:
        if (eof) {
            m->error = "connection closed before the end of the body";
            return CS_HTTP_ERROR;
        }
        return CS_HTTP_AGAIN;
    }
}

int cs_http_read_body_direct(cs_http_msg *m, struct evbuffer *in,
                             struct evbuffer *out, int fd)
{
    if (m->body_state != B_LENGTH)
        return cs_http_read_body(m, in, out, 0);
    size_t want = (size_t)m->remaining;
    /* never reserve more than has arrived plus MAX_BODY_RESERVE: what a
     * client claims costs nothing until it sends it (fuzz_http found the
     * unbounded version: Content-Length 1.8e14 reserved at once) */
    size_t have = evbuffer_get_length(out);
    size_t room = want;
    if (room > MAX_BODY_RESERVE + have)
        room = MAX_BODY_RESERVE + have;
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)room, &v, 1) < 1) {
        m->error = "out of memory";
        return CS_HTTP_ERROR;
    }
    if (v.iov_len > want)
        v.iov_len = want;
    char *p = v.iov_base;
    size_t got = 0;
    size_t avail = evbuffer_get_length(in);
    if (avail) {
        got = avail < v.iov_len ? avail : v.iov_len;
        evbuffer_remove(in, p, got);
    }
    while (fd >= 0 && got < v.iov_len) {
        ssize_t n = recv(fd, p + got, v.iov_len - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break; /* EAGAIN, EOF or error: the bufferevent takes over */
    }
    v.iov_len = got;
    if (evbuffer_commit_space(out, &v, 1) != 0) {
        m->error = "internal buffer error";
        return CS_HTTP_ERROR;
    }
    m->remaining -= got;
    if (m->remaining == 0) {
        m->body_state = B_DONE;
        return CS_HTTP_DONE;
    }
    return CS_HTTP_AGAIN;
}

const char *cs_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300   ? "OK"
               : status < 500 ? "Client Error"
                              : "Server Error";
    }
}
