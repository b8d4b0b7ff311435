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
done
echo "ok same file, other spelling"

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
