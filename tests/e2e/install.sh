# The installed tree on its own, as a cluster user gets it from `cmake --install BUILD --prefix P`:
#   - every executable in P/bin and every job script answers --help with status 0 and a text
#     that names it;
#   - P/share/seqtrain/jobs/local.sh, with P/bin first on PATH, SEQTRAIN unset, run from a
#     directory without build/, finds P/bin/seqtrain and writes its JSON point (the installed
#     M1 config, made small); with no seqtrain anywhere it fails with status 2 and one line that
#     names all three places it looked (SEQTRAIN, PATH, build/seqtrain);
#   - jobs/train.sbatch's checkpoint directory, outside Slurm (SLURM_JOB_ID set by hand, every
#     other SLURM_* variable removed, LAUNCHER=mpirun): a config with [checkpoint] dir trains
#     into that dir (no --set of it passed) and a second start resumes from it; CKPT_DIR
#     overrides the config's dir, and a --set checkpoint.dir among the options too; a config
#     without one trains into runs/<config name>, and the start line says why.
# Each submit directory is fresh, so a checkpoint found in one could only have come from there.
source "$(dirname "$0")/lib/common.sh"
P=$WORK/prefix
cmake --install "$ST_BUILD" --prefix "$P" >install.log 2>&1 || { cat install.log; fail "cmake --install"; }
J=$P/share/seqtrain/jobs
for f in "$P/bin/seqtrain" "$P/bin/seqtrain-synth" "$J/train.sbatch" "$J/local.sh" "$J/scaling.sh" \
         "$J/scaling.sbatch" "$J/scaling-lib.sh" "$P/share/seqtrain/configs/M1.ini" \
         "$P/share/doc/seqtrain/README.md" "$P/bin/testcluster-slurm.sh"; do
  [ -f "$f" ] || fail "not installed: ${f#"$P"/}"
done

