/*
 * log.c - rank-0 printing and the wall clock. ST_LOG (log.h) filters by rank before any
 * argument is evaluated; this file only formats.
 *
 * Data layout: two process-wide ints, the rank (set once by dist's st_dist_init) and the
 * level. Not here: any MPI call (core sits below dist: the rank is handed down, not asked for),
 * log files (only stderr/stdout; history and metrics files are train's).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "seqtrain/log.h"

int st_log_level = ST_LOG_INFO;
int st_log_rank = 0;
double st_start_time = 0;

void st_log_printf(int level, const char *fmt, ...) {
    FILE *f = level <= ST_LOG_WARN ? stderr : stdout;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fflush(f);
}

double st_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
