# common.sh - sourced by the end-to-end tests. Arguments of every test (from tests/CMakeLists):
#   $1 seqtrain binary, $2 build directory, $3 mpiexec.
set -euo pipefail
ST_BIN=$1
ST_BUILD=$2
ST_MPIEXEC=${3:-mpiexec}
ST_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ST_SYNTH="$ST_BUILD/seqtrain-synth"
ST_PY=/usr/bin/python3  # Debian's interpreter: it owns python3-h5py and python3-numpy
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/seqtrain-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
# run_np N ARGS...: seqtrain under mpiexec with N ranks.
run_np() { local n=$1; shift; timeout 300 "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n "$n" "$ST_BIN" "$@"; }
# compare A B MODE: weights (and optimizer state) of two checkpoints; MODE exact | rel=1e-5.
compare() { "$ST_PY" "$ST_HERE/lib/h5compare.py" "$@"; }
