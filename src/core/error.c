/*
 * error.c - the user-error message slot, fatal errors and checked allocation.
 *
 * One message slot per process: a failing function writes one line there and returns ST_ERR;
 * callers may prefix context on the way up; the command line prints it once. Fatal errors
 * (bugs) end the process through an abort hook: src/dist/comm.c installs one that calls
 * MPI_Abort, so that no rank is left waiting in a collective. Core knows nothing of MPI; before
 * the hook is installed (tools, unit tests without MPI) a fatal error exits with status 2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "core/mem.h"

static char g_msg[2048];
static void (*g_abort)(int code);

void st_error_set_abort_hook(void (*fn)(int code)) { g_abort = fn; }

void st_error_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
}

void st_error_prefix(const char *fmt, ...) {
    char old[sizeof g_msg];
    memcpy(old, g_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    /* Append ": old" by hand, truncating silently: a long message is still one line. */
    size_t at = n < 0 ? 0 : ((size_t)n < sizeof g_msg ? (size_t)n : sizeof g_msg - 1);
    size_t room = sizeof g_msg - 1 - at, len = strlen(old);
    if (room >= 2) {
        memcpy(g_msg + at, ": ", 2);
        at += 2, room -= 2;
        if (len > room) len = room;
        memcpy(g_msg + at, old, len);
        g_msg[at + len] = 0;
    }
}

const char *st_error_get(void) { return g_msg; }
void st_error_clear(void) { g_msg[0] = 0; }

void st_fatal(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[rank %d] %s:%d: %s\n", st_log_rank, file, line, msg);
    fflush(stderr);
    if (g_abort) g_abort(2);
    exit(2); /* no hook, or a hook that returned: never continue past a broken invariant */
}

/* A failed allocation is the machine's or the user's limit (a size from the config or the
 * data), not a bug in seqtrain: one user-error line and exit status 1, not st_fatal's 2. It
 * still ends every rank at once through the abort hook, since the other ranks may already wait
 * in a collective this rank will never reach. Sizes that a user chooses are checked up front
 * (st_model_build); this is the backstop for what no check foresaw. */
ST_NORETURN static void out_of_memory(size_t bytes, const char *what) {
    char human[32];
    st_mem_human(bytes, human, sizeof human);
    if (st_log_rank > 0)
        fprintf(stderr, "seqtrain: error: [rank %d] out of memory: %zu bytes (%s) for %s\n",
                st_log_rank, bytes, human, what);
    else
        fprintf(stderr, "seqtrain: error: out of memory: %zu bytes (%s) for %s\n", bytes, human,
                what);
    fflush(stderr);
    if (g_abort) g_abort(1);
    exit(1);
}

void *st_malloc_for(size_t bytes, const char *what) {
    void *p = NULL;
    /* 64-byte alignment: whole cache lines for every buffer, and aligned SIMD loads in BLAS. */
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0 || !p)
        out_of_memory(bytes, what ? what : "a buffer");
    memset(p, 0, bytes);
    return p;
}

void *st_malloc(size_t bytes) { return st_malloc_for(bytes, NULL); }

void st_free(void *p) { free(p); }

char *st_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = st_malloc(n);
    memcpy(d, s, n);
    return d;
}
