#!/usr/bin/env bash
# tokenize.sh - end-to-end check of tools/seqtrain-tokenize on a crafted class-per-directory
# corpus: Keras vocabulary order (count, then first-seen), OOV = 1, num_words truncation,
# pad/truncate counts, MIME decoding (base64, quoted-printable, RFC 2047 subject, HTML, skipped
# image part, dropped headers, CRLF), invalid UTF-8 bytes, a seeded split, and the one-line
# errors for a missing directory and an unreadable file.
#
# Usage (from ctest): tokenize.sh SEQTRAIN_BIN BUILD_DIR [MPIEXEC]
set -euo pipefail

build=${2:?usage: tokenize.sh SEQTRAIN_BIN BUILD_DIR [MPIEXEC]}
tok=$build/seqtrain-tokenize
[ -x "$tok" ] || { echo "FAIL: $tok not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect_line FILE REGEX: some line of FILE matches (grep -E).
expect_line() { grep -Eq -- "$2" "$1" || fail "no line matching '$2' in $(basename "$1"):"$'\n'"$(cat "$1")"; }

# ---------------------------------------------------------------- the corpus
mkdir -p "$tmp/ham" "$tmp/spam"
# Ties at count 3 (zeta, alpha) and count 1 (beta, gamma) inside one document.
printf 'Zeta alpha, zeta BETA alpha gamma zeta alpha\n' > "$tmp/ham/a.txt"
# Invalid UTF-8: \xff\xfe and a Latin-1 caf\xe9 are decoded as Python's errors="replace" does:
# each ill-formed byte becomes U+FFFD (words "\ufffd\ufffd" and "caf\ufffd").
printf 'delta delta delta delta delta delta delta\n\xff\xfe \xff\xfe caf\xe9 caf\xe9\n' > "$tmp/ham/b.txt"
touch "$tmp/ham/.hidden"   # hidden files are skipped
# A multipart mail with CRLF line ends. Expected text: prize x4 (subject, RFC 2047 base64),
# money x6 (base64 part), soft x5 and naive-with-diaeresis x1 (quoted-printable, a soft line
# break), click here (HTML). Headers, preamble, epilogue, <style> and the image are dropped.
cat > "$tmp/spam/m.eml.in" <<'EOF'
From sender@example.com  Mon Jan  1 00:00:00 2024
Return-Path: <sender@example.com>
From: Sender <sender@example.com>
X-Mailer: junkmailer
Subject: Prize =?utf-8?B?cHJpemUgcHJpemUgcHJpemU=?=
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="==outer=="

This is a multi-part message in MIME format.

--==outer==
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

bW9uZXkgbW9uZXkgbW9u
ZXkgbW9uZXkgbW9uZXkgbW9uZXkK
--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

sof=
t soft soft soft soft na=C3=AFve
--inner
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red} .styleword</style></head>
<body><p>Click&nbsp;<b>here</b></p><!-- commentword --></body></html>
--inner--
--==outer==
Content-Type: image/png
Content-Transfer-Encoding: base64

aGlkZGVuaW1hZ2UgaGlkZGVuaW1hZ2U=
--==outer==--
epilogueword
EOF
sed 's/$/\r/' "$tmp/spam/m.eml.in" > "$tmp/spam/m.eml"
rm "$tmp/spam/m.eml.in"

run() { "$tok" --mail --class ham="$tmp/ham" --class spam="$tmp/spam" --test-fraction 0 "$@"; }

# ---------------------------------------------------------------- 1. full vocabulary, OOV
run --oov-token '<OOV>' --maxlen 10 --out "$tmp/full.h5" > "$tmp/full.out" 2>&1 ||
  fail "tokenize exited $?: $(cat "$tmp/full.out")"
v=$tmp/full.h5.vocab.txt
[ -f "$v" ] || fail "no vocab file $v"
# Deterministic prefix: OOV, then counts 7 6 5 4, the count-3 tie and the count-2 tie in
# first-seen order.
fffd=$'\xef\xbf\xbd'
printf '%s\n' '<OOV>' delta money soft prize zeta alpha "$fffd$fffd" "caf$fffd" > "$tmp/prefix"
head -n 9 "$v" | cmp -s - "$tmp/prefix" ||
  fail "vocabulary order:"$'\n'"$(head -n 9 "$v" | cat -v)"$'\n'"expected:"$'\n'"$(cat -v "$tmp/prefix")"
# Count-1 words: these five in some document order, beta before gamma (same document).
tail -n +10 "$v" | LC_ALL=C sort > "$tmp/rest"
printf '%s\n' beta click gamma here $'na\xc3\xafve' | LC_ALL=C sort > "$tmp/rest.want"
cmp -s "$tmp/rest" "$tmp/rest.want" || fail "count-1 words: $(tr '\n' ' ' < "$tmp/rest" | cat -v)"
[ "$(grep -n -x beta "$v" | cut -d: -f1)" -lt "$(grep -n -x gamma "$v" | cut -d: -f1)" ] ||
  fail "beta must come before gamma (first seen)"
