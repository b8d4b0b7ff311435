/*
 * model.h - a sequential model: layers, ONE parameter buffer, ONE gradient buffer.
 *
 * Files: spec.c (config sections -> layer specs, the naming rule), model.c (build: size pass
 * and bind pass), forward.c (forward/backward over the layers), summary.c (the Keras table),
 * pretrained.c (pre-trained vectors into embeddings).
 *
 * Build is a size pass and a bind pass: each layer declares its parameter tensors, the model
 * makes one aligned allocation for all parameters and one for all gradients and gives each
 * layer its views, so start-up synchronization is one broadcast, a training step is one
 * allreduce and a checkpoint is a table of names, offsets and shapes. Activations, their
 * gradients, masks and workspaces are slices of one arena sized for maxB rows and maxT steps.
 */
#ifndef SEQTRAIN_MODEL_H
#define SEQTRAIN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "layers/layer.h"

/* Spare floats after the gradients: fit.c appends the batch's loss sum, correct count, sample
 * count and error flag there, so ONE allreduce per step carries gradients and metrics. */
#define ST_MODEL_GRAD_TAIL 16

/* Model-level options of a layer: files the model reads for it, kept out of st_layer (which
 * holds the math's options only). Keys `weights` and `vocab`, for types with takes_vectors. */
typedef struct st_vectors_spec {
    char weights[512]; /* word2vec / GloVe text file; "" = none */
    char vocab[512];   /* id -> word list (line k = id k); "" = the dataset's /vocab */
} st_vectors_spec;

typedef struct st_model {
    int nlayers;
    st_layer *layers;
    st_shape input;
    int maxB, maxT;

    size_t nparams;
    float *params; /* (nparams) every layer's weights, contiguous */
    float *grads;  /* (nparams + ST_MODEL_GRAD_TAIL) same layout, then the tail */

    int ntensors;                  /* all parameter tensors, in layer order */
    st_tensor_range *ranges;       /* (ntensors) for the optimizer's clipnorm */
    uint8_t *trainable;            /* (ntensors) */
    st_param **tensors;            /* (ntensors) views into the layers' param tables */

    st_layer_in *ins; /* (nlayers) what each layer read in the last forward, for backward */
    float *arena;   /* activations, gradients, workspaces */
    size_t arena_floats;

    st_act head_act; /* activation of the last layer, applied by the loss (fused) */
    int num_outputs; /* K: features of the last layer's output */
    /* The head outputs a sequence (T, B, K) (many-to-many: dense after return_sequences):
     * the loss is per step, against y (B, T), over the steps out_mask marks real. */
    int seq_out;
    const uint8_t *out_mask; /* (T, B) mask of the head's output in the last forward, or NULL */
    /* Some layer calls collectives in training forward/backward (batch_norm): those layers
     * are then called on every rank, also with 0 rows (see st_model_forward). */
    int collective;
    st_vectors_spec *vectors; /* (nlayers) pre-trained vectors to load, per layer */
    /* Deterministic reduction (st_model_set_blocks): grads holds grad_slots slots, block k's
     * gradient in slot k at grads + k grad_stride (layer.h, st_blocks). Slot 0 is whole; the
     * stride covers the dense tensors only, as a leading row-sparse tensor (an embedding)
     * never writes slots after 0 (model.c, slots_stride). blk.rows == 0: one slot. */
    int grad_slots;
    size_t grad_stride;
    st_blocks blk;
    st_rowpack rowpack; /* blk.pack points here */
    /* Called after each layer's backward with its index (the training step starts reducing
     * the gradients that are complete, train/reduce.c); NULL: none. */
    void (*layer_done)(void *ctx, int layer);
    void *layer_done_ctx;
} st_model;

/* What a run allocates besides the model's own buffers and grows with a size the user chose,
 * for the memory check of st_model_build_run. */
typedef struct st_model_run_need {
    int opt_states;        /* optimizer state buffers, nparams floats each (adam: 2) */
    size_t rows;           /* rows of data the caller keeps per-row buffers for */
    size_t row_bytes;      /* bytes of those buffers per row */
    const char *rows_what; /* names those rows in the message: "training rows" */
    int grad_slots;        /* gradient slots st_model_set_blocks will make (0 = one) */
} st_model_run_need;

