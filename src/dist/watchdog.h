/*
 * watchdog.h - internal to src/dist/: the timer that ends the job when a collective waits too
 * long (see watchdog.c for the protocol and dist.h for the user-facing contract).
 *
 * comm.c brackets every collective with st_wd_enter/st_wd_leave on the main thread; the
 * watchdog thread (started by st_wd_start, stopped by st_wd_stop) does the rest.
 */
#ifndef ST_DIST_WATCHDOG_H
#define ST_DIST_WATCHDOG_H

#include <stddef.h>

#include <mpi.h>

/* Collective over world (it duplicates world and gathers every rank's host name and PID).
 * named: MPI gave MPI_THREAD_MULTIPLE, so the thread may ask the other ranks who is there;
 * without it the job still ends at a timeout, but the culprits cannot be named. */
void st_wd_start(MPI_Comm world, int named);
/* Main thread, around MPI_Finalize: the thread stops using MPI but still ends the process if
 * MPI_Finalize does not return within the limit; then it is joined. */
void st_wd_finalizing(void);
void st_wd_stop(void);

/* Main thread, on entering a collective: op ("allreduce"), and optionally the element count
 * and unit ("floats") for the message. Cheap: one uncontended mutex and a clock read. */
void st_wd_enter(const char *op, size_t count, const char *unit);
/* Main thread, on leaving it. ends_startup: this was the gradient allreduce, so the start-up
 * limit gives way to the steady one. */
void st_wd_leave(int ends_startup);

/* Seconds; 0 = no limit. */
void st_wd_set_limits(double steady_s, double startup_s);

/* Ends every rank: MPI_Abort, and should that not return within a few seconds (an mpirun
 * that cannot be reached), the process ends itself with SIGALRM. */
void st_wd_abort(int code) __attribute__((noreturn));

#endif
