#!/usr/bin/python3
"""check-layout.py - the architecture of src/, checked from the code's own #include lines.

    tools/check-layout.py [REPO]       exit 0 when the layout holds, 1 with one line per breach

What it checks (README "How it works", ../STYLE.md):
  - folders form a stack, cli > train > model > layers > io > dist > core: a file includes only
    headers of its own folder or of folders below it (no upward arrow, hence no cycle between
    files of different folders); public headers (include/seqtrain/*.h) count as the folder that
    implements them (table below: a new public header must be added to it);
  - each external library sits behind its files: mpi.h only in src/dist/, hdf5.h and ini.h
    only in src/io/, cblas.h only in src/core/blas.c;
  - src/layers/ is math only: no mpi.h, no hdf5.h, no stdio file I/O (fopen, fread, fwrite,
    fprintf to a FILE, FILE *);
  - no source file over 700 lines;
  - public headers obey the same stack as the folder that implements them.
It reads files as text; it does not build anything.
"""
import os
import re
import sys

ORDER = ["core", "dist", "io", "layers", "model", "train", "cli"]
RANK = {f: i for i, f in enumerate(ORDER)}
# Public header -> the folder that implements it. "*" = umbrella, usable only from cli/.
PUBLIC = {
    "error.h": "core", "log.h": "core", "rng.h": "core", "tensor.h": "core",
    "atomic.h": "core",
    "dist.h": "dist", "trace.h": "dist",
    "data.h": "io", "inspect.h": "io", "config.h": "io",
    "layer.h": "layers", "model.h": "model",
    "ckpt.h": "train", "train.h": "train", "loss.h": "train", "metrics.h": "train",
    "optim.h": "train",
    "seqtrain.h": "cli",
}
LIB_HOME = {"mpi.h": ("src/dist/",), "hdf5.h": ("src/io/",), "ini.h": ("src/io/",),
            "cblas.h": ("src/core/blas.c",)}
FILE_IO = re.compile(r"\b(fopen|fdopen|freopen|fread|fwrite|fgets|fputs|fscanf|FILE\s*\*|"
                     r"open\s*\(|opendir)\b")
MAX_LINES = 700


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    os.chdir(repo)
    bad = []
    for folder in sorted(os.listdir("src")):
        if not os.path.isdir(os.path.join("src", folder)):
            continue
        if folder not in RANK:
            bad.append(f"src/{folder}/: folder not in the layout ({' > '.join(reversed(ORDER))})")
            continue
        for name in sorted(os.listdir(os.path.join("src", folder))):
            if not name.endswith((".c", ".h")):
                continue
            path = f"src/{folder}/{name}"
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().split("\n")
            if len(lines) - 1 > MAX_LINES:
                bad.append(f"{path}: {len(lines) - 1} lines (at most {MAX_LINES})")
            for no, line in enumerate(lines, 1):
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if m:
                    check_include(bad, path, no, folder, m.group(1), m.group(2))
                elif folder == "layers":
                    code = re.sub(r"/\*.*?\*/|//.*|\"(\\.|[^\"\\])*\"", "", line)
                    if FILE_IO.search(code):
                        bad.append(f"{path}:{no}: file I/O in a layer: {line.strip()}")
    for name in sorted(os.listdir("include/seqtrain")):
        path = f"include/seqtrain/{name}"
        owner = PUBLIC.get(name)
        if owner is None:
            bad.append(f"{path}: public header not in check-layout.py's table")
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for no, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
                if m:
                    check_include(bad, path, no, owner, m.group(1), m.group(2))
    for b in bad:
        print(b, flush=True)
    if bad:
        print(f"check-layout: {len(bad)} breach(es)", file=sys.stderr)
        return 1
    print("check-layout: ok (" + " > ".join(reversed(ORDER)) + ")")
    return 0


def check_include(bad, path, no, folder, kind, target):
    if kind == "<":
        homes = LIB_HOME.get(target)
        if homes and not any(path.startswith(h) for h in homes):
            bad.append(f"{path}:{no}: includes <{target}> (only {', '.join(homes)} may)")
        return
    parts = target.split("/")
    if len(parts) == 1:  # beside its own source
        return
    if parts[0] == "seqtrain":
        owner = PUBLIC.get(parts[1])
        if owner is None:
            bad.append(f"{path}:{no}: public header {target} is not in check-layout.py's table")
            return
    else:
        owner = parts[0]
        if owner not in RANK:
            bad.append(f"{path}:{no}: includes {target} from unknown folder '{owner}'")
            return
    if RANK[owner] > RANK[folder]:
        bad.append(f"{path}:{no}: {folder}/ includes {target} of {owner}/ (upward)")


if __name__ == "__main__":
    sys.exit(main())
