#!/usr/bin/env bash
# local.sh - the scaling sweep of jobs/scaling.sh on a workstation: plain mpirun, no Slurm.
# The points run one after the other and write the same JSON files into one folder, for
# tools/scaling-report.
#
#   jobs/local.sh [options] CONFIG
#   jobs/local.sh --mode strong --ranks 1,2 tools/bench/configs/M2.ini
#   jobs/local.sh --mode weak --batch 64 --ranks 1,2 --results /tmp/weak tools/bench/configs/M2.ini
#
# Options (as jobs/scaling.sh):
#   --mode strong|weak   strong: fixed global batch BATCH; weak: BATCH rows per rank (default strong)
#   --ranks LIST         rank counts, comma-separated (default 1,2)
#   --batch N            strong: global batch; weak: batch per rank (default: the config's)
#   --steps N, --warmup N   timed and untimed steps (default 50, 3)
#   --threads T          OpenBLAS threads per rank (default 1)
#   --results DIR        results folder (default scaling-results/<config>-<mode>)
#   --seqtrain BIN       the binary. Default: $SEQTRAIN when set; else seqtrain on PATH (an
#                        installed one); else build/seqtrain in the current directory (the
#                        repository's build)
#   --mpirun CMD         the launcher (default mpirun)
#   --set K=V            passed to seqtrain (repeatable)
#
# Ranks x threads should not exceed the cores: oversubscribed timings measure the scheduler.
# local.sh refuses a point that would, unless --oversubscribe is given. As root, it passes
# --allow-run-as-root to Open MPI.
# Exit status: 0 when every point ran, else the first failing point's status (the remaining
# points still run); 2 for a bad command line or a missing binary or config; 0 for --help.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; }
die() { echo "local.sh: $*" >&2; exit 2; }

mode=strong ranks=1,2 batch='' steps=50 warmup=3 threads=1 results='' seqtrain=''
mpirun=mpirun oversub=0 config='' extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --batch) batch=$2; shift ;;
    --steps) steps=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --threads) threads=$2; shift ;;
    --results) results=$2; shift ;;
    --seqtrain) seqtrain=$2; shift ;;
    --mpirun) mpirun=$2; shift ;;
    --set) extra+=(--set "$2"); shift ;;
    --oversubscribe) oversub=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$config" ] || die "one config only ('$config', then '$1')"; config=$1 ;;
  esac
  shift
done

[ -n "$config" ] || { usage >&2; die "no config"; }
[ -f "$config" ] || die "config '$config' not found"
# shellcheck source=jobs/scaling-lib.sh
source "$here/scaling-lib.sh"
if [ -n "$seqtrain" ]; then
  { [ -f "$seqtrain" ] && [ -x "$seqtrain" ]; } || die "--seqtrain $seqtrain: not an executable file"
else
  seqtrain=$(scaling_find_seqtrain "$PWD") || die "$seqtrain"
fi
command -v "$mpirun" >/dev/null || die "launcher '$mpirun' not found"
case "$mode" in strong|weak) ;; *) die "--mode must be strong or weak" ;; esac
[[ "$ranks" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--ranks must look like 1,2,4 (got '$ranks')"
[ -n "$results" ] || results=scaling-results/$(basename "${config%.ini}")-$mode
mkdir -p "$results"

export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
CONFIG=$config STEPS=$steps WARMUP=$warmup EXTRA=("${extra[@]+"${extra[@]}"}")
[ -n "$batch" ] || batch=$(scaling_batch "$config")
# nproc honours OMP_NUM_THREADS: ask it without.
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
root=(); [ "$(id -u)" -eq 0 ] && root=(--allow-run-as-root)
host=$(hostname)
status=0
IFS=, read -r -a counts <<<"$ranks"
for r in "${counts[@]}"; do
  if [ $((r * threads)) -gt "$cores" ] && [ "$oversub" = 0 ]; then
    echo "local.sh: $r ranks x $threads threads > $cores cores: skipped (--oversubscribe" \
         "to run it anyway)" >&2
    [ "$status" = 0 ] && status=1
    continue
  fi
  if [ "$mode" = strong ]; then global=$batch; else global=$((batch * r)); fi
  launch=("$mpirun" -np "$r" "${root[@]+"${root[@]}"}" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
  # One rank per core (or per `threads` cores) when they fit; else let them share.
  if [ "$oversub" = 1 ] && [ $((r * threads)) -gt "$cores" ]; then
    launch+=(--oversubscribe --bind-to none)
  else
    launch+=(--map-by "slot:PE=$threads" --bind-to core)
  fi
  meta="\"nodelist\": $(scaling_json_str "$host"), \"date\": \"$(date -u +%FT%TZ)\""
  meta+=", \"cores\": $cores"
  scaling_point "$mode" "$r" "$global" "$results" "$meta" -- "${launch[@]}" "$seqtrain" ||
    { rc=$?; [ "$status" = 0 ] && status=$rc; }
done
echo "local.sh: results in $results; then: tools/scaling-report $results" >&2
exit "$status"
