# An LSTM learns a task that only order can solve, under mpiexec -n 2, and evaluate / predict
# report on the test split: the issue's ">= 95% test accuracy in under a minute".
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 4000 --test 1000 --steps 20 --padding post --seed 3 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
start=$(date +%s)
run_np 2 train cfg.ini | tee train.log
grep -q "Epoch 6/6 - loss" train.log || fail "no epoch line"
run_np 2 evaluate --checkpoint runs/order --data order.h5 --split test | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
echo "test accuracy $acc in $(( $(date +%s) - start )) s"
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.95 else 1)" || fail "accuracy $acc < 0.95"
# predict writes probabilities for every test row, in row order
run_np 3 predict --checkpoint runs/order --data order.h5 --split test --out pred.h5
"$ST_PY" - <<'PY'
import h5py, numpy as np
p = h5py.File("pred.h5", "r")["predictions"][()]
y = h5py.File("order.h5", "r")["test/y"][()]
assert p.shape == (1000, 1), p.shape
assert ((p >= 0) & (p <= 1)).all()
acc = float(((p[:, 0] > 0.5) == (y == 1)).mean())
assert acc >= 0.95, acc
print("predict accuracy", acc)
PY
