/*
 * static.c -- serves the demo chat page (--ui DIR) at the gateway's root.
 *
 * Deliberately small and closed: only GET and HEAD, only "/" (index.html)
 * and single path segments of [A-Za-z0-9._-] not starting with '.', only a
 * fixed list of file types, only regular files, opened without following a
 * final symlink.  So no request can name anything outside DIR (no "..", no
 * "%2e%2e": '%' is not in the alphabet) and no dot-file or key file is ever
 * served.  Files are read on each request: the page is a few kilobytes,
 * and editing it needs no restart.
 *
 * Every file gets nosniff and a no-cache policy; HTML also gets a strict
 * Content-Security-Policy (same-origin scripts, styles and fetches only, no
 * framing), because the page shows text that came from a model.
 */
#include "core/static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"

#define FILE_MAX (8 * 1024 * 1024)
#define NAME_MAX_LEN 128

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void not_found(cs_req *r)
{
    cs_req_error(r, CHATSEAL_E_NOT_FOUND, "no such page");
}

void cs_static_handle(cs_req *r)
{
    r->endpoint = "ui";
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        cs_req_header(r, "Allow", "GET, HEAD");
        cs_req_error(r, CHATSEAL_E_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    const char *name = strcmp(r->path, "/") ? r->path + 1 : "index.html";
    const char *type = name_ok(name) ? type_of(name) : NULL;
    if (!type) {
        not_found(r);
        return;
    }
    char path[4096];
    int pl = snprintf(path, sizeof path, "%s/%s", r->gw->cfg.ui, name);
    if (pl < 0 || (size_t)pl >= sizeof path) {
        not_found(r);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > FILE_MAX) {
        if (fd >= 0)
            close(fd);
        not_found(r);
        return;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *body = malloc(size ? size : 1);
    while (body && got < size) {
        ssize_t k = read(fd, body + got, size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!body || got != size) {
        free(body);
        cs_req_error(r, CHATSEAL_E_IO, "cannot read the page");
        return;
    }
    cs_req_header(r, "Cache-Control", "no-cache");
    cs_req_header(r, "X-Content-Type-Options", "nosniff");
    cs_req_header(r, "Referrer-Policy", "no-referrer");
    if (!strncmp(type, "text/html", 9)) {
        cs_req_header(r, "Content-Security-Policy",
                      "default-src 'self'; script-src 'self'; "
                      "style-src 'self'; img-src 'self' data:; "
                      "connect-src 'self'; object-src 'none'; "
                      "base-uri 'none'; form-action 'self'; "
                      "frame-ancestors 'none'");
        cs_req_header(r, "X-Frame-Options", "DENY");
    }
    cs_req_reply(r, 200, type, body, size);
    free(body);
}
