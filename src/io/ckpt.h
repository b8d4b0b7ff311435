/*
 * io/ckpt.h - the checkpoint FILE LAYOUT (src/io/ckpt.c), over a neutral description: a table
 * of named tensors (name, shape, weights pointer, offset into the flat state buffers), the
 * optimizer's state buffers by name, the train-state scalars, the config text and extra 1-D
 * vectors. It knows nothing of models or optimizers: src/train/checkpoint.c assembles the
 * description from st_model / st_optim (train/checkpoint.h, the API the rest of the program
 * calls).
 *
 *   /model_weights/<group>/                   one group per layer, tensors or not
 *   /model_weights/<tensor name>              float32, the tensor's shape (Keras names and
 *                                             shapes; a wrapper's tensors are nested groups)
 *   /optimizer/iterations                     int64 scalar
 *   /optimizer/<state>/<tensor name>          float32, same shapes (state = m, v, velocity, ...)
 *   /train_state/{epoch,step_in_epoch,global_step}  int64 scalars; seed uint64 scalar
 *   /train_state/partial                      float64 (3)
 *   extra 1-D arrays named by the caller (st_ckpt_vec): /history/<column>, /train_state/metrics,
 *   /callbacks/... (fit.c decides what they hold)
 *   root attributes: format "seqtrain-ckpt-1", config (the config text, variable-length UTF-8
 *   string), optimizer (its name; absent when saved without optimizer state).
 */
#ifndef SEQTRAIN_IO_CKPT_H
#define SEQTRAIN_IO_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/tensor.h"

/* An extra 1-D array saved with the train state (history, callback state). */
typedef struct st_ckpt_vec {
    const char *name; /* absolute dataset path, e.g. "/history/loss" */
    const void *data; /* (n) float64, or float32 when f32 */
    size_t n;
    int f32;
} st_ckpt_vec;

/* Where training stands (train/checkpoint.h calls it st_train_state). */
typedef struct st_ckpt_progress {
    int64_t epoch;         /* completed epochs */
    int64_t step_in_epoch; /* steps done in the current epoch */
    int64_t global_step;   /* steps done since the start */
    uint64_t seed;
    double partial[3];     /* loss sum, correct, samples of the current epoch so far */
} st_ckpt_progress;

/* "<layer>/<param>": layer names < 64 bytes, parameter names < 32. */
#define ST_CKPT_NAME_MAX 112

/* One tensor of the table. */
typedef struct st_ckpt_tensor {
    char name[ST_CKPT_NAME_MAX]; /* path below /model_weights/, "lstm_1/kernel" */
    st_dims dims;                /* its shape (Keras's) */
    float *w;                    /* dims elements: saved from, or loaded into */
    size_t offset;               /* its place in every flat buffer (gradients, optimizer state) */
} st_ckpt_tensor;

/* Everything a checkpoint holds. Fields that are NULL / 0 are not saved, or not loaded. */
typedef struct st_ckpt_desc {
    const char *const *groups; /* (ngroups) one /model_weights group per layer, in order */
    int ngroups;
    st_ckpt_tensor *tensors;   /* (ntensors) */
    int ntensors;
    /* Optimizer state: NULL optimizer = none. At load, the name the file must carry. */
    const char *optimizer;
    int64_t *iterations;
    int nstate;
    const char *const *state_name; /* (nstate) "m", "v", "momentum", ... */
    float *const *state;           /* (nstate) flat buffers, indexed by the tensors' offsets */
    st_ckpt_progress *progress;    /* NULL: no train state (and no vecs) */
    const char *config;            /* saved as the config attribute ("" when NULL) */
    const st_ckpt_vec *vecs;       /* (nvecs), saved with progress only */
    int nvecs;
} st_ckpt_desc;

/* Writes d to path through the atomic route: either PATH is the complete new checkpoint or it
 * is exactly what it was before. Only rank 0 calls it. */
int st_ckpt_write(const char *path, const st_ckpt_desc *d);
/* Loads d's tensors (and, when set, optimizer state and progress) from path. Every tensor's
 * presence and shape is checked, and every tensor in the file must be one of d's, before
 * anything is written: a mismatched checkpoint changes nothing. */
int st_ckpt_read(const char *path, const st_ckpt_desc *d);
/* For parity tests: /gradients/<tensor name> from grads + offset, /probabilities float32
 * (n, K), /loss float64 scalar, atomically like a checkpoint. */
int st_ckpt_write_gradients(const char *path, const st_ckpt_tensor *t, int nt, const float *grads,
                            const float *probs, size_t n, int K, double loss);

/* Reads the 1-D dataset `name` (converted to float64, or to float32 when f32) into *out
 * (st_malloc'd, *n elements). A missing dataset is not an error: *out = NULL, *n = 0. */
int st_ckpt_read_vec(const char *path, const char *name, int f32, void **out, size_t *n);
/* Reads the config text stored in a checkpoint (st_malloc'd into *text; st_free it). */
int st_ckpt_read_config(const char *path, char **text);
/* path is a checkpoint file, or a directory: its newest checkpoint (highest epoch/step).
 * Writes the file name into out. */
int st_ckpt_resolve(const char *path, char *out, size_t outlen);
/* Deletes all but the newest `keep` checkpoints in dir (keep 0: none deleted). */
int st_ckpt_prune(const char *dir, int keep);

#endif
