# shellcheck shell=bash
# testcluster-slurm.sh - `tools/testcluster slurm start|stop` (sourced by tools/testcluster).
#
# munged and slurmctld run on head, `slurmd -D -N nodeK` on every node, all as root, every
# file under the cluster's state directory ($D/slurm). No accounting daemon: results come from
# `scontrol show job` (MinJobAge keeps finished jobs there for 10 minutes). What a test needs to
# be quick, and a site sets for itself:
#   SlurmdTimeout   (--slurmd-timeout, default 20 s here, 300 s by Slurm's default): how long a
#                   silent node stays in the job before slurmctld declares it DOWN and ends
#                   (or requeues) the jobs on it: under Slurm this bounds how long a lost node
#                   can hold a job.
#   cred_expire     (SLURM_CRED_EXPIRE, default 6 s; 120 s by default): a requeued job may start
#                   again only once the old run's credential has expired.
# EnforcePartLimits=ALL makes an impossible request fail at submission instead of pending
# forever; the backfill pass runs every second, so a requeued job starts as soon as it may.
# The settings every test Slurm shares (also tests/e2e/lib/slurm_cluster.sh's single node): no
# cgroups or accounting, CPUs as the only resource, the node's declared CPUs win over what it
# finds, impossible requests refused at submission, a backfill pass every second, finished jobs
# kept 10 minutes for `scontrol show job`, a node that answers again returns to service.
slurm_conf_common() {
  cat <<'EOF'
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
EOF
}

cmd_slurm() {
  need_up
  case "${1:-}" in
    start) tc_slurm_start ;;
    stop) tc_slurm_stop ;;
    *) bad "slurm start|stop" ;;
  esac
}

tc_slurm_start() {
  local S=$D/slurm n cpus sto k
  [ -f "$S/slurm.conf" ] && die "Slurm is already running on cluster '$name'"
  for k in slurmctld slurmd munged sinfo; do
    command -v "$k" >/dev/null || die "$k is not installed (tools/setup-deps.sh --slurm)"
  done
  n=$(nodes) cpus=$(cat "$D/cpus") sto=$(cat "$D/slurmd_timeout")
  mkdir -p "$S"/{munge,state,log,spool,tmp}
  for k in $(seq "$n"); do mkdir -p "$S/spool/node$k" "$S/tmp/node$k"; done
  chmod 700 "$S/munge"
  # munge: a fresh key, its own socket (a path on the shared file system: every node uses it).
  dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$S/munge/munge.key"
  (cmd_exec head munged -F --force --key-file="$S/munge/munge.key" \
     --socket="$S/munge/munge.sock" --pid-file="$S/munge/munged.pid" \
     --log-file="$S/log/munged.log" --seed-file="$S/munge/munged.seed") \
     </dev/null >"$S/log/munged.out" 2>&1 &
  for k in $(seq 50); do [ -S "$S/munge/munge.sock" ] && break; sleep 0.1; done
  [ -S "$S/munge/munge.sock" ] || die "munged did not start: $(cat "$S/log/munged.out")"
  {
    cat <<EOF
ClusterName=seqtrain-$name
SlurmctldHost=head($HEAD_IP)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock,cred_expire=${SLURM_CRED_EXPIRE:-6}
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool/%n
TmpFS=$S/tmp/%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/spool/%n/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd-%n.log
SlurmdTimeout=$sto
MessageTimeout=5
EOF
    slurm_conf_common
    for k in $(seq "$n"); do
      echo "NodeName=node$k NodeAddr=$SUBNET.$k CPUs=$cpus State=UNKNOWN"
    done
    echo "PartitionName=test Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP"
  } >"$S/slurm.conf.tmp"
  mv "$S/slurm.conf.tmp" "$S/slurm.conf"
  export SLURM_CONF=$S/slurm.conf
  (cmd_exec head slurmctld -D -f "$SLURM_CONF") </dev/null >"$S/log/slurmctld.out" 2>&1 &
  for k in $(seq "$n"); do
    (cmd_exec "node$k" slurmd -D -N "node$k" -f "$SLURM_CONF") \
      </dev/null >"$S/log/slurmd-node$k.out" 2>&1 &
  done
  local i idle
  for i in $(seq 150); do
    idle=$( (cmd_exec head sinfo -h -N -o '%N %T') 2>/dev/null | grep -cE ' (idle|mixed|allocated)$' || true)
    if [ "$idle" -eq "$n" ]; then
      echo "testcluster '$name': Slurm up: $n node(s) idle; SLURM_CONF=$SLURM_CONF"
      echo "  tools/testcluster${name:+ --name $name} exec head sbatch -N $n --ntasks-per-node=1 ..."
      return 0
    fi
    sleep 0.2
  done
  echo "testcluster '$name': Slurm did not come up in 30 s ($idle of $n nodes idle); logs:" >&2
  tail -n 15 "$S"/log/* >&2 || true
  exit 1
}

tc_slurm_stop() {
  local S=$D/slurm ns
  [ -f "$S/slurm.conf" ] || { echo "testcluster '$name': Slurm is not running"; return 0; }
  # The daemons and everything they started (jobs, slurmstepd, ranks) live in the cluster's
  # namespaces: end them there, nodes first, then head (slurmctld, munged).
  for ns in $(for k in $(seq "$(nodes)"); do echo "$NS-node$k"; done) "$NS-head"; do
    local h
    h=$(holder "$ns")
    ns_pids "$ns" | grep -vx "$h" | xargs -r kill -TERM 2>/dev/null || true
  done
  sleep 1
  for ns in $(for k in $(seq "$(nodes)"); do echo "$NS-node$k"; done) "$NS-head"; do
    h=$(holder "$ns")
    ns_pids "$ns" | grep -vx "$h" | xargs -r kill -KILL 2>/dev/null || true
  done
  rm -rf "$S"
  echo "testcluster '$name': Slurm stopped"
}
