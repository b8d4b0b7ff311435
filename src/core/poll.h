/*
 * poll.h - a hook that long computations call now and then, so that communication started
 * earlier can advance meanwhile: the overlapped step (train/reduce.c) sets it while backward
 * runs, and MPI moves a non-blocking reduction along only when it is called.
 *
 * The layers call st_poll() between a recurrent layer's time steps and the model between layers;
 * with no hook set it costs one load and a branch. The hook lives in core so that layers need
 * not know of training or MPI.
 */
#ifndef ST_CORE_POLL_H
#define ST_CORE_POLL_H

typedef void (*st_poll_fn)(void *ctx);
extern st_poll_fn st_poll_hook;
extern void *st_poll_ctx;

static inline void st_poll(void) {
    if (st_poll_hook) st_poll_hook(st_poll_ctx);
}
/* fn NULL: no hook. Local (one per process: the training step's). */
static inline void st_poll_set(st_poll_fn fn, void *ctx) {
    st_poll_hook = fn;
    st_poll_ctx = ctx;
}

#endif
