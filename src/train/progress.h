/*
 * progress.h - the console progress of training (progress.c). Internal to src/train/.
 */
#ifndef ST_TRAIN_PROGRESS_H
#define ST_TRAIN_PROGRESS_H

#include <stdint.h>

/* ---- progress (progress.c) ----------------------------------------------------------------
 * Rank 0's console output while training: a Keras-style bar redrawn in place (mode BAR, when
 * stdout is a terminal), or one plain line per epoch, plus one every `every` steps (mode
 * LINES, for log files). Nothing on other ranks or with --quiet. */
enum { ST_PROGRESS_OFF = 0, ST_PROGRESS_BAR, ST_PROGRESS_LINES };

typedef struct st_progress {
    int mode, every, epochs;
    int64_t steps, epoch, first_step;
    double t0, last_draw;
} st_progress;

/* mode: BAR when stdout is a terminal, LINES otherwise; OFF on ranks other than 0 or when the
 * log level is below INFO. */
int st_progress_mode_auto(void);
void st_progress_init(st_progress *p, int mode, int every, int epochs, int64_t steps);
/* first_step: steps of the epoch already done (a resumed run). */
void st_progress_epoch_begin(st_progress *p, int64_t epoch, int64_t first_step);
/* After step `done` (1-based within the epoch): the epoch's running loss and accuracy. */
void st_progress_step(st_progress *p, int64_t done, double loss, double acc, double samples_s);
/* The epoch's summary " - loss: ... - val_accuracy: ..." (metrics and validation). */
void st_progress_epoch_end(st_progress *p, const char *summary, double samples_s, double secs);

#endif
