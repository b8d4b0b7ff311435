# A disk that fills while a checkpoint is written, and a checkpoint directory that turns
# read-only: one error line, exit 1 on every rank, no crash (it was SIGSEGV at exit: HDF5
# closing a file whose close had failed), the previous checkpoint intact and loadable, no .tmp
# left. Needs a small tmpfs: mounting one needs root (CAP_SYS_ADMIN); skipped (77) otherwise.
# RLIMIT_FSIZE is no substitute: Open MPI's start-up writes its own shared-memory files.
source "$(dirname "$0")/lib/common.sh"
"$ST_SYNTH" --out order.h5 --train 300 --test 10 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
mkdir -p small
if ! mount -t tmpfs -o size=150k tmpfs small 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs (needs root)"
  exit 77
fi
trap 'umount small 2>/dev/null; rm -rf "$WORK"' EXIT

# The reference: one epoch on a roomy disk (a checkpoint is about 94 KB).
run_np 2 train cfg.ini --set train.epochs=1 --set checkpoint.dir=ref --quiet
size=$(stat -c %s ref/epoch-0001.h5)
[ "$size" -gt 75000 ] && [ "$size" -lt 140000 ] || fail "checkpoint of $size bytes: resize the tmpfs"

# 150 KB hold the logs and one checkpoint, not two.
set +e
run_np 2 train cfg.ini --set train.epochs=3 --set checkpoint.dir=small/r --quiet >out.txt 2>err.txt
rc=$?
set -e
cat err.txt | grep -v "^$" | head -3
[ $rc -eq 1 ] || fail "disk full: exit status $rc, want 1"
! grep -qiE "segmentation|signal|core dumped" err.txt || fail "disk full: crashed"
[ "$(grep -c 'seqtrain: error:' err.txt)" -eq 1 ] || fail "disk full: want one error line"
grep -q "seqtrain: error: small/r/epoch-0002.h5: writing small/r/epoch-0002.h5.tmp failed: No space left on device" err.txt \
  || fail "disk full: wrong message"
! ls small/r/*.tmp 2>/dev/null || fail "disk full: a .tmp was left behind"
compare ref/epoch-0001.h5 small/r/epoch-0001.h5 exact || fail "disk full: epoch 1 is not intact"
"$ST_PY" "$ST_HERE/lib/ckpt_tamper.py" crc small/r/epoch-0001.h5 || fail "epoch 1 is damaged"
run_np 1 evaluate --checkpoint small/r --data order.h5 --split test >/dev/null 2>err2.txt \
  || { cat err2.txt; fail "disk full: the previous checkpoint does not load"; }
echo "ok disk-full"

# Read-only: the run stops before training, at the lock file, and changes nothing.
mount -o remount,ro small
before=$( (cd small/r && md5sum ./*) )
set +e
run_np 2 train cfg.ini --set train.epochs=3 --set checkpoint.dir=small/r --resume small/r \
  --quiet >out.txt 2>err.txt
rc=$?
set -e
[ $rc -eq 1 ] || { cat err.txt; fail "read-only: exit status $rc, want 1"; }
[ "$(grep -c 'seqtrain: error:' err.txt)" -eq 1 ] || { cat err.txt; fail "read-only: want one error line"; }
grep -q "seqtrain: error: small/r: cannot open the lock file small/r/.lock: Read-only file system" err.txt \
  || { cat err.txt; fail "read-only: wrong message"; }
[ "$before" = "$( (cd small/r && md5sum ./*) )" ] || fail "read-only: files changed"
echo "ok read-only"
