# Where seqtrain WRITES is as untrusted as what it reads (FINDINGS.md F0, F1, F2 of the
# adversarial pass on issue 11):
#   - an output path that exists and is not a regular file (a device, a FIFO, a symlink) is
#     refused with one line and left as it was: never replaced by a file (as root,
#     `predict --out /dev/null` deleted the system's /dev/null);
#   - a planted PATH.tmp symlink is never written through (the file it points to is intact);
#   - a run without --resume into a directory that holds another run's checkpoints is refused
#     (it used to overwrite them and then prune its own new checkpoint), files untouched.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
common=(--set train.epochs=1 --set checkpoint.keep=2 --quiet)
timeout 120 "$ST_BIN" train cfg.ini "${common[@]}" --set checkpoint.dir=base

# expect_error (common.sh): exit status 1 for every case here.
ST_EXPECT_RC=1

# ---- outputs that are not regular files ------------------------------------------------------
mkfifo out.fifo
expect_error predict-fifo "out.fifo: exists and is a FIFO (named pipe): refused" \
  "$ST_BIN" predict --checkpoint base --data order.h5 --out out.fifo
[ -p out.fifo ] || fail "predict-fifo: the FIFO was replaced: $(ls -la out.fifo)"
expect_error json-fifo "out.fifo: exists and is a FIFO (named pipe): refused" "$ST_BIN" \
  evaluate --checkpoint base --data order.h5 --json out.fifo
# Refused before the evaluation ran (it prints "order.h5 /test: loss: ..." first).
! grep -q "loss:" out.txt || fail "json-fifo: the evaluation ran before the refusal"
[ -p out.fifo ] || fail "json-fifo: the FIFO was replaced: $(ls -la out.fifo)"
if [ "$(id -u)" -eq 0 ]; then
  # A private copy of /dev/null (major 1, minor 3): what `--out /dev/null` would destroy.
  mknod -m 666 null.dev c 1 3
  expect_error predict-device "null.dev: exists and is a character device" \
    "$ST_BIN" predict --checkpoint base --data order.h5 --out null.dev
  [ -c null.dev ] || fail "predict-device: the device node was replaced: $(ls -la null.dev)"
fi
echo keep >victim.txt
ln -s victim.txt link.h5
expect_error predict-symlink "link.h5: exists and is a symlink: refused" \
  "$ST_BIN" predict --checkpoint base --data order.h5 --out link.h5
[ -L link.h5 ] && [ "$(cat victim.txt)" = keep ] || fail "predict-symlink: link or target changed"

# ---- a planted NAME.tmp symlink is never written through -------------------------------------
echo keep >victim2.txt
mkdir planted
ln -s "$PWD/victim2.txt" planted/epoch-0001.h5.tmp
expect_error tmp-symlink "planted/epoch-0001.h5.tmp exists and is a symlink: refused" \
  "$ST_BIN" train cfg.ini "${common[@]}" --set checkpoint.dir=planted
[ "$(cat victim2.txt)" = keep ] || fail "tmp-symlink: the file behind the link was overwritten"
[ -L planted/epoch-0001.h5.tmp ] || fail "tmp-symlink: the planted link was removed"
[ ! -e planted/epoch-0001.h5 ] || fail "tmp-symlink: epoch-0001.h5 was written"
ln -s "$PWD/victim2.txt" p.h5.tmp
expect_error predict-tmp-symlink "p.h5.tmp exists and is a symlink: refused" \
  "$ST_BIN" predict --checkpoint base --data order.h5 --out p.h5
[ "$(cat victim2.txt)" = keep ] || fail "predict-tmp-symlink: victim2.txt was overwritten"
[ ! -e p.h5 ] || fail "predict-tmp-symlink: p.h5 was written"

# ---- a fresh run into a directory that holds another run's checkpoints -----------------------
timeout 120 "$ST_BIN" train cfg.ini --set train.epochs=2 --set checkpoint.keep=0 \
  --set checkpoint.every_steps=3 --set checkpoint.dir=old --quiet
(cd old && find . -type f ! -name .lock | sort | xargs md5sum) >old.md5
expect_error fresh-run-into-used-dir \
  "\[checkpoint\] dir old already holds checkpoints (newest: old/epoch-0002.h5): resume with \
--resume old, or choose another dir" \
  "$ST_BIN" train cfg.ini --set train.epochs=1 \
  --set train.seed=5 --set checkpoint.keep=2 --set checkpoint.dir=old --quiet
(cd old && md5sum -c --quiet ../old.md5) || fail "fresh-run-into-used-dir: the old run's files changed"
echo "hostile outputs: ok"

# --timeline that is a FIFO: refused before training, not after it (one line, exit 1).
mkfifo tl.fifo
set +e
timeout 60 "$ST_BIN" train "$ST_HERE/lib/order_lstm.ini" --set data.path=order.h5 \
  --set train.epochs=1 --timeline tl.fifo >tl.out 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat tl.out; fail "timeline FIFO: exit $rc, want 1"; }
grep -q "seqtrain: error: tl.fifo: exists and is a FIFO (named pipe): refused" tl.out ||
  { cat tl.out; fail "timeline FIFO: wrong line"; }
! grep -q "^Epoch" tl.out || fail "timeline FIFO: refused only after training"
[ -p tl.fifo ] || fail "timeline FIFO: the FIFO was replaced"
echo "ok timeline FIFO refused before training"
