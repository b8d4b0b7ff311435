# `seqtrain evaluate --json`: the confusion matrix, per-class report and metrics (accuracy,
# auc, precision, recall) agree with the same numbers computed in numpy from `predict`'s
# probabilities (AUC by Keras's 200-threshold definition), class names come from /classes,
# and 1 and 2 ranks give the same counts. Progress output: plain epoch lines when stdout is a
# file, a bar redrawn with '\r' under a pseudo-terminal (script -qc).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 700 --test 203 --steps 12 --seed 7 >/dev/null
"$ST_PY" -c "
import h5py
with h5py.File('order.h5', 'a') as f:
    f.create_dataset('classes', data=['before', 'after'], dtype=h5py.string_dtype())"
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
run_np 2 train cfg.ini --set train.epochs=3 --set "train.metrics=accuracy,auc,precision,recall" \
  >train.log
grep -q $'\r' train.log && fail "control characters in a file"
grep -q "^Epoch 3/3 - loss: [0-9.]* - accuracy: [0-9.]* - auc: [0-9.]* - precision: .* - val_recall: [0-9.]* - [0-9]* samples/s" train.log \
  || { cat train.log; fail "epoch line"; }
run_np 2 evaluate --checkpoint runs/order --data order.h5 --json r2.json >eval.log
grep -q "^order.h5 /test: loss: [0-9.]* - accuracy: [0-9.]* - auc: " eval.log || fail "eval line"
grep -q "weighted avg" eval.log || fail "no report"
grep -q "before" eval.log || fail "class names"
run_np 1 evaluate --checkpoint runs/order --data order.h5 --json r1.json --quiet
run_np 1 predict --checkpoint runs/order --data order.h5 --out p.h5 --quiet
"$ST_PY" - <<'PY'
import json, h5py, numpy as np
r2, r1 = json.load(open("r2.json")), json.load(open("r1.json"))
p = h5py.File("p.h5", "r")["predictions"][()][:, 0].astype(np.float64)
y = h5py.File("order.h5", "r")["test/y"][()]
pred = (p > 0.5).astype(int)
cm = np.zeros((2, 2))
for t, q in zip(y, pred): cm[t, q] += 1
assert r2["classes"] == ["before", "after"], r2["classes"]
assert np.array_equal(np.array(r2["confusion_matrix"]), cm), (r2["confusion_matrix"], cm)
assert r1["confusion_matrix"] == r2["confusion_matrix"] and r1["count"] == r2["count"] == 203
assert abs(r1["loss"] - r2["loss"]) < 1e-6
tp, fp, fn = cm[1, 1], cm[0, 1], cm[1, 0]
m = r2["metrics"]
assert abs(m["precision"] - tp / (tp + fp)) < 1e-9 and abs(m["recall"] - tp / (tp + fn)) < 1e-9
assert abs(r2["accuracy"] - np.trace(cm) / cm.sum()) < 1e-9
P = np.diag(cm) / cm.sum(0); R = np.diag(cm) / cm.sum(1); F = 2 * P * R / (P + R)
for c in range(2):
    pc = r2["per_class"][c]
    assert abs(pc["precision"] - P[c]) < 1e-9 and abs(pc["recall"] - R[c]) < 1e-9
    assert abs(pc["f1"] - F[c]) < 1e-9 and pc["support"] == cm[c].sum()
assert abs(r2["macro_avg"]["f1"] - F.mean()) < 1e-9
w = cm.sum(1) / cm.sum()
assert abs(r2["weighted_avg"]["precision"] - (P * w).sum()) < 1e-9
th = np.concatenate([[-1e-7], np.arange(1, 199) / 199.0, [1 + 1e-7]])
TP = np.array([((p > t) & (y == 1)).sum() for t in th]); FP = np.array([((p > t) & (y == 0)).sum() for t in th])
tpr, fpr = TP / (y == 1).sum(), FP / (y == 0).sum()
auc = ((fpr[:-1] - fpr[1:]) * (tpr[:-1] + tpr[1:]) / 2).sum()
assert abs(m["auc"] - auc) < 2e-3, (m["auc"], auc)
assert abs(r1["metrics"]["auc"] - m["auc"]) < 1e-12
print("report ok: accuracy", r2["accuracy"], "auc", m["auc"])
PY
# A pseudo-terminal: the bar, redrawn in place, and the final state of every epoch.
command -v script >/dev/null || fail "script (bsdutils) is missing"
script -qec "$ST_MPIEXEC --oversubscribe --allow-run-as-root -n 1 $ST_BIN train cfg.ini \
  --set train.epochs=2 --set checkpoint.dir=runs/tty" /dev/null >tty.log
grep -q $'\r' tty.log || fail "no carriage return under a terminal"
grep -q "10/10 \[==============================\] - .*ms/step - loss: .* - val_accuracy: " tty.log \
  || { cat -A tty.log | head; fail "no final bar"; }
grep -q "^Epoch 2/2"$'\r'"\?$" tty.log || fail "no Epoch header"
# --quiet prints nothing on stdout; --verbose adds step lines to a file
run_np 1 train cfg.ini --set train.epochs=1 --set checkpoint.dir=runs/q --quiet >q.log
[ ! -s q.log ] || fail "--quiet printed: $(cat q.log)"
run_np 1 train cfg.ini --set train.epochs=1 --set checkpoint.dir=runs/v --verbose \
  --set train.log_every_steps=4 >v.log
grep -q "^Epoch 1/1 - step 8/10 - loss: " v.log || { cat v.log; fail "--verbose step lines"; }
echo "report and progress ok"
