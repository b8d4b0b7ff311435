"""h5compare.py A.h5 B.h5 MODE - compares every float dataset under /model_weights and
/optimizer of two checkpoints.  MODE 'exact': bitwise equal.  MODE 'rel=TOL': per tensor,
max|a-b| <= TOL * S, where S is the largest magnitude in the tensor's
layer (all tensors under the same /model_weights/<layer> or /optimizer/<state>/<layer>): a bias
that is still ~1e-5 after a few steps would otherwise turn float rounding into a "difference".  Exit 0 when equal, 1 with the worst tensor named otherwise."""
import sys

import h5py
import numpy as np


def tensors(f):
    out = {}
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and name.split("/")[0] in ("model_weights", "optimizer"):
            out[name] = obj[()]
    f.visititems(visit)
    return out


def main():
    a_path, b_path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    with h5py.File(a_path, "r") as fa, h5py.File(b_path, "r") as fb:
        a, b = tensors(fa), tensors(fb)
    if sorted(a) != sorted(b):
        print(f"different tensors: {sorted(set(a) ^ set(b))}")
        return 1
    if not any(k.startswith("model_weights/") for k in a):
        print("no /model_weights in the checkpoints")
        return 1
    layer_scale = {}
    for k, v in b.items():
        v = np.asarray(v)
        if v.dtype.kind == "f" and v.size:
            g = k.rsplit("/", 1)[0]
            layer_scale[g] = max(layer_scale.get(g, 0.0), float(np.max(np.abs(v))))
    worst, worst_name = 0.0, ""
    for k in sorted(a):
        x, y = np.asarray(a[k]), np.asarray(b[k])
        if x.shape != y.shape:
            print(f"{k}: shape {x.shape} vs {y.shape}")
            return 1
        if mode == "exact":
            if x.tobytes() != y.tobytes():
                d = np.max(np.abs(x.astype(np.float64) - y))
                print(f"{k}: not bitwise equal (max abs diff {d:.3g})")
                return 1
            continue
        tol = float(mode.split("=")[1])
        if x.dtype.kind != "f":
            if not np.array_equal(x, y):
                print(f"{k}: {x} vs {y}")
                return 1
            continue
        scale = layer_scale.get(k.rsplit("/", 1)[0], 0.0)
        err = float(np.max(np.abs(x.astype(np.float64) - y))) / max(scale, 1e-12) if y.size else 0
        if err > worst:
            worst, worst_name = err, k
    if mode != "exact":
        print(f"worst relative difference {worst:.3g} ({worst_name})")
        if worst > float(mode.split("=")[1]):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
