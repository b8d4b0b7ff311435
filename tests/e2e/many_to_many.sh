# Many-to-many: an LSTM with return_sequences and a dense head at every step learns the
# copy-shift task (y_t = x_{t-1}, rows of random length padded 'post') on 2 ranks, with the
# loss and accuracy taken per REAL step; evaluate and predict report per step, and predict
# writes (N, T, K).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --task copy-shift --out copy.h5 --train 3000 --test 300 --steps 12 --min-len 4 \
  --vocab 12 --padding post --seed 3 >/dev/null
cp "$ST_HERE/lib/copy_lstm.ini" cfg.ini
run_np 2 train cfg.ini | tee train.log
grep -q "Epoch 6/6 - loss" train.log || fail "no epoch line"
run_np 2 evaluate --checkpoint runs/copy --data copy.h5 --split test | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.95 else 1)" || fail "accuracy $acc < 0.95"
run_np 3 predict --checkpoint runs/copy --data copy.h5 --split test --out pred.h5
"$ST_PY" - "$acc" <<'PY'
import sys, h5py, numpy as np
p = h5py.File("pred.h5", "r")["predictions"][()]
f = h5py.File("copy.h5", "r")
x, y = f["test/x"][()], f["test/y"][()]
assert p.shape == (300, 12, 12), p.shape
assert np.allclose(p.sum(-1), 1, atol=1e-5)
real = x != 0
acc = float((p.argmax(-1) == y)[real].mean())
# the same per-step accuracy as evaluate (which counts only real steps)
assert abs(acc - float(sys.argv[1])) < 1e-3, (acc, sys.argv[1])
print("predict per-step accuracy", acc)
PY
# Labels per step with a head that returns vectors: one clear line, exit 1.
set +e
run_np 2 train cfg.ini --set lstm.return_sequences=false --quiet 2>err.log
rc=$?
set -e
[ $rc -eq 1 ] || fail "exit $rc for a vector head on per-step labels"
grep -q "return_sequences = true" err.log || fail "message: $(cat err.log)"
