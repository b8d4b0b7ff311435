#!/bin/bash
# node_variants.sh - the variants of the data-parallel step side by side on ONE node, in one
# command: 1 rank, then 2 (or more) ranks in each variant (base, shard, overlap, both, sparse:
# see tools/bench/cluster_scaling.sh --help), strong scaling at the config's global batch,
# through jobs/local.sh (plain mpirun, shared memory), then tools/scaling-report with the
# variants' table (2-over-1 speed-up, exposed communication, optimizer per rank).
#
#   tools/bench/node_variants.sh [options]
#   tools/bench/node_variants.sh --models M2,M6 --ranks 2 --out jobs/results/node-variants
#
# Options:
#   --models LIST    tools/bench/configs/<M>.ini (default M2,M6,M3)
#   --ranks R        the multi-rank point (default 2; ranks x 1 thread must fit the cores)
#   --modes LIST     deterministic modes: true,false (default true)
#   --variants LIST  (default base,shard,overlap,both,sparse; sparse only where it differs)
#   --steps S        timed steps (default 20; 6 for M6)
#   --seqtrain BIN   the binary (default build/seqtrain)
#   --out DIR        results (default jobs/results/node-variants): M/strong-det-MODE-VARIANT/
#                    folders of JSON points, scaling.md per model, meta.txt (CPU, OpenBLAS core)
# Exit status: 0 ok, 1 a point failed, 2 bad usage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
models=M2,M6,M3 ranks=2 modes=true variants=base,shard,overlap,both,sparse steps=''
seqtrain=$repo/build/seqtrain out=$repo/jobs/results/node-variants
die() { echo "node_variants.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift ;;
    --ranks) ranks=$2; shift ;;
    --modes) modes=$2; shift ;;
    --variants) variants=$2; shift ;;
    --steps) steps=$2; shift ;;
    --seqtrain) seqtrain=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[[ "$ranks" =~ ^[2-9][0-9]*$ ]] || die "--ranks must be an integer >= 2"
[ -x "$seqtrain" ] || die "no seqtrain binary at $seqtrain (build it or pass --seqtrain)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
{
  echo "---"
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
  echo "OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(not set)}"
  echo "command: $0 --models $models --ranks $ranks --modes $modes --variants $variants"
} >>"$out/meta.txt"
sets() { # the --set values of a variant (as cluster_scaling.sh)
  case "$1" in
    base) echo false false false ;; shard) echo true false false ;;
    overlap) echo false true false ;; both) echo true true false ;;
    sparse) echo true true true ;; *) return 1 ;;
  esac
}
IFS=, read -r -a vl <<<"$variants"
for v in "${vl[@]}"; do sets "$v" >/dev/null || die "unknown variant '$v'"; done
export OPENBLAS_NUM_THREADS=1
status=0
IFS=, read -r -a ml <<<"$models"
IFS=, read -r -a dl <<<"$modes"
for m in "${ml[@]}"; do
  cfg=$repo/tools/bench/configs/$m.ini
  [ -f "$cfg" ] || die "no config $cfg"
  s=$steps
  [ -n "$s" ] || { [ "$m" = M6 ] && s=6 || s=20; }
  for det in "${dl[@]}"; do
    for v in "${vl[@]}"; do
      read -r sh ov sp <<<"$(sets "$v")"
      res=$out/$m/strong-det-$det-$v
      rm -rf "$res"
      r=$ranks
      [ "$v" = "${vl[0]}" ] && r=1,$ranks # the 1-rank point once: every variant's base
      echo "== $m deterministic=$det $v: ranks $r, $s steps"
      "$repo/jobs/local.sh" --seqtrain "$seqtrain" --mode strong --ranks "$r" --steps "$s" \
        --warmup 2 --set "train.deterministic=$det" --set "train.shard_optimizer=$sh" \
        --set "train.overlap=$ov" --set "train.sparse_embedding=$sp" --results "$res" "$cfg" \
        >/dev/null || { echo "node_variants.sh: $m $v failed" >&2; status=1; }
    done
  done
  "$repo/tools/scaling-report" "$out/$m"/strong-det-*/ --out "$out/$m" --no-plots \
    --note "$(lscpu | sed -n 's/^Model name: *//p' | head -n 1); one node, shared memory" |
    sed -n '/^## Variants/,$p' | head -n 60 || true
done
echo "node_variants.sh: results in $out"
exit "$status"
