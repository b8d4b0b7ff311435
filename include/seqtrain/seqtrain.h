/* seqtrain.h - umbrella header of libseqtrain. */
#ifndef SEQTRAIN_H
#define SEQTRAIN_H

#include "seqtrain/ckpt.h"
#include "seqtrain/config.h"
#include "seqtrain/data.h"
#include "seqtrain/dist.h"
#include "seqtrain/error.h"
#include "seqtrain/layer.h"
#include "seqtrain/log.h"
#include "seqtrain/loss.h"
#include "seqtrain/model.h"
#include "seqtrain/optim.h"
#include "seqtrain/rng.h"
#include "seqtrain/tensor.h"
#include "seqtrain/train.h"

/* SEQTRAIN_VERSION comes from CMake (project() VERSION), the one place it is written. */

#endif
