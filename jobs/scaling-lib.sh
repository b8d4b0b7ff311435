# shellcheck shell=bash
# scaling-lib.sh - one point of a scaling sweep; sourced by jobs/scaling.sbatch, jobs/scaling.sh
# and jobs/local.sh (each finds it beside itself; scaling.sbatch, which Slurm runs from a copy,
# through JOBS_DIR).
#
#   scaling_find_seqtrain DIR             the seqtrain binary: $SEQTRAIN when set; else seqtrain
#                                         on PATH (an installed one); else DIR/build/seqtrain
#                                         (the repository's build). Prints its path, or prints
#                                         why there is none (naming the three places) and
#                                         returns 1.
#   scaling_batch CONFIG                  the [train] batch_size of CONFIG (32, seqtrain's
#                                         default, when the config has none)
#   scaling_point MODE RANKS GLOBAL RESULTS META -- LAUNCH...
#       runs `LAUNCH... train CONFIG --benchmark STEPS --warmup WARMUP
#       --set train.batch_size=GLOBAL EXTRA...` (CONFIG, STEPS, WARMUP, EXTRA from the caller's
#       variables of those names; EXTRA an array), keeps its output as RESULTS/<point>.log and
#       writes RESULTS/<point>.json: seqtrain's BENCH object plus mode, per_rank_batch, nodes,
#       config, launcher and the JSON members in META (a string like `"job_id": "12"`).
#       nodes: the caller's NODES, the nodes this point's ranks ran on (default
#       SLURM_JOB_NUM_NODES, else 1).
#       <point> is MODE-rRANKS-tTHREADS. Returns seqtrain's status (1 when no BENCH line).
#
# The JSON files are what tools/scaling-report reads; one file per point, so that the points
# of a job array can write into one folder at the same time.

scaling_find_seqtrain() {
  local p
  if [ -n "${SEQTRAIN:-}" ]; then
    if [ -f "$SEQTRAIN" ] && [ -x "$SEQTRAIN" ]; then echo "$SEQTRAIN"; return 0; fi
    echo "SEQTRAIN=$SEQTRAIN is not an executable file"
    return 1
  fi
  # type -P: a file on PATH only (never an alias or a function).
  if p=$(type -P seqtrain); then echo "$p"; return 0; fi
  if [ -x "$1/build/seqtrain" ]; then echo "$1/build/seqtrain"; return 0; fi
  echo "no seqtrain binary: SEQTRAIN is not set, none is on PATH, and $1/build/seqtrain does" \
       "not exist; build it (cmake -S . -B build && cmake --build build), install it" \
       "(cmake --install build --prefix P, then PATH=P/bin:\$PATH), or set SEQTRAIN" \
       "(or --seqtrain)"
  return 1
}

scaling_batch() {
  awk -F= '/^[ \t]*\[/ { s = $0; gsub(/[][ \t]/, "", s) }
           s == "train" && $1 ~ /^[ \t]*batch_size[ \t]*$/ {
             v = $2; sub(/^[ \t]+/, "", v); sub(/[ \t;#].*$/, "", v); b = v + 0 }
           END { print (b > 0 ? b : 32) }' "$1"
}

# A JSON string: backslashes and double quotes escaped (paths and host names need no more).
scaling_json_str() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

scaling_point() {
  local mode=$1 ranks=$2 global=$3 results=$4 meta=$5
  shift 6 # the five above and "--"
  local threads=${OPENBLAS_NUM_THREADS:-1}
  local point
  point=$(printf '%s-r%04d-t%d' "$mode" "$ranks" "$threads")
  local log="$results/$point.log"
  local per
  per=$(awk -v g="$global" -v r="$ranks" 'BEGIN { printf "%g", g / r }')
  echo "[scaling] $mode, $ranks rank(s) x $threads thread(s), global batch $global:" \
       "$* train $CONFIG --benchmark $STEPS"
  "$@" train "$CONFIG" --benchmark "$STEPS" --warmup "${WARMUP:-3}" \
    --set "train.batch_size=$global" "${EXTRA[@]+"${EXTRA[@]}"}" >"$log" 2>&1
  local rc=$?
  local bench
  bench=$(sed -n 's/^BENCH //p' "$log" | tail -n 1)
  if [ "$rc" -ne 0 ] || [ -z "$bench" ]; then
    echo "[scaling] $point failed (status $rc); its output, $log:" >&2
    tail -n 20 "$log" >&2
    [ "$rc" -ne 0 ] && return "$rc"
    return 1
  fi
  # Append the metadata to seqtrain's object: drop its closing brace, add members, close.
  {
    printf '%s, "mode": "%s", "per_rank_batch": %s, "nodes": %s, "config": %s, "launcher": %s' \
      "${bench%\}}" "$mode" "$per" "${NODES:-${SLURM_JOB_NUM_NODES:-1}}" \
      "$(scaling_json_str "$CONFIG")" "$(scaling_json_str "$1")"
    [ -n "$meta" ] && printf ', %s' "$meta"
    printf '}\n'
  } >"$results/$point.json.tmp" && mv "$results/$point.json.tmp" "$results/$point.json"
  echo "[scaling] $point: $(grep -o '"samples_per_s": [0-9.]*' "$results/$point.json")" \
       "-> $results/$point.json"
}