for junk in sender example com junkmailer multi mime styleword commentword hiddenimage \
            epilogueword html nbsp utf inner outer; do
  grep -qx -- "$junk" "$v" && fail "'$junk' should not be in the vocabulary (headers, markup, image)"
done
[ "$(wc -l < "$v")" -eq 14 ] || fail "vocab lines: $(wc -l < "$v"), expected 14"
[ "$(cat "$tmp/full.h5.classes.txt")" = $'ham\nspam' ] || fail "classes file"
o=$tmp/full.out
expect_line "$o" '^  class 0 ham: 2 documents \(train 2, valid 0, test 0\)$'
expect_line "$o" '^  class 1 spam: 1 documents \(train 1, valid 0, test 0\)$'
expect_line "$o" '^  tokens: 37 in train, 37 in all documents$'
expect_line "$o" 'vocabulary: 13 distinct train words, word_index 14, vocab_size 15, oov id 1'
expect_line "$o" '^  coverage: 100\.00% of train tokens'
# lengths 8, 11, 18 ids; maxlen 10 cuts two documents
expect_line "$o" '^  length: p50 11, p90 18, p99 18, max 18 ids per document$'
expect_line "$o" '^  maxlen 10 \(padding pre, truncating pre\): 2 truncated \(66\.7%\), 0 empty$'
[ -f "$tmp/full.h5" ] || fail "no dataset written"
# The rows themselves, where Debian's python3-h5py is there (tools/setup-deps.sh --python):
# ids 2 delta, 3 money, 4 soft, 5 prize, 6 zeta, 7 alpha, 8 \ufffd\ufffd, 9 caf\ufffd, 10 beta,
# 11 gamma; padding and truncating 'pre' at maxlen 10.
if /usr/bin/python3 -c 'import h5py' 2> /dev/null; then
  run --oov-token '<OOV>' --maxlen 10 --out "$tmp/full.h5" --manifest "$tmp/full.man" > /dev/null
  /usr/bin/python3 - "$tmp/full.h5" "$tmp/full.man" > "$tmp/py.out" 2>&1 <<'EOF' ||
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert int(f.attrs["vocab_size"]) == 15 and int(f.attrs["num_classes"]) == 2, dict(f.attrs)
assert f["train/x"].shape == (3, 10) and f["train/x"].dtype == "int32", f["train/x"]
want = {"a.txt": ([0, 0, 6, 7, 6, 10, 7, 11, 6, 7], 0),
        "b.txt": ([2, 2, 2, 2, 2, 2, 8, 8, 9, 9], 0),
        "m.eml": ([3, 3, 4, 4, 4, 4, 4], 1)}
for line in open(sys.argv[2]):
    split, row, cls, path = line.split(" ", 3)
    x, y = list(f[split]["x"][int(row)]), int(f[split]["y"][int(row)])
    wx, wy = want[path.strip().rsplit("/", 1)[1]]
    assert x[:len(wx)] == wx and y == wy == int(cls), (path, x, y)
# /vocab (id -> word) and /classes in the file itself, the same as the text files
vocab = f["vocab"].asstr()[:].tolist()
lines = open(sys.argv[1] + ".vocab.txt", encoding="utf-8").read().split("\n")[:-1]
assert vocab == [""] + lines and vocab[8] == "\ufffd\ufffd" and vocab[9] == "caf\ufffd", vocab
assert f["classes"].asstr()[:].tolist() == ["ham", "spam"], f["classes"][:]
assert f.attrs["tokenizer_oov_token"] == "<OOV>" and f.attrs["pad_maxlen"] == "10", dict(f.attrs)
EOF
    fail "dataset rows: $(cat "$tmp/py.out")"
fi

# ---------------------------------------------------------------- 2. num_words truncation
run --oov-token '<OOV>' --num-words 5 --out "$tmp/nw.h5" > "$tmp/nw.out" 2>&1 ||
  fail "tokenize --num-words exited $?: $(cat "$tmp/nw.out")"
printf '%s\n' '<OOV>' delta money soft | cmp -s - "$tmp/nw.h5.vocab.txt" ||
  fail "num_words 5 vocabulary: $(tr '\n' ' ' < "$tmp/nw.h5.vocab.txt")"
expect_line "$tmp/nw.out" 'vocab_size 5, oov id 1'
# delta 7 + money 6 + soft 5 = 18 of 37 train tokens
expect_line "$tmp/nw.out" '^  coverage: 48\.65% of train tokens have an id < 5$'
# maxlen 0 = the longest document; with the OOV token no id is dropped: 18
expect_line "$tmp/nw.out" '^  maxlen 18 \(padding pre, truncating pre\): 0 truncated'

