#!/usr/bin/env bash
# scaling.sh - submits a strong or weak scaling sweep of `seqtrain train CONFIG --benchmark` as
# one Slurm job array (jobs/scaling.sbatch), one element per rank count, every element writing
# its JSON file into one results folder. Then: tools/scaling-report RESULTS.
#
#   jobs/scaling.sh [options] CONFIG
#   jobs/scaling.sh --mode strong --ranks 1,2,4,8,16 tools/bench/configs/M2.ini
#   jobs/scaling.sh --mode weak --batch 64 --ranks 1,2,4,8,16 --cpus-per-task 4 \
#                   --sbatch "--exclusive --time=00:20:00" tools/bench/configs/M2.ini
#
# Options:
#   --mode strong|weak     strong: the global batch is fixed (BATCH for every rank count); weak:
#                          the batch per rank is fixed (global = ranks x BATCH). Default strong.
#   --ranks LIST           rank counts, comma-separated (default 1,2)
#   --batch N              strong: global batch; weak: batch per rank (default: the config's
#                          batch_size)
#   --steps N, --warmup N  timed and untimed steps (default 50, 3)
#   --cpus-per-task T      threads per rank (OpenBLAS), default 1
#   --ntasks-per-node K    K ranks per node: a point of R ranks runs on ceil(R/K) nodes
#                          (srun --nodes --ntasks-per-node; mpirun --map-by ppr:K:node), and the
#                          array asks for ceil(max/K) nodes. Default: no layout is asked for;
#                          Slurm places the tasks (see "nodes" in jobs/scaling.sbatch)
#   --results DIR          results folder (default scaling-results/<config>-<mode>)
#   --max-concurrent K     at most K elements at once (%K on the array; 1 on a shared node,
#                          so that the points do not slow each other down)
#   --launcher srun|mpirun (default srun --mpi=pmix)
#   --seqtrain BIN         the binary. Default: $SEQTRAIN when set; else seqtrain on PATH (an
#                          installed one); else build/seqtrain in the current directory (the
#                          repository's build)
#   --sbatch "OPTS"        more sbatch options (partition, account, --exclusive, --time)
#   --set K=V              passed to seqtrain (repeatable)
#   --separate             one job per rank count, each of exactly that size (with
#                          --ntasks-per-node: ceil(R/K) nodes), instead of an array whose
#                          elements all ask for the largest count. Better for wide sweeps (a
#                          1-rank point does not hold 1024 cores), but the points may land on
#                          different nodes.
#   --wait                 wait for the jobs to end (sbatch --wait); exit non-zero if one failed
#   -h, --help             this text
#
# Prints the job id(s). Relative paths are relative to where you submit; the jobs run there.
# scaling.sbatch and scaling-lib.sh are taken from this script's own directory (the
# repository's jobs/, or an installed share/seqtrain/jobs), so it runs from anywhere.
#
# Exit status: 0 when every job was submitted (with --wait: and every point succeeded); else
# sbatch's status; 2 for a bad command line, a missing binary or config, or no sbatch here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "$0"; }
die() { echo "scaling.sh: $*" >&2; exit 2; }

mode=strong ranks=1,2 batch='' steps=50 warmup=3 cpt=1 results='' maxc='' launcher=srun
seqtrain='' sbatch_opts='' separate=0 wait=0 config='' extra=() npn=
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --batch) batch=$2; shift ;;
    --steps) steps=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --cpus-per-task) cpt=$2; shift ;;
    --ntasks-per-node) npn=$2; shift ;;
    --results) results=$2; shift ;;
    --max-concurrent) maxc=$2; shift ;;
    --launcher) launcher=$2; shift ;;
    --seqtrain) seqtrain=$2; shift ;;
    --sbatch) sbatch_opts=$2; shift ;;
    --set) extra+=(--set "$2"); shift ;;
    --separate) separate=1 ;;
    --wait) wait=1 ;;
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
case "$mode" in strong|weak) ;; *) die "--mode must be strong or weak" ;; esac
[[ "$ranks" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--ranks must look like 1,2,4 (got '$ranks')"
[[ "$npn" =~ ^([1-9][0-9]*)?$ ]] || die "--ntasks-per-node must be a number >= 1 (got '$npn')"
command -v sbatch >/dev/null || die "no sbatch here: on a workstation use jobs/local.sh"
[ -n "$results" ] || results=scaling-results/$(basename "${config%.ini}")-$mode
mkdir -p "$results"

IFS=, read -r -a counts <<<"$ranks"
max=0
for r in "${counts[@]}"; do [ "$r" -gt "$max" ] && max=$r; done

# The batch script reads its parameters from the environment (sbatch --export=ALL, the default).
export CONFIG=$config SCALING_MODE=$mode BATCH=$batch STEPS=$steps WARMUP=$warmup
RESULTS=$(cd "$results" && pwd)
SEQTRAIN=$(cd "$(dirname "$seqtrain")" && pwd)/$(basename "$seqtrain")
export RESULTS SEQTRAIN
export LAUNCHER=$launcher JOBS_DIR=$here SEQTRAIN_EXTRA="${extra[*]+"${extra[*]}"}"
export SCALING_NTASKS_PER_NODE=$npn
# The task layout of a job of R tasks: with K per node, exactly ceil(R/K) nodes (--ntasks
# alone would let Slurm spread them; --ntasks-per-node alone is a maximum once --ntasks is
# given).
layout() {
  if [ -n "$npn" ]; then
    echo "--ntasks=$1 --ntasks-per-node=$npn --nodes=$(((($1) + npn - 1) / npn))"
  else
    echo "--ntasks=$1"
  fi
}
read -r -a opts <<<"$sbatch_opts"
common=(--parsable --cpus-per-task="$cpt" --output="$RESULTS/slurm-%A_%a.out"
        "${opts[@]+"${opts[@]}"}")
[ "$wait" = 1 ] && common+=(--wait)

status=0
if [ "$separate" = 0 ]; then
  n=${#counts[@]}
  spec=0-$((n - 1))${maxc:+%$maxc}
  export SCALING_RANKS=$ranks
  # With --wait sbatch blocks until the array ends and exits non-zero if an element failed.
  read -r -a size <<<"$(layout "$max")"
  sbatch "${common[@]}" --array="$spec" "${size[@]}" "$here/scaling.sbatch" || status=$?
else
  [ -z "$maxc" ] || echo "scaling.sh: --max-concurrent is for arrays; use --sbatch" \
                         "\"--dependency=singleton\" to run separate jobs one at a time" >&2
  pids=()
  for r in "${counts[@]}"; do
    read -r -a size <<<"$(layout "$r")"
    if [ "$wait" = 1 ]; then
      SCALING_RANKS='' sbatch "${common[@]}" "${size[@]}" "$here/scaling.sbatch" & pids+=($!)
    else
      SCALING_RANKS='' sbatch "${common[@]}" "${size[@]}" "$here/scaling.sbatch" || status=$?
    fi
  done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" || status=$?; done
fi
echo "scaling.sh: results in $RESULTS; then: tools/scaling-report $RESULTS" >&2
exit "$status"
