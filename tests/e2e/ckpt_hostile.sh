# Checkpoints are data from a stranger: hostile train states and history sizes, flipped bytes,
# damaged files next to good ones, a second job on the same directory. Each gets the exact
# outcome: exit status, the one line (error or warning), files on disk unchanged, no hang (every
# run under a timeout). The files are made by tests/e2e/lib/ckpt_tamper.py (h5py).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
tamper() { "$ST_PY" "$ST_HERE/lib/ckpt_tamper.py" "$@"; }
# np N ARGS...: seqtrain on N ranks, under a timeout short enough to call a hang a hang.
np() { local n=$1; shift; timeout 60 "$ST_MPIEXEC" --oversubscribe --allow-run-as-root -n "$n" "$ST_BIN" "$@"; }
# 270 training rows, batch 64: 5 steps per epoch; step checkpoints at global steps 2, 4, 6, 8.
run_np 2 train cfg.ini --set train.epochs=2 --set checkpoint.dir=base --set checkpoint.keep=0 \
  --set checkpoint.every_steps=2 --quiet
ls base/epoch-0001.h5 base/epoch-0002.h5 base/step-00000004.h5 >/dev/null || fail "no checkpoints"
# Every dataset's crc32 is Python's zlib.crc32 of its bytes: checkable without seqtrain.
tamper crc base/epoch-0002.h5 || fail "crc32 attributes do not match zlib.crc32"

# expect NAME RC PATTERN CMD...: CMD exits RC (not a timeout, not a signal); with RC != 0 it
# prints exactly one "seqtrain: error:" line, matching PATTERN; with RC = 0, PATTERN must
# match stderr (a warning) unless it is empty.
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  set +e
  "$@" >out.txt 2>err.txt
  local rc=$?
  set -e
  [ $rc -ne 124 ] || fail "$name: hung"
  [ $rc -eq "$want" ] || { cat err.txt; fail "$name: exit status $rc, want $want"; }
  if [ "$want" -ne 0 ]; then
    local n; n=$(grep -c "seqtrain: error:" err.txt || true)
    [ "$n" -eq 1 ] || { cat err.txt; fail "$name: $n error lines, want 1"; }
  fi
  if [ -n "$pat" ]; then
    grep -q -- "$pat" err.txt || { cat err.txt; fail "$name: stderr does not match '$pat'"; }
  fi
  echo "ok $name: $(grep -m1 'seqtrain: error:' err.txt || grep -m1 warning: err.txt || echo '(no message)')"
}
# The md5 of every file under DIR, to prove nothing was touched.
snap() { (cd "$1" && find . -type f | sort | xargs md5sum); }
# resume_from NAME FILE RC PATTERN [RANKS]: train --resume FILE into a fresh checkpoint
# directory on RANKS ranks (1; 2 where every rank must agree); on failure nothing is created.
resume_from() {
  local name=$1 file=$2 rc=$3 pat=$4 ranks=${5:-1}
  rm -rf out
  expect "$name" "$rc" "$pat" np "$ranks" train cfg.ini --set train.epochs=3 \
    --set checkpoint.dir=out --resume "$file" --quiet
  if [ "$rc" -ne 0 ]; then [ ! -e out ] || fail "$name: the failed resume created out/"; fi
}

# ---- a train state that lies (the crc32 recomputed: only the range checks can catch it) ------
mkdir -p h && cp base/step-00000004.h5 h/neg_step.h5
tamper set h/neg_step.h5 /train_state/step_in_epoch -1
cp base/epoch-0001.h5 h/neg_epoch.h5 && tamper set h/neg_epoch.h5 /train_state/epoch -5
cp base/epoch-0001.h5 h/huge_epoch.h5
tamper set h/huge_epoch.h5 /train_state/epoch 4611686018427387904
cp base/step-00000008.h5 h/step_past.h5 && tamper set h/step_past.h5 /train_state/step_in_epoch 5
cp base/step-00000004.h5 h/nan_partial.h5
"$ST_PY" - <<'PY'
import h5py, numpy as np, zlib
with h5py.File("h/nan_partial.h5", "r+") as f:
    d = f["/train_state/partial"]; d[0] = np.nan
    d.attrs["crc32"] = np.uint32(zlib.crc32(d[()].astype("<f8").tobytes()))
