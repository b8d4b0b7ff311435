#!/usr/bin/env bash
# run.sh - THE benchmark command (issue 3): seqtrain vs PyTorch on the same models, side by side.
#
#   tools/bench/run.sh                       all models (M1 M2 M3 M5 M6), 1x1 1x2 2x1, 3 rounds
#   tools/bench/run.sh --models M2,M6 --steps 10 --rounds 2
#   tools/bench/run.sh --quick               one round, a quarter of the steps (a smoke test)
#   tools/bench/run.sh --no-deps ...         skip the package check
#
# Installs what is missing (tools/setup-deps.sh, plus Debian's python3-torch), builds
# build-bench/ (Release) when needed, then hands over to tools/bench/bench.py (see its header
# for the method). Prints a Markdown table and writes tools/bench/results/latest.{md,jsonl}.
# Takes about 10 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

deps=1
args=()
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exec /usr/bin/python3 tools/bench/bench.py --help ;;
    *) args+=("$a") ;;
  esac
done

if [ "$deps" = 1 ]; then
  tools/setup-deps.sh
  if [ "$(dpkg-query -W -f='${Status}' python3-torch 2>/dev/null)" != "install ok installed" ]; then
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "run.sh: installing python3-torch" >&2
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-torch
  fi
fi

# Open MPI as root and with more ranks than cores on small machines.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec /usr/bin/python3 tools/bench/bench.py "${args[@]+"${args[@]}"}"
