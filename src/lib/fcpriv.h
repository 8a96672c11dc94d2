/*
 * fcpriv.h -- what the files of the canonicalizer share (internal to
 * fastcanon.c, jobject.c and fcconv.c; nothing else includes it).
 *
 * The layers, the bottom one first (a file calls only files listed before
 * it, never one after it or beside it):
 *
 *   buf.c       cs_buf: the arena and every array below
 *   jstring.c   the string codec      numfmt.c   the number codec
 *   jobject.c   object members: the RFC 8785 sort, duplicates, reassembly
 *   fastcanon.c the parser (one pass, explicit stack) and its API
 *   fcpool.c    one parser a thread (cs_fc_acquire / cs_fc_release)
 *   fcconv.c    the conversation scan: hooks the parser calls through
 *               struct fc_hooks, so the parser never names them
 */
#ifndef CS_FCPRIV_H
#define CS_FCPRIV_H

#include <locale.h>
#include <stddef.h>

#include "fastcanon.h"
#include "internal.h"
#include "jstring.h"

#define FC_FLUSH_AT ((size_t)64 << 10) /* stream top-level arrays in chunks */
#define FC_SLACK                                                               \
    CS_JS_SLACK /* bytes always free in the arena while writing                \
                 */

/* frame kinds */
enum { FC_ARR = 0, FC_OBJ = 1 };

struct fc_frame {
    size_t start; /* arena offset of '{' or '[' */
    size_t mbase; /* first member record of this object */
    size_t kbase; /* length of the names buffer when opened */
    size_t count; /* members or elements so far */
    unsigned char kind;
    unsigned char conv;     /* the hooks' tag for this container */
    unsigned char has_role; /* the hooks' flag for this container */
};

/* One object member in the arena: "key":value at [start, end). */
struct fc_member {
    size_t start, end;
    size_t koff, klen; /* unescaped name: arena (kesc 0) or names buffer */
    size_t kclen;      /* canonical name bytes, quotes included */
    int kesc;
};

/*
 * Where the conversation layer (fcconv.c) hooks into a run; NULL hooks for
 * plain canonicalization.  A container whose tag (set by enter) is 0 is
 * opaque to the hooks: nothing inside it, nor its own names and close, is
 * reported, so deep content costs no calls.  A hook returns an error to abort
 * the run; rules of its own that the text breaks go to fc->deferred instead,
 * reported only if the JSON itself is fine (JSON errors come first).
 */
struct fc_hooks {
    /* a value starting with byte c inside parent (NULL at the top): the tag
     * of the container it opens, if it is one */
    unsigned char (*enter)(cs_fc *fc, const struct fc_frame *parent,
                           unsigned c);
    /* a string value was written to the arena at [start, out.n); esc as
     * cs_js_string sets it */
    chatseal_error (*string)(cs_fc *fc, struct fc_frame *f, size_t start,
                             int esc);
    /* a member name was read into m */
    void (*key)(cs_fc *fc, struct fc_frame *f, const struct fc_member *m);
    /* the array of f closed (']' written) */
    void (*close_array)(cs_fc *fc, const struct fc_frame *f);
    /* the object of f closed (sorted, '}' written); set *keep_names when its
     * unescaped names must outlive it */
    chatseal_error (*close_object)(cs_fc *fc, struct fc_frame *f,
                                   int *keep_names);
};

/* State of the conversation hooks (fcconv.c). */
struct fc_conv {
    cs_fc_message_fn on_message;
    void *msg_ctx;
    size_t max_messages, nmessages;
    int saw_messages; /* root object had a "messages" member */
    int want_role;    /* the value being read is a message's role */
    int want_msgs;    /* the value being read is root "messages" */
    cs_buf role;      /* current message's role, unescaped */
    cs_buf rootb;     /* holds root: top-level members after a scan */
    cs_fc_member *root;
    size_t nroot;
    cs_buf msgmb; /* holds msgm: the reported message's members */
    cs_fc_span *msgm;
    size_t nmsgm;
};

struct cs_fc {
    cs_buf out;   /* the arena; out.n is the canonical length so far */
    cs_buf names; /* unescaped names that differ from their canonical form */
    cs_buf memb;  /* holds mem */
    struct fc_member *mem;
    size_t nmem;
    cs_buf frb; /* holds fr */
    struct fc_frame *fr;
    size_t nfr;
    cs_buf scratch; /* member reassembly, number copies */
    cs_buf tmpb;    /* holds tmp, the merge sort's second array */
    cs_buf rkb;     /* the radix sort's keys and work list (jobject.c) */
    locale_t cloc;
    int avx2;    /* the CPU has AVX2: cs_js_string's fast path */
    size_t nobj; /* open objects */
    size_t max_depth;
    chatseal_sink sink;
    void *sink_ctx;
    int done;                /* canonical text complete and kept in out */
    int busy;                /* handed out by cs_fc_acquire */
    chatseal_error deferred; /* first error of the hooks' own rules */
    const struct fc_hooks *hooks;
    struct fc_conv conv;
};

/* Room for n more bytes (plus the slack) at cursor o in the arena; the
 * cursor, moved if the arena moved, or NULL when out of memory. */
static inline char *fc_reserve(cs_fc *fc, char *o, size_t n)
{
    if ((size_t)(fc->out.p + fc->out.cap - o) >= n + FC_SLACK)
        return o;
    fc->out.n = (size_t)(o - fc->out.p);
    if (cs_buf_reserve(&fc->out, n + FC_SLACK))
        return NULL;
    return fc->out.p + fc->out.n;
}

/* The unescaped name of m. */
static inline const unsigned char *fc_name(const cs_fc *fc,
                                           const struct fc_member *m)
{
    return (const unsigned char *)(m->kesc ? fc->names.p : fc->out.p) + m->koff;
}

/* fastcanon.c: one run over json with fc's settings (sink, depth, hooks). */
chatseal_error cs_fc_run(cs_fc *fc, const char *json, size_t len);

/* jobject.c */
/* Closes the object of frame f: sorts its members, rejects duplicates, and
 * rewrites [start+1, out.n) in sorted order followed by '}'. */
chatseal_error cs_fc_close_object(cs_fc *fc, struct fc_frame *f);
/* After an error: 1 if a duplicate name read before it, in any open
 * object, is the earlier error. */
int cs_fc_open_duplicates(cs_fc *fc);

#endif /* CS_FCPRIV_H */