# --help: status 0, a text that names the program (a sourced file, not executable, is skipped).
n=0
for f in "$P"/bin/* "$J"/*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  out=$(timeout 30 "$f" --help 2>&1) || fail "$name --help: exit status $?: $out"
  grep -q -- "$name" <<<"$out" || fail "$name --help does not name it: $(head -3 <<<"$out")"
  n=$((n + 1))
done
[ "$n" -ge 13 ] || fail "only $n installed programs answered --help (want 9 in bin, 4 jobs)"
echo "ok --help: $n installed programs"

# local.sh from the prefix: seqtrain from PATH.
mkdir nobuild
(
  cd nobuild
  unset SEQTRAIN
  PATH=$P/bin:$PATH timeout 120 "$J/local.sh" --mode strong --ranks 1 --steps 2 --warmup 1 \
    --batch 16 --mpirun "$ST_MPIEXEC" --results res --set data.seq_len=20 \
    --set embedding.input_dim=100 "$P/share/seqtrain/configs/M1.ini" >../local.out 2>&1
) || { cat local.out; fail "local.sh from the prefix"; }
grep -q "$P/bin/seqtrain train" local.out || { cat local.out; fail "local.sh did not run P/bin/seqtrain"; }
grep -q '"samples_per_s"' nobuild/res/strong-r0001-t1.json || fail "local.sh wrote no JSON point"
echo "ok local.sh from the prefix: $(head -c 60 nobuild/res/strong-r0001-t1.json)..."
# A PATH with the system's tools but no seqtrain.
[ -z "$(PATH=/usr/bin:/bin type -P seqtrain)" ] || fail "a seqtrain in /usr/bin or /bin: cannot test"
set +e
(cd nobuild && env -u SEQTRAIN PATH=/usr/bin:/bin "$J/local.sh" --ranks 1 \
   "$P/share/seqtrain/configs/M1.ini") >out.txt 2>err.txt
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "local.sh without any seqtrain: status $rc, want 2"
for w in SEQTRAIN PATH build/seqtrain; do
  grep -q "$w" err.txt || { cat err.txt; fail "local.sh's message does not name $w"; }
done
echo "ok local.sh without seqtrain: $(cat err.txt)"

# train.sbatch outside Slurm. Real SLURM_* variables (a test run inside a job) would make
# Open MPI look for an allocation: only SLURM_JOB_ID, which the script wants, is set.
"$ST_SYNTH" --out "$WORK/order.h5" --train 300 --steps 12 >/dev/null
sed "s|^path = order.h5|path = $WORK/order.h5|" "$ST_HERE/lib/order_lstm.ini" >cfg.ini
grep -q '^dir = runs/order' cfg.ini || fail "lib/order_lstm.ini has no [checkpoint] dir = runs/order"
grep -v '^dir = ' cfg.ini >nodir.ini
slurm_env=()
for v in $(compgen -e | grep '^SLURM_' || true); do slurm_env+=(-u "$v"); done
# job DIR [VAR=VALUE...] -- CONFIG [ARGS...]: train.sbatch from the prefix, submitted from DIR,
# for one epoch (ARGS may say otherwise: the last --set of a key holds).
job() {
  local d=$1
  shift
  local vars=()
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  mkdir -p "$d"
  (cd "$d" && env "${slurm_env[@]}" -u CKPT_DIR -u SEQTRAIN PATH="$P/bin:$PATH" SLURM_JOB_ID=1 \
     LAUNCHER=mpirun "${vars[@]+"${vars[@]}"}" timeout 120 "$J/train.sbatch" "$1" \
     --set train.epochs=1 --quiet "${@:2}") >"$d.out" 2>&1 || { cat "$d.out"; fail "train.sbatch in $d"; }
}
has_ckpt() { compgen -G "$1/epoch-*.h5" >/dev/null; }

job cfgdir -- "$WORK/cfg.ini"
has_ckpt cfgdir/runs/order || { cat cfgdir.out; fail "no checkpoint in the config's dir runs/order"; }
grep -q 'checkpoints in runs/order (\[checkpoint\] dir of' cfgdir.out || { cat cfgdir.out; fail "start line"; }
if grep -q 'checkpoint.dir=' cfgdir.out; then cat cfgdir.out; fail "a --set checkpoint.dir was passed"; fi
job cfgdir -- "$WORK/cfg.ini" --set train.epochs=2
grep -q 'resuming from the newest checkpoint in runs/order' cfgdir.out ||
  { cat cfgdir.out; fail "the second start did not resume from runs/order"; }
echo "ok train.sbatch: the config's [checkpoint] dir, resumed from"

job envdir CKPT_DIR="$WORK/ck" -- "$WORK/cfg.ini"
has_ckpt "$WORK/ck" || { cat envdir.out; fail "no checkpoint in CKPT_DIR"; }
[ ! -e envdir/runs ] || fail "CKPT_DIR set, but the config's dir was written too"
job setdir -- "$WORK/cfg.ini" --set checkpoint.dir=mine
has_ckpt setdir/mine || { cat setdir.out; fail "no checkpoint in the --set checkpoint.dir"; }
[ ! -e setdir/runs ] || fail "--set checkpoint.dir, but the config's dir was written too"
job both CKPT_DIR="$WORK/ck2" -- "$WORK/cfg.ini" --set checkpoint.dir=mine
has_ckpt "$WORK/ck2" || { cat both.out; fail "CKPT_DIR and --set: not in CKPT_DIR"; }
[ ! -e both/mine ] || fail "CKPT_DIR and --set: the --set dir was written too"
echo "ok train.sbatch: CKPT_DIR, then --set checkpoint.dir, override the config's dir"

job nodir -- "$WORK/nodir.ini"
has_ckpt nodir/runs/nodir || { cat nodir.out; fail "no checkpoint in runs/nodir"; }
grep -q 'has no \[checkpoint\] dir' nodir.out || { cat nodir.out; fail "no word of the default"; }
echo "ok train.sbatch: no [checkpoint] dir in the config: runs/<config name>"

# No seqtrain anywhere: one error line naming the three places, status 2.
set +e
(mkdir -p none && cd none && env "${slurm_env[@]}" -u SEQTRAIN PATH=/usr/bin:/bin SLURM_JOB_ID=1 \
   "$J/train.sbatch" "$WORK/cfg.ini") >out.txt 2>err.txt
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat err.txt; fail "train.sbatch without any seqtrain: status $rc, want 2"; }
for w in SEQTRAIN PATH build/seqtrain; do
  grep -q "$w" err.txt || { cat err.txt; fail "train.sbatch's message does not name $w"; }
done
echo "ok train.sbatch without seqtrain: $(cat err.txt)"
