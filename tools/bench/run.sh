#!/usr/bin/env bash
# run.sh - THE benchmark command (issue 3): seqtrain vs PyTorch on the same models, side by side.
#
#   tools/bench/run.sh                       all models (M1 M2 M3 M5 M6), 1x1 1x2 2x1, 3 rounds
#   tools/bench/run.sh --models M2,M6 --steps 10 --rounds 2
#   tools/bench/run.sh --quick               one round, a quarter of the steps (a smoke test)
#   tools/bench/run.sh --no-deps ...         skip the package check
#   tools/bench/run.sh --blas-core SkylakeX  all three programs on that OpenBLAS core
#
# Installs what is missing (tools/setup-deps.sh, plus Debian's python3-torch), builds
# build-bench/ (Release) when needed, then hands over to tools/bench/bench.py (see its header
# for the method). Prints a Markdown table and writes tools/bench/results/latest.{md,jsonl}.
# Takes about 10 minutes on a 2-core machine. Exit status: 0 done, 1 a build or tool failed,
# 2 bad usage (an unknown model, configuration or --blas-core name).
#
# OpenBLAS kernels (issue 15): seqtrain, PyTorch (torch_bench.py) and sgemm_rate run the same
# OpenBLAS core. With OPENBLAS_CORETYPE unset, the core is the one `seqtrain --version` picks
# for this CPU (its start-up rules) and the benchmark exports OPENBLAS_CORETYPE=<that core>
# to every process; a non-empty OPENBLAS_CORETYPE is left as it is and all three obey it;
# --blas-core NAME sets it to NAME. The table's header names the CPU and its vector level, the
# OpenBLAS library, the core and how it was chosen, and opens with a bold WARNING if the
# programs reported different cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

deps=1
args=()
for a in "$@"; do
  case "$a" in
    --no-deps) deps=0 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exec /usr/bin/python3 tools/bench/bench.py --help ;;
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