/* Builds layers from the config's layer sections (in order) for inputs of shape `input`.
 * Errors name the config file, line and key. maxB: largest batch on this rank.
 * Before allocating anything big it adds up what the run needs (parameters, gradients,
 * optimizer state, activations and batches for maxB rows of input.seq steps, and run's per-row
 * buffers; run may be NULL) in overflow-checked size_t, and refuses with ONE line naming the
 * key that contributes most ("cfg.ini:26: [lstm] units = 100000 (layer lstm_1): the run needs
 * N bytes (... GiB: parameters ..., ...) but ... are available (physical memory)") when it
 * exceeds st_mem_available (core/mem.h). Also refused with one line: a layer wider than
 * ST_FEAT_MAX, T x maxB beyond an int. */
int st_model_build(st_model *m, const st_config *cfg, st_shape input, int maxB);
int st_model_build_run(st_model *m, const st_config *cfg, st_shape input, int maxB,
                       const st_model_run_need *run);
/* Rows a rank's buffers need for global batches of batch_size rows drawn from `rows` rows of
 * data (0 = unknown), split over `ranks`: ceil(min(batch_size, rows) / ranks), at least 1. A
 * batch_size larger than the data must not size buffers for rows that do not exist. */
int st_model_max_rows(int batch_size, size_t rows, int ranks);
void st_model_free(st_model *m);
/* Initializes every parameter from seed (identical on every rank). */
void st_model_init(st_model *m, uint64_t seed);
void st_model_zero_grad(st_model *m);
/* Deterministic reduction: rows of a call form blocks of `rows` rows, block k's parameter
 * gradients go to slot k of the gradient buffer (grown to `slots` slots), and row-wise products
 * run on core/rowgemm.c. Call once after build. */
void st_model_set_blocks(st_model *m, int rows, int slots);
/* Clears the gradient slots a batch of B rows uses (all of slot 0 without blocks). With
 * blocks only slot 0: the step's exact reduction leaves every slot it read zero. */
void st_model_zero_grad_rows(st_model *m, int B);
/* Forward through all layers; returns the head's output (B, K), or (T, B, K) when seq_out:
 * logits when the head's activation is fused into the loss (head_act says which), activations
 * otherwise. The batch's ids, seed and epoch reach the layers (dropout masks).
 * Collective when train and m->collective: every rank must call it, also with b->B == 0. */
const float *st_model_forward(st_model *m, const st_batch *b, int train);
/* Backward from dlogits (B, K) or (T, B, K), the gradient w.r.t. what st_model_forward
 * returned; ADDS into the gradient buffer. Collective like st_model_forward (after a training
 * forward). */
void st_model_backward(st_model *m, const st_batch *b, const float *dlogits);
/* Prints a Keras-style summary table through ST_LOG. */
void st_model_summary(const st_model *m);
/* Loads pre-trained vectors into every embedding with a `weights` key (word2vec / GloVe text,
 * matched by word through the layer's `vocab` file or else the dataset's /vocab; rows of words
 * not found keep their initial values) and prints how many rows matched. Local: call it on one
 * rank after st_model_init, then broadcast the parameters. ds may be NULL (then a `vocab` key
 * is required). Returns ST_OK, or ST_ERR with a message naming the file and line.
 * src/model/pretrained.c. */
int st_model_load_pretrained(st_model *m, const st_dataset *ds);
/* The reduce callback the model installs in layers with collectives (st_layer.reduce_sum):
 * buf (n doubles) becomes its sum over all ranks (st_dist_allreduce_sum_f64); ctx unused.
 * Collective. Exposed for tests that drive such a layer without a model. */
void st_model_reduce_sum(double *buf, size_t n, void *ctx);
void st_model_reduce_i64(int64_t *buf, size_t n, void *ctx);
/* The first attention layer (its weights: st_attention_weights), or NULL when there is none. */
const st_layer *st_model_attention(const st_model *m);
/* Finds a parameter tensor by "layer/param"; NULL if none. */
st_param *st_model_param(const st_model *m, const char *layer, const char *param);

#endif
