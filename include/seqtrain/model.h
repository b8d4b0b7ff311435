/*
 * model.h - a sequential model: layers, ONE parameter buffer, ONE gradient buffer.
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
#include "seqtrain/layer.h"
#include "seqtrain/optim.h"

/* Spare floats after the gradients: fit.c appends the batch's loss sum, correct count, sample
 * count and error flag there, so ONE allreduce per step carries gradients and metrics. */
#define ST_MODEL_GRAD_TAIL 16

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
} st_model;

/* Builds layers from the config's layer sections (in order) for inputs of shape `input`.
 * Errors name the config file, line and key. maxB: largest batch on this rank. */
int st_model_build(st_model *m, const st_config *cfg, st_shape input, int maxB);
void st_model_free(st_model *m);
/* Initializes every parameter from seed (identical on every rank). */
void st_model_init(st_model *m, uint64_t seed);
void st_model_zero_grad(st_model *m);
/* Forward through all layers; returns the head's output (B, K): logits when the head's
 * activation is fused into the loss (head_act says which), activations otherwise. */
const float *st_model_forward(st_model *m, const st_batch *b, int train);
/* Backward from dlogits (B, K), the gradient w.r.t. what st_model_forward returned; ADDS into
 * the gradient buffer. */
void st_model_backward(st_model *m, const st_batch *b, const float *dlogits);
/* Prints a Keras-style summary table through ST_LOG. */
void st_model_summary(const st_model *m);
/* Finds a parameter tensor by "layer/param"; NULL if none. */
st_param *st_model_param(const st_model *m, const char *layer, const char *param);

#endif
