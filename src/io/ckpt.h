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
 *   extra 1-D arrays named by the caller (st_ckpt_vec; float64, float32 or int64):
 *   /history/<column>, /train_state/metrics, /train_state/data_identity, /callbacks/... (fit.c
 *   decides what they hold)
 *   root attributes: format "seqtrain-ckpt-1", config (the config text), optimizer (its name;
 *   absent when saved without optimizer state), checksum "crc32"; each dataset has a uint32
 *   attribute crc32: the CRC-32 (Python's zlib.crc32) of its raw little-endian bytes.
 * Strings are fixed-length UTF-8 attributes and the file is in the HDF5 1.8 format, so every
 * byte HDF5 parses is checksummed by HDF5 and every other byte by crc32 (io/ckpt_verify.c).
 * Files without the checksum attribute (older seqtrain, tools/st_torch.py) still load, with one
 * warning that they could not be verified; their strings may be variable-length.
 */
#ifndef SEQTRAIN_IO_CKPT_H
#define SEQTRAIN_IO_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/tensor.h"

/* Element types of an extra vector (st_ckpt_vec.type, st_ckpt_read_vec's type). */
enum { ST_CKPT_F64 = 0, ST_CKPT_F32 = 1, ST_CKPT_I64 = 2 };

/* An extra 1-D array saved with the train state (history, callback state, data identity). */
typedef struct st_ckpt_vec {
    const char *name; /* absolute dataset path, e.g. "/history/loss" */
    const void *data; /* (n) elements of type */
    size_t n;
    int type;         /* ST_CKPT_F64, ST_CKPT_F32 or ST_CKPT_I64 */
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
/* Loads d's tensors (and, when set, optimizer state and progress) from path. The file is
 * verified first (st_ckpt_verify), then every tensor's presence and shape is checked, and
 * every tensor in the file must be one of d's, before anything is written: a damaged or
 * mismatched checkpoint changes nothing. The train state read is range-checked
 * (st_ckpt_check_scalars). A file without checksums loads with one warning. */
int st_ckpt_read(const char *path, const st_ckpt_desc *d);
/* For parity tests: /gradients/<tensor name> from grads + offset, /probabilities float32
 * (n, K), /loss float64 scalar, atomically like a checkpoint. */
int st_ckpt_write_gradients(const char *path, const st_ckpt_tensor *t, int nt, const float *grads,
                            const float *probs, size_t n, int K, double loss);

/* Reads the 1-D dataset `name` (converted to type: float64, float32, or int64, which only an
 * integer dataset converts to) into *out (st_malloc'd, *n elements). A missing dataset is not
 * an error: *out = NULL, *n = 0. A dataset of another rank, a non-numeric one (a float one for
 * ST_CKPT_I64), or one of more than max elements is refused with "FILE: NAME ..." before
 * anything is allocated. Unverified: a caller acting on a surprising value verifies the file
 * first (st_ckpt_verify). */
int st_ckpt_read_vec(const char *path, const char *name, int type, size_t max, void **out,
                     size_t *n);
/* Reads the config text stored in a checkpoint (st_malloc'd into *text; st_free it). */
int st_ckpt_read_config(const char *path, char **text);
/* Opens path and walks every object in it: hard links only, numeric datasets stored inside
 * the file, no size overflow, and, when the file carries checksums (*sums = 1), every
 * dataset's CRC. "PATH: DATASET: why" and ST_ERR when anything fails. sums may be NULL. */
int st_ckpt_verify(const char *path, int *sums);
/* The largest counter a checkpoint may hold (epochs, steps, optimizer updates): 2^53, exact
 * in a double (the learning-rate schedule and Adam's bias correction take the update count as
 * one) and far from int64 overflow when a step is added. */
#define ST_CKPT_COUNT_MAX ((int64_t)1 << 53)
/* Range checks of a train state read from a file, before any use: no counter negative or above
 * ST_CKPT_COUNT_MAX, global_step >= step_in_epoch, finite partial sums, 0 <= iterations <=
 * global_step (one optimizer update per step). "FILE: /train_state/KEY = VALUE ..." and ST_ERR
 * otherwise. */
int st_ckpt_check_scalars(const char *file, const st_ckpt_progress *p, int64_t iterations);
/* /optimizer/iterations alone (a checkpoint loaded without its train state): 0..COUNT_MAX. */
int st_ckpt_check_iterations(const char *file, int64_t iterations);
/* The same plus the run's limits: epoch <= epochs (and no step beyond the last epoch),
 * step_in_epoch < steps when steps > 0 (steps per epoch of the resuming run), and
 * global_step <= epoch * rows + step_in_epoch when rows > 0 (the training rows: an epoch has at
 * most one step per row, whatever batch size the earlier epochs used). */
int st_ckpt_check_progress(const char *file, const st_ckpt_progress *p, int64_t epochs,
                           int64_t steps, int64_t rows);

/* path is a checkpoint file (taken as given: loading verifies it), or a directory: its newest
 * checkpoint, found by name (epoch-NNNN.h5, step-NNNNNNNN.h5; io/ckpt_dir.c) and verified
 * alone. A damaged newest one is skipped for the next newest with one warning naming both
 * files. Writes the file name into out. */
int st_ckpt_resolve(const char *path, char *out, size_t outlen);
/* Deletes all but the newest `keep` checkpoints in dir (keep 0: none deleted). Files it cannot
 * place in the order (unreadable) are left alone. */
int st_ckpt_prune(const char *dir, int keep);

/* Takes DIR/.lock with flock(LOCK_EX | LOCK_NB) and writes "HOST PID" into it: *fd holds the
 * lock until st_ckpt_unlock (or the process's end: a dead holder never blocks). Held by
 * another process: "checkpoint dir DIR is in use by host H pid P" and ST_ERR. A file system
 * without flock: one warning, *fd = -1, ST_OK. Once locked, removes the PATH.tmp files an
 * interrupted writer left there (regular files named after seqtrain's own). Rank 0 only. */
int st_ckpt_lock(const char *dir, int *fd);
/* For a run without --resume, after st_ckpt_lock: ST_ERR with "[checkpoint] dir DIR already
 * holds checkpoints (newest: F): resume with --resume DIR, or choose another dir" when DIR
 * holds epoch-*.h5 / step-*.h5 files. A fresh run there would overwrite the old run's files of
 * the same names and its pruning would then delete its own new checkpoint (the old run's
 * higher numbers look newer). Reads names only (and one train state when both kinds are
 * present). Rank 0 only. */
int st_ckpt_dir_check(const char *dir);
/* Releases the lock (closes *fd, sets it to -1); nothing when *fd < 0. The file stays: removing
 * it would let two later jobs lock two different files. */
void st_ckpt_unlock(int *fd);

#endif
