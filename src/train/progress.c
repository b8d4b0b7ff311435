/*
 * progress.c - rank 0's console output during training.
 *
 * Two forms, as Keras's verbose = 1 / 2:
 *   BAR    (the user watches a terminal) "Epoch 2/5" on its own line, then
 *          "  37/120 [=========>....................] - ETA: 4s - loss: 0.4120 - accuracy:
 *          0.8125 - 1830 samples/s" redrawn in place ('\r', erase to end of line) at most 10
 *          times a second; the last redraw adds the epoch's summary and ends the line.
 *   LINES  (a file, a pipe, a Slurm log) one line per epoch:
 *          "Epoch 2/5 - loss: 0.41 - accuracy: 0.81 - val_loss: ... - 1830 samples/s - 0.5s",
 *          and with `every` > 0 one "Epoch 2/5 - step 40/120 - loss: ..." line every `every`
 *          steps, so a log file shows steady progress without control characters.
 * Everything goes through ST_LOG (rank 0 only, nothing with --quiet). No collectives here:
 * the caller passes values every rank already has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seqtrain/log.h"
#include "train/progress.h"

#define BAR_WIDTH 30

/* Whether the user looks at a terminal. SEQTRAIN_PROGRESS=bar|lines decides when set. Open MPI
 * gives every rank a pseudo-terminal as stdout even when mpirun itself writes to a file or a
 * pipe, so under Open MPI what counts is mpirun's own stdout: our parent's, for a local
 * launch. A parent whose stdout cannot be read (another launcher) keeps isatty's answer; one
 * whose stdout is not a terminal (orted on a remote node, a redirected mpirun) means lines. */
static int user_sees_terminal(void) {
    const char *e = getenv("SEQTRAIN_PROGRESS");
    if (e && !strcmp(e, "bar")) return 1;
    if (e && !strcmp(e, "lines")) return 0;
    if (!isatty(STDOUT_FILENO)) return 0;
    if (getenv("OMPI_COMM_WORLD_SIZE")) {
        char link[64], target[256];
        snprintf(link, sizeof link, "/proc/%d/fd/1", (int)getppid());
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = 0;
            return !strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8);
        }
    }
    return 1;
}

int st_progress_mode_auto(void) {
    if (st_log_rank != 0 || st_log_level < ST_LOG_INFO) return ST_PROGRESS_OFF;
    return user_sees_terminal() ? ST_PROGRESS_BAR : ST_PROGRESS_LINES;
}

void st_progress_init(st_progress *p, int mode, int every, int epochs, int64_t steps) {
    memset(p, 0, sizeof *p);
    p->mode = mode;
    p->every = every;
    p->epochs = epochs;
    p->steps = steps;
}

void st_progress_epoch_begin(st_progress *p, int64_t epoch, int64_t first_step) {
    p->epoch = epoch;
    p->first_step = first_step;
    p->t0 = st_time();
    p->last_draw = 0;
    if (p->mode == ST_PROGRESS_BAR)
        ST_LOG(ST_LOG_INFO, "Epoch %lld/%d\n", (long long)epoch + 1, p->epochs);
}

/* "  37/120 [=========>.........]": the counter padded to the width of the total, as Keras. */
static int bar(char *buf, size_t n, int64_t done, int64_t steps) {
    int w = snprintf(NULL, 0, "%lld", (long long)steps);
    int len = snprintf(buf, n, "%*lld/%lld [", w, (long long)done, (long long)steps);
    int fill = steps > 0 ? (int)(BAR_WIDTH * done / steps) : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH && (size_t)len + 2 < n; i++)
        buf[len++] = i < fill - 1 ? '=' : i == fill - 1 ? (done < steps ? '>' : '=') : '.';
    len += snprintf(buf + len, n - (size_t)len, "]");
    return len;
}

void st_progress_step(st_progress *p, int64_t done, double loss, double acc, double samples_s) {
    if (p->mode == ST_PROGRESS_OFF) return;
    if (p->mode == ST_PROGRESS_LINES) {
        if (p->every > 0 && done % p->every == 0 && done < p->steps)
            ST_LOG(ST_LOG_INFO, "Epoch %lld/%d - step %lld/%lld - loss: %.4f - accuracy: %.4f - "
                   "%.0f samples/s\n", (long long)p->epoch + 1, p->epochs, (long long)done,
                   (long long)p->steps, loss, acc, samples_s);
        return;
    }
    double now = st_time();
    if (done < p->steps && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    if (done == p->steps) return; /* the epoch's end draws the final state */
    char b[256];
    bar(b, sizeof b, done, p->steps);
    double per = (now - p->t0) / (double)(done - p->first_step > 0 ? done - p->first_step : 1);
    double eta = per * (double)(p->steps - done);
    ST_LOG(ST_LOG_INFO, "\r%s - ETA: %.0fs - loss: %.4f - accuracy: %.4f - %.0f samples/s\033[K",
           b, eta, loss, acc, samples_s);
}

void st_progress_epoch_end(st_progress *p, const char *summary, double samples_s, double secs) {
    if (p->mode == ST_PROGRESS_OFF) return;
    if (p->mode == ST_PROGRESS_LINES) {
        ST_LOG(ST_LOG_INFO, "Epoch %lld/%d%s - %.0f samples/s - %.1fs\n", (long long)p->epoch + 1,
               p->epochs, summary, samples_s, secs);
        return;
    }
    char b[256];
    bar(b, sizeof b, p->steps, p->steps);
    int64_t n = p->steps - p->first_step;
    double ms = n > 0 ? 1000.0 * secs / (double)n : 0;
    ST_LOG(ST_LOG_INFO, "\r%s - %.0fs %.0fms/step%s - %.0f samples/s\033[K\n", b, secs, ms, summary,
           samples_s);
}
