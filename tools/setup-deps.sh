#!/usr/bin/env bash
# setup-deps.sh - installs the Debian packages seqtrain needs, only those missing.
#
#   tools/setup-deps.sh            build and test: compiler, CMake, Open MPI, HDF5, OpenBLAS, Check, inih,
#                                  clang with its libFuzzer runtime (tools/fuzz.sh), iproute2 (e2e_cutlink)
#   tools/setup-deps.sh --data     also Node.js and npm (tools/get-data.sh fetches corpora with npm)
#   tools/setup-deps.sh --python   also python3-h5py, python3-numpy, python3-torch and
#                                  python3-matplotlib (the e2e checks, the PyTorch parity tests,
#                                  tools/scaling-report's plots)
#   tools/setup-deps.sh --slurm    also Slurm (slurmctld, slurmd, slurm-client) and munge: the
#                                  single-node Slurm of tests/e2e/slurm.sh
#   tools/setup-deps.sh --fashion-mnist   also dataset-fashion-mnist (idx files, for get-data.sh)
#   tools/setup-deps.sh --austen   also r-cran-janeaustenr (Jane Austen's novels as R data files)
#
# Idempotent and silent when everything is there: dpkg-query decides, and apt-get (update, then
# install --no-install-recommends) runs only for what is missing. Runs as root, or through sudo.
set -euo pipefail

want_data=0
want_python=0
want_slurm=0
want_fashion=0
want_austen=0
for a in "$@"; do
  case "$a" in
    --data) want_data=1 ;;
    --python) want_python=1 ;;
    --slurm) want_slurm=1 ;;
    --fashion-mnist) want_fashion=1 ;;
    --austen) want_austen=1 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-deps.sh: unknown option '$a' (known: --data --python --slurm" \
            "--fashion-mnist --austen)" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libhdf5-dev libopenblas-dev
      check libinih-dev zlib1g-dev clang libclang-rt-14-dev iproute2)
[ "$want_python" = 1 ] && pkgs+=(python3-h5py python3-numpy python3-torch python3-matplotlib)
[ "$want_slurm" = 1 ] && pkgs+=(slurmctld slurmd slurm-client munge)
[ "$want_fashion" = 1 ] && pkgs+=(dataset-fashion-mnist)
[ "$want_austen" = 1 ] && pkgs+=(r-cran-janeaustenr)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
# Node.js may come from elsewhere (NodeSource ships npm inside its nodejs package, which then
# conflicts with Debian's npm): working node and npm commands are enough.
if [ "$want_data" = 1 ] && ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
  installed nodejs || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "setup-deps.sh: missing packages (${missing[*]}) and not root, no sudo: install them" \
       "with: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
