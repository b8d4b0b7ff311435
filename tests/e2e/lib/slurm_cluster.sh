# shellcheck shell=bash
# slurm_cluster.sh - a real single-node Slurm in a temporary directory, for the tests (sourced).
#
#   slurm_start DIR [CPUS]   munged, slurmctld -D and slurmd -D -N localhost, everything (keys,
#                            sockets, state, spool, logs, slurm.conf) under DIR; exports
#                            SLURM_CONF. Returns non-zero (and prints the daemons' logs) when
#                            the node does not come up within 20 s.
#   slurm_stop               stops every daemon slurm_start started, by the PID it recorded
#                            (never by name); safe to call twice and from an EXIT trap.
#   slurm_wait JOBID SECS    waits until the job is in a final state (COMPLETED, FAILED, ...);
#                            returns 1 on the deadline. Polls `scontrol show job` every 0.2 s.
#   slurm_field JOBID KEY    one KEY=value of `scontrol show job` (JobState, ExitCode, Restarts);
#                            JOBID may be an array element, 12_0
#
# As root, on loopback, no systemd, no accounting daemon (results come from `scontrol show job`;
# MinJobAge keeps finished jobs there for 10 minutes). The node claims CPUS cores (default 4)
# whatever the machine has (SlurmdParameters=config_overrides), so sweeps of 2-rank jobs fit on
# a 2-core machine. EnforcePartLimits=ALL makes an impossible request fail at submission
# instead of pending forever. The backfill pass runs every second (bf_interval=1): it starts a
# requeued job as soon as its BeginTime passes, even when no other event wakes the scheduler.
# Ports are chosen free at start-up, so two tests (or a site's own
# Slurm) do not collide.
# The shared part of slurm.conf (slurm_conf_common) comes from tools/testcluster-slurm.sh.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/tools/testcluster-slurm.sh"
SLURM_PIDS=()
# A requeued job waits this long before it may start again (the old run's credential must
# expire first; Slurm's default is 120 s, too long for a test).
SLURM_CRED_EXPIRE=${SLURM_CRED_EXPIRE:-6}

# A free TCP port on loopback (the kernel picks it; a race with another process is possible but
# harmless: the daemon then fails to start and slurm_start says so).
slurm_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

slurm_start() {
  local d=$1 cpus=${2:-4}
  mkdir -p "$d"/{munge,state,spool,log,tmp}
  chmod 700 "$d/munge"
  # munge: a fresh key, its own socket, foreground (-F) so that $! is the daemon.
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$d/munge/munge.key"
  munged -F --force --key-file="$d/munge/munge.key" --socket="$d/munge/munge.sock" \
    --pid-file="$d/munge/munged.pid" --log-file="$d/log/munged.log" \
    --seed-file="$d/munge/munged.seed" >"$d/log/munged.out" 2>&1 &
  SLURM_PIDS+=($!)
  local i
  for i in $(seq 50); do [ -S "$d/munge/munge.sock" ] && break; sleep 0.1; done

  local host ctld_port slurmd_port
  host=$(hostname -s)
  ctld_port=$(slurm_free_port)
  slurmd_port=$(slurm_free_port)
  cat >"$d/slurm.conf" <<EOF
ClusterName=seqtrain-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.sock,cred_expire=$SLURM_CRED_EXPIRE
CredType=cred/munge
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
TmpFS=$d/tmp
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  slurm_conf_common >>"$d/slurm.conf"
  export SLURM_CONF="$d/slurm.conf"
  slurmctld -D -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
  SLURM_PIDS+=($!)
  slurmd -D -N localhost -f "$SLURM_CONF" >"$d/log/slurmd.out" 2>&1 &
  SLURM_PIDS+=($!)
  for i in $(seq 100); do
    if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then return 0; fi
    sleep 0.2
  done
  echo "slurm_start: the node did not come up in 20 s; daemon logs:" >&2
  tail -n 20 "$d"/log/* >&2 || true
  return 1
}

slurm_stop() {
  # Jobs first (their slurmstepd and ranks are children of slurmd, not ours), then the daemons
  # in reverse order: slurmd, slurmctld, munged (the others authenticate through it).
  if [ ${#SLURM_PIDS[@]} -ge 2 ] && kill -0 "${SLURM_PIDS[1]}" 2>/dev/null; then
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.1; done
    fi
  fi
  local i p
  for ((i = ${#SLURM_PIDS[@]} - 1; i >= 0; i--)); do
    p=${SLURM_PIDS[$i]}
    kill -TERM "$p" 2>/dev/null || continue
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SLURM_PIDS=()
}

slurm_field() {
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

slurm_wait() {
  local id=$1 secs=$2 s
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    s=$(slurm_field "$id" JobState)
    case "$s" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        return 0 ;;
    esac
    sleep 0.2
  done
  echo "slurm_wait: job $id still $(slurm_field "$id" JobState) (reason" \
       "$(slurm_field "$id" Reason)) after $secs s" >&2
  return 1
}

