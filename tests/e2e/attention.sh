# Luong attention after an LSTM learns the order task on 2 ranks, and `predict --attention`
# writes /attention (K, T): each row a distribution over the REAL steps (0 on padding), the
# same whether predicted on 1 or 3 ranks.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 2000 --test 300 --steps 16 --padding post --seed 4 >/dev/null
sed -e 's/^units = 32$/units = 16\nreturn_sequences = true\n\n[attention]\nscore = luong\nunits = 16/' \
    "$ST_HERE/lib/order_lstm.ini" >att.ini
grep -q "^\[attention\]" att.ini || fail "config edit"
run_np 2 train att.ini --set train.epochs=5 --quiet
run_np 2 evaluate --checkpoint runs/order --data order.h5 | tee eval.log
acc=$(sed -n 's/.*accuracy: \([0-9.]*\).*/\1/p' eval.log)
"$ST_PY" -c "import sys; sys.exit(0 if float('$acc') >= 0.9 else 1)" || fail "accuracy $acc < 0.9"
run_np 3 predict --checkpoint runs/order --data order.h5 --out p3.h5 --attention a3.h5 \
  --attention-rows 40 >/dev/null
run_np 1 predict --checkpoint runs/order --data order.h5 --out p1.h5 --attention a1.h5 \
  --attention-rows 40 >/dev/null
"$ST_PY" - <<'PY'
import h5py, numpy as np
a3 = h5py.File("a3.h5", "r")["attention"][()]
a1 = h5py.File("a1.h5", "r")["attention"][()]
x = h5py.File("order.h5", "r")["test/x"][:40]
assert a3.shape == (40, 16), a3.shape
assert np.allclose(a3, a1, atol=1e-6), np.abs(a3 - a1).max()
real = x != 0
assert np.all(a3[~real] == 0), "weight on padding"
assert np.allclose(a3.sum(1), 1, atol=1e-5), a3.sum(1)
print("attention rows ok; mean max weight", float(a3.max(1).mean()))
PY
