/*
 * keys.c -- the key ring and the sidecar secret of chatseal serve.
 *
 * Sources, in this order, and never two at once (an operator who sets both
 * CHATSEAL_KEYS and a key file gets an error rather than a guess):
 *   --key-file / CHATSEAL_KEY_FILE   a file, reloaded on SIGHUP;
 *   CHATSEAL_KEYS                    ring text in the environment;
 *   --dev                            an ephemeral random key, with a warning
 *                                    that names only its kid.
 * Nothing configured and no --dev: no_key, exit status 2.  There is no
 * default key.
 *
 * Reload (SIGHUP) builds a complete new ring first and swaps it in only if
 * it parsed: a typo in the file never leaves the gateway without keys.  The
 * old ring is freed (zeroized) at once; that is safe because the gateway is
 * single-threaded and no code keeps gw->ring across a return to the loop.
 *
 * The sidecar secret is kept only as its SHA-256: requests are checked by
 * hashing the presented secret and comparing digests with CRYPTO_memcmp, so
 * the comparison takes the same time whatever the presented bytes are, and
 * the secret's bytes are zeroized right after loading.
 *
 * Log lines name key ids, counts and file paths; never key bytes.
 */
#include "policy/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ops/log.h"
#include "ops/metrics.h"

#define SECRET_MAX 4096
#define SECRET_MIN 16

static void log_ring(const char *event, const cs_gw *gw)
{
    json_t *f = json_object();
    if (!f)
        return;
    json_object_set_new(f, "source", json_string(gw->key_source));
    if (gw->key_path)
        json_object_set_new(f, "file", json_string(gw->key_path));
    json_object_set_new(
        f, "keys", json_integer((json_int_t)chatseal_keyring_size(gw->ring)));
    json_object_set_new(f, "signing_kid",
                        json_string(chatseal_keyring_signing_kid(gw->ring)));
    cs_log("info", event, f);
}

static void warn_permissions(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) != 0 || !(st.st_mode & S_IRWXO))
        return;
    json_t *f = json_object();
    if (!f)
        return;
    json_object_set_new(f, "file", json_string(path));
    json_object_set_new(
        f, "message",
        json_string(!strcmp(what, "key")
                        ? "the key file is accessible to other users; "
                          "chmod 600 it"
                        : "the sidecar secret file is accessible to other "
                          "users; chmod 600 it"));
    cs_log("warn", "file_permissions", f);
}

/* Builds a ring from the configured source.  *why gets a static reason. */
static chatseal_error load_ring(cs_gw *gw, chatseal_keyring **out,
                                const char **why)
{
    const char *env = getenv("CHATSEAL_KEYS");
    *out = NULL;
    if (gw->key_path) {
        chatseal_error e = chatseal_keyring_load_file(gw->key_path, out);
        if (e == CHATSEAL_E_IO)
            *why = strerror(errno);
        return e;
    }
    if (env && *env)
        return chatseal_keyring_parse(env, strlen(env), out);
    *why = "no key ring";
    return CHATSEAL_E_NO_KEY;
}

