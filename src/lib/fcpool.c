/*
 * fcpool.c -- one parser a thread (cs_fc_acquire / cs_fc_release, declared
 * in fastcanon.h), on top of the parser (fastcanon.c; fcpriv.h shows the
 * layers).
 *
 * Why: a fresh cs_fc per request allocates its member, sort, frame and
 * scratch arrays anew and grows them by doubling, and on the development
 * machine each fresh page costs a fault of several microseconds: an object of
 * 20000 members or 10000 tiny messages spent a third of its time in the
 * kernel.  So each thread keeps one parser: cs_fc_acquire hands it out (a
 * fresh one while it is in use, e.g. by a nested call), cs_fc_release takes
 * it back, and its buffers stay allocated for the next request up to
 * FC_KEEP bytes in all; beyond that they are freed, so one huge body does
 * not pin its memory for the thread's lifetime.  The thread-local pointer is
 * what the code reads; the pthread key exists only so that a thread's parser
 * is freed when the thread exits.
 *
 * FC_KEEP is 64 MiB because an 8 MB body (the gateway's default limit) that
 * is one object of 160000 members needs about 30 MB of member, sort and
 * scratch arrays: with less, that body would fault all of it in again on
 * every request (13x text instead of 2.4x).  The price: a thread (a gateway
 * worker) that has parsed such a body keeps that memory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "fcpriv.h"

#define FC_KEEP ((size_t)64 << 20)

static pthread_once_t fc_once = PTHREAD_ONCE_INIT;
static pthread_key_t fc_tkey;
static atomic_int fc_key_ok; /* cleared at unload, read by every thread */
static _Thread_local cs_fc *fc_mine;

static void fc_key_destroy(void *p)
{
    fc_mine = NULL;
    cs_fc_free(p);
}

static void fc_key_init(void)
{
    fc_key_ok = pthread_key_create(&fc_tkey, fc_key_destroy) == 0;
}

#if defined(__GNUC__)
/* a shared library unloaded while threads still run must not leave them a
 * destructor in unmapped code: the key goes with the library (the parsers
 * it holds are then left to the process) */
__attribute__((destructor)) static void fc_key_unload(void)
{
    if (fc_key_ok)
        pthread_key_delete(fc_tkey);
    fc_key_ok = 0;
}
#endif

static void fc_drop_buffers(cs_fc *fc)
{
    cs_buf_free(&fc->out);
    cs_buf_free(&fc->names);
    cs_buf_free(&fc->memb);
    cs_buf_free(&fc->frb);
    cs_buf_free(&fc->scratch);
    cs_buf_free(&fc->tmpb);
    cs_buf_free(&fc->rkb);
    cs_buf_free(&fc->conv.role);
    cs_buf_free(&fc->conv.rootb);
    cs_buf_free(&fc->conv.msgmb);
    fc->mem = NULL;
    fc->fr = NULL;
    fc->conv.root = NULL;
    fc->conv.msgm = NULL;
    fc->conv.nroot = 0;
    fc->done = 0;
}

cs_fc *cs_fc_acquire(void)
{
    cs_fc *fc = fc_mine;
    if (fc && !fc->busy) {
        fc->busy = 1;
        return fc;
    }
    return cs_fc_new();
}

void cs_fc_release(cs_fc *fc)
{
    size_t kept;
    if (!fc)
        return;
    if (fc != fc_mine) {
        pthread_once(&fc_once, fc_key_init);
        if (fc_mine || !fc_key_ok || pthread_setspecific(fc_tkey, fc)) {
            cs_fc_free(fc);
            return;
        }
        fc_mine = fc;
    }
    fc->busy = 0;
    kept = fc->out.cap + fc->names.cap + fc->memb.cap + fc->frb.cap +
           fc->scratch.cap + fc->tmpb.cap + fc->rkb.cap + fc->conv.role.cap +
           fc->conv.rootb.cap + fc->conv.msgmb.cap;
    if (kept > FC_KEEP)
        fc_drop_buffers(fc);
}
