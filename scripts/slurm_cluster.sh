#!/usr/bin/env bash
# A single-node Slurm cluster on this Debian machine (run as root), for tests and CI: installs
# munge and Slurm if missing, writes configuration only where none exists, starts the daemons
# that are not running (munged, slurmctld, slurmd; no systemd needed) and waits until the node
# is idle. A second run changes nothing and prints nothing. `slurm_cluster.sh stop` stops them.
set -euo pipefail
CONF=/etc/slurm/slurm.conf
NODE=$(hostname -s)
fail() { echo "slurm_cluster: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "run as root (it installs packages and starts daemons)"
pid() {  # the process id of a running DAEMON (from its pid file), or fails
  local file=/run/$1.pid; [ "$1" = munged ] && file=/run/munge/munged.pid
  [ -s "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null && cat "$file"
}

if [ "${1:-}" = stop ]; then
  for daemon in slurmd slurmctld munged; do
    running=$(pid "$daemon") || continue
    kill "$running" && echo "slurm_cluster: stopping $daemon ($running)"
    for _ in $(seq 100); do kill -0 "$running" 2>/dev/null || break; sleep 0.1; done
  done
  exit 0
fi
[ $# = 0 ] || fail "unknown argument '$1': run without arguments to start, or with 'stop'"

packages=()
for pair in munged:munge slurmctld:slurmctld slurmd:slurmd sinfo:slurm-client; do
  command -v "${pair%%:*}" >/dev/null || packages+=("${pair#*:}")
done
if [ ${#packages[@]} -gt 0 ]; then
  echo "slurm_cluster: installing ${packages[*]} (apt-get)"
  wait_lock=(-o DPkg::Lock::Timeout=600)  # another apt-get may be running
  apt-get "${wait_lock[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" install -y -qq "${packages[@]}" >/dev/null
fi

if [ ! -s /etc/munge/munge.key ]; then
  echo "slurm_cluster: writing a new munge key /etc/munge/munge.key"
  install -d -o munge -g munge -m 700 /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
if [ ! -f "$CONF" ]; then
  echo "slurm_cluster: writing $CONF (node $NODE, $(nproc) CPUs, partition debug)"
  memory=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)  # MiB, below the total
  mkdir -p /etc/slurm
  cat >"$CONF" <<EOF
ClusterName=local
SlurmctldHost=$NODE
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$NODE CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
fi
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm

start() {  # start DAEMON [COMMAND...]: runs COMMAND (default DAEMON) unless DAEMON runs
  local daemon=$1; [ $# -gt 1 ] && shift
  pid "$daemon" >/dev/null && return 0
  echo "slurm_cluster: starting $daemon"
  "$@" || fail "$daemon did not start: see /var/log/slurm/ and /var/log/munge/ for why"
}
install -d -o munge -g munge -m 755 /run/munge
start munged runuser -u munge -- munged
start slurmctld
start slurmd

for _ in $(seq 60); do
  sinfo -h -N -o %t 2>/dev/null | grep -qE '^(idle|mix)' && exit 0
  sleep 0.5
done
fail "node $NODE is not idle after 30 s: $(sinfo -h -N -o '%t %E' 2>&1 | head -1); see /var/log/slurm/"
