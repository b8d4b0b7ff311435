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


typedef struct st_optim {
    st_optim_cfg cfg;
    size_t n;          /* parameters */
    int nstate;        /* state buffers in use: sgd 0/1, rmsprop 1/2, adam 2 */
    float *state[2];   /* (n) each */
    const char *state_name[2]; /* checkpoint names: "momentum", "velocity", "m", "v" */
    int64_t iterations; /* updates applied so far (Adam's t) */
} st_optim;

void st_optim_init(st_optim *o, const st_optim_cfg *cfg, size_t n);
/* The state buffers st_optim_init will allocate for cfg (n floats each): for the memory
 * check that runs before anything is allocated (st_model_build_run). */
int st_optim_cfg_states(const st_optim_cfg *cfg);
void st_optim_free(st_optim *o);
/* One update of w (n) from g (n). ranges/nranges: the tensors for clipnorm. g may be modified
 * (clipping). trainable_mask: NULL, or per-range flag 0 = frozen (left untouched). */
void st_optim_step(st_optim *o, float *w, float *g, const st_tensor_range *ranges, int nranges,
                   const uint8_t *trainable);

#endif
