/*
 * seqtrain.h - umbrella header of libseqtrain's public API: what the seqtrain program
 * (src/cli/) and the tools (tools/) use. Everything else is internal and lives beside its
 * sources in src/<folder>/ (layers/layer.h, model/model.h, train/step.h, io/h5.h, ...).
 *
 * SEQTRAIN_VERSION comes from CMake (project() VERSION), the one place it is written.
 */
#ifndef SEQTRAIN_H
#define SEQTRAIN_H

#include "seqtrain/atomic.h"
#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/log.h"
#include "seqtrain/metrics.h"
#include "seqtrain/rng.h"
#include "seqtrain/tensor.h"
#include "seqtrain/train.h"

#endif
