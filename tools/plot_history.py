#!/usr/bin/python3
"""plot_history.py HISTORY.csv [OUT.png] - training vs validation curves from seqtrain's
history.csv (written into the checkpoint directory after every epoch): one panel for the loss
and one for each metric (accuracy, auc, ...), train solid, val_ dashed, as the tutorials plot
Keras's History. OUT defaults to HISTORY.png next to the CSV. Needs python3-matplotlib."""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

SKIP = {"epoch", "lr", "samples_per_s", "seconds"}


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) > 1 else 2
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.splitext(src)[0] + ".png"
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print(f"{src}: no epochs yet", file=sys.stderr)
        return 1
    cols = [c for c in rows[0] if c not in SKIP and not c.startswith("val_")]
    epochs = [int(r["epoch"]) for r in rows]

    def series(name):
        return [float(r[name]) if r.get(name) not in (None, "") else float("nan") for r in rows]

    fig, axes = plt.subplots(1, len(cols), figsize=(5 * len(cols), 4), squeeze=False)
    for ax, c in zip(axes[0], cols):
        ax.plot(epochs, series(c), "o-", label=f"training {c}")
        if "val_" + c in rows[0]:
            ax.plot(epochs, series("val_" + c), "s--", label=f"validation {c}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(c)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
