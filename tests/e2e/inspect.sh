#!/usr/bin/env bash
# inspect.sh - end-to-end check of `seqtrain inspect` against numbers computed here with h5py:
# class balance (named from /classes), real-length percentiles (nearest rank, numpy's
# inverted_cdf), padding side and share, rows and tokens cut at --maxlen and at the default
# percentile maxlens, per-step class counts over real steps, float value ranges; one report
# under 2 ranks; and the one-line errors (missing file, a checkpoint-like file,
# missing split, bad --maxlen).
#
# Usage (from ctest): inspect.sh SEQTRAIN_BIN BUILD_DIR MPIEXEC
source "$(dirname "$0")/lib/common.sh"

"$ST_SYNTH" --task tokens --train 300 --test 120 --steps 30 --min-len 3 --vocab 50 --classes 4 \
  --padding post --seed 7 --out post.h5 > /dev/null
"$ST_SYNTH" --task tokens --train 200 --test 50 --steps 25 --min-len 2 --vocab 40 --classes 3 \
  --padding pre --seed 8 --out pre.h5 > /dev/null
"$ST_SYNTH" --task copy-shift --train 100 --test 20 --steps 12 --vocab 9 --padding post \
  --seed 9 --out seq.h5 > /dev/null
"$ST_SYNTH" --task sum --train 150 --test 30 --steps 7 --features 3 --seed 3 --out feat.h5 \
  > /dev/null
# Class names, as a tokenizer would store them (h5py: variable-length UTF-8 strings).
"$ST_PY" -c "
import h5py
with h5py.File('post.h5', 'a') as f:
    f.create_dataset('classes', data=['alpha', 'beta', 'gamma', 'delta'], dtype=h5py.string_dtype())
"

"$ST_BIN" inspect post.h5 --maxlen 20 > post.txt || fail "inspect post.h5: $(cat post.txt)"
"$ST_BIN" inspect pre.h5 > pre.txt || fail "inspect pre.h5"
"$ST_BIN" inspect seq.h5 > seq.txt || fail "inspect seq.h5"
"$ST_BIN" inspect feat.h5 > feat.txt || fail "inspect feat.h5"

"$ST_PY" - <<'PY' || fail "report differs from h5py's numbers (above)"
import re, sys, h5py, numpy as np

def sections(path):
    """report text -> {split: [lines]}"""
    out, cur = {}, None
    for line in open(path):
        m = re.match(r"^/(\w+): (\d+) rows$", line)
        if m:
            cur = out.setdefault(m.group(1), [])
        elif cur is not None:
            cur.append(line.rstrip("\n"))
    return out

bad = []
def check(what, got, want):
    if got != want:
        bad.append("%s: report says %r, expected %r" % (what, got, want))

def classes(lines, y, K, names=None):
    tot = len(y)
    want = []
    for k in range(K):
        c = int((y == k).sum())
        name = " '%s'" % names[k] if names else ""
        want.append("%d%s %d %.2f%%" % (k, name, c, 100.0 * c / tot))
    got = [l.strip() for l in lines if re.match(r"^    +\d+ ", l)]
    return got, want

def line(lines, prefix):
    for l in lines:
        if l.startswith("  " + prefix):
            return l
    return None

def tokens(path, maxlen, names=None):
    f = h5py.File(path, "r")
    rep = sections(path.replace(".h5", ".txt"))
    check(path + " splits", sorted(rep), sorted(["train", "test"]))
    for split in ("train", "test"):
        x, y = f[split + "/x"][:], f[split + "/y"][:]
        lines = rep.get(split, [])
        got, want = classes(lines, y, int(f.attrs["num_classes"]), names)
        check("%s /%s classes" % (path, split), got, want)
        L = (x != 0).sum(axis=1)
        p = [int(np.percentile(L, q, method="inverted_cdf")) for q in (50, 90, 95, 99)]
        want = "  length: min %d, p50 %d, p90 %d, p95 %d, p99 %d, max %d, mean %.2f " \
               "(non-zero ids per row)" % (L.min(), *p, L.max(), L.mean())
        check("%s /%s length" % (path, split), line(lines, "length:"), want)
        T = x.shape[1]
        part = (L > 0) & (L < T)
        pre = int((part & (x[:, -1] != 0)).sum())
        post = int((part & (x[:, 0] != 0)).sum())
        want = "  padding: %.2f%% of steps; rows padded 'pre' %d, 'post' %d, both sides or " \
               "inside 0, full length %d %d, empty %d" % (100.0 * (x == 0).mean(), pre, post, T,
                                                         int((L == T).sum()), int((L == 0).sum()))
        check("%s /%s padding" % (path, split), line(lines, "padding:"), want)
        Ms = [(maxlen, "")] if maxlen else []
        if not maxlen:
            prev = -1
            for q, m in zip((50, 90, 95, 99), p):
                if m != prev:
                    Ms.append((m, " (p%d)" % q))
                prev = m
        got = [l for l in lines if l.startswith("  maxlen ")]
        want = []
        for M, why in Ms:
            cut, lost = int((L > M).sum()), np.maximum(L - M, 0).sum()
            pad = np.maximum(M - L, 0).sum()
            want.append("  maxlen %d%s: %d rows truncated (%.2f%%), %.2f%% of tokens lost, "
                        "%.2f%% of steps padding" % (M, why, cut, 100.0 * cut / len(L),
                                                     100.0 * lost / L.sum(),
                                                     100.0 * pad / (len(L) * M)))
        check("%s /%s truncation" % (path, split), got, want)