# Without an OOV token, words beyond num_words are dropped: document a.txt becomes empty.
run --num-words 4 --padding post --truncating post --maxlen 5 --out "$tmp/drop.h5" \
  > "$tmp/drop.out" 2>&1 || fail "tokenize (no oov) exited $?: $(cat "$tmp/drop.out")"
printf '%s\n' delta money soft | cmp -s - "$tmp/drop.h5.vocab.txt" ||
  fail "num_words 4 vocabulary: $(tr '\n' ' ' < "$tmp/drop.h5.vocab.txt")"
expect_line "$tmp/drop.out" '^  length: p50 7, p90 11, p99 11, max 11 ids per document$'
expect_line "$tmp/drop.out" '^  maxlen 5 \(padding post, truncating post\): 2 truncated \(66\.7%\), 1 empty$'

# ---------------------------------------------------------------- 3. seeded stratified split
mkdir -p "$tmp/c0" "$tmp/c1"
for i in 0 1 2 3 4 5 6 7 8 9; do
  echo "red word$i" > "$tmp/c0/d$i.txt"
  echo "blue word$i" > "$tmp/c1/d$i.txt"
done
split_run() {
  "$tok" --class a="$tmp/c0" --class b="$tmp/c1" --test-fraction 0.2 --valid-fraction 0.1 \
    --seed "$1" --out "$tmp/s.h5" --manifest "$tmp/$2" > "$tmp/s.out" 2>&1 ||
    fail "split run exited $?: $(cat "$tmp/s.out")"
}
split_run 42 m1
split_run 42 m2
split_run 7 m3
expect_line "$tmp/s.out" '^  class 0 a: 10 documents \(train 7, valid 1, test 2\)$'
expect_line "$tmp/s.out" '^  splits: train 14, valid 2, test 4$'
cmp -s "$tmp/m1" "$tmp/m2" || fail "same seed, different split"
cmp -s "$tmp/m1" "$tmp/m3" && fail "seeds 42 and 7 gave the same split"
[ "$(grep -c '^train ' "$tmp/m1")" -eq 14 ] || fail "manifest train rows"
[ "$(grep -c '^test .* 0 ' "$tmp/m1")" -eq 2 ] || fail "test rows of class 0 (stratified)"
# /train is shuffled across classes: not all class-0 rows first
[ "$(grep '^train ' "$tmp/m1" | head -n 7 | cut -d' ' -f3 | sort -u | wc -l)" -eq 2 ] ||
  fail "train rows are ordered by class: $(grep '^train ' "$tmp/m1" | cut -d' ' -f3 | tr -d '\n')"

# The input's own test set (--test-class, as aclImdb/test): /test is exactly those files, the
# vocabulary comes from the --class files only.
mkdir -p "$tmp/t0" "$tmp/t1"
echo "red testonly" > "$tmp/t0/x.txt"
echo "blue word1" > "$tmp/t1/y.txt"
"$tok" --class a="$tmp/c0" --class b="$tmp/c1" --test-class a="$tmp/t0" --test-class b="$tmp/t1" \
  --out "$tmp/tc.h5" > "$tmp/tc.out" 2>&1 || fail "--test-class exited $?: $(cat "$tmp/tc.out")"
expect_line "$tmp/tc.out" '^  class 0 a: 11 documents \(train 10, valid 0, test 1\)$'
grep -qx testonly "$tmp/tc.h5.vocab.txt" && fail "a test-only word is in the vocabulary"
if "$tok" --class a="$tmp/c0" --test-class b="$tmp/t1" --out "$tmp/e.h5" > "$tmp/e.out" 2>&1; then
  fail "--test-class of an unknown class must fail"
fi
expect_line "$tmp/e.out" 'no --class b before it'

# ---------------------------------------------------------------- 4. errors
if "$tok" --class a="$tmp/nope" --class b="$tmp/c1" --out "$tmp/e.h5" > "$tmp/e.out" 2>&1; then
  fail "a missing directory must fail"
fi
expect_line "$tmp/e.out" "cannot open directory '$tmp/nope'"
ln -s "$tmp/does-not-exist" "$tmp/c1/zz.txt"
if "$tok" --class a="$tmp/c0" --class b="$tmp/c1" --out "$tmp/e.h5" > "$tmp/e.out" 2>&1; then
  fail "an unreadable file must fail"
fi
expect_line "$tmp/e.out" "$tmp/c1/zz.txt"
[ "$(wc -l < "$tmp/e.out")" -eq 1 ] || fail "error is not one line: $(cat "$tmp/e.out")"
if "$tok" --class a="$tmp/c0" --padding middle --out "$tmp/e.h5" > "$tmp/e.out" 2>&1; then
  fail "--padding middle must fail"
fi
"$tok" --help > "$tmp/help" || fail "--help exited $?"
grep -q -- '--num-words' "$tmp/help" || fail "--help"

if [ "$fails" -ne 0 ]; then
  echo "tokenize.sh: $fails check(s) failed"
  exit 1
fi
echo "tokenize.sh: all checks passed"
