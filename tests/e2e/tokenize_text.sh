#!/usr/bin/env bash
# tokenize_text.sh - seqtrain-tokenize --text: language-model datasets (x = T ids, y = the next
# id at every step), word and character level, split by position, against ids written out by
# hand and against Keras' Tokenizer (tests/e2e/lib/keras_text.py). Also: Unicode lowercasing
# (final sigma, non-ASCII letters), ill-formed UTF-8 becoming U+FFFD without splitting a
# character, --test-text, --vocab-from, and the one-line errors for an empty file, a NUL byte
# and a text too short for --seq-len.
#
# Usage (from ctest): tokenize_text.sh SEQTRAIN_BIN BUILD_DIR MPIEXEC
source "$(dirname "$0")/lib/common.sh"
TOK=$ST_BUILD/seqtrain-tokenize
[ -x "$TOK" ] || fail "$TOK not built"
export PYTHONPATH=$ST_HERE/lib

# ---------------------------------------------------------------- word level
# 11 words; the last 25% (3 words: "sat the end") is /test. Train vocabulary with <OOV>: the 2,
# cat 3, sat 4, ran 5, a 6, dog 7 (vocab_size 8). Train ids 2 3 4 2 3 5 6 7 -> windows of 3
# every 2 ids; test ids 4 2 1 (end is unknown: OOV).
printf 'The cat sat. The cat ran!\nA dog sat. The end.' > words.txt
"$TOK" --text words.txt --seq-len 2 --stride 2 --oov-token '<OOV>' --test-fraction 0.25 \
  --out words.h5 > words.out 2>&1 || fail "word level: $(cat words.out)"
grep -q '^  train: 8 tokens -> 8 ids -> 3 rows of 2 (stride 2)$' words.out || fail "$(cat words.out)"
"$ST_PY" - <<'EOF' || fail "word level rows"
import h5py
from keras_text import Tokenizer
f = h5py.File("words.h5", "r")
got = {s: (f[s]["x"][:].tolist(), f[s]["y"][:].tolist()) for s in ("train", "test")}
want = {"train": ([[2, 3], [4, 2], [3, 5]], [[3, 4], [2, 3], [5, 6]]),
        "test": ([[4, 2]], [[2, 1]])}
assert got == want, got
assert "valid" not in f and f.attrs["num_classes"] == 8 == f.attrs["vocab_size"], dict(f.attrs)
assert f["train/y"].dtype == "int32" and f["train/y"].shape == (3, 2)
assert f["vocab"].asstr()[:].tolist() == ["", "<OOV>", "the", "cat", "sat", "ran", "a", "dog"]
assert "classes" not in f
assert f.attrs["lm_seq_len"] == "2" and f.attrs["lm_stride"] == "2"
# Keras: the tokenizer fit on the training words gives the same ids
t = Tokenizer(oov_token="<OOV>")
t.fit_on_texts(["The cat sat. The cat ran!\nA dog"])
assert t.texts_to_sequences(["The cat sat. The cat ran!\nA dog", "sat. The end."]) == \
    [[2, 3, 4, 2, 3, 5, 6, 7], [4, 2, 1]]
EOF

# ---------------------------------------------------------------- character level, Unicode
# "Hello ΟΔΟΣ" + an invalid byte + "é": lowered h e l l o ' ' ο δ ο ς (final sigma) U+FFFD é.
# Counts l 2, ο 2, then first-seen: l 1, ο 2, h 3, e 4, o 5, ' ' 6, δ 7, ς 8, U+FFFD 9, é 10.
printf 'Hello \xce\x9f\xce\x94\xce\x9f\xce\xa3\xff\xc3\xa9' > chars.txt
"$TOK" --text chars.txt --level char --seq-len 4 --test-fraction 0 --out chars.h5 > chars.out 2>&1 ||
  fail "char level: $(cat chars.out)"
