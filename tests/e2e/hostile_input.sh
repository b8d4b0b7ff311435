#!/usr/bin/env bash
# hostile_input.sh - dataset and config files made to hurt, given to the real binary: each is
# refused with exactly one "seqtrain: error:" line (the whole line checked), exit status 1,
# within a timeout (nothing blocks), without printing a byte of any file it was not given.
#   - HDF5 external storage pointing at /etc/passwd, a virtual dataset, an external link to a
#     FIFO, a FIFO or /dev/zero as the dataset path;
#   - a declared shape (N, 65537, 65537) (int overflow in T * F) and one of 2^61 elements;
#   - a FIFO, /dev/zero, a NUL byte and an escape sequence as or in the config;
#   - a layer `name` that --set cannot address (a dot);
#   - escape sequences in class names, vocabulary words, attribute and dataset names: inspect
#     prints them escaped, never raw.
#
# Usage (from ctest): hostile_input.sh SEQTRAIN_BIN BUILD_DIR MPIEXEC
source "$(dirname "$0")/lib/common.sh"

"$ST_SYNTH" --out order.h5 --train 200 --test 20 --steps 12 --seed 9 >/dev/null
cp "$ST_HERE/lib/order_lstm.ini" cfg.ini
mkfifo data.fifo cfg.fifo

# st ARGS...: the binary on one rank, under a timeout (exit 124 when it hangs).
st() { timeout 60 "$ST_BIN" "$@"; }
# expect LINE CMD...: CMD (under a timeout) exits 1, its one error line is exactly LINE, nothing of
# /etc/passwd reaches stdout or stderr.
expect() {
  local want=$1 rc=0
  shift
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" != 124 ] || fail "hung: $*"
  [ "$rc" = 1 ] || { cat err.txt; fail "exit $rc (want 1): $*"; }
  # (mpiexec adds its own lines about the exit status; ours is the one error line)
  [ "$(grep 'seqtrain: error:' err.txt)" = "seqtrain: error: $want" ] ||
    fail "$*: stderr is '$(cat err.txt)', want one line 'seqtrain: error: $want'"
  ! grep -q 'root:' out.txt err.txt || fail "$*: bytes of /etc/passwd were printed"
  echo "ok: $want"
}

"$ST_PY" - <<'PY'
import h5py, numpy as np, shutil
def copy(name):
    shutil.copy("order.h5", name)
    return h5py.File(name, "r+")
# /train/x's raw bytes are those of /etc/passwd
with copy("ext.h5") as f:
    n, T = f["train/x"].shape
    del f["train/x"]
    f.create_dataset("train/x", shape=(n, T), dtype="i4", external=[("/etc/passwd", 0, n * T * 4)])
# a virtual dataset mapping another file
lay = h5py.VirtualLayout(shape=(200, 12), dtype="i4")
lay[:] = h5py.VirtualSource("order.h5", "train/x", shape=(200, 12))
with copy("vds.h5") as f:
    del f["train/x"]
    f.create_virtual_dataset("train/x", lay, fillvalue=0)
# /train is a link into a FIFO
with copy("elink.h5") as f:
    del f["train"]
    f["train"] = h5py.ExternalLink("data.fifo", "/train")
# shapes that declare what no file holds (chunked, nothing written)
with copy("wide.h5") as f:
    del f["train/x"], f["train/y"]
    f.create_dataset("train/x", shape=(4, 65537, 65537), dtype="f4", chunks=(1, 1, 65537))
    f.create_dataset("train/y", shape=(4,), dtype="i4")
with copy("long.h5") as f:
    del f["train/x"]
    f.create_dataset("train/x", shape=(2**40, 2**21), dtype="i4", chunks=(1, 1024))
# names with terminal escapes
with copy("esc.h5") as f:
    f.attrs["\x1b]0;pwned\x07"] = "\x1b[2Jcleared"
    f.create_dataset("classes", data=["\x1b[31mred", "ok\u202egnp.exe"], dtype=h5py.string_dtype())
    f.create_dataset("vocab", data=["", "\x1b[1mbold"] + ["w%d" % i for i in range(18)],
                     dtype=h5py.string_dtype())
    f.create_dataset("\x1b[5mblink", data=np.zeros(3, "i4"))
PY

# ---- datasets ----
# Under 2 ranks once (every rank refuses, the job ends with status 1); then on one rank.
expect "ext.h5: dataset /train/x stores its data outside the file (external storage: \
/etc/passwd): refused" run_np 2 train cfg.ini --set data.path=ext.h5 --quiet
for cmd in inspect train; do
  if [ $cmd = inspect ]; then run() { st inspect "$1"; }
  else run() { st train cfg.ini --set data.path="$1" --set train.epochs=1 --quiet; }; fi
  expect "ext.h5: dataset /train/x stores its data outside the file (external storage: \
/etc/passwd): refused" run ext.h5
  expect "vds.h5: dataset /train/x is a virtual dataset (its data come from other datasets or \
files): refused" run vds.h5
  expect "elink.h5: /train is an external link to data.fifo:/train: refused (seqtrain reads \
only the file it is given)" run elink.h5
  expect "data.fifo: is a FIFO (named pipe): a dataset file must be a regular file" run data.fifo
  expect "/dev/zero: is a character device: a dataset file must be a regular file" run /dev/zero
  expect "wide.h5: /train/x: float32 (4, 65537, 65537): a row holds 4295098369 values, more \
than the 268435456 seqtrain takes" run wide.h5
  expect "long.h5: dataset /train/x declares shape (1099511627776, 2097152): more than 1024 TiB \
at 4 bytes an element: refused" run long.h5
done
# the summary sizes the model from the data: refused before any int product
expect "wide.h5: /train/x: float32 (4, 65537, 65537): a row holds 4295098369 values, more than \
the 268435456 seqtrain takes" st summary cfg.ini --set data.path=wide.h5

# ---- configs ----
expect "cfg.fifo: is a FIFO (named pipe): a config must be a regular file" \
  st train cfg.fifo
expect "/dev/zero: is a character device: a config must be a regular file" st train /dev/zero
printf '[data]\npath = order.h5\0 trailing\n' >nul.ini
expect "nul.ini:2: a NUL byte at column 16: a config is text" st train nul.ini
printf '[data]\npath = order\033[2J.h5\n' >esc.ini
expect "esc.ini:2: control character 0x1b at column 13: a config is plain text" st train esc.ini
sed 's/^\[lstm\]$/[lstm]\nname = enc.v2/' cfg.ini >dotname.ini
expect "dotname.ini:26: [lstm]: name = enc.v2: must be a letter then letters, digits or '_', \
at most 63 characters (--set NAME.key=value addresses the layer by it)" \
  st train dotname.ini --set train.epochs=1 --quiet
[ ! -e runs ] || fail "a refused run created its checkpoint directory"

# ---- escaped output ----
st inspect esc.h5 >esc.txt 2>esc.err || fail "inspect esc.h5: $(cat esc.err)"
! grep -q $'\x1b' esc.txt esc.err || fail "an escape sequence reached the terminal raw"
! grep -q $'\u202e' esc.txt || fail "a right-to-left override reached the terminal raw"
for want in '\x1b]0;pwned\x07 = "\x1b[2Jcleared"' '/\x1b[5mblink' "'\\x1b[31mred'" \
            "'ok\\u{202e}gnp.exe'"; do
  grep -qF -- "$want" esc.txt || fail "inspect esc.h5 lacks '$want': $(cat esc.txt)"
done
echo "hostile input: ok"
