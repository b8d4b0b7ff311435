/*
 * log.h - printing. Only rank 0 prints; ST_LOG does not even evaluate its arguments on the
 * other ranks, so a log line can never cost a collective or a slow formatting call there.
 */
#ifndef SEQTRAIN_LOG_H
#define SEQTRAIN_LOG_H

#include "seqtrain/error.h"

enum { ST_LOG_ERROR = 0, ST_LOG_WARN = 1, ST_LOG_INFO = 2, ST_LOG_DEBUG = 3 };

extern int st_log_level; /* messages above this level are dropped; default ST_LOG_INFO */
extern int st_log_rank;  /* this process's rank, set by st_dist_init */

void st_log_printf(int level, const char *fmt, ...) ST_PRINTF(2, 3);

#define ST_LOG(level, ...)                                                                        \
    do {                                                                                          \
        if (st_log_rank == 0 && (level) <= st_log_level) st_log_printf((level), __VA_ARGS__);     \
    } while (0)

/* st_time() when the program started (set first thing in main; 0 in library use). */
extern double st_start_time;

/* Monotonic wall clock in seconds. */
double st_time(void);

#endif
