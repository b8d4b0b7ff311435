# Adversarial reproducer (issue 14): the overlapped step with many layers. Each layer with
# parameters may be a bucket of its own (bucket_mb small), and every bucket before the last
# keeps non-blocking ops in flight until the step's end: in deterministic mode two (the
# exponents' agreement, then the int64 sums; a third on the rare NaN/inf path), plus one for
# the tail. src/dist/comm.c holds at most 256 ops, so a model of 130 dense layers (any
# bucket_mb below about a layer's bytes) ended in an assertion and MPI_Abort at its first
# step: "more than 256 reductions (4096 requests) in flight".
# Expected: it trains (buckets of several layers when there are too many), its checkpoint
# byte-identical to 1 rank's (deterministic mode), sharded or not; in float mode (one op a
# bucket, so 255 layers) as 1 rank within float rounding.
# Usage: adv_shard_many_layers.sh SEQTRAIN BUILD_DIR MPIEXEC (as every e2e test); exit 0 ok,
# 1 failure.
source "$(dirname "$0")/lib/common.sh"
h5cmp() { "$ST_PY" "$ST_HERE/lib/h5cmp.py" "$@"; }
"$ST_SYNTH" --task sum --out sum.h5 --train 120 --test 10 --steps 6 --features 5 --seed 25 \
  >/dev/null
# deep N > FILE: an lstm, N dense layers of 2 units, the head
deep() {
  printf '[data]\npath = sum.h5\nvalidation_split = 0\n'
  printf '[train]\nepochs = 1\nbatch_size = 32\noptimizer = sgd\nlearning_rate = 0.01\n'
  printf 'loss = mse\nseed = 3\n[checkpoint]\ndir = runs/x\nkeep = 0\n[lstm]\nunits = 3\n'
  for _ in $(seq "$1"); do printf '[dense]\nunits = 2\nactivation = tanh\n'; done
  printf '[dense]\nunits = 1\n'
}
deep 140 >deep.ini
deep 260 >deeper.ini

run_np 1 train deep.ini --set checkpoint.dir=runs/d1 --quiet || fail "1 rank"
for s in true false; do
  run_np 2 train deep.ini --set train.overlap=true --set train.bucket_mb=1e-9 \
    --set train.shard_optimizer=$s --set checkpoint.dir=runs/d2-$s --quiet >out.txt 2>&1 ||
    fail "2 ranks, 142 layers, shard_optimizer=$s: $(grep -m1 -E 'error|comm.c' out.txt)"
  h5cmp runs/d1/epoch-0001.h5 runs/d2-$s/epoch-0001.h5 ||
    fail "2 ranks, 142 layers, shard_optimizer=$s: not byte-identical to 1 rank"
  echo "ok deterministic, 142 layers, overlap, shard_optimizer=$s: as 1 rank"
done
run_np 1 train deeper.ini --set train.deterministic=false --set checkpoint.dir=runs/f1 --quiet ||
  fail "float: 1 rank"
run_np 2 train deeper.ini --set train.deterministic=false --set train.overlap=true \
  --set train.bucket_mb=1e-9 --set checkpoint.dir=runs/f2 --quiet >out.txt 2>&1 ||
  fail "float: 2 ranks, 262 layers: $(grep -m1 -E 'error|comm.c' out.txt)"
compare runs/f1/epoch-0001.h5 runs/f2/epoch-0001.h5 rel=1e-4 ||
  fail "float: 2 ranks, 262 layers: not as 1 rank within float rounding"
echo "ok float, 262 layers, overlap: as 1 rank within float rounding"
echo "adv_shard_many_layers: ok"
