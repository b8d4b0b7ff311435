# Sizes a user chose that cannot fit are refused BEFORE allocation, with ONE line naming the
# key (or the data) and the bytes needed, exit 1 (not error.c's internal exit 2, not the OOM
# killer); a batch_size larger than the data trains with buffers for the rows that exist;
# evaluate refuses an empty split and escapes class names from the dataset.
# Every run is under `timeout` and `ulimit -v` (8 GB), so a regression fails instead of
# exhausting the machine: nothing here allocates more than a few MB. AddressSanitizer reserves
# terabytes of address space for its shadow and cannot run under `ulimit -v`: a sanitizer
# build runs without it (the up-front check against physical memory still guards) and skips
# the one case that needs it.
source "$(dirname "$0")/lib/common.sh"
asan=0
grep -q '^SEQTRAIN_SANITIZE:BOOL=ON' "$ST_BUILD/CMakeCache.txt" 2>/dev/null && asan=1
[ $asan -eq 1 ] || ulimit -v 8000000
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
short="--set train.epochs=1 --set checkpoint.dir=runs/lim --quiet"

# expect_error (common.sh): exit status 1 for every case here.
ST_EXPECT_RC=1

# Hostile shapes, as chunked datasets never written: the files stay a few KB.
"$ST_PY" - <<'PY'
import h5py
def tokens(path, n, t):
    with h5py.File(path, "w") as f:
        f.attrs["vocab_size"] = 20; f.attrs["num_classes"] = 2
        f.create_dataset("train/x", shape=(n, t), dtype="int32", chunks=(min(n, 4096), min(t, 4096)))
        f.create_dataset("train/y", shape=(n,), dtype="int32", chunks=(min(n, 4096),))
tokens("long.h5", 64, 10**6)   # T = 10^6
tokens("rows.h5", 2**31, 12)   # a 2^31-row split
with h5py.File("wide.h5", "w") as f:  # (N, 65537, 65537) floats: T*F overflows an int
    f.attrs["num_classes"] = 2
    f.create_dataset("train/x", shape=(4, 65537, 65537), dtype="float32", chunks=(1, 1, 65537))
    f.create_dataset("train/y", shape=(4,), dtype="int32")
PY
printf '[data]\npath = wide.h5\n[train]\nloss = binary_crossentropy\n[flatten]\n[dense]\nunits = 1\nactivation = sigmoid\n' >flat.ini

expect_error units "--set lstm_1.units=100000 (layer lstm_1): the run needs [0-9]* bytes (.*parameters" \
  run_np 2 train cfg.ini --set lstm_1.units=100000 $short
sed 's/^units = 32$/units = 100000/' cfg.ini >big.ini
expect_error units-line "big.ini:26: \[lstm\] units = 100000 (layer lstm_1): the run needs [0-9]* bytes" \
  run_np 2 train big.ini $short
expect_error seq-len "T = 1000000 steps.*the run needs [0-9]* bytes (.*activations" \
  run_np 2 train cfg.ini --set data.path=long.h5 $short
expect_error rows "2147483648 training rows: the run needs [0-9]* bytes (.*per-row buffers" \
  run_np 2 train cfg.ini --set data.path=rows.h5 --set data.validation_split=0 $short
# The dataset reader may refuse such rows first (a row of 2^32 values); either way one line
# names the 4295098369 values, never a model built on a wrapped int (the model's own check of
# flatten is in test_model's too_large_refused_up_front).
expect_error flatten-overflow "4295098369 \(features\|values\)" run_np 1 train flat.ini --quiet
expect_error flatten-summary "4295098369 \(features\|values\)" run_np 1 summary flat.ini
# A model that fits the machine but not the process's limit: ulimit -v is what is named.
[ $asan -eq 1 ] && echo "skipped ulimit (sanitizer build)" || expect_error ulimit "units=8192 (layer lstm_1): the run needs [0-9]* bytes.*(ulimit -v)" \
  bash -c 'ulimit -v 2500000; exec timeout 120 "$@"' _ "$ST_BIN" train cfg.ini --set lstm_1.units=8192 $short

# batch_size far beyond the data: buffers for min(batch_size, rows); it used to ask for 1.3 TB.
timeout 120 "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n 2 "$ST_BIN" train cfg.ini \
  --set train.batch_size=2147483647 $short || fail "batch_size > rows: exit $?"
echo "ok batch-larger-than-data"
run_np 2 evaluate --checkpoint runs/lim --data order.h5 --quiet >/dev/null \
  || fail "evaluate after batch_size > rows"

# evaluate on an empty split: one line, exit 1 (it printed loss 0, accuracy 0, exit 0).
"$ST_PY" - <<'PY'
import h5py, shutil
shutil.copy("order.h5", "empty.h5")
with h5py.File("empty.h5", "r+") as f:
    t = f["test/x"].shape[1]
    del f["test/x"], f["test/y"]
    f.create_dataset("test/x", shape=(0, t), dtype="int32")
    f.create_dataset("test/y", shape=(0,), dtype="int32")
PY
expect_error empty-split "empty.h5: /test has no rows" \
  run_np 2 evaluate --checkpoint runs/lim --data empty.h5 --split test

# Class names with terminal escape sequences are printed escaped, never raw.
"$ST_PY" - <<'PY'
import h5py, shutil
shutil.copy("order.h5", "esc.h5")
with h5py.File("esc.h5", "r+") as f:
    f.create_dataset("classes", data=["\x1b]0;pwned\x07", "ok\x1b[2J\u202e"],
                     dtype=h5py.string_dtype())
PY
run_np 1 evaluate --checkpoint runs/lim --data esc.h5 >eval.txt 2>&1 || fail "evaluate esc.h5"
! grep -q $'\x1b' eval.txt || fail "an ESC byte reached the terminal"
grep -qF '\x1b]0;pwned\x07' eval.txt || { cat eval.txt; fail "class 0 not shown escaped"; }
grep -qF 'ok\x1b[2J\u{202e}' eval.txt || { cat eval.txt; fail "class 1 not shown escaped"; }
echo "ok class-names-escaped"
echo "all limits ok"
