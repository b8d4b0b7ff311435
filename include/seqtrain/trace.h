/*
 * trace.h - a timeline of what every rank did, written as a Chrome trace (open it in
 * https://ui.perfetto.dev or chrome://tracing): one track per rank, one slice per layer's
 * forward and backward, the allreduce (and the wait before it), the optimizer, data reading
 * and checkpoints.
 *
 * Recording is off unless st_trace_enable was called (`seqtrain train ... --timeline F.json`);
 * when off, st_trace_on() is one load and nothing else happens. Events go into a buffer
 * allocated once; when it is full, later events are dropped (and counted).
 */
#ifndef SEQTRAIN_TRACE_H
#define SEQTRAIN_TRACE_H

#include <stddef.h>

/* Starts recording, at most max_events per rank. Collective (aligns the ranks' clocks with a
 * barrier, so the tracks line up on one node; across nodes to within the barrier's latency). */
void st_trace_enable(size_t max_events);
int st_trace_on(void);
/* One slice [t0, t1] (st_time() seconds) named `name` (copied, up to 47 characters) in
 * category `cat` (a string literal). Local. */
void st_trace_add(const char *name, const char *cat, double t0, double t1);
/* Gathers every rank's events to rank 0, which writes the JSON to path (PATH.tmp, renamed);
 * stops recording. Collective; errors agreed. */
int st_trace_write(const char *path);

#endif
