#!/usr/bin/env bash
# tokenize_csv.sh - seqtrain-tokenize on CSV and TSV input, option by option against Keras.
#
# A small CSV made here (header, quoted fields, doubled quotes, a line break inside quotes, CRLF
# records, non-ASCII letters, a final sigma) is tokenized with each Keras option: lower,
# filters, split, num_words, oov_token, maxlen, padding and truncating pre/post, char level.
# Every result is checked twice: against ids written out here by hand (byte-exact), and against
# Keras' Tokenizer + pad_sequences (tests/e2e/lib/keras_text.py) fit on the same rows as read by
# Python's csv module. Then: /vocab, /classes and the tokenizer attributes read back with h5py;
# --vocab-from (dataset and .vocab.txt) giving new data the training ids and class ids; --test-csv;
# a stratified --valid-fraction; --tsv with stray quotes; and one error line naming file:line for
# each malformed input.
#
# Usage (from ctest): tokenize_csv.sh SEQTRAIN_BIN BUILD_DIR MPIEXEC
source "$(dirname "$0")/lib/common.sh"
TOK=$ST_BUILD/seqtrain-tokenize
[ -x "$TOK" ] || fail "$TOK not built"
export PYTHONPATH=$ST_HERE/lib

# ---------------------------------------------------------------- the fixture
# CRLF record ends; record 2 has an LF inside its quoted body; record 6 has non-ASCII text.
printf '%s\r\n' \
  'id,label,title,body' \
  '1,pos,"Great Movie","I loved it, ""really"" loved it!"' \
  $'2,neg,Bad movie,"Boring.\nVery boring!!"' \
  '3,pos,Great fun,great GREAT great' \
  '4,neu,Okay,"It was okay, not great"' \
  '5,neg,"Awful","awful; awful, bad"' \
  '6,neu,ÉTÉ ΟΔΟΣ,naïve Über' > train.csv

tok() { "$TOK" --csv train.csv --header --label-col label --text-cols title,body --test-fraction 0 \
          --no-shuffle "$@"; }

