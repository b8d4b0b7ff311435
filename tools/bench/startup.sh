#!/usr/bin/env bash
# startup.sh - seqtrain's start-up time on a ~100 MB dataset (issue 3 target: process start to
# first step < 1 s).
#
#   tools/bench/startup.sh [--rows N] [--seq-len T] [--reps R] [--no-build]
#
# What it measures, and why this way:
# - The dataset: build/seqtrain-synth writes N x T int32 tokens (default 110000 x 500, full-length
#   rows, vocabulary 10000) to build-bench/bench-data/ (not tracked). seqtrain's writer deflates
#   it: 220 MB of token ids make a file of about 100 MB on disk; both sizes are printed.
# - The run: `seqtrain train CFG --benchmark 1 --warmup 0` with [data] path = that file, for
#   the model Embedding(10000,32) -> LSTM(64) -> Dense(1, sigmoid), batch 128. The benchmark
#   mode goes through the same start-up as training (MPI init, config, opening the dataset and
#   reading its shapes and attributes, model build and initialisation, optimizer state) and
#   times from process start (the kernel's start time of the process) to the first step; it
#   then trains on generated rows. A real first step also reads its batch's rows from the file:
#   128 x 500 x 4 B = 256 KB of chunks, spread over the ranks, which that number leaves out.
#   Parsing a line of training output instead would need the training loop to print per step,
#   which it does not, and an epoch over 100 MB takes minutes.
# - Two numbers per rank count: startup_s (seqtrain's own, rank 0, process start -> first
#   step; under mpirun the rank's process start, after mpirun has launched it) and wall_s, the
#   whole command from the shell (mpirun's launch, start-up, one step, teardown): an upper
#   bound on what a user waits before the first step.
# - Page cache: as root the script drops it before each run (cold file), else the file is warm
#   (the header line says which).
# Output: a Markdown table (median of R runs) on stdout and in tools/bench/results/startup.md,
# raw lines in tools/bench/results/startup.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."

rows=110000
T=500
reps=3
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift ;;
    --seq-len) T=$2; shift ;;
    --reps) reps=$2; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "startup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

B=build-bench
if [ "$build" = 1 ]; then
  [ -f $B/CMakeCache.txt ] || cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build $B -j "$(nproc)" --target seqtrain_bin seqtrain-synth >/dev/null
fi
if ! $B/seqtrain train --help 2>&1 | grep -q -- --benchmark; then
  echo "startup.sh: $B/seqtrain has no --benchmark mode yet" >&2
  exit 1
fi

dir=$B/bench-data
mkdir -p "$dir" tools/bench/results
data=$dir/startup_${rows}x${T}.h5
if [ ! -f "$data" ]; then
  echo "startup.sh: writing $data ($rows x $T tokens)" >&2
  $B/seqtrain-synth --out "$data.tmp" --train "$rows" --test 0 --steps "$T" --min-len "$T" \
    --vocab 10000 >/dev/null
  mv "$data.tmp" "$data"
fi
cfg=$dir/startup.ini
cat > "$cfg" <<EOF
; written by tools/bench/startup.sh
[data]
path = $PWD/$data

[train]
batch_size = 128
optimizer = adam
loss = binary_crossentropy

[embedding]
input_dim = 10000
output_dim = 32

[lstm]
units = 64

[dense]
units = 1
activation = sigmoid
EOF

cache=warm
drop() {
  sync
  if [ "$(id -u)" -eq 0 ] && echo 3 2>/dev/null > /proc/sys/vm/drop_caches; then cache=cold; fi
}

mpi=(mpirun -np 2 --oversubscribe -x OPENBLAS_NUM_THREADS)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
export OPENBLAS_NUM_THREADS=1
jsonl=tools/bench/results/startup.jsonl
: > "$jsonl"
for ((r = 1; r <= reps; r++)); do
  for ranks in 1 2; do
    cmd=($B/seqtrain train "$cfg" --benchmark 1 --warmup 0)
    [ "$ranks" = 2 ] && cmd=("${mpi[@]}" "${cmd[@]}")
    drop
    t0=$(date +%s%N)
    out=$("${cmd[@]}" 2>&1) || { echo "startup.sh: failed: ${cmd[*]}"$'\n'"$out" >&2; exit 1; }
    t1=$(date +%s%N)
    line=$(printf '%s\n' "$out" | grep -m1 '^BENCH ' | cut -c7-) || true
    [ -n "$line" ] || { echo "startup.sh: no BENCH line from ${cmd[*]}:"$'\n'"$out" >&2; exit 1; }
    ms=$(( (t1 - t0) / 1000000 ))
    printf '{"ranks": %d, "rep": %d, "cache": "%s", "wall_s": %d.%03d, "bench": %s}\n' \
      "$ranks" "$r" "$cache" $((ms / 1000)) $((ms % 1000)) "$line" >> "$jsonl"
  done
done

/usr/bin/python3 - "$jsonl" "$data" "$rows" "$T" <<'EOF' | tee tools/bench/results/startup.md
import json, os, statistics, sys
path, data, rows, T = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
recs = [json.loads(l) for l in open(path)]
print(f"Start-up on {data}: {rows} x {T} int32 tokens = {rows * T * 4 / 1e6:.0f} MB of token ids, "
      f"{os.path.getsize(data) / 1e6:.0f} MB on disk; page cache {recs[0]['cache']}; "
      f"median of {max(r['rep'] for r in recs)} runs. Target: < 1 s.\n")
print("| ranks | startup_s (process start → first step, rank 0) | whole command wall_s "
      "(launch + start-up + 1 step + exit) |")
print("|--:|--:|--:|")
for n in sorted({r["ranks"] for r in recs}):
    rs = [r for r in recs if r["ranks"] == n]
    s = statistics.median(r["bench"]["startup_s"] for r in rs)
    w = statistics.median(r["wall_s"] for r in rs)
    print(f"| {n} | {s:.3f} | {w:.3f} |")
EOF
