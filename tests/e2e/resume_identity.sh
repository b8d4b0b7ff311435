# A resume must recognise its data by what the data is, not by how its path is spelled
# (FINDINGS.md F6 of the adversarial pass on issue 11). Expected to fail until that is fixed:
#   - other data under the same path, resumed in the middle of an epoch: refused, one line;
#   - the same file under another spelling of its path: resumed (a warning at most).
# And a train state whose counters would overflow is refused (F5).
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
c=(--set train.epochs=2 --set checkpoint.keep=0 --set checkpoint.every_steps=2 --quiet)
timeout 120 "$ST_BIN" train cfg.ini "${c[@]}" --set checkpoint.dir=base
mkdir mid && cp base/step-00000004.h5 mid/   # epoch 1, step 4 of 5

# The same file, spelled ./order.h5 and by its absolute path.
for p in ./order.h5 "$PWD/order.h5"; do
  rm -rf same && cp -r mid same
  timeout 120 "$ST_BIN" train cfg.ini "${c[@]}" --set data.path="$p" --set checkpoint.dir=same \
    --resume same >out.txt 2>&1 || fail "same data as $p: refused: $(cat out.txt)"
  grep -q "warning: resuming same/step-00000004.h5 with \[data\] path = $p (it was order.h5); the data is the same" out.txt ||
    fail "same data as $p: no warning: $(cat out.txt)"
done
echo "ok same file, other spelling"

# refused NAME PATTERN ARGS...: exit 1, one error line matching PATTERN.
refused() {
  local name=$1 pat=$2 rc=0; shift 2
  timeout 120 "$ST_BIN" train "$@" >out.txt 2>&1 || rc=$?
  [ $rc -eq 1 ] || fail "$name: exit $rc, want 1: $(cat out.txt)"
  [ "$(grep -c 'seqtrain: error:' out.txt)" -eq 1 ] || fail "$name: not one error line: $(cat out.txt)"
  grep -q -- "$pat" out.txt || fail "$name: no match for '$pat': $(cat out.txt)"
  echo "ok $name"
}
# The identity itself damaged (a bit flipped, its crc32 left): reported as damage, not as
# other data.
mkdir rot && cp base/step-00000004.h5 rot/
"$ST_PY" "$ST_HERE/lib/ckpt_tamper.py" flip rot/step-00000004.h5 /train_state/data_identity 3
refused rot "rot/step-00000004.h5: /train_state/data_identity: checksum mismatch" \
  cfg.ini "${c[@]}" --set checkpoint.dir=rot --resume rot/step-00000004.h5
# A checkpoint without an identity (older seqtrain): the path's text decides, as before.
mkdir old && cp base/step-00000004.h5 old/
"$ST_PY" -c "import h5py, sys; del h5py.File(sys.argv[1], 'r+')['/train_state/data_identity']" \
  old/step-00000004.h5
refused old-path "\[data\] path = ./order.h5, but old/step-00000004.h5 was written with path = order.h5" \
  cfg.ini "${c[@]}" --set data.path=./order.h5 --set checkpoint.dir=old --resume old
timeout 120 "$ST_BIN" train cfg.ini "${c[@]}" --set checkpoint.dir=old --resume old >out.txt 2>&1 ||
  fail "old checkpoint, same path: refused: $(cat out.txt)"

# Other data under the same name: refused in the middle of an epoch, nothing written.
mkdir other && "$ST_SYNTH" --out other/order.h5 --train 900 --test 10 --steps 12 --seed 3 >/dev/null
cp -r mid other/r
set +e
(cd other && timeout 120 "$ST_BIN" train ../cfg.ini "${c[@]}" --set checkpoint.dir=r --resume r) \
  >out.txt 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "other data at the same path: exit $rc, want 1: $(cat out.txt)"
[ "$(grep -c 'seqtrain: error:' out.txt)" -eq 1 ] || fail "other data: not one error line: $(cat out.txt)"
grep -q "seqtrain: error: ../cfg.ini:4: cannot resume: \[data\] path = order.h5 is not the data r/step-00000004.h5 was trained on (path = order.h5): rows in /train: 900, the checkpoint's data had 300" out.txt ||
  fail "other data: wrong line: $(cat out.txt)"
[ "$(ls other/r)" = "step-00000004.h5" ] || fail "other data: files written: $(ls other/r)"
echo "ok other data refused"

# Counters at the top of int64 (crc32 recomputed): refused, not wrapped.
for ds in /train_state/global_step /optimizer/iterations; do
  rm -rf big && mkdir big && cp base/step-00000004.h5 big/s.h5
  "$ST_PY" "$ST_HERE/lib/ckpt_tamper.py" set big/s.h5 "$ds" 9223372036854775807 >/dev/null
  set +e
  timeout 120 "$ST_BIN" train cfg.ini "${c[@]}" --set checkpoint.dir=big/out --resume big/s.h5 \
    >out.txt 2>&1
  rc=$?
  set -e
  [ $rc -eq 1 ] && grep -q "seqtrain: error: .*$ds" out.txt || fail "$ds = 2^63-1: exit $rc: $(tail -3 out.txt)"
  ! ls big/out/step--* >/dev/null 2>&1 || fail "$ds: negative step file names written"
done
echo "resume identity: ok"
