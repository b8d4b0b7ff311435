/*
 * error.h - how seqtrain reports failures.
 *
 * Two kinds of failure, handled differently:
 *  - Bugs and broken invariants: ST_ASSERT prints "[rank r] file:line: message" and aborts
 *    EVERY rank through MPI_Abort, because a plain exit() on one rank leaves the others
 *    blocked forever in the next collective.
 *  - User mistakes (bad config, missing file, wrong shape, id out of range): the function
 *    that notices calls st_error_set() with ONE line saying what, where and the value, and
 *    returns ST_ERR up to the command line, which prints it once and exits non-zero on every
 *    rank (see st_dist_any_error in dist.h).
 */
#ifndef SEQTRAIN_ERROR_H
#define SEQTRAIN_ERROR_H

#include <stddef.h>

#define ST_OK 0
#define ST_ERR (-1)
/* Returned by a layer's set() for a key it does not know (the caller names the line). */
#define ST_ENOKEY (-2)
/* Exit status of a job that a collective's time limit ended: a rank did not arrive (a node
 * died, a link was cut, a rank stalled). Distinct from 1 so that a job script can tell "resume
 * on the nodes that are left" from "this run is broken" (jobs/train.sbatch requeues on it). */
#define ST_EXIT_LOST 76

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ST_NORETURN __attribute__((noreturn))
#else
#define ST_PRINTF(a, b)
#define ST_NORETURN
#endif

/* Records the user-facing message of the current failure (overwrites the previous one). */
void st_error_set(const char *fmt, ...) ST_PRINTF(1, 2);
/* Prefixes the current message with "prefix: " (adds context on the way up). */
void st_error_prefix(const char *fmt, ...) ST_PRINTF(1, 2);
/* The current message ("" when none). Owned by the library. */
const char *st_error_get(void);
void st_error_clear(void);

/* Prints "[rank r] file:line: message" to stderr and aborts all ranks (through the abort hook,
 * else exit(2)). */
void st_fatal(const char *file, int line, const char *fmt, ...) ST_PRINTF(3, 4) ST_NORETURN;

/* How st_fatal ends the run: src/dist/comm.c installs MPI_Abort for every rank at st_dist_init.
 * The hook must not return (if it does, exit(2) follows). */
void st_error_set_abort_hook(void (*fn)(int code));

#define ST_ASSERT(cond, ...)                                                                      \
    do {                                                                                          \
        if (!(cond)) st_fatal(__FILE__, __LINE__, __VA_ARGS__);                                   \
    } while (0)

/* Allocation that cannot fail silently: 64-byte aligned, zero-filled. On failure it prints
 * ONE line "seqtrain: error: out of memory: N bytes (X GiB) for WHAT" and ends every rank with
 * exit status 1 (a limit of the machine or a size the user chose, not a bug). what: a few
 * words naming the buffer ("the model's parameters"); st_malloc says "a buffer". Memory from
 * both is released with st_free. */
void *st_malloc(size_t bytes);
void *st_malloc_for(size_t bytes, const char *what);
void st_free(void *p);
char *st_strdup(const char *s);

#endif
