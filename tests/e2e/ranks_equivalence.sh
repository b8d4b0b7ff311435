# The same global batch on 1, 2, 3 and 4 ranks gives the same weights (within 1e-5 relative per
# tensor): data parallelism must not change the math, only its speed. N = 1000 rows with batch
# 64 also makes the last batch uneven (40 rows over 3 ranks).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 1000 --test 10 --steps 12 --seed 5 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
for np in 1 2 3 4; do
  run_np $np train cfg.ini --set train.epochs=2 --set data.validation_split=0 \
    --set checkpoint.dir=runs/np$np --quiet
done
compare runs/np1/epoch-0002.h5 runs/np2/epoch-0002.h5 rel=1e-5 || fail "1 vs 2 ranks"
compare runs/np1/epoch-0002.h5 runs/np3/epoch-0002.h5 rel=1e-5 || fail "1 vs 3 ranks"
compare runs/np1/epoch-0002.h5 runs/np4/epoch-0002.h5 rel=1e-5 || fail "1 vs 4 ranks"
# Same with SGD + momentum and a SimpleRNN stack with post padding handled by the mask.
for np in 1 3; do
  run_np $np train cfg.ini --set train.epochs=1 --set train.optimizer=sgd \
    --set train.momentum=0.9 --set checkpoint.dir=runs/sgd$np --quiet
done
compare runs/sgd1/epoch-0001.h5 runs/sgd3/epoch-0001.h5 rel=1e-5 || fail "sgd 1 vs 3 ranks"