# name | flags
cases=(
  "default|"
  "nolower|--no-lower"
  "filters|--filters !,"
  "split|--filters= --split ,"
  "numwords|--num-words 5"
  "oov|--num-words 5 --oov-token <OOV>"
  "pre_pre|--maxlen 4"
  "post_post|--maxlen 4 --padding post --truncating post"
  "pre_post|--maxlen 4 --truncating post"
  "post_pre|--maxlen 4 --padding post"
  "char|--level char --maxlen 6"
)
for c in "${cases[@]}"; do
  name=${c%%|*}
  # shellcheck disable=SC2086  # the flags are words
  tok ${c#*|} --out "$name.h5" > "$name.out" 2>&1 || fail "case $name: exit $?: $(cat "$name.out")"
done

"$ST_PY" - <<'EOF' || fail "ids differ (above)"
import csv, h5py
from keras_text import Tokenizer, pad_sequences
rows = list(csv.reader(open("train.csv", newline="", encoding="utf-8")))[1:]
texts = [r[2] + " " + r[3] for r in rows]
labels = {"pos": 0, "neg": 1, "neu": 2}          # first appearance
Y = [labels[r[1]] for r in rows]
keras = {
    "default": ({}, {}), "nolower": ({"lower": False}, {}), "filters": ({"filters": "!,"}, {}),
    "split": ({"filters": "", "split": ","}, {}), "numwords": ({"num_words": 5}, {}),
    "oov": ({"num_words": 5, "oov_token": "<OOV>"}, {}),
    "pre_pre": ({}, {"maxlen": 4}),
    "post_post": ({}, {"maxlen": 4, "padding": "post", "truncating": "post"}),
    "pre_post": ({}, {"maxlen": 4, "truncating": "post"}),
    "post_pre": ({}, {"maxlen": 4, "padding": "post"}),
    "char": ({"char_level": True}, {"maxlen": 6}),
}
# Written out by hand from the Keras rules: counts great 6, it 3, awful 3, then the count-2
# words movie loved bad boring okay in first-seen order, then the count-1 words.
# great 1 it 2 awful 3 movie 4 loved 5 bad 6 boring 7 okay 8 i 9 really 10 very 11 fun 12
# was 13 not 14 été 15 οδος 16 naïve 17 über 18 (the final sigma: ΟΔΟΣ -> οδος).
D = [[1, 4, 9, 5, 2, 10, 5, 2], [0, 0, 0, 6, 4, 7, 11, 7], [0, 0, 0, 1, 12, 1, 1, 1],
     [0, 0, 8, 2, 13, 8, 14, 1], [0, 0, 0, 0, 3, 3, 3, 6], [0, 0, 0, 0, 15, 16, 17, 18]]
by_hand = {
    "default": D,
    # ids >= 5 dropped (movie 4 stays); padded 'pre' to the longest row, 4 ids
    "numwords": [[1, 4, 2, 2], [0, 0, 0, 4], [1, 1, 1, 1], [0, 0, 2, 1], [0, 3, 3, 3],
                 [0, 0, 0, 0]],
    # OOV = 1 shifts every word by one; ids >= 5 become 1
    "oov": [[2, 1, 1, 1, 3, 1, 1, 3], [1, 1, 1, 1, 1], [2, 1, 2, 2, 2], [1, 3, 1, 1, 1, 2],
            [4, 4, 4, 1], [1, 1, 1, 1]],
    "pre_pre": [[2, 10, 5, 2], [4, 7, 11, 7], [12, 1, 1, 1], [13, 8, 14, 1], [3, 3, 3, 6],
                [15, 16, 17, 18]],
    "post_post": [[1, 4, 9, 5], [6, 4, 7, 11], [1, 12, 1, 1], [8, 2, 13, 8], [3, 3, 3, 6],
                  [15, 16, 17, 18]],
}
by_hand["oov"] = [[0] * (8 - len(r)) + r for r in by_hand["oov"]]  # padded 'pre' to 8
bad = 0
for name, (tk, pk) in keras.items():
    t = Tokenizer(**tk)
    t.fit_on_texts(texts)
    want = pad_sequences(t.texts_to_sequences(texts), **pk)
    f = h5py.File(name + ".h5", "r")
    got = f["train/x"][:].tolist()
    if got != want or f["train/y"][:].tolist() != Y:
        print(f"FAIL {name}: x {got}\n   keras {want}\n   y {f['train/y'][:].tolist()} want {Y}")
        bad += 1
    if name in by_hand and got != by_hand[name]:
        print(f"FAIL {name}: x {got}\n   by hand {by_hand[name]}")
        bad += 1
    # /vocab: index = id, "" at 0, the OOV token at 1, as many words as ids < vocab_size
    vocab = f["vocab"].asstr()[:].tolist()
    inv = {i: w for w, i in t.word_index.items()}
    want_vocab = [""] + [inv[i] for i in range(1, int(f.attrs["vocab_size"])) if i in inv]
    if vocab != want_vocab or f["classes"].asstr()[:].tolist() != ["pos", "neg", "neu"]:
        print(f"FAIL {name}: /vocab {vocab} want {want_vocab}, /classes {f['classes'][:]}")
        bad += 1
    if f["train/x"].dtype != "int32" or f.attrs["num_classes"] != 3:
        print(f"FAIL {name}: dtype {f['train/x'].dtype}, num_classes {f.attrs['num_classes']}")
        bad += 1
f = h5py.File("char.h5", "r")
v = f["vocab"].asstr()[:]
# char level: no filters, characters whole (ü is one id); truncating 'pre' keeps the end
last = "".join(v[i] for i in f["train/x"][5] if i)
if last != "e über":
    print(f"FAIL char: last row spells {last!r}, want 'e über'"); bad += 1
f = h5py.File("oov.h5", "r")
a = dict(f.attrs)
if (a["tokenizer_oov_token"], a["tokenizer_num_words"], a["tokenizer_level"], a["tokenizer_lower"],
        a["pad_maxlen"], a["vocab_size"]) != ("<OOV>", "5", "word", "true", "8", 5):
    print(f"FAIL attributes {a}"); bad += 1
raise SystemExit(bad)
EOF
grep -q '^  vocabulary: 18 distinct train words, word_index 18, vocab_size 19$' default.out ||
  fail "summary: $(cat default.out)"

# ---------------------------------------------------------------- --vocab-from
# New data: labels in another order, unseen words, a long row. It gets the training ids
# (num_words 5, <OOV>) and class ids (pos 0, neg 1, neu 2), maxlen 8 from the file.
printf '%s\n' 'id,label,title,body' '7,neu,okay,"great, unseen words"' \
  '8,pos,Great,"GREAT it awful it great it awful it great"' > new.csv
for from in oov.h5 oov.h5.vocab.txt; do
  extra=()
  [ "$from" = oov.h5.vocab.txt ] && extra=(--num-words 5 --oov-token '<OOV>' --maxlen 8)
  "$TOK" --csv new.csv --header --label-col 2 --text-cols 3,4 --vocab-from "$from" "${extra[@]}" \
    --test-fraction 1 --no-shuffle --out new.h5 > new.out 2>&1 || fail "--vocab-from $from: $(cat new.out)"
  "$ST_PY" - <<'EOF' || fail "--vocab-from $from: ids"
import h5py
f = h5py.File("new.h5", "r")
assert "train" not in f, list(f)
# okay 8 -> OOV 1, great 1 -> 2, unseen -> 1, words -> 1; it 2 -> 3, awful 3 -> 4
want = [[0, 0, 0, 0, 1, 2, 1, 1], [3, 4, 3, 2, 3, 4, 3, 2]]
got = f["test/x"][:].tolist()
assert got == want and f["test/y"][:].tolist() == [2, 0], (got, f["test/y"][:])
assert f["classes"].asstr()[:].tolist() == ["pos", "neg", "neu"]
assert f.attrs["vocab_size"] == 5 and f["vocab"].asstr()[1] == "<OOV>"
EOF
done
# a label the training data did not have
printf '%s\n' 'id,label,title,body' '9,pos,a,b' '10,spam,c,d' > newlabel.csv
if "$TOK" --csv newlabel.csv --header --label-col 2 --text-cols 3 --vocab-from oov.h5 \
     --test-fraction 1 --out nl.h5 > nl.out 2>&1; then fail "unknown label with --vocab-from accepted"; fi
grep -q "newlabel.csv:3: label 'spam' (column 2) is not a class of oov.h5" nl.out || fail "$(cat nl.out)"
# tokenizer options come from the file
if "$TOK" --csv new.csv --header --label-col 2 --text-cols 3 --vocab-from oov.h5 --no-lower \
     --test-fraction 1 --out nl.h5 > nl.out 2>&1; then fail "--no-lower with --vocab-from accepted"; fi

# ---------------------------------------------------------------- --test-csv, --valid-fraction
# 20 rows per class, labels fixed and renamed by --classes; /test from a file of its own.
{ for i in $(seq 1 20); do echo "b,good word$i"; echo "a,bad word$i"; done; } > big.csv
printf '%s\n' 'a,bad testonly' 'b,good' > bigtest.csv
"$TOK" --csv big.csv --test-csv bigtest.csv --label-col 1 --text-cols 2 --classes a=neg,b=pos \
  --valid-fraction 0.25 --out big.h5 > big.out 2>&1 || fail "--test-csv: $(cat big.out)"
grep -q '^  class 0 neg: 21 documents (train 15, valid 5, test 1)$' big.out || fail "$(cat big.out)"
grep -q '^  splits: train 30, valid 10, test 2$' big.out || fail "$(cat big.out)"
"$ST_PY" - <<'EOF' || fail "--test-csv rows"
import h5py
f = h5py.File("big.h5", "r")
v = f["vocab"].asstr()[:].tolist()
assert "testonly" not in v, "the vocabulary must come from /train only"
assert f["classes"].asstr()[:].tolist() == ["neg", "pos"]
assert sorted(f["test/y"][:].tolist()) == [0, 1] and sorted(f["valid/y"][:].tolist()) == [0] * 5 + [1] * 5
EOF
if "$TOK" --csv big.csv --test-csv bigtest.csv --label-col 1 --text-cols 2 --test-fraction 0.2 \
     --out x.h5 > x.out 2>&1; then fail "--test-fraction with --test-csv accepted"; fi

# ---------------------------------------------------------------- TSV (SMS Spam Collection)
# Tab-separated, no quoting: a quote inside a message is a character like any other.
printf 'ham\t"Hey, you there?\nspam\tFREE "prize" now\nham\tok"\n' > sms.tsv
"$TOK" --csv sms.tsv --tsv --label-col 1 --text-cols 2 --test-fraction 0 --no-shuffle --out sms.h5 \
  > sms.out 2>&1 || fail "--tsv: $(cat sms.out)"
"$ST_PY" - <<'EOF' || fail "--tsv rows"
import h5py
f = h5py.File("sms.h5", "r")
v = f["vocab"].asstr()[:]
rows = [" ".join(v[i] for i in r if i) for r in f["train/x"][:]]
assert rows == ["hey you there", "free prize now", "ok"], rows
assert f["train/y"][:].tolist() == [0, 1, 0] and f["classes"].asstr()[:].tolist() == ["ham", "spam"]
EOF

# ---------------------------------------------------------------- malformed input
# expect_error FILE REGEX ARGS...: exit status non-zero, exactly one line, matching REGEX.
expect_error() {
  local in=$1 re=$2
  shift 2
  if "$TOK" --csv "$in" --label-col 1 --text-cols 2 --out err.h5 "$@" > err.out 2>&1; then
    fail "$in: accepted"
  fi
  [ "$(wc -l < err.out)" -eq 1 ] || fail "$in: not one line: $(cat err.out)"
  grep -Eq -- "$re" err.out || fail "$in: '$(cat err.out)' does not match '$re'"
  [ ! -e err.h5 ] || fail "$in: a dataset was written"
}
printf 'a,one\nb,two\nc,"three\nd,four\n' > unterminated.csv
expect_error unterminated.csv '^seqtrain-tokenize: unterminated.csv:3: unterminated quoted field'
: > empty.csv
expect_error empty.csv '^seqtrain-tokenize: empty.csv: empty file'
printf '\r\n\n' > blank.csv
expect_error blank.csv '^seqtrain-tokenize: blank.csv: empty file'
printf 'a,one\nb,t\x00wo\n' > nul.csv
expect_error nul.csv '^seqtrain-tokenize: nul.csv:2: NUL byte .*binary'
head -c 3000 /dev/urandom | tr -d '\000' > junk.csv; printf 'x\000' >> junk.csv
expect_error junk.csv '^seqtrain-tokenize: junk.csv:[0-9]+: NUL byte'
printf 'a,one\nb,two,extra\n' > columns.csv
expect_error columns.csv '^seqtrain-tokenize: columns.csv:2: 3 fields, expected 2 \(as on line 1'
printf 'a,one\nspam,two\n' > label.csv
expect_error label.csv "^seqtrain-tokenize: label.csv:2: label 'spam' \(column 1\) is not a class of --classes a,b$" \
  --classes a,b
printf 'a,one\n,two\n' > emptylabel.csv
expect_error emptylabel.csv '^seqtrain-tokenize: emptylabel.csv:2: empty label in column 1'
printf 'lab,txt\na,one\n' > header.csv
expect_error header.csv "^seqtrain-tokenize: header.csv:1: --label-col label: no such column in the header \(lab, txt\)" \
  --header --label-col label
expect_error header.csv "^seqtrain-tokenize: header.csv:1: --label-col 5: the file has columns 1 to 2" \
  --label-col 5
echo "tokenize_csv.sh: all checks passed"
