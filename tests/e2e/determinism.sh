# Bitwise determinism across rank counts (issue 12): with [train] deterministic = true, every
# config below trains at 1, 2, 3 and 4 ranks, and EVERY checkpoint it writes (each epoch's,
# and the mid-epoch step checkpoints of det_stack and det_m2m) is byte-identical to the 1-rank
# run's: weights, optimizer state, history (but its two timing columns), train state, callbacks
# state (tests/e2e/lib/h5cmp.py; no tolerance). Then 2 OpenBLAS threads per rank give the same
# bytes as 1, on shapes large enough that OpenBLAS does use the threads.
#
# The configs (tests/e2e/lib/det_*.ini) cover the tutorials' layers and options:
#   det_stack   stacked LSTMs, dropout + recurrent_dropout, batch_norm, a dropout layer,
#               'pre' padding masked, adam, clipnorm, auc metric
#   det_bigru   bidirectional GRU (concat), Luong attention, 'post' padding masked, rmsprop
#               with momentum, global_clipnorm, warm-up, reduce_lr_on_plateau
#   det_birnn   frozen embedding (trainable = false), bidirectional simple_rnn (sum), Bahdanau
#               attention, softmax head, sgd + Nesterov momentum, global_clipnorm
#   det_m2m     many-to-many (per-step labels), bucket_by_length, GRU + LSTM with dropouts,
#               sgd + momentum, clipnorm
#   det_float   float sequences into a simple_rnn, flatten, dense + batch_norm, adam
# Every global batch is 26 rows, which no rank count from 2 to 4 divides, and every epoch ends
# on a short batch (7 to 22 rows), so ranks own unequal shares. block_rows differs per config
# (4, auto, 3, 4, 7: blocks of 4,4,4,4,4,4,2 rows, 13 x 2, 8 x 3 + 2, ..., 7,7,7,5); the short
# batches of det_m2m (7 rows) and det_float (13) are 2 blocks, so at 3 and 4 ranks some ranks
# own no row of that step.
#
# ST_DET_SET (default "--set train.deterministic=true") is what turns the mode on; set it to ""
# to check this script's mechanics on a build without the mode: then the 1-rank rerun must still
# match, and the cross-rank comparisons are expected to fail, each with one clear line.
source "$(dirname "$0")/lib/common.sh"
DET=(${ST_DET_SET---set train.deterministic=true})
# blocks N: the block_rows setting, only where the deterministic mode is on (the key is its).
blocks() { [ ${#DET[@]} -eq 0 ] || echo "--set train.block_rows=$1"; }

"$ST_SYNTH" --out det_order_pre.h5 --train 480 --test 10 --steps 10 --min-len 4 --seed 21 >/dev/null
"$ST_SYNTH" --out det_order_post.h5 --train 430 --test 10 --steps 10 --min-len 4 --padding post \
  --seed 22 >/dev/null
"$ST_SYNTH" --task tokens --out det_tokens.h5 --train 400 --test 10 --steps 9 --min-len 3 \
  --vocab 16 --classes 3 --padding pre --seed 23 >/dev/null
"$ST_SYNTH" --task copy-shift --out det_copy.h5 --train 500 --test 10 --steps 12 --min-len 3 \
  --vocab 10 --padding post --seed 24 >/dev/null
"$ST_SYNTH" --task sum --out det_sum.h5 --train 420 --test 10 --steps 8 --features 5 \
  --seed 25 >/dev/null

bad=()

# config BLOCK_ROWS: trains det_<config> at 1 (twice), 2, 3 and 4 ranks and compares.
run_config() {
  local c=$1 br=$2 np
  cp "$ST_HERE/lib/det_$c.ini" "$c.ini"
  for np in 1 2 3 4; do
    run_np $np train "$c.ini" "${DET[@]}" $(blocks "$br") --set checkpoint.dir=runs/$c-$np \
      --quiet || fail "$c: training at $np ranks failed"
  done
  [ -f runs/$c-1/epoch-0002.h5 ] || fail "$c: no epoch-0002.h5"
  for np in 2 3 4; do same_ckpts "$c 1 vs $np ranks" runs/$c-1 runs/$c-$np; done
}

# The comparison itself can fail: a rerun at 1 rank matches, a different seed does not.
cp "$ST_HERE/lib/det_stack.ini" stack.ini
run_np 1 train stack.ini "${DET[@]}" $(blocks 4) --set checkpoint.dir=runs/stack-1b --quiet
run_np 1 train stack.ini "${DET[@]}" $(blocks 4) --set checkpoint.dir=runs/stack-seed \
  --set train.seed=8 --set train.epochs=1 --quiet
run_config stack 4
same_ckpts "stack 1 rank rerun" runs/stack-1 runs/stack-1b
! h5cmp runs/stack-1/epoch-0001.h5 runs/stack-seed/epoch-0001.h5 >cmp.txt ||
  fail "h5cmp found no difference between two seeds"
grep -q "NOT byte-identical: model_weights/" cmp.txt || fail "h5cmp's message: $(cat cmp.txt)"
# ... one last bit of an optimizer state or of a history value is a difference; the timing
# columns are not.
"$ST_PY" - <<'PY'
import shutil, h5py, numpy as np
for name, path in (("opt", "optimizer/m/lstm_1/kernel"), ("hist", "history/loss"),
                   ("time", "history/seconds")):
    shutil.copy("runs/stack-1/epoch-0002.h5", f"{name}.h5")
    with h5py.File(f"{name}.h5", "r+") as f:
        v = f[path][()]
        b = v.reshape(-1).view(np.uint32 if v.dtype == np.float32 else np.uint64)
        b[0] ^= b.dtype.type(1)
        f[path][...] = v
PY
! h5cmp runs/stack-1/epoch-0002.h5 opt.h5 >cmp.txt || fail "h5cmp: a flipped optimizer bit passed"
grep -q "optimizer/m/lstm_1/kernel float32\[8, 48\]: 1 of 384 elements differ" cmp.txt ||
  fail "h5cmp's message: $(cat cmp.txt)"
! h5cmp runs/stack-1/epoch-0002.h5 hist.h5 >/dev/null || fail "h5cmp: a flipped history bit passed"
h5cmp runs/stack-1/epoch-0002.h5 time.h5 >/dev/null || fail "h5cmp: history/seconds compared"

run_config bigru 0
run_config birnn 3
run_config m2m 4
run_config float 7

# OpenBLAS threads: LSTMs of 64 units on 64-wide embeddings, blocks of 13 rows, so that the
# products (all steps' input projection (260 x 64 x 256), the weight gradients of a block
# (64 x 256 over 130 rows)) pass the size above which st_sgemm lets OpenBLAS thread
# (src/core/blas.c: 2^20 multiply-adds).
wide=(--set embedding.output_dim=64 --set lstm_1.units=64 --set lstm_2.units=64
      --set train.epochs=2 --set checkpoint.every_steps=0 --quiet)
# Unbound ranks: Open MPI binds a rank to one core at -n 1 and 2, and OpenBLAS then keeps to one
# thread by itself, which would test nothing. Deterministic mode itself runs BLAS on one thread
# (and says so once): the bytes must not depend on the variable either way.
for t in 1x1 1x2 2x2 3x2; do
  OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=${t#*x} run_np ${t%x*} train stack.ini "${DET[@]}" $(blocks 13) \
    "${wide[@]}" --set checkpoint.dir=runs/wide-$t || fail "wide: training at $t failed"
done
same_ckpts "2 OpenBLAS threads, 1 rank" runs/wide-1x1 runs/wide-1x2
same_ckpts "2 OpenBLAS threads, 2 ranks" runs/wide-1x1 runs/wide-2x2
same_ckpts "2 OpenBLAS threads, 3 ranks" runs/wide-1x1 runs/wide-3x2

if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAIL: %s\n' "${bad[@]}" >&2
  fail "${#bad[@]} comparisons not byte-identical (ST_DET_SET='${DET[*]}')"
fi
echo "determinism: ok"
