# The attention-map callback and the plotting tools: `[callbacks] attention_dump = 3` writes
# attention-epoch-NNNN.h5 (/attention (3, T), each row a distribution over the real steps)
# after every epoch; plot_history.py, plot_confusion.py and plot_attention.py (Agg backend)
# render non-empty PNGs from history.csv, evaluate's JSON and those files.
source "$(dirname "$0")/lib/common.sh"
"$ST_PY" -c "import matplotlib" 2>/dev/null || fail "python3-matplotlib is missing (tools/setup-deps.sh --python)"
TOOLS=$(cd "$ST_HERE/../../tools" && pwd)
"$ST_SYNTH" --out order.h5 --train 600 --test 50 --steps 16 --padding post --seed 4 >/dev/null
sed -e 's/^units = 32$/units = 16\nreturn_sequences = true\n\n[attention]\nscore = luong\nunits = 16/' \
    "$ST_HERE/lib/order_lstm.ini" >att.ini
printf '\n[callbacks]\nattention_dump = 3\n' >>att.ini
run_np 2 train att.ini --set train.epochs=3 --quiet
run_np 2 evaluate --checkpoint runs/order --data order.h5 --json report.json --quiet
"$ST_PY" - <<'PY'
import h5py, numpy as np
for e in (1, 2, 3):
    a = h5py.File(f"runs/order/attention-epoch-{e:04d}.h5", "r")["attention"][()]
    assert a.shape == (3, 16), a.shape
    assert np.allclose(a.sum(1), 1, atol=1e-5), a.sum(1)
PY
"$ST_PY" "$TOOLS/plot_history.py" runs/order/history.csv hist.png >/dev/null
"$ST_PY" "$TOOLS/plot_confusion.py" report.json cm.png >/dev/null
"$ST_PY" "$TOOLS/plot_attention.py" runs/order/attention-epoch-000*.h5 --out att \
  --data order.h5 --split train --row0 540 >/dev/null
for f in hist.png cm.png att/attention-epoch-0003-sample-2.png att/sample-0-epochs.png; do
  [ -s "$f" ] || fail "$f missing or empty"
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f is not a PNG"
done
"$ST_PY" -c "
import matplotlib.image as im
a = im.imread('hist.png'); assert a.shape[0] > 100 and a.std() > 0.01, 'blank history plot'"
echo "plots ok"
