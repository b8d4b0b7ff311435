"""h5cmp.py A.h5 B.h5 - are two checkpoints byte-identical where the number of ranks must not
matter?  Exit 0 when they are, 1 (with the first differing dataset, its max abs and rel
difference and first differing element, then the names of the others) when they are not,
2 on bad usage or an unreadable file.

Compared byte for byte (numpy .tobytes() of the stored dtype, so -0.0 != 0.0 and NaN payloads
count; no tolerance): EVERY dataset of the file, that is
  /model_weights/**        the weights (bidirectional's forward/backward included)
  /optimizer/**            iterations and every state tensor (m, v, velocity, momentum)
  /history/<column>        the history rows, except the two timing columns below
  /train_state/**          epoch, step_in_epoch, global_step, seed, data_identity, and the loss
                           sum / correct / samples of a half-done epoch (partial, metrics)
  /callbacks/state         the callbacks' state (best value, wait counters, lr ...)
plus the dataset names, dtypes and shapes (a dataset present in one file only is a difference)
and the root attributes `format` and `optimizer`.

Excluded, because they legitimately differ between runs of the same math:
  /history/samples_per_s, /history/seconds   wall-clock measurements (README "history.csv")
  root attribute `config`                    the config text with its --set overrides, so it
                                             holds [checkpoint] dir, every_steps, ...
  root attribute `checksum`, dataset attribute `crc32`
                                             checksums of the above / of the bytes compared
A checkpoint does not record the number of ranks (checked: seqtrain-ckpt-1 has no such
field), so nothing else needs excluding; data_identity is compared (the same data must be used).
"""
import sys

import h5py
import numpy as np

SKIP_DATASETS = {"history/samples_per_s", "history/seconds"}
ROOT_ATTRS = ("format", "optimizer")


def datasets(f):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name not in SKIP_DATASETS:
            out[name] = np.asarray(obj[()])
    f.visititems(visit)
    return out


def describe(name, x, y):
    """One line: how many elements differ, max abs and rel difference, the first one."""
    if x.dtype.kind not in "fiub":
        return f"{name}: values differ ({x!r} vs {y!r})"
    xf = x.astype(np.float64).ravel()
    yf = y.astype(np.float64).ravel()
    # element-wise bit comparison: same dtype and shape here
    xb = x.reshape(-1).view(np.uint8).reshape(xf.size, -1) if x.size else np.zeros((0, 1))
    yb = y.reshape(-1).view(np.uint8).reshape(yf.size, -1) if y.size else np.zeros((0, 1))
    bad = np.any(xb != yb, axis=1)
    idx = np.flatnonzero(bad)
    fin = bad & np.isfinite(xf) & np.isfinite(yf)
    d = np.abs(xf - yf)
    mabs = float(d[fin].max()) if fin.any() else 0.0
    mrel = float((d[fin] / np.maximum(np.maximum(np.abs(xf[fin]), np.abs(yf[fin])), 1e-30)).max()) \
        if fin.any() else 0.0
    i = int(idx[0])
    where = np.unravel_index(i, x.shape) if x.ndim else ()
    return (f"{name} {x.dtype}{list(x.shape)}: {idx.size} of {x.size} elements differ, "
            f"max abs diff {mabs:.3g}, max rel diff {mrel:.3g}; first at {tuple(int(k) for k in where)}: "
            f"{xf[i]!r} vs {yf[i]!r}")


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    a_path, b_path = sys.argv[1], sys.argv[2]
    try:
        with h5py.File(a_path, "r") as fa, h5py.File(b_path, "r") as fb:
            a, b = datasets(fa), datasets(fb)
            attrs = [(k, fa.attrs.get(k), fb.attrs.get(k)) for k in ROOT_ATTRS]
    except OSError as e:
        print(f"h5cmp: cannot read: {e}", file=sys.stderr)
        return 2
    head = f"h5cmp {a_path} vs {b_path}:"
    if not any(k.startswith("model_weights/") for k in a):
        print(f"{head} no /model_weights in {a_path}")
        return 1
    if sorted(a) != sorted(b):
        print(f"{head} different datasets: only in A {sorted(set(a) - set(b))}, "
              f"only in B {sorted(set(b) - set(a))}")
        return 1
    for k, x, y in attrs:
        if x != y:
            print(f"{head} root attribute {k}: {x!r} vs {y!r}")
            return 1
    differ = []
    for k in sorted(a, key=lambda n: (not n.startswith("model_weights/"), n)):
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            print(f"{head} {k}: {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}")
            return 1
        if x.tobytes() != y.tobytes():
            differ.append(k)
    if differ:
        print(f"{head} NOT byte-identical: {describe(differ[0], a[differ[0]], b[differ[0]])}")
        if len(differ) > 1:
            more = ", ".join(differ[1:9]) + (" ..." if len(differ) > 9 else "")
            print(f"  {len(differ) - 1} more differ: {more}")
        return 1
    print(f"{head} byte-identical ({len(a)} datasets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
