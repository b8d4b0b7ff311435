# Deterministic training on more than one thread per rank: with [train] deterministic = true
# and OPENBLAS_NUM_THREADS=2, the rank's threads run the pool of src/core/par.c (the rows of the
# row-wise products, core/rowgemm.c; the blocks of the weight gradients, layers/grad.c) while
# OpenBLAS stays on one thread. Every checkpoint written at 1 rank x 2 threads, 2 ranks x 2 and
# 3 ranks x 1 must be byte-identical (tests/e2e/lib/h5cmp.py) to the 1 rank x 1 thread run's,
# and the runs with 2 threads must say they use them (the INFO line of src/train/step.c).
#
# The configs of the determinism test (tests/e2e/lib/det_*.ini), widened (64-wide embeddings,
# 64 units, batches of 61 rows in blocks of 4) so that the products pass the sizes above which
# the pool shares them out (2^16 multiply-adds, 2 tiles of rows, more than one block):
#   det_stack  stacked LSTMs with dropouts, batch_norm, adam; step checkpoints; the first LSTM
#              has 256 units, so its recurrent products (1 MiB of packed weights) are shared
#              out by column panels, the others by rows (core/rowgemm.c)
#   det_bigru  bidirectional GRU (concat), Luong attention, rmsprop
#   det_birnn  bidirectional simple_rnn (sum), Bahdanau attention, softmax head, sgd
#   det_m2m    many-to-many GRU + LSTM, bucket_by_length; step checkpoints
# 61 rows are 16 blocks: 1 rank shares 16 blocks over 2 threads, 2 ranks 8 each, 3 ranks 6/5/5.
#
# Arguments: those of every e2e test (tests/e2e/lib/common.sh). Exit status: 0 all identical,
# 1 a difference or a failed run, 77 (skipped) where fewer than 2 cores are available (OpenBLAS
# then reports 1 thread and there is no pool to test).
source "$(dirname "$0")/lib/common.sh"

[ "$(nproc)" -ge 2 ] || { echo "skipped: $(nproc) core (2 threads need 2)"; exit 77; }

"$ST_SYNTH" --out det_order_pre.h5 --train 480 --test 10 --steps 10 --min-len 4 --seed 21 >/dev/null
"$ST_SYNTH" --out det_order_post.h5 --train 430 --test 10 --steps 10 --min-len 4 --padding post \
  --seed 22 >/dev/null
"$ST_SYNTH" --task tokens --out det_tokens.h5 --train 400 --test 10 --steps 9 --min-len 3 \
  --vocab 16 --classes 3 --padding pre --seed 23 >/dev/null
"$ST_SYNTH" --task copy-shift --out det_copy.h5 --train 500 --test 10 --steps 12 --min-len 3 \
  --vocab 10 --padding post --seed 24 >/dev/null

bad=()

# config WIDEN...: trains det_<config> at 1x1, 1x2, 2x2 and 3x1 (ranks x threads), compares.
# Unbound ranks: Open MPI binds a rank to one core at -n 1 and 2, and OpenBLAS then reports
# one thread, which would test nothing.
run_config() {
  local c=$1 t out
  shift
  cp "$ST_HERE/lib/det_$c.ini" "$c.ini"
  for t in 1x1 1x2 2x2 3x1; do
    out=out-$c-$t.txt
    OMPI_MCA_hwloc_base_binding_policy=none OPENBLAS_NUM_THREADS=${t#*x} \
      run_np ${t%x*} train "$c.ini" --set train.deterministic=true --set train.block_rows=4 \
      --set train.batch_size=61 --set train.epochs=2 --set embedding.output_dim=64 "$@" \
      --set checkpoint.dir=runs/$c-$t >"$out" 2>&1 ||
      { cat "$out"; fail "$c: training at $t failed"; }
    # the thread count is said, and true
    if [ "${t#*x}" = 2 ]; then
      grep -q "deterministic: 2 threads per rank over blocks and rows; OpenBLAS on 1" "$out" ||
        { cat "$out"; fail "$c at $t: no line saying 2 threads per rank"; }
    elif grep -q "threads per rank" "$out"; then
      cat "$out"
      fail "$c at $t: a threads line with 1 thread"
    fi
  done
  [ -f runs/$c-1x1/epoch-0002.h5 ] || fail "$c: no epoch-0002.h5"
  for t in 1x2 2x2 3x1; do same_ckpts "$c 1x1 vs $t" runs/$c-1x1 runs/$c-$t; done
}

run_config stack --set lstm_1.units=256 --set lstm_2.units=64
run_config bigru --set bidirectional_1.units=64 --set attention_1.units=64
run_config birnn --set bidirectional_1.units=64 --set attention_1.units=64
run_config m2m --set gru_1.units=64 --set lstm_1.units=64

# No thread count given and more ranks than a share of the cores each, unbound: each rank takes
# its share of the node's cores (at least 1), not a thread per core (src/core/par.c, st_par_fair).
n=$(nproc)
share=$((n / 4 > 1 ? n / 4 : 1))
env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS -u GOTO_NUM_THREADS \
  OMPI_MCA_hwloc_base_binding_policy=none timeout 300 "$ST_MPIEXEC" --oversubscribe \
  --allow-run-as-root -n 4 "$ST_BIN" train stack.ini --benchmark 1 --warmup 0 >fair.txt 2>&1 ||
  { cat fair.txt; fail "4 unbound ranks without a thread count"; }
got=$("$ST_PY" -c 'import json,sys
print([json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("BENCH ")][-1]["threads"])' fair.txt)
[ "$got" = "$share" ] || fail "4 unbound ranks on $n cores: $got threads per rank, want $share"
echo "ok 4 unbound ranks on $n cores without a thread count: $got thread(s) each"

if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAIL: %s\n' "${bad[@]}" >&2
  fail "${#bad[@]} comparisons not byte-identical"
fi
echo "det_threads: ok"
