/*
 * preempt.h - graceful preemption (src/train/preempt.c): the signals a scheduler sends before it
 * ends a job (Slurm: SIGTERM at scancel or the time limit, SIGUSR1 with --signal; mpirun
 * forwards SIGUSR1/SIGUSR2 to the ranks) only set a flag. The training step carries the flag
 * through its one allreduce (ST_TAIL_STOP, step.h), so at the next step boundary every rank
 * knows that some rank was asked to stop, and fit.c writes a step checkpoint and ends with
 * ST_FIT_PREEMPTED (exit 75). A second signal ends the process at once with 128 + signal.
 *
 * Internal to src/train/ (settings.c parses [train] stop_signals with st_preempt_parse).
 */
#ifndef ST_TRAIN_PREEMPT_H
#define ST_TRAIN_PREEMPT_H

/* Bits of [train] stop_signals. */
enum {
    ST_SIG_TERM = 1 << 0,
    ST_SIG_INT = 1 << 1,
    ST_SIG_USR1 = 1 << 2,
    ST_SIG_USR2 = 1 << 3,
    ST_SIG_HUP = 1 << 4,
    ST_SIG_XCPU = 1 << 5,
};
#define ST_SIG_DEFAULT (ST_SIG_TERM | ST_SIG_INT | ST_SIG_USR1)

/* st_key parser (ST_KEY_FUNC) of "TERM,INT,USR1" (names with or without SIG, any case) or
 * "none" into an int bit set; field: int *. */
int st_preempt_parse(const char *key, const char *val, void *field);
/* Installs the handler for the signals in mask (sigaction, SA_RESTART), clearing the flag.
 * ST_ERR with a message if sigaction fails. */
int st_preempt_install(int mask);
/* Puts back the dispositions st_preempt_install replaced. */
void st_preempt_restore(void);
/* The first stop signal received since st_preempt_install, or 0. */
int st_preempt_signal(void);
/* "SIGTERM" for a signal number (any, for messages). */
const char *st_preempt_name(int sig);

#endif
