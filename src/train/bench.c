/*
 * bench.c - `seqtrain train CONFIG --benchmark STEPS`: the training step, timed, on generated
 * data of the config's shapes.
 *
 * What is measured is exactly the step that training runs (st_run_step: forward, backward, one
 * allreduce, optimizer), on a batch generated once in memory, so the numbers are the model's
 * and the machine's, not the disk's. Phases are summed per rank and reported as the mean and the
 * max over ranks: a max far above the mean is load imbalance (or a noisy neighbour).
 *
 * Shapes: from the dataset's metadata when [data] path names a readable file (no rows are
 * read); else from [data] seq_len and features (features 0: token ids drawn from the embedding's
 * input_dim; the classes follow the head: one unit = 2 classes, else one per unit).
 *
 * Not here: checkpoints, validation, files of any kind.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/rng.h"
#include "seqtrain/tensor.h"
#include "seqtrain/train.h"
#include "train/fit.h"
#include "train/step.h"

/* Input shape and class count without reading any row. */
static int bench_shape(st_run *R, const st_config *cfg, const st_settings *set, st_shape *shape,
                       int *num_classes) {
    if (set->data.path[0] && access(set->data.path, R_OK) == 0) {
        int rc = st_dataset_open(&R->ds, set->data.path);
        if (rc == ST_OK) rc = st_split_open(&R->ds, set->data.train_split, &R->train);
        if (rc != ST_OK) return rc;
        *shape = st_split_shape(&R->train);
        *num_classes = R->ds.num_classes;
        return ST_OK;
    }
    if (set->data.seq_len <= 0) {
        st_error_set("%s: --benchmark needs [data] path to an existing dataset, or [data] "
                     "seq_len (and features for float input) to generate data", cfg->origin);
        return ST_ERR;
    }
    int F = set->data.features;
    *shape = (st_shape){.seq = set->data.seq_len, .feat = F > 0 ? F : 1, .tokens = F == 0};
    *num_classes = -1; /* follows the head, decided after the model is built */
    return ST_OK;
}

/* This rank's rows of one global batch, generated once: token ids in [1, vocab) (no padding,
 * so every model does its full work), or N(0, 1) features; labels uniform over the classes. */
static void bench_fill(st_run *R, int n, int vocab, int classes, uint64_t seed) {
    st_batch *b = &R->batch;
    st_rng r = st_rng_make(seed, 0xBE4C4ULL + (uint64_t)R->rank);
    b->B = n;
    size_t cells = (size_t)n * (size_t)b->T;
    if (b->tokens)
        /* ids in [1, vocab): no padding; a vocabulary of one id has only padding. */
        for (size_t i = 0; i < cells; i++)
            b->tok[i] = vocab > 1 ? 1 + (int32_t)st_rng_below(&r, (uint64_t)vocab - 1) : 0;
    else
        for (size_t i = 0; i < cells * (size_t)b->F; i++) b->x[i] = st_rng_normal(&r);
    size_t ny = (size_t)n * (size_t)(b->yT ? b->yT : 1); /* per step for a sequence head */
    for (size_t i = 0; i < ny; i++) b->y[i] = (int32_t)st_rng_below(&r, (uint64_t)classes);
    /* Global sample ids of this rank's rows (dropout masks), as a real batch would have. */
    int lo, hi;
    st_run_shard(R, R->set->train.batch_size, &lo, &hi);
    for (int i = 0; i < n; i++) b->ids[i] = lo + i;
    b->seed = seed;
}

static size_t peak_rss_kb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (size_t)u.ru_maxrss;
}