tokens("post.h5", 20, ["alpha", "beta", "gamma", "delta"])
tokens("pre.h5", 0)

# Per-step labels: classes counted over the real steps (x != 0).
f = h5py.File("seq.h5", "r")
lines = sections("seq.txt")["train"]
x, y = f["train/x"][:], f["train/y"][:]
got, want = classes(lines, y[x != 0], int(f.attrs["num_classes"]))
check("seq.h5 per-step classes", got, want)

# Float features: overall and per-feature min / max / mean.
f = h5py.File("feat.h5", "r")
lines = sections("feat.txt")["train"]
x = f["train/x"][:].astype(np.float64)
vals = [float(v) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", line(lines, "values:"))]
want = [x.min(), x.max(), x.mean(), x.std(), x.size]
if not np.allclose(vals, want, rtol=1e-5):
    bad.append("feat.h5 values: %s, expected %s" % (vals, want))
rows = [l.split() for l in lines if re.match(r"^ +\d+ +-?[\d.]", l) and len(l.split()) == 5]
got = np.array([[float(v) for v in r[1:4]] for r in rows])
want = np.stack([x.min(axis=(0, 1)), x.max(axis=(0, 1)), x.mean(axis=(0, 1))], axis=1)
if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
    bad.append("feat.h5 per feature:\n%s\nexpected\n%s" % (got, want))

for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# Attributes and the dataset listing.
grep -q "^  vocab_size = 50$" post.txt || fail "no vocab_size line: $(cat post.txt)"
grep -Eq "^  /train/x +int32 \(300, 30\)$" post.txt || fail "no /train/x listing"
grep -Eq "^  /classes +string \(4\)$" post.txt || fail "no /classes listing"

# Under 2 ranks: one report (rank 0), exit 0; an error is one line and exit 1 on every rank.
run_np 2 inspect pre.h5 > np2.txt 2> np2.err || fail "inspect under 2 ranks: $(cat np2.err)"
[ "$(grep -c '^/train: ' np2.txt)" = 1 ] || fail "want one report under 2 ranks: $(cat np2.txt)"
cmp -s pre.txt np2.txt || fail "the report under 2 ranks differs from 1 rank: $(diff pre.txt np2.txt)"

expect_error() { # expect_error RC REGEX ARGS...
  local want=$1 re=$2 rc=0
  shift 2
  "$@" > out 2> err || rc=$?
  [ "$rc" = "$want" ] || fail "exit $rc (want $want) for: $* ($(cat err))"
  [ "$(wc -l < err)" = 1 ] || fail "want one error line for: $*: $(cat err)"
  grep -Eq -- "$re" err || fail "error for '$*' is '$(cat err)', want /$re/"
}
expect_error 1 "^seqtrain: error: nothere.h5: no such file$" "$ST_BIN" inspect nothere.h5
"$ST_PY" -c "import h5py; h5py.File('ckpt.h5', 'w').create_group('model_weights')"
expect_error 1 "ckpt.h5: a seqtrain checkpoint, not a dataset" "$ST_BIN" inspect ckpt.h5
expect_error 1 "pre.h5: no split /valid \(the file has: /test, /train\)" \
  "$ST_BIN" inspect pre.h5 --split valid
[ ! -s out ] || fail "a report was printed before the missing-split error: $(cat out)"
expect_error 2 "--maxlen needs a whole number >= 1 \(got '0'\)" "$ST_BIN" inspect pre.h5 --maxlen 0
rc=0; run_np 2 inspect nothere.h5 > out 2> err || rc=$?
[ "$rc" != 0 ] && [ "$(grep -c 'seqtrain: error' err)" = 1 ] && grep -q "nothere.h5: no such file" err ||
  fail "missing file under 2 ranks: exit $rc, $(cat err)"
echo "inspect: ok"
