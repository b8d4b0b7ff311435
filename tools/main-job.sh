#!/usr/bin/env bash
# main-job.sh [TRAIN ARGS...] - THE quick start: SpamAssassin, Embedding -> LSTM(64) -> Dense(1),
# trained data-parallel on 2 MPI ranks, then evaluated on the test split.
#
#   1. tools/setup-deps.sh --data   (missing Debian packages only)
#   2. Release build in build/
#   3. tools/get-data.sh spam       (skipped when data/spam.h5 exists)
#   4. mpirun -np 2 build/seqtrain train jobs/configs/spam_lstm.ini [TRAIN ARGS...]
#   5. build/seqtrain evaluate --checkpoint runs/spam_lstm --data data/spam.h5 --split test
#
# TRAIN ARGS go to `seqtrain train`, e.g. --set train.epochs=1. SEQTRAIN_NP overrides the rank
# count (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

export OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1
np=${SEQTRAIN_NP:-2}

tools/setup-deps.sh --data
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
[ -f data/spam.h5 ] || SEQTRAIN_BUILD=build tools/get-data.sh spam

root=()
[ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
mpirun --oversubscribe "${root[@]}" -np "$np" -x OPENBLAS_NUM_THREADS=1 \
  build/seqtrain train jobs/configs/spam_lstm.ini "$@"
build/seqtrain evaluate --checkpoint runs/spam_lstm --data data/spam.h5 --split test
