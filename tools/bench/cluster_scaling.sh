#!/bin/bash
# cluster_scaling.sh - scaling measured across a network, in one command: brings up
# tools/testcluster (N nodes as network namespaces on this host, links shaped to RATE, a Slurm
# over them), runs strong and weak sweeps over 1..N nodes (one rank per node) of each model
# through jobs/scaling.sh, in deterministic and float mode, and writes the tables, plots and
# the alpha/beta fit with tools/scaling-report. Each point is measured in every variant of the
# step asked for (--variants), one after the other in the same run, so that the report sets them
# side by side on the same cluster, links and build. Root only; takes a few minutes per variant.
#
#   tools/bench/cluster_scaling.sh [options]
#   tools/bench/cluster_scaling.sh --nodes 3 --rate 1gbit --models M2,M6 --out jobs/results/cluster-1gbit
#
# Options:
#   --nodes N          nodes (default 3): points at 1, 2, ..., N nodes
#   --rate RATE        link rate for tc tbf (default 1gbit; "off" for unshaped veth links)
#   --models LIST      tools/bench/configs/<M>.ini models (default M2,M6)
#   --weak-batch B     weak scaling: rows per rank (default 64); strong uses the config's batch
#   --steps S          timed steps per point (default: 30 for M2-sized models, 8 for M6)
#   --modes LIST       deterministic modes to sweep: true,false (default both)
#   --variants LIST    variants of the step (default base,shard,overlap,both), passed as
#                      --set train.shard_optimizer=S --set train.overlap=O
#                      --set train.sparse_embedding=E:
#                        base     S=false O=false E=false  (one allreduce after backward)
#                        shard    S=true  O=false E=false  (reduce-scatter, update of 1/P,
#                                                          allgather)
#                        overlap  S=false O=true  E=false  (buckets reduced during backward)
#                        both     S=true  O=true  E=false
#                        sparse   S=true  O=true  E=true   (and the embedding's touched rows
#                                                          only, where that pays: M3, E1)
#                      (at 1 rank the variants are one point: it is measured once)
#   --seqtrain BIN     the binary (default build/seqtrain)
#   --out DIR          results (default jobs/results/cluster-RATE): one folder of JSON points
#                      per model, mode, scaling kind and variant (M/KIND-det-MODE-VARIANT/),
#                      scaling.md / .csv / .png per model (with the variants side by side),
#                      both/ (one fit over every model's points in DIR) and meta.txt (CPU,
#                      OpenBLAS core, kernel, date)
#
# The nodes share this machine's cores (2 here): ranks beyond the cores share them, so compute
# per rank is not representative at 3 nodes; communication, which crosses the shaped links, is.
# The report says so (--shared-host). Exit status: 0 ok, 1 a sweep failed, 2 bad usage,
# 77 no network namespaces here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
nodes=3 rate=1gbit models=M2,M6 weak=64 steps='' modes=true,false variants=base,shard,overlap,both seqtrain=$repo/build/seqtrain out=''
die() { echo "cluster_scaling.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift ;;
    --rate) rate=$2; shift ;;
    --models) models=$2; shift ;;
    --weak-batch) weak=$2; shift ;;
    --steps) steps=$2; shift ;;
    --modes) modes=$2; shift ;;
    --variants) variants=$2; shift ;;
    --seqtrain) seqtrain=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[[ "$nodes" =~ ^[1-9][0-9]*$ ]] || die "--nodes must be a positive integer"
IFS=, read -r -a vlist <<<"$variants"
[ ${#vlist[@]} -gt 0 ] || die "--variants is empty (base, shard, overlap, both)"
# variant_sets NAME: the --set values of a variant (shard_optimizer, overlap, sparse_embedding).
variant_sets() {
  case "$1" in
    base) echo false false false ;;
    shard) echo true false false ;;
    overlap) echo false true false ;;
    both) echo true true false ;;
    sparse) echo true true true ;;
    *) return 1 ;;
  esac
}
for v in "${vlist[@]}"; do
  variant_sets "$v" >/dev/null || die "unknown variant '$v' in --variants (base, shard, overlap, both, sparse)"
done
[ -x "$seqtrain" ] || die "no seqtrain binary at $seqtrain (build it or pass --seqtrain)"
seqtrain=$(cd "$(dirname "$seqtrain")" && pwd)/$(basename "$seqtrain")
out=${out:-$repo/jobs/results/cluster-$rate}
mkdir -p "$out"
out=$(cd "$out" && pwd)
TC=$repo/tools/testcluster
export TESTCLUSTER_NAME=bench$$
trap '"$TC" down >/dev/null 2>&1 || true' EXIT
"$TC" up "$nodes" --slurm --rate "$rate" --cpus 2