PY
before=$(snap h)
resume_from neg-step h/neg_step.h5 1 "neg_step.h5: /train_state/step_in_epoch = -1 is negative" 2
resume_from neg-epoch h/neg_epoch.h5 1 "neg_epoch.h5: /train_state/epoch = -5 is negative"
resume_from huge-epoch h/huge_epoch.h5 1 \
  "huge_epoch.h5: /train_state/epoch = 4611686018427387904 is above 2^53"
resume_from step-past-epoch h/step_past.h5 1 \
  "step_past.h5: /train_state/step_in_epoch = 5, but an epoch of this run has 5 steps (0..4)"
resume_from nan-partial h/nan_partial.h5 1 "nan_partial.h5: /train_state/partial\[0\] = nan"
[ "$before" = "$(snap h)" ] || fail "a hostile checkpoint was modified"

# ---- history declaring 2^61 values: refused before any allocation ---------------------------
cp base/epoch-0002.h5 h/huge_hist.h5 && tamper huge h/huge_hist.h5 /history/loss 2305843009213693952
resume_from huge-history h/huge_hist.h5 1 \
  "huge_hist.h5: /history/loss: 2305843009213693952 elements of 8 bytes overflow a size"
# 2^40 values (a size, 8 TB) without the checksum promise (the older layout): the vector
# reader's bound, the completed epochs, catches it
cp base/epoch-0002.h5 h/huge_hist_old.h5 && tamper unsum h/huge_hist_old.h5
tamper huge h/huge_hist_old.h5 /history/loss 1099511627776
resume_from huge-history-unverified h/huge_hist_old.h5 1 \
  "huge_hist_old.h5: /history/loss holds 1099511627776 values, at most 2 expected"
grep -q "huge_hist_old.h5 has no checksums" err.txt || fail "no warning for an unverified file"
# more history rows than completed epochs
cp base/epoch-0001.h5 h/long_hist.h5 && tamper unsum h/long_hist.h5
"$ST_PY" -c "
import h5py; f = h5py.File('h/long_hist.h5', 'r+'); del f['/history/loss']; f['/history/loss'] = [0.5] * 7"
resume_from long-history h/long_hist.h5 1 "/history/loss holds 7 values, at most 1 expected"
# callback state out of range (an int64 cast of 1e300 is undefined behaviour)
cp base/epoch-0001.h5 h/cb.h5 && tamper unsum h/cb.h5
"$ST_PY" -c "
import h5py; f = h5py.File('h/cb.h5', 'r+'); f['/callbacks/state'][1] = 1e300"
resume_from callback-state h/cb.h5 1 "cb.h5: /callbacks/state\[1\] (es_wait) = 1e+300 is out of range"

# ---- a flipped byte in a weight of the newest checkpoint ------------------------------------
cp base/epoch-0002.h5 h/flip.h5 && tamper flip h/flip.h5 /model_weights/lstm_1/recurrent_kernel 100
resume_from flipped-weight h/flip.h5 1 \
  "flip.h5: /model_weights/lstm_1/recurrent_kernel: checksum mismatch" 2
expect flipped-weight-eval 1 "flip.h5: /model_weights/lstm_1/recurrent_kernel: checksum mismatch" \
  np 1 evaluate --checkpoint h/flip.h5 --data order.h5 --split test

