#!/usr/bin/env bash
# idx2h5.sh - end-to-end check of seqtrain-idx2h5 on tiny idx fixtures made here (4x3 images):
# plain and gzip files give the same dataset; pixels are byte/255 in (N, rows, cols) or (N,
# rows*cols) with --flat; --valid-fraction moves the last training rows to /valid; --dir finds
# the standard names (.gz or not); /classes holds digits or, with --fashion, Fashion-MNIST's
# names; and each broken input (wrong magic, truncated plain and gzip
# files, corrupt gzip data, image/label count mismatch, a label >= 10, a missing file) fails
# with exit 1 and one line naming the file and the bad value.
#
# Usage (from ctest): idx2h5.sh SEQTRAIN_BIN BUILD_DIR [MPIEXEC]
source "$(dirname "$0")/lib/common.sh"
conv=$ST_BUILD/seqtrain-idx2h5
[ -x "$conv" ] || fail "$conv not built"

# Fixtures: 5 training and 3 test images of 4x3 pixels (byte i*12+j), labels 0..9 cycling.
"$ST_PY" - <<'PY'
import gzip, struct
def images(n, off):
    return struct.pack(">IIII", 0x803, n, 4, 3) + bytes((off + i * 12 + j) % 256 for i in range(n) for j in range(12))
def labels(vals):
    return struct.pack(">II", 0x801, len(vals)) + bytes(vals)
files = {
    "train-images-idx3-ubyte": images(5, 0), "train-labels-idx1-ubyte": labels([3, 1, 4, 1, 9]),
    "t10k-images-idx3-ubyte": images(3, 200), "t10k-labels-idx1-ubyte": labels([2, 7, 0]),
}
import os
os.makedirs("plain"); os.makedirs("gz")
for name, data in files.items():
    open("plain/" + name, "wb").write(data)
    open("gz/" + name + ".gz", "wb").write(gzip.compress(data))
tr = files["train-images-idx3-ubyte"]
open("bad-trunc", "wb").write(tr[:-5])                         # 5 pixels short
open("bad-trunc.gz", "wb").write(gzip.compress(tr)[:-30])      # gzip stream cut
g = bytearray(gzip.compress(tr)); g[20] ^= 0xff; g[21] ^= 0xff  # deflate data damaged
open("bad-corrupt.gz", "wb").write(bytes(g))
open("bad-labels", "wb").write(labels([3, 1, 4, 1]))            # 4 labels for 5 images
open("bad-label12", "wb").write(labels([3, 1, 12, 1, 9]))
open("extra", "wb").write(tr + b"\0")
PY

P=plain G=gz
"$conv" --train-images $P/train-images-idx3-ubyte --train-labels $P/train-labels-idx1-ubyte \
  --test-images $P/t10k-images-idx3-ubyte --test-labels $P/t10k-labels-idx1-ubyte --out plain.h5 \
  > log 2>&1 || { cat log; fail "plain conversion"; }
"$conv" --dir gz --out gz.h5 > log 2>&1 || { cat log; fail "gzip conversion with --dir"; }
"$conv" --dir plain --flat --valid-fraction 0.4 --fashion --out flat.h5 > log 2>&1 ||
  { cat log; fail "--flat --valid-fraction"; }
grep -q "train 3, test 3, valid 2" log || { cat log; fail "summary line"; }

"$ST_PY" - <<'PY' || fail "dataset contents"
import h5py, numpy as np
px = lambda n, off: (np.arange(n * 12).reshape(n, 4, 3) + off) % 256 / np.float32(255)
for path in ("plain.h5", "gz.h5"):
    f = h5py.File(path, "r")
    assert f.attrs["num_classes"] == 10, dict(f.attrs)
    assert set(f) == {"train", "test", "classes"}, list(f)
    assert [c.decode() for c in f["classes"][:]] == [str(k) for k in range(10)], f["classes"][:]
    x = f["train/x"]
    assert x.dtype == np.float32 and x.shape == (5, 4, 3), (x.dtype, x.shape)
    assert np.array_equal(x[:], px(5, 0).astype(np.float32)), path
    assert np.array_equal(f["test/x"][:], px(3, 200).astype(np.float32)), path
    assert f["train/y"].dtype == np.int32 and list(f["train/y"][:]) == [3, 1, 4, 1, 9]
    assert list(f["test/y"][:]) == [2, 7, 0]
f = h5py.File("flat.h5", "r")
assert [c.decode() for c in f["classes"][:]][::9] == ["T-shirt/top", "Ankle boot"], f["classes"][:]
assert f["train/x"].shape == (3, 12) and f["valid/x"].shape == (2, 12), f["valid/x"].shape
allx = px(5, 0).reshape(5, 12).astype(np.float32)
assert np.array_equal(f["train/x"][:], allx[:3]) and np.array_equal(f["valid/x"][:], allx[3:])
assert list(f["valid/y"][:]) == [1, 9] and list(f["train/y"][:]) == [3, 1, 4]
PY

# expect_error REGEX ARGS...: exit status 1 and one stderr line matching REGEX.
expect_error() {
  local re=$1 rc=0
  shift
  "$conv" "$@" --out bad.h5 > out 2> err || rc=$?
  [ "$rc" = 1 ] || fail "exit $rc (want 1) for: $* ($(cat err))"
  [ "$(wc -l < err)" = 1 ] || fail "want one error line for: $*: $(cat err)"
  grep -Eq -- "$re" err || fail "error for '$*' is '$(cat err)', want /$re/"
  [ ! -e bad.h5 ] || fail "bad.h5 written despite the error ($*)"
}
args() { # args TRAIN-IMAGES TRAIN-LABELS: the test files from plain/
  echo --train-images "$1" --train-labels "$2" --test-images $P/t10k-images-idx3-ubyte \
    --test-labels $P/t10k-labels-idx1-ubyte
}
# shellcheck disable=SC2046
expect_error "^seqtrain-idx2h5: error: $P/train-labels-idx1-ubyte: bad magic 0x00000801 \(a label file\): expected 0x00000803" \
  $(args $P/train-labels-idx1-ubyte $P/train-labels-idx1-ubyte)
expect_error "bad-trunc: truncated: the header declares 60 bytes of pixels but the file ends after 55" \
  $(args bad-trunc $P/train-labels-idx1-ubyte)
expect_error "bad-trunc.gz: truncated" $(args bad-trunc.gz $P/train-labels-idx1-ubyte)
expect_error "bad-corrupt.gz: (corrupt gzip data|truncated)" $(args bad-corrupt.gz $P/train-labels-idx1-ubyte)
expect_error "count mismatch: $P/train-images-idx3-ubyte has 5 images but bad-labels has 4 labels" \
  $(args $P/train-images-idx3-ubyte bad-labels)
expect_error "bad-label12: label 12 at row 2 is not a class id in \[0, 10\)" \
  $(args $P/train-images-idx3-ubyte bad-label12)
expect_error "extra: more data than the header's count 5 declares" \
  $(args extra $P/train-labels-idx1-ubyte)
expect_error "nothere: no such file" $(args nothere $P/train-labels-idx1-ubyte)
expect_error "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in it" --dir "$WORK"
# A bad command line is exit 2.
rc=0; "$conv" --dir plain --valid-fraction 1.5 --out x.h5 2> err || rc=$?
[ "$rc" = 2 ] && grep -q "valid-fraction '1.5'" err || fail "--valid-fraction 1.5: exit $rc, $(cat err)"
echo "idx2h5: ok"
