#!/usr/bin/python3
"""plot_attention.py ATT.h5... [--out DIR] [--data DATA.h5 --split SPLIT --row0 R] - attention
weights as pictures. ATT.h5 holds /attention (K, T): from `seqtrain predict --attention`, or
attention-epoch-NNNN.h5 from `[callbacks] attention_dump = K` (the first K validation rows
after every epoch). Writes one PNG per sample, DIR/<file>-sample-<k>.png: the weight of every
time step as a bar chart (padding has weight 0). With several files (one per epoch) it also
writes DIR/sample-<k>-epochs.png: a heat map of epoch x step, to watch attention sharpen
during training. --data labels the steps with the tokens of rows R, R+1, ... of SPLIT (and
with the words of /vocab when the dataset has one). Needs python3-h5py and matplotlib."""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def token_labels(data, split, row0, k, t):
    if not data:
        return None
    with h5py.File(data, "r") as f:
        x = f[f"{split}/x"][row0:row0 + k]
        vocab = [w.decode() if isinstance(w, bytes) else str(w) for w in f["vocab"][()]] \
            if "vocab" in f else None
    out = []
    for r in x:
        out.append([(vocab[i] if vocab and i < len(vocab) else str(i)) if i else "" for i in r[:t]])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", default=".")
    ap.add_argument("--data")
    ap.add_argument("--split", default="test")
    ap.add_argument("--row0", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    mats = []
    for path in a.files:
        with h5py.File(path, "r") as f:
            w = np.asarray(f["attention"][()], dtype=float)
        mats.append(w)
        labels = token_labels(a.data, a.split, a.row0, w.shape[0], w.shape[1])
        base = os.path.splitext(os.path.basename(path))[0]
        for k in range(w.shape[0]):
            fig, ax = plt.subplots(figsize=(max(6, 0.3 * w.shape[1]), 3))
            ax.bar(range(w.shape[1]), w[k])
            ax.set_xlabel("time step")
            ax.set_ylabel("attention weight")
            ax.set_title(f"{base}: sample {k}")
            if labels:
                ax.set_xticks(range(w.shape[1]))
                ax.set_xticklabels(labels[k], rotation=90, fontsize=7)
            fig.tight_layout()
            out = os.path.join(a.out, f"{base}-sample-{k}.png")
            fig.savefig(out, dpi=90)
            plt.close(fig)
            print(f"wrote {out}")
    if len(mats) > 1 and all(m.shape == mats[0].shape for m in mats):
        stack = np.stack(mats)  # (epochs, K, T)
        for k in range(stack.shape[1]):
            fig, ax = plt.subplots(figsize=(max(6, 0.3 * stack.shape[2]), 0.4 * len(mats) + 2))
            im = ax.imshow(stack[:, k, :], aspect="auto", cmap="viridis")
            fig.colorbar(im, ax=ax)
            ax.set_xlabel("time step")
            ax.set_ylabel("file (epoch)")
            ax.set_yticks(range(len(mats)))
            ax.set_yticklabels([os.path.basename(p) for p in a.files], fontsize=7)
            ax.set_title(f"sample {k}")
            fig.tight_layout()
            out = os.path.join(a.out, f"sample-{k}-epochs.png")
            fig.savefig(out, dpi=90)
            plt.close(fig)
            print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
