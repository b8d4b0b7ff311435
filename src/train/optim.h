/*
 * optim.h - optimizers with Keras semantics and defaults.
 *
 * One flat loop over the model's parameter buffer. Optimizer state (momentum, moments) lives in
 * its own buffers of the same length, never in the gradient buffer.
 *   sgd:     m = momentum*m - lr*g;  w += m   (nesterov: w += momentum*m - lr*g); momentum 0: w -= lr*g
 *   rmsprop: v = rho*v + (1-rho)*g^2;  w -= lr*g / sqrt(v + epsilon)   (Keras defaults rho 0.9,
 *            epsilon 1e-7; momentum > 0 adds a momentum buffer as Keras does)
 *   adam:    m += (1-b1)(g-m); v += (1-b2)(g^2-v); w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)
 * Clipping before the update: clipnorm rescales EACH tensor whose L2 norm exceeds it;
 * global_clipnorm rescales all gradients together; clipvalue clamps element-wise.
 */
#ifndef ST_TRAIN_OPTIM_H
#define ST_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/tensor.h"

typedef enum st_opt_kind { ST_OPT_SGD = 0, ST_OPT_RMSPROP, ST_OPT_ADAM } st_opt_kind;

typedef struct st_optim_cfg {
    st_opt_kind kind;      /* default adam... set by st_optim_cfg_defaults */
    float learning_rate;   /* sgd 0.01, rmsprop 0.001, adam 0.001 */
    float momentum;        /* sgd, rmsprop: 0 */
    int nesterov;          /* sgd: 0 */
    float rho;             /* rmsprop: 0.9 */
    float beta_1, beta_2;  /* adam: 0.9, 0.999 */
    float epsilon;         /* 1e-7 */
    float clipnorm;        /* 0 = off */
    float global_clipnorm; /* 0 = off */
    float clipvalue;       /* 0 = off */
    int lr_set;            /* learning_rate given explicitly (else the optimizer's default) */
} st_optim_cfg;

const char *st_optim_name(st_opt_kind k);
/* Keras defaults for kind (keeps nothing from before). */
void st_optim_cfg_defaults(st_optim_cfg *c, st_opt_kind kind);


/* Sharded (ZeRO-1): each rank updates only the parameters [lo, hi) of its part of the buffer
 * and holds only their state; unsharded lo = 0, hi = n. Parts start on ST_OPTIM_UNIT
 * boundaries, and clipping's norms are sums, in a fixed order, of the squares of each tensor's
 * pieces between those boundaries: so a norm, and every update, is bitwise the same whichever
 * rank holds which part, and for any number of ranks. */
#define ST_OPTIM_UNIT 1024 /* floats: 4 KiB, a page and whole cache lines */

typedef struct st_optim {
    st_optim_cfg cfg;
    size_t n;          /* parameters */
    size_t lo, hi;     /* the part this rank updates */
    int sharded;       /* made by st_optim_init_part: every rank holds a part (some may be
                          empty or whole: a model smaller than a unit per rank) */
    int nstate;        /* state buffers in use: sgd 0/1, rmsprop 1/2, adam 2 */
    float *state[2];   /* (hi - lo) each: state[k][i - lo] belongs to parameter i */
    const char *state_name[2]; /* checkpoint names: "momentum", "velocity", "m", "v" */
    int64_t iterations; /* updates applied so far (Adam's t) */
    double *units;      /* clipping's partial sums of squares (nunits), made on first use */
    size_t nunits;
    double *sq;         /* clipping's squared norm per tensor, made on first use */
    /* All n parameters' state while a sharded run saves a checkpoint (st_optim_gather, rank 0);
     * NULL otherwise. */
    float *full[2];
} st_optim;

/* 1 when this optimizer is one rank's part of a sharded one. Local. */
static inline int st_optim_sharded(const st_optim *o) { return o->sharded; }
/* Sharded: every rank's part of the state, in rank order, into o->full on rank 0 (checkpoint
 * files keep one layout, whatever the sharding). Collective; a no-op unsharded. Free with
 * st_optim_gather_free (local). */
void st_optim_gather(st_optim *o);
void st_optim_gather_free(st_optim *o);

void st_optim_init(st_optim *o, const st_optim_cfg *cfg, size_t n);
/* The same for the part [lo, hi) of n parameters (lo a multiple of ST_OPTIM_UNIT) of a sharded
 * optimizer: every rank makes one, for its part. */
void st_optim_init_part(st_optim *o, const st_optim_cfg *cfg, size_t n, size_t lo, size_t hi);
/* Where rank r of `ranks` starts its part of n parameters (r = ranks gives n): whole units,
 * as even as they go. */
size_t st_optim_part_start(size_t n, int r, int ranks);
/* The state buffers st_optim_init will allocate for cfg (n floats each): for the memory
 * check that runs before anything is allocated (st_model_build_run). */
int st_optim_cfg_states(const st_optim_cfg *cfg);
void st_optim_free(st_optim *o);
/* One update of w[lo, hi) (w holds all n) from g, the summed gradient of the part: g[i - lo]
 * for parameter i. ranges/nranges: the tensors for clipnorm. g may be modified (clipping).
 * trainable_mask: NULL, or per-range flag 0 = frozen (left untouched). With clipnorm or
 * global_clipnorm and a part smaller than n, collective (the ranks' partial norms are summed;
 * every rank calls it with its own part). */
void st_optim_step(st_optim *o, float *w, float *g, const st_tensor_range *ranges, int nranges,
                   const uint8_t *trainable);

#endif