"$ST_PY" - <<'EOF' || fail "char level rows"
import h5py
from keras_text import Tokenizer
f = h5py.File("chars.h5", "r")
x, y = f["train/x"][:].tolist(), f["train/y"][:].tolist()
assert x == [[3, 4, 1, 1], [5, 6, 2, 7]] and y == [[4, 1, 1, 5], [6, 2, 7, 2]], (x, y)
v = f["vocab"].asstr()[:].tolist()
assert v == ["", "l", "ο", "h", "e", "o", " ", "δ", "ς", "\ufffd", "é"], v
text = open("chars.txt", "rb").read().decode("utf-8", "replace")
t = Tokenizer(char_level=True)
t.fit_on_texts([text])
assert t.texts_to_sequences([text]) == [[3, 4, 1, 1, 5, 6, 2, 7, 2, 8, 9, 10]]
EOF

# ---------------------------------------------------------------- --vocab-from, --test-text
# New text through the character vocabulary: '!' is unknown (no OOV token): dropped.
printf 'hello!' > new.txt
"$TOK" --text new.txt --vocab-from chars.h5 --seq-len 4 --test-fraction 1 --out new.h5 > new.out 2>&1 ||
  fail "--vocab-from: $(cat new.out)"
"$ST_PY" - <<'EOF' || fail "--vocab-from rows"
import h5py
f = h5py.File("new.h5", "r")
assert "train" not in f and f["test/x"][:].tolist() == [[3, 4, 1, 1]], f["test/x"][:]
assert f["test/y"][:].tolist() == [[4, 1, 1, 5]] and f.attrs["tokenizer_level"] == "char"
EOF
# 11 words: /valid = the last 3 ("sat the end": end is unknown, dropped), /test = its own file
printf 'The cat, the dog.' > test.txt
"$TOK" --text words.txt --test-text test.txt --seq-len 1 --valid-fraction 0.3 --out tt.h5 \
  > tt.out 2>&1 || fail "--test-text: $(cat tt.out)"
grep -q '^  train: 8 tokens -> 8 ids -> 7 rows of 1 (stride 1)$' tt.out || fail "$(cat tt.out)"
grep -q '^  valid: 3 tokens -> 2 ids -> 1 rows of 1 (stride 1)$' tt.out || fail "$(cat tt.out)"
grep -q '^  test: 4 tokens -> 4 ids -> 3 rows of 1 (stride 1)$' tt.out || fail "$(cat tt.out)"

# ---------------------------------------------------------------- errors
expect_error() {
  local re=$1
  shift
  if "$TOK" "$@" --out err.h5 > err.out 2>&1; then fail "$*: accepted"; fi
  [ "$(wc -l < err.out)" -eq 1 ] || fail "$*: not one line: $(cat err.out)"
  grep -Eq -- "$re" err.out || fail "$*: '$(cat err.out)' does not match '$re'"
  [ ! -e err.h5 ] || fail "$*: a dataset was written"
}
: > empty.txt
expect_error '^seqtrain-tokenize: empty.txt: empty file$' --text empty.txt --seq-len 2
printf 'line one\nline\000two\n' > nul.txt
expect_error '^seqtrain-tokenize: nul.txt:2: NUL byte at offset 13: binary data' --text nul.txt --seq-len 2
expect_error '^seqtrain-tokenize: words.txt: the train part has 8 ids, fewer than --seq-len \+ 1 = 9' \
  --text words.txt --seq-len 8 --test-fraction 0.25
expect_error '^seqtrain-tokenize: words.txt: the test part has 2 ids' \
  --text words.txt --seq-len 2 --test-fraction 0.25
expect_error '^seqtrain-tokenize: --maxlen, --padding and --truncating do not apply to --text' \
  --text words.txt --seq-len 2 --maxlen 5
expect_error '^seqtrain-tokenize: --text needs --seq-len' --text words.txt
echo "tokenize_text.sh: all checks passed"