static int load_secret(const char *path, unsigned char digest[32],
                       const char **why)
{
    char buf[SECRET_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, sizeof buf - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            *why = strerror(errno);
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            return -1;
        }
        if (k == 0)
            break;
        n += (size_t)k;
        if (n == sizeof buf)
            break;
    }
    close(fd);
    int rc = 0;
    while (n && strchr(" \t\r\n", buf[n - 1]))
        n--;
    if (n > SECRET_MAX) {
        *why = "the secret is longer than 4096 bytes";
        rc = -1;
    } else if (n < SECRET_MIN) {
        *why = "the secret is shorter than 16 bytes";
        rc = -1;
    } else if (EVP_Digest(buf, n, digest, NULL, EVP_sha256(), NULL) != 1) {
        *why = "SHA-256 failed";
        rc = -1;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int cs_keys_load(cs_gw *gw, FILE *err)
{
    const char *env = getenv("CHATSEAL_KEYS");
    gw->key_path = gw->cfg.key_file;
    if (gw->key_path && env && *env) {
        fprintf(err, "chatseal: invalid_argument: serve: both CHATSEAL_KEYS "
                     "and a key file (--key-file or CHATSEAL_KEY_FILE) are "
                     "set; use one\n");
        return -1;
    }
    const char *why = "";
    chatseal_error e = load_ring(gw, &gw->ring, &why);
    if (e == CHATSEAL_E_NO_KEY && gw->cfg.dev) {
        e = chatseal_keyring_ephemeral(&gw->ring);
        if (e == CHATSEAL_OK) {
            gw->key_source = "ephemeral";
            json_t *f = json_object();
            json_object_set_new(
                f, "kid", json_string(chatseal_keyring_signing_kid(gw->ring)));
            json_object_set_new(
                f, "message",
                json_string("--dev: signing with an ephemeral development "
                            "key; its tokens die with this process. Do not "
                            "use --dev in production"));
            cs_log("warn", "dev_key", f);
        }
    } else if (e == CHATSEAL_OK) {
        gw->key_source = gw->key_path ? "file" : "env";
        if (gw->key_path)
            warn_permissions(gw->key_path, "key");
    }
    if (e == CHATSEAL_E_NO_KEY) {
        fprintf(err,
                "chatseal: no_key: no key configured: set --key-file FILE, "
                "CHATSEAL_KEY_FILE=FILE or CHATSEAL_KEYS (chatseal keygen "
                "makes a key), or run with --dev for an ephemeral "
                "development key\n");
        return -1;
    }
    if (e != CHATSEAL_OK) {
        fprintf(err, "chatseal: %s: cannot load the key ring from %s: %s%s%s\n",
                chatseal_error_name(e),
                gw->key_path ? gw->key_path : "CHATSEAL_KEYS",
                chatseal_strerror(e), *why ? ": " : "", why);
        return -1;
    }
    log_ring("keyring_loaded", gw);

    if (gw->cfg.sidecar_secret_file) {
        if (load_secret(gw->cfg.sidecar_secret_file, gw->sidecar_digest,
                        &why) != 0) {
            fprintf(err,
                    "chatseal: invalid_argument: serve: sidecar secret file "
                    "%s: %s\n",
                    gw->cfg.sidecar_secret_file, why);
            cs_keys_free(gw);
            return -1;
        }
        warn_permissions(gw->cfg.sidecar_secret_file, "secret");
        gw->sidecar_mode = 1;
    } else if (gw->cfg.dev && !strcmp(gw->key_source, "ephemeral")) {
        gw->sidecar_mode = 2;
        cs_log_msg("warn", "sidecar_open",
                   "--dev: the /v1/chatseal/* sidecar endpoints are open "
                   "to anyone who can reach this address");
    } else if (gw->cfg.dev) {
        /* an open sidecar signs anything with the key it is given: with a
         * real key that is a signing oracle for production tokens */
        gw->sidecar_mode = 0;
        json_t *f = json_object();
        json_object_set_new(
            f, "kid", json_string(chatseal_keyring_signing_kid(gw->ring)));
        json_object_set_new(f, "source", json_string(gw->key_source));
        json_object_set_new(
            f, "message",
            json_string("--dev with a configured key: that key signs, and "
                        "the /v1/chatseal/* sidecar stays closed (open only "
                        "with the ephemeral --dev key, or with "
                        "--sidecar-secret-file)"));
        cs_log("warn", "dev_with_key", f);
    } else {
        gw->sidecar_mode = 0;
    }
    return 0;
}

int cs_keys_reload(cs_gw *gw)
{
    int ok = 1;
    if (gw->cfg.sidecar_secret_file) {
        unsigned char d[32];
        const char *why = "";
        if (load_secret(gw->cfg.sidecar_secret_file, d, &why) == 0) {
            memcpy(gw->sidecar_digest, d, sizeof d);
        } else {
            json_t *f = json_object();
            json_object_set_new(f, "file",
                                json_string(gw->cfg.sidecar_secret_file));
            json_object_set_new(f, "message", json_string(why));
            cs_log("error", "sidecar_secret_reload_failed", f);
            ok = 0;
        }
        OPENSSL_cleanse(d, sizeof d);
    }
    if (!strcmp(gw->key_source, "ephemeral")) {
        cs_log_msg("info", "keyring_unchanged",
                   "SIGHUP: the ephemeral --dev key is kept (nothing to "
                   "reload)");
    } else {
        chatseal_keyring *ring = NULL;
        const char *why = "";
        chatseal_error e = load_ring(gw, &ring, &why);
        if (e == CHATSEAL_OK) {
            chatseal_keyring_free(gw->ring);
            gw->ring = ring;
            log_ring("keyring_reloaded", gw);
        } else {
            json_t *f = json_object();
            json_object_set_new(f, "code", json_string(chatseal_error_name(e)));
            if (gw->key_path)
                json_object_set_new(f, "file", json_string(gw->key_path));
            json_object_set_new(f, "message",
                                json_string(*why ? why : chatseal_strerror(e)));
            json_object_set_new(
                f, "signing_kid",
                json_string(chatseal_keyring_signing_kid(gw->ring)));
            cs_log("error", "keyring_reload_failed", f);
            ok = 0;
        }
    }
    if (gw->metrics)
        cs_metrics_reload(gw->metrics, ok);
    return ok ? 0 : -1;
}

int cs_keys_sidecar_allowed(const cs_gw *gw, const char *authorization)
{
    if (gw->sidecar_mode == 2)
        return 1;
    if (gw->sidecar_mode != 1 || !authorization ||
        strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *s = authorization + 7;
    while (*s == ' ')
        s++;
    unsigned char d[32];
    if (EVP_Digest(s, strlen(s), d, NULL, EVP_sha256(), NULL) != 1)
        return 0;
    int ok = CRYPTO_memcmp(d, gw->sidecar_digest, sizeof d) == 0;
    OPENSSL_cleanse(d, sizeof d);
    return ok;
}

void cs_keys_free(cs_gw *gw)
{
    chatseal_keyring_free(gw->ring);
    gw->ring = NULL;
    OPENSSL_cleanse(gw->sidecar_digest, sizeof gw->sidecar_digest);
}
