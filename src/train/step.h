/*
 * step.h - internals shared by the training loop (fit.c), the benchmark (bench.c) and the
 * schedule (schedule.c): the state of one run and the data-parallel training step (step.c).
 * Not a public API: nothing outside src/train/ (and its unit tests) includes it.
 */
#ifndef ST_TRAIN_STEP_H
#define ST_TRAIN_STEP_H

#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "core/xsum.h"
#include "train/loss.h"
#include "model/model.h"
#include "train/optim.h"
#include "train/settings.h"

/* Indices into the gradient buffer's tail (model.h, ST_MODEL_GRAD_TAIL): one allreduce per
 * step carries the gradients and these. ST_TAIL_STOP: the number of ranks that received a stop
 * signal (preempt.h) before this step's allreduce, so every rank agrees at the same step. */
enum { ST_TAIL_LOSS = 0, ST_TAIL_CORRECT, ST_TAIL_COUNT, ST_TAIL_ERROR, ST_TAIL_STOP, ST_TAIL_N };

/* st_run_step's return when the update left a weight NaN or inf (see there). */
#define ST_STEP_NONFINITE 1

/* Everything one run needs, built once. */
typedef struct st_run {
    st_config *cfg;          /* the sections (the model's layers; the text checkpoints store) */
    const st_settings *set;  /* the typed settings resolved from cfg */
    st_dataset ds;
    st_split train, valid; /* valid.n == 0: no validation */
    size_t ntrain;         /* rows of `train` used for training (before validation_split) */
    size_t val_lo, nval;   /* validation rows [val_lo, val_lo + nval) of the `valid` split */
    int has_valid;
    st_model model;
    st_optim opt;
    st_loss_kind loss;
    st_batch batch; /* this rank's rows of the current step */
    float *dz;      /* (maxB, K) loss gradient w.r.t. the head's output */
    size_t *perm;   /* (ntrain) the epoch's order */
    size_t *rows;   /* (maxB) this rank's rows of the current batch */
    size_t *bstart; /* (steps + 1) where each step's rows start in perm */
    int32_t *span;  /* (2 * ntrain) first real step and last real step + 1 of each row, when
                       bucketing by length; NULL otherwise */
    size_t *scratch; /* (ntrain) schedule work space */
    double *macc;    /* (ST_MA_N) this rank's metric counts of the epoch (metrics.h), or NULL
                        when the run reports no metric beyond the loss's accuracy */
    int top_k;
    int rank, size;
    /* Deterministic reduction (exact.c): block size in rows (0 = off), the fixed-point sums
     * (nparams + ST_FX_TAIL) and the per-tensor exponents (ntensors). */
    int block_rows;
    int64_t *fx;
    int32_t *fx_exp;
    /* Sharded optimizer step ([train] shard_optimizer): rank r updates the parameters
     * [part[r], part[r + 1]) (size + 1 offsets, st_optim_part_start); gpart receives this
     * rank's part of the summed gradient (float reduction; the exact one converts straight
     * into the gradient buffer at the part's place). shard 0: every rank updates everything. */
    int shard;
    size_t *part;
    float *gpart;
    int64_t *fxpart; /* sharded exact reduction: this rank's part of the fixed-point sums */
    /* The exact reduction's rare path (a tensor with NaN or inf): exponents over finite values
     * (ntensors) and counts of NaN, +inf, -inf per parameter (3 nparams, made when needed). */
    int32_t *fx_efin;
    int64_t *fx_nf;
    /* The reduction overlapped with backward (reduce.c); NULL buckets: one reduction after
     * backward. */
    struct st_reduce *ov;
} st_run;

/* The reduced tail in fixed point, after the gradients: the loss as an exact sum
 * (ST_XSUM_WORDS words), then correct, count, error, stop as integers. */
#define ST_FX_TAIL (ST_XSUM_WORDS + 4)

/* Seconds spent per phase, accumulated over steps (benchmark, timeline, metrics.jsonl). */
typedef struct st_phase_times {
    double data, fwd_bwd, allreduce, optim;
    /* split_wait (benchmark): a barrier before the allreduce measures the wait for the slowest
     * rank (wait); allreduce stays the total (wait + transfer). Training does not pay for the
     * extra barrier. */
    int split_wait;
    double wait;
} st_phase_times;

/* The epoch schedule (schedule.c). st_schedule_init: when [data] bucket_by_length, every rank
 * measures the real length of its share of the training rows and all ranks exchange them
 * (collective). st_schedule_epoch: R->perm and R->bstart for an epoch, a pure function of
 * (seed, epoch, lengths). st_schedule_trim: after reading the rows of step `step`, cuts the
 * batch to the steps where any row of the GLOBAL batch has a real token (same T on every
 * rank); a no-op without bucketing. */
int st_schedule_init(st_run *R);
void st_schedule_epoch(st_run *R, uint64_t seed, int64_t epoch, int shuffle);
void st_schedule_trim(const st_run *R, int64_t step, st_batch *b);

/* Opens the dataset and its training / validation splits as [data] says, then st_run_setup,
 * the batch and the schedule. Collective: errors are agreed. Close with st_run_close, also
 * after a failure. */
