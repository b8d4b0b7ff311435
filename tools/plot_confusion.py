#!/usr/bin/python3
"""plot_confusion.py REPORT.json [OUT.png] - the confusion matrix of `seqtrain evaluate --json`
as a heat map (rows: true class, columns: predicted; counts in the cells for up to 30
classes; rows normalized with --normalize). OUT defaults to REPORT.png. Needs
python3-matplotlib and python3-numpy."""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if a != "--normalize"]
    normalize = "--normalize" in sys.argv
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    src = args[0]
    out = args[1] if len(args) > 1 else os.path.splitext(src)[0] + ".png"
    with open(src) as f:
        rep = json.load(f)
    cm = np.asarray(rep["confusion_matrix"], dtype=float)
    names = rep.get("classes") or [str(i) for i in range(len(cm))]
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    n = len(cm)
    size = max(4.0, min(0.5 * n + 2, 20))
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{rep.get('split', '')}: accuracy {rep.get('accuracy', 0):.4f}")
    if n <= 30:
        top = shown.max() if shown.size else 0
        for i in range(n):
            for j in range(n):
                txt = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, txt, ha="center", va="center",
                        color="white" if shown[i, j] > top / 2 else "black")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
