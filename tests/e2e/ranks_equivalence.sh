# The same global batch on 1, 2, 3 and 4 ranks gives the same weights: data parallelism must not
# change the math, only its speed.
#  1. [train] deterministic = true: the order tutorial's config (order_lstm.ini, automatic
#     block_rows) gives BYTE-identical checkpoints (tests/e2e/lib/h5cmp.py: weights, optimizer
#     state, history but its timing columns, train state) at 1, 2, 3 and 4 ranks.
#     N = 1000 rows with batch 64 makes the last batch uneven (40 rows over 3 ranks).
#     tests/e2e/determinism.sh covers every layer and option this way.
#  2. deterministic = false (the plain float reduction, whose sums depend on the split): the
#     same within 1e-5 relative per tensor, with SGD + momentum, 1 vs 3 ranks.
# ST_DET_SET / ST_NONDET_SET (defaults "--set train.deterministic=true" / "=false") select the
# modes; "" runs the build's default (to check the mechanics on a build without the key).
source "$(dirname "$0")/lib/common.sh"
DET=(${ST_DET_SET---set train.deterministic=true})
NONDET=(${ST_NONDET_SET---set train.deterministic=false})
"$ST_SYNTH" --out order.h5 --train 1000 --test 10 --steps 12 --seed 5 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
for np in 1 2 3 4; do
  run_np $np train cfg.ini "${DET[@]}" --set train.epochs=2 --set data.validation_split=0 \
    --set checkpoint.dir=runs/np$np --quiet
done
for np in 2 3 4; do
  "$ST_PY" "$ST_HERE/lib/h5cmp.py" runs/np1/epoch-0002.h5 runs/np$np/epoch-0002.h5 ||
    fail "deterministic: 1 vs $np ranks not byte-identical (ST_DET_SET='${DET[*]}')"
done

for np in 1 3; do
  run_np $np train cfg.ini "${NONDET[@]}" --set train.epochs=1 --set train.optimizer=sgd \
    --set train.momentum=0.9 --set checkpoint.dir=runs/sgd$np --quiet
done
compare runs/sgd1/epoch-0001.h5 runs/sgd3/epoch-0001.h5 rel=1e-5 || fail "non-deterministic sgd 1 vs 3 ranks"