int st_run_open(st_run *R, st_config *cfg, const st_settings *set);
/* Builds model, loss, optimizer and step buffers for inputs of `shape` (R->rank/size set).
 * Collective: errors are agreed. */
/* y_steps: 0 = labels y (N), T = per-step labels y (N, T) (the head must then output a
 * sequence), -1 = generated labels that follow the head (benchmark). */
int st_run_setup(st_run *R, st_config *cfg, const st_settings *set, st_shape shape,
                 int num_classes, int y_steps);
void st_run_close(st_run *R);
int st_run_check_head(const st_model *m, st_loss_kind loss, int num_classes, int y_steps,
                      const char *origin);
/* One data-parallel step on the n rows in R->batch (part of a global batch of bg rows):
 * forward, backward, ONE allreduce of gradients + tail, optimizer update. Many-to-one: the
 * loss gradient is scaled by 1/bg in advance (exact). Many-to-many (m->seq_out): the global
 * number of real steps is known only after the allreduce (ST_TAIL_COUNT), so the gradients are
 * scaled by its inverse after it, before the update. tail[ST_TAIL_COUNT] counts rows, or real
 * steps for a sequence head. read_rc is this
 * rank's outcome of loading its rows; any rank's failure makes every rank return ST_ERR (the
 * first failing rank prints). tail_out gets the reduced tail. pt != NULL: phases are timed.
 * A non-finite reduced loss skips the update (every rank sees it), so the weights stay the
 * last good ones; the caller decides what to do. After the update every weight is checked
 * (one read-only pass, step.c): a NaN or inf returns ST_STEP_NONFINITE with a message naming
 * the tensor (the weights are then bad: the caller must not save them). The weights are
 * identical on every rank, so every rank returns the same. tail_out[ST_TAIL_STOP] > 0: some
 * rank has a stop signal pending (the step itself completed). R->macc != NULL: this rank's
 * rows are added to the metric counts. Collective. */
int st_run_step(st_run *R, int n, int bg, int read_rc, float tail_out[ST_TAIL_N],
                st_phase_times *pt);
/* This rank's rows [*lo, *hi) of a global batch of bg rows: whole blocks when the reduction
 * is deterministic (ranks may then get no rows), else balanced shards (st_shard). Local. */
void st_run_shard(const st_run *R, int bg, int *lo, int *hi);
/* The largest shard st_run_shard gives any rank for batches of up to batch_size rows drawn
 * from `rows` rows (0 = unknown). */
int st_run_max_rows(int batch_size, int block_rows, size_t rows, int ranks);
/* Deterministic reduction of one step (exact.c): the gradient slots of this rank's nblk
 * blocks, the loss's exact sum and the integer counts (correct, count, error, stop) are summed
 * exactly over all blocks of all ranks; the summed gradient lands in slot 0 (m->grads; only
 * this rank's part of it when R->shard), the tail in tail_out. Collective. */
void st_run_reduce_exact(st_run *R, int nblk, const st_xsum *loss, const double counts[4],
                         float tail_out[ST_TAIL_N]);
/* The reduction overlapped with backward (reduce.c). st_reduce_plan (collective, at set-up):
 * the buckets, when [train] overlap is on and there is more than one rank; returns their
 * number (0: R->ov stays NULL and the step reduces after backward; buckets are also made,
 * started only after backward, when the embedding may go sparse). st_reduce_begin: before
 * backward (n rows here), agrees on the embedding rows to exchange, starts the tail (the exact tail from loss and counts, else the float tail already
 * in the gradient buffer) and hooks backward; st_reduce_finish: after it, starts what remains,
 * waits, and leaves the summed gradient where the blocking reduction leaves it and the tail in
 * tail_out. Collective. */
int st_reduce_plan(st_run *R);
void st_reduce_free(st_run *R);
int st_reduce_buckets(const st_run *R); /* 0: not overlapped */
void st_reduce_begin(st_run *R, int n, int nblk, const st_xsum *loss, const double counts[4]);
double st_reduce_sparse_share(const st_run *R); /* share of the steps whose embedding went sparse */
void st_reduce_finish(st_run *R, float tail_out[ST_TAIL_N]);
/* Its pieces, for the overlapped reduction (reduce.c), each over tensors [t0, t1):
 * st_exact_exponents: this rank's exponents into R->fx_exp (local); st_exact_finite_exponents:
 * this rank's exponents over finite values into R->fx_efin (returns 1 when some tensor has NaN
 * or inf; then R->fx_nf exists); st_exact_to_fixed: this rank's blocks added into R->fx, under
 * the agreed exponents, slots cleared; st_exact_from_fixed: the summed fixed point of this
 * rank's part (sums[i - lo] for parameter i) to float in slot 0, all tensors;
 * st_exact_tail_fill / st_exact_tail: the tail to and from fixed point. */
void st_exact_exponents(st_run *R, int nblk, int t0, int t1);
int st_exact_finite_exponents(st_run *R, int nblk, int t0, int t1);
void st_exact_to_fixed(st_run *R, int nblk, int t0, int t1);
void st_exact_from_fixed(st_run *R, const int64_t *sums);
void st_exact_tail_fill(int64_t *tail, const st_xsum *loss, const double counts[4]);
void st_exact_tail(const int64_t *tail, float tail_out[ST_TAIL_N]);

#endif