int st_fit_benchmark(st_config *cfg, int steps, int warmup) {
    st_run R;
    memset(&R, 0, sizeof R);
    R.cfg = cfg;
    st_settings S;
    const st_settings *set = &S;
    if (st_dist_any_error(st_settings_resolve(&S, cfg)) != ST_OK) return ST_ERR;
    st_dist_set_timeouts(S.train.collective_timeout, S.train.startup_timeout);
    R.set = set;
    R.rank = st_dist_rank();
    R.size = st_dist_size();
    R.ds.file = -1;
    R.train.x = R.train.y = R.valid.x = R.valid.y = -1;
    st_shape shape;
    int classes = 0;
    int rc = st_dist_any_error(bench_shape(&R, cfg, &S, &shape, &classes));
    if (rc == ST_OK) rc = st_run_setup(&R, cfg, &S, shape, classes, -1);
    if (rc != ST_OK) {
        st_run_close(&R);
        return ST_ERR;
    }
    st_model *m = &R.model;
    /* Generated labels follow the head: two classes for one sigmoid unit under binary
     * cross-entropy, else one per output (a 1-unit softmax gets the one class it can hold:
     * labels past the logits would be read out of bounds). */
    if (classes < 0)
        classes = m->num_outputs == 1 && R.loss == ST_LOSS_BCE ? 2 : m->num_outputs;
    int vocab = shape.tokens ? (shape.vocab > 0 ? shape.vocab : (int)m->tensors[0]->dims.d[0]) : 0;

    st_split fake = {.T = shape.seq > 0 ? shape.seq : 1, .F = shape.tokens ? 1 : shape.feat,
                     .tokens = shape.tokens, .yT = m->seq_out ? shape.seq : 0};
    st_batch_init(&R.batch, &fake, m->maxB);
    R.batch.T = fake.T;
    const int Bg = set->train.batch_size;
    int lo, hi;
    st_run_shard(&R, Bg, &lo, &hi);
    bench_fill(&R, hi - lo, vocab, classes, set->train.seed);
    st_model_init(m, set->train.seed);
    st_dist_bcast(m->params, m->nparams * sizeof(float), 0);

    double t_first = st_time();
    float tail[ST_TAIL_N];
    for (int s = 0; s < warmup && rc == ST_OK; s++)
        rc = st_run_step(&R, hi - lo, Bg, ST_OK, tail, NULL);
    st_phase_times pt = {0, 0, 0, 0, 1, 0};
    st_dist_barrier();
    st_dist_traffic tr0 = st_dist_traffic_get();
    double t0 = st_time();
    for (int s = 0; s < steps && rc == ST_OK; s++)
        rc = st_run_step(&R, hi - lo, Bg, ST_OK, tail, &pt);
    st_dist_traffic tr1 = st_dist_traffic_get();
    st_dist_barrier();
    double elapsed = st_time() - t0;
    if (rc != ST_OK) {
        st_run_close(&R);
        return rc;
    }

    /* Per-step milliseconds of each phase, then mean and max over ranks. */
    double ms = 1000.0 / (steps > 0 ? steps : 1);
    /* The allreduce phase split: time inside MPI's reductions, and the rest of it (the exact
     * reduction's exponents and fixed-point conversion; not the wait, timed apart). */
    double mpi_ms = (tr1.seconds - tr0.seconds) * ms;
    double local_ms = pt.allreduce * ms - pt.wait * ms - mpi_ms;
    /* what sharding saves: this rank's optimizer state */
    const double state_mb = (double)R.opt.nstate * (double)(R.opt.hi - R.opt.lo) * sizeof(float) /
                            (1024.0 * 1024.0);
    double v[9] = {pt.fwd_bwd * ms, pt.allreduce * ms, pt.optim * ms, pt.data * ms,
                   (double)peak_rss_kb() / 1024.0, pt.wait * ms, mpi_ms,
                   local_ms > 0 ? local_ms : 0, state_mb};
    double sum[9], mx[9];
    memcpy(sum, v, sizeof v);
    memcpy(mx, v, sizeof v);
    st_dist_allreduce_sum_f64(sum, 9);
    st_dist_allreduce_max_f64(mx, 9);
    double steps_d = steps > 0 ? steps : 1;
    double P = R.size, sps = elapsed > 0 ? (double)steps * Bg / elapsed : 0;
    double startup = st_start_time > 0 ? t_first - st_start_time : 0;
    /* What produced the numbers (issue 15); the CPU's name made safe for a JSON string. */
    char cpu[sizeof st_cpu_get()->name];
    st_json_safe(cpu, sizeof cpu, st_cpu_get()->name);
    const int same_core = st_blas_agree(R.block_rows > 0);
    ST_LOG(ST_LOG_INFO, "benchmark: %s, core %s (%s); CPU %s (%s)\n", st_blas_library(),
           st_blas_core(), st_blas_core_how(), cpu, st_isa_name(st_cpu_get()->level));
    ST_LOG(ST_LOG_INFO,
           "benchmark: %d steps of global batch %d on %d rank%s x %d thread%s: %.1f samples/s, "
           "%.2f ms/step\n"
           "  per step (mean / max over ranks): forward+backward %.2f / %.2f ms, allreduce "
           "%.2f / %.2f ms (waiting for the slowest rank %.2f / %.2f), optimizer %.2f / %.2f ms\n"
           "  peak RSS per rank %.1f / %.1f MiB, %zu parameters, start-up %.2f s\n",
           steps, Bg, R.size, R.size > 1 ? "s" : "", st_run_threads(),
           st_run_threads() > 1 ? "s" : "", sps, elapsed * ms, sum[0] / P, mx[0], sum[1] / P,
           mx[1], sum[5] / P, mx[5], sum[2] / P, mx[2], sum[4] / P, mx[4], m->nparams, startup);
    ST_LOG(ST_LOG_INFO,
           "BENCH {\"ranks\": %d, \"threads\": %d, \"steps\": %d, \"global_batch\": %d, "
           "\"samples_per_s\": %.3f, \"step_ms\": %.4f, "
           "\"fwd_bwd_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"allreduce_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"allreduce_wait_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"optimizer_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"data_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"peak_rss_mb\": {\"mean\": %.2f, \"max\": %.2f}, \"startup_s\": %.4f, "
           "\"nparams\": %zu, \"ntensors\": %d, \"deterministic\": %d, \"block_rows\": %d, "
           "\"reduce_calls_per_step\": %.2f, \"reduced_bytes_per_step\": %.0f, "
           "\"reduce_mpi_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"reduce_local_ms\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"optimizer_state_mb\": {\"mean\": %.4f, \"max\": %.4f}, "
           "\"shard_optimizer\": %d, \"overlap\": %d, \"buckets\": %d, \"bucket_mb\": %g, "
           "\"sparse_embedding_share\": %.3f, \"cpu\": \"%s\", \"cpu_isa\": \"%s\", "
           "\"blas\": \"%s\", \"blas_core\": \"%s\", \"blas_core_how\": \"%s\", \"blas_core_same_on_ranks\": %d}\n",
           R.size, st_run_threads(), steps, Bg, sps, elapsed * ms, sum[0] / P, mx[0],
           sum[1] / P, mx[1], sum[5] / P, mx[5], sum[2] / P, mx[2], sum[3] / P, mx[3],
           sum[4] / P, mx[4], startup, m->nparams, m->ntensors, R.block_rows > 0, R.block_rows,
           (double)(tr1.calls - tr0.calls) / steps_d, (double)(tr1.bytes - tr0.bytes) / steps_d,
           sum[6] / P, mx[6], sum[7] / P, mx[7], sum[8] / P, mx[8], R.shard, st_reduce_buckets(&R) > 0,
           st_reduce_buckets(&R), (double)set->train.bucket_mb, st_reduce_sparse_share(&R),
           cpu, st_isa_name(st_cpu_get()->level), st_blas_library(), st_blas_core(),
           st_blas_core_how(), same_core);
    st_run_close(&R);
    return ST_OK;
}
