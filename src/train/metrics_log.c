/*
 * metrics_log.c - metrics.jsonl, the machine-readable training log next to the checkpoints:
 * one JSON object per line, {"type": "run", ...} at each start (what produced the numbers:
 * version, ranks, threads, CPU, BLAS kernels), {"type": "step", ...} every [train]
 * log_every_steps steps and {"type": "epoch", ...} after every epoch, each with "time_s": the seconds per phase (data,
 * forward_backward, allreduce, optimizer, checkpoint) as mean and max over the ranks.
 *
 * The log is appended to line by line and flushed after each line (a resumed run continues
 * it), so unlike the files that are replaced whole it is not written through st_atomic: a
 * killed job loses at most its last line. It is opened by st_append_open: a symlink is not
 * followed and anything but a regular file (a FIFO, a device) is refused, never truncated.
 * Rank 0 writes; the reductions are collective.
 *
 * Not here: history.csv (metrics.c), the console (progress.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "seqtrain/atomic.h"
#include "seqtrain/dist.h"
#include "seqtrain/log.h"
#include "seqtrain/error.h"
#include "seqtrain/tensor.h"
#include "train/fit.h"

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(FILE *f, const char *key, const char *s) {
    fprintf(f, ", \"%s\": \"", key);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

int st_metrics_log_open(st_fit_ctx *F, const char *dir, int resume, int ranks) {
    char path[ST_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    /* A fresh run starts the log afresh; a resumed one continues it. */
    F->jsonl = st_append_open(path, !resume);
    if (!F->jsonl) return ST_ERR;
    /* Each start (and resume) heads its lines with what produced them: the numbers of a run
     * on other kernels or another CPU are not comparable (issue 15). */
    const st_cpu *cpu = st_cpu_get();
    fprintf(F->jsonl, "{\"type\": \"run\"");
    json_str(F->jsonl, "version", SEQTRAIN_VERSION);
    fprintf(F->jsonl, ", \"resumed\": %s, \"ranks\": %d, \"threads\": %d",
            resume ? "true" : "false", ranks, st_run_threads());
    json_str(F->jsonl, "cpu", cpu->name);
    json_str(F->jsonl, "cpu_isa", st_isa_name(cpu->level));
    json_str(F->jsonl, "blas", st_blas_library());
    json_str(F->jsonl, "blas_core", st_blas_core());
    json_str(F->jsonl, "blas_core_how", st_blas_core_how());
    fprintf(F->jsonl, "}\n");
    fflush(F->jsonl);
    return ST_OK;
}

void st_metrics_log_close(st_fit_ctx *F) {
    if (F->jsonl) fclose(F->jsonl);
    F->jsonl = NULL;
}

/* A JSON number, or null for NaN / inf (JSON has neither). */
static void json_num(FILE *f, const char *key, double v) {
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.9g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* The per-phase seconds of all ranks since `t` was last cleared, as mean and max over the
 * ranks (two small reductions), written as "time_s": {...} by rank 0. Collective. */
static void json_times(st_run *R, FILE *f, double t[5]) {
    static const char *const names[5] = {"data", "forward_backward", "allreduce", "optimizer",
                                         "checkpoint"};
    double sum[5], mx[5];
    memcpy(sum, t, sizeof sum);
    memcpy(mx, t, sizeof mx);
    st_dist_allreduce_sum_f64(sum, 5);
    st_dist_allreduce_max_f64(mx, 5);
    if (R->rank != 0 || !f) return;
    fprintf(f, ", \"time_s\": {");
    for (int i = 0; i < 5; i++)
        fprintf(f, "%s\"%s\": {\"mean\": %.6g, \"max\": %.6g}", i ? ", " : "", names[i],
                sum[i] / R->size, mx[i]);
    fprintf(f, "}");
}

/* One metrics.jsonl line every log_every_steps steps: the epoch's running loss, accuracy and
 * metrics so far, the learning rate, samples/s and the step-time split since the last line.
 * The metric counts need one reduction (plus the two of the times). Collective. */
void st_metrics_log_step(st_run *R, st_fit_ctx *F, const st_train_state *ts) {
    double *mac = NULL;
    if (R->macc) {
        mac = st_malloc(ST_MA_N * sizeof(double));
        memcpy(mac, R->macc, ST_MA_N * sizeof(double));
        st_dist_allreduce_sum_f64(mac, ST_MA_N);
    }
    FILE *f = F->jsonl;
    double now = st_time(), dt = now - F->t_log_start;
    if (R->rank == 0 && f) {
        double n = ts->partial[2];
        fprintf(f, "{\"type\": \"step\", \"epoch\": %lld, \"step\": %lld, \"global_step\": %lld",
                (long long)ts->epoch + 1, (long long)ts->step_in_epoch + 1,
                (long long)ts->global_step);
        json_num(f, "loss", n > 0 ? ts->partial[0] / n : NAN);
        json_num(f, "accuracy", n > 0 ? ts->partial[1] / n : NAN);
        for (int i = 0; mac && i < F->ms.n; i++)
            json_num(f, F->ms.name[i], st_metrics_value(&F->ms, i, mac));
        json_num(f, "lr", R->opt.cfg.learning_rate);
        json_num(f, "samples_per_s", dt > 0 ? F->samples_log / dt : 0);
    }
    json_times(R, f, F->t_log);
    if (R->rank == 0 && f) {
        fprintf(f, "}\n");
        fflush(f);
    }
    memset(F->t_log, 0, sizeof F->t_log);
    F->samples_log = 0;
    F->t_log_start = now;
    st_free(mac);
}

void st_metrics_log_epoch(st_run *R, st_fit_ctx *F, const st_train_state *ts,
                          const double *row, int times) {
    FILE *f = F->jsonl;
    if (R->rank == 0 && f) {
        fprintf(f, "{\"type\": \"epoch\", \"epoch\": %lld, \"global_step\": %lld",
                (long long)ts->epoch + 1, (long long)ts->global_step);
        for (int j = 1; j < F->hist.ncols; j++) json_num(f, F->hist.col[j], row[j]);
    }
    if (times) json_times(R, f, F->t_epoch);
    if (R->rank == 0 && f) {
        fprintf(f, "}\n");
        fflush(f);
    }
}
