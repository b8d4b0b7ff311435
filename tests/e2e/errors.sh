# Bad input gets ONE clear line naming the file/line/dataset and the value, a non-zero exit on
# every rank (no hang: the test has a timeout), and leaves earlier checkpoints intact.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini

# expect_error (common.sh): any non-zero status (a bad command line exits 2).
sed 's/^units = 32$/unitz = 32/' cfg.ini >bad_key.ini
expect_error unknown-key "bad_key.ini:26: \[lstm\] unknown key 'unitz'" run_np 2 train bad_key.ini
sed 's/^batch_size = 64$/batch_size = -3/' cfg.ini >bad_val.ini
expect_error bad-value "bad_val.ini:9: .*batch_size = -3" run_np 2 train bad_val.ini
printf '[lstmm]\nunits = 3\n' | cat cfg.ini - >bad_sec.ini
expect_error unknown-section "bad_sec.ini:31: unknown section \[lstmm\]" run_np 2 train bad_sec.ini
expect_error bad-set "train.epochz" run_np 2 train cfg.ini --set train.epochz=3
expect_error missing-config "nope.ini" run_np 2 train nope.ini
expect_error missing-data "missing.h5" run_np 2 train cfg.ini --set data.path=missing.h5
# a layer that cannot follow the previous one: an LSTM after vectors
printf '[lstm]\nunits = 4\n' | cat cfg.ini - >bad_stack.ini
expect_error bad-stack "bad_stack.ini:31: \[lstm\]" run_np 2 train bad_stack.ini
expect_error unknown-command "unknown command 'trian'" run_np 2 trian cfg.ini
expect_error loss-vs-head "num_classes" run_np 2 train cfg.ini --set dense_1.units=3 \
  --set train.loss=sparse_categorical_crossentropy --set dense_1.activation=softmax

# A token id out of range in row 250: found by the rank that reads it, reported with the row,
# every rank stops; the checkpoint written before stays intact and loadable. The file is
# damaged in place after the first epoch (a resume refuses another data.path).
cp order.h5 bad.h5
run_np 2 train cfg.ini --set data.path=bad.h5 --set train.epochs=1 --set checkpoint.dir=runs/bad \
  --quiet
cp runs/bad/epoch-0001.h5 before.h5
"$ST_PY" - <<'PY'
import h5py
with h5py.File("bad.h5", "r+") as f:
    f["train/x"][250, 3] = 99
PY
expect_error bad-token "row 250.*99" run_np 3 train cfg.ini --set data.path=bad.h5 \
  --set train.epochs=2 --set checkpoint.dir=runs/bad --resume runs/bad
cmp -s before.h5 runs/bad/epoch-0001.h5 || fail "the previous checkpoint changed"
! ls runs/bad/*.tmp 2>/dev/null || fail "a .tmp file was left behind"
run_np 1 evaluate --checkpoint runs/bad --data order.h5 --split test >/dev/null \
  || fail "the previous checkpoint is not loadable"
# A /valid split that is empty, or whose labels have another shape than the training split's
# (validation reads into the training batch: per-step labels would overrun it).
"$ST_PY" - <<'PY'
import h5py, numpy as np, shutil
for name, rows, per_step in (("valid_empty.h5", 0, False), ("valid_steps.h5", 10, True)):
    shutil.copy("order.h5", name)
    with h5py.File(name, "r+") as f:
        T = f["train/x"].shape[1]
        f.create_dataset("valid/x", data=np.ones((rows, T), dtype="int32"))
        y = np.zeros((rows, T) if per_step else (rows,), dtype="int32")
        f.create_dataset("valid/y", data=y)
PY
expect_error valid-empty "valid_empty.h5: /valid has no rows" run_np 2 train cfg.ini \
  --set data.path=valid_empty.h5 --set data.validation_split=0
expect_error valid-labels "valid_steps.h5: /valid/y has one label per step but /train/y has one label per row" \
  run_np 2 train cfg.ini --set data.path=valid_steps.h5 --set data.validation_split=0
echo "all error cases ok"