ranks=$(seq -s, 1 "$nodes")
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
  echo "OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(not set)}"
  # The core OpenBLAS runs (what every number depends on), from the library seqtrain loads.
  blas=$(ldd "$seqtrain" | awk '/libopenblas/ { print $3; exit }')
  echo "openblas core: $(/usr/bin/python3 -c 'import ctypes, sys
l = ctypes.CDLL(sys.argv[1]); l.openblas_get_corename.restype = ctypes.c_char_p
print(l.openblas_get_corename().decode())' "${blas:-libopenblas.so.0}" 2>/dev/null || echo unknown)"
  echo "kernel: $(uname -r); links: $rate (tc tbf), $nodes nodes as network namespaces on one host"
  echo "command: $0 --nodes $nodes --rate $rate --models $models --weak-batch $weak --modes $modes --variants $variants"
} >"$out/meta.run"
# One block per run (a folder may gather runs of several --models): the CPU of each.
{ echo "---"; cat "$out/meta.run"; } >>"$out/meta.txt"
cat "$out/meta.run"

export OPENBLAS_NUM_THREADS=1 OMPI_MCA_orte_tmpdir_base=$out/.ompi
mkdir -p "$out/.ompi"
status=0
IFS=, read -r -a mlist <<<"$models"
IFS=, read -r -a dlist <<<"$modes"
for m in "${mlist[@]}"; do
  cfg=$repo/tools/bench/configs/$m.ini
  [ -f "$cfg" ] || die "no config $cfg"
  s=$steps
  [ -n "$s" ] || { [ "$m" = M6 ] && s=8 || s=30; }
  for det in "${dlist[@]}"; do
    for kind in strong weak; do
      b=()
      [ "$kind" = weak ] && b=(--batch "$weak")
      # A folder of a run before the variants (no suffix) would join the report as a second
      # base: a re-run replaces it, as it replaced it then.
      rm -rf "$out/$m/$kind-det-$det"
      for v in "${vlist[@]}"; do
        res=$out/$m/$kind-det-$det-$v
        rm -rf "$res"
        mkdir -p "$res"
      done
      echo "== $m, $kind, deterministic=$det: ranks $ranks, one per node, $s steps, variants $variants"
      # --separate: each point its own job of exactly its node count, one after the other
      # (--wait), so that no point shares the cores with another. The variants of one rank
      # count run back to back: a drift of the host between them shows least.
      for r in $(seq 1 "$nodes"); do
        for v in "${vlist[@]}"; do
          # At 1 rank seqtrain turns both off (nothing to shard, nothing to overlap): the
          # variants are the same point, measured once (in the first variant's folder); the
          # report takes it as every variant's 1-rank point.
          [ "$r" = 1 ] && [ "$v" != "${vlist[0]}" ] && continue
          read -r sh ov sp <<<"$(variant_sets "$v")"
          "$TC" exec head "$repo/jobs/scaling.sh" --seqtrain "$seqtrain" --mode "$kind" \
            "${b[@]+"${b[@]}"}" --ranks "$r" --ntasks-per-node 1 --steps "$s" --warmup 2 \
            --set "train.deterministic=$det" --set "train.shard_optimizer=$sh" \
            --set "train.overlap=$ov" --set "train.sparse_embedding=$sp" --results "$out/$m/$kind-det-$det-$v" --wait "$cfg" \
            >/dev/null ||
            { echo "cluster_scaling.sh: $m $kind det=$det $v at $r node(s) failed" >&2; status=1; }
        done
      done
    done
  done
  # One report per model over its sweeps (the report groups them into series).
  "$repo/tools/scaling-report" "$out/$m"/*-det-*/ --out "$out/$m" --shared-host \
    --note "$(sed -n 's/^cpu: //p' "$out/meta.run"); links $rate (tc tbf); $nodes network namespaces on one host" |
    tail -n 40
done
# Every sweep in the results folder (also of earlier runs with other --models) in one fit: more
# message sizes pin beta, and small ones alpha, far better than two.
mkdir -p "$out/both"
"$repo/tools/scaling-report" "$out"/*/*-det-*/ --out "$out/both" --shared-host --no-plots \
  --note "$(sed -n 's/^cpu: //p' "$out/meta.run"); links $rate (tc tbf); $nodes network namespaces on one host" |
  grep -E '^\*\*Network' || true
rm -rf "$out/.ompi" "$out/meta.run"
echo "cluster_scaling.sh: results in $out"
exit "$status"