# ---- damaged newest next to a good older one: one warning naming both, the older one used ----
mkdir -p dn && cp base/epoch-0001.h5 base/epoch-0002.h5 dn/
tamper flip dn/epoch-0002.h5 /model_weights/dense_1/kernel 0
before=$(snap dn)
warn="warning: dn/epoch-0002.h5 is damaged (/model_weights/dense_1/kernel: checksum mismatch.*); using dn/epoch-0001.h5 instead"
expect damaged-newest-eval 0 "$warn" np 2 evaluate --checkpoint dn --data order.h5 --split test
[ "$(grep -c warning: err.txt)" -eq 1 ] || { cat err.txt; fail "want exactly one warning"; }
expect damaged-newest-predict 0 "$warn" \
  np 2 predict --checkpoint dn --data order.h5 --split test --out pred.h5
rm -rf out
expect damaged-newest-resume 0 "$warn" np 2 train cfg.ini --set train.epochs=2 \
  --set checkpoint.dir=out --resume dn --quiet
compare base/epoch-0002.h5 out/epoch-0002.h5 exact || fail "resume from the fallback differs"
[ "$before" = "$(snap dn)" ] || fail "the damaged directory was modified"
# every one damaged: an error naming the newest
tamper flip dn/epoch-0001.h5 /model_weights/dense_1/kernel 0
expect all-damaged 1 "dn: no usable checkpoint: the newest, dn/epoch-0002.h5, is damaged" \
  np 1 evaluate --checkpoint dn --data order.h5 --split test

# ---- a damaged OLDER checkpoint (older layout, flipped byte in its global heap) next to a good
# newer one: never opened (it made HDF5 loop forever when every file was opened) -------------
mkdir -p dold
tamper oldstyle base/epoch-0001.h5 dold/epoch-0001.h5 && tamper flipheap dold/epoch-0001.h5
cp base/epoch-0002.h5 base/step-00000008.h5 dold/
expect damaged-older-eval 0 "" np 2 evaluate --checkpoint dold --data order.h5 --split test
! grep -q "epoch-0001" err.txt || { cat err.txt; fail "the older file was mentioned"; }
rm -rf out
expect damaged-older-resume 0 "" np 2 train cfg.ini --set train.epochs=3 \
  --set checkpoint.dir=out --resume dold
grep -q "Resumed from dold/epoch-0002.h5: epoch 2, step 0" out.txt err.txt || \
  { cat out.txt err.txt; fail "did not resume from dold/epoch-0002.h5"; }
! grep -q "epoch-0001" out.txt err.txt || fail "the older file was mentioned"
# ...and an older-layout checkpoint still loads, with one warning
mkdir -p dolder && tamper oldstyle base/epoch-0002.h5 dolder/epoch-0002.h5
expect older-layout 0 "warning: dolder/epoch-0002.h5 has no checksums" \
  np 1 evaluate --checkpoint dolder --data order.h5 --split test

# ---- a second job on a checkpoint directory in use ------------------------------------------
mkdir -p busy && cp base/epoch-0001.h5 busy/
"$ST_PY" - <<'PY' &
import fcntl, os, time
f = open("busy/.lock", "w")
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.write("node17.cluster 4242\n"); f.flush()
open("holding", "w").close()
time.sleep(60)
PY
holder=$!
for _ in $(seq 100); do [ -e holding ] && break; sleep 0.1; done
[ -e holding ] || fail "the lock holder did not start"
before=$(snap busy)
expect second-job 1 "checkpoint dir busy is in use by host node17.cluster pid 4242" \
  np 2 train cfg.ini --set train.epochs=2 --set checkpoint.dir=busy --resume busy --quiet
[ "$before" = "$(snap busy)" ] || fail "the second job touched the busy directory"
kill "$holder"; wait "$holder" 2>/dev/null || true
# the holder is gone: its lock file stays but blocks nothing
expect stale-lock 0 "" np 2 train cfg.ini --set train.epochs=2 --set checkpoint.dir=busy \
  --resume busy --quiet
[ -f busy/epoch-0002.h5 ] || fail "no epoch-0002.h5 after the stale lock"
grep -qE "^$(hostname) [0-9]+$" busy/.lock || fail "the lock file does not name host and pid"
echo "all hostile checkpoint cases ok"
