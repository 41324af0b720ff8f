#!/usr/bin/env bash
# Bring up a single-node Slurm cluster on localhost for tests/workflow/test_slurm.py (and by hand).
#
#   tests/slurm/slurm_up.sh      # as root: install if needed, configure, start, wait until idle
#   tests/slurm/slurm_down.sh    # as root: stop exactly the daemons this script started
#
# What it does (Debian 12; needs root, apt-get and no systemd):
#   * installs slurmctld slurmd slurm-client munge from Debian when any of them is missing;
#   * writes /etc/slurm/slurm.conf and gres.conf: one node "localhost" (127.0.0.1) with the
#     machine's CPUs (at least 4), 85 % of its RAM and four *fake* GPUs of type "fake" (gres files
#     /dev/null, /dev/zero, ..., so `--gpus=1` and `--gres=gpu:fake:1` jobs schedule and see
#     CUDA_VISIBLE_DEVICES) and the node feature "fakegpu" (for `-C fakegpu`), in two partitions
#     that share it: "cpu" (default) and "gpu", the names slurm/config.yaml uses; no accounting
#     (so the profile's `slurm-status-command: squeue` is required); KillWait 5 s (a job past
#     its time limit is killed 5 s after SIGTERM);
#   * starts munged, slurmctld and slurmd in the foreground of their own sessions, appends
#     "name pid" for each daemon it started to the pid file, waits until the node is idle and
#     checks that `srun` works in both partitions.
# Idempotent: daemons already running are left alone (and not written to the pid file); a second
# call with everything up only checks the node. Logs: $STATE_DIR/*.log and /var/log/slurm.
#
# Environment: PRUNESWEEP_SLURM_STATE_DIR (STATE_DIR, default /run/prunesweep-slurm),
# PRUNESWEEP_SLURM_PIDFILE (the pid file, default $STATE_DIR/pids),
# PRUNESWEEP_SLURM_CPU_PARTITION (cpu), PRUNESWEEP_SLURM_GPU_PARTITION (gpu).
# Exit codes: 0 up, 2 cannot run here (not root, or no apt-get and no Slurm), 1 anything else.
set -euo pipefail

STATE_DIR=${PRUNESWEEP_SLURM_STATE_DIR:-/run/prunesweep-slurm}
PIDFILE=${PRUNESWEEP_SLURM_PIDFILE:-$STATE_DIR/pids}
CPU_PARTITION=${PRUNESWEEP_SLURM_CPU_PARTITION:-cpu}
GPU_PARTITION=${PRUNESWEEP_SLURM_GPU_PARTITION:-gpu}
PKGS=(slurmctld slurmd slurm-client munge)
BINS=(/usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/bin/squeue /usr/sbin/munged)

log() { echo "slurm_up: $*" >&2; }
cannot() {
	log "cannot bring Slurm up here: $*"
	exit 2
}

[ "$(id -u)" = 0 ] || cannot "not root (uid $(id -u))"

# ------------------------------------------------------------------------------------ packages
missing=0
for b in "${BINS[@]}"; do [ -x "$b" ] || missing=1; done
if [ "$missing" = 1 ]; then
	command -v apt-get >/dev/null || cannot "Slurm is not installed and there is no apt-get"
	export DEBIAN_FRONTEND=noninteractive
	log "installing ${PKGS[*]} with apt-get"
	apt-get update -qq
	# policy-rc.d 101: the maintainer scripts must not try to start the services themselves
	had_policy=0
	[ -e /usr/sbin/policy-rc.d ] && had_policy=1
	[ "$had_policy" = 1 ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
	[ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi
for b in "${BINS[@]}"; do [ -x "$b" ] || {
	log "missing $b after installing"
	exit 1
}; done

mkdir -p "$STATE_DIR"
touch "$PIDFILE"

# ------------------------------------------------------------------------------------ helpers
pids_of() { # pids_of NAME: pids whose command name is exactly NAME (no procps on minimal Debian)
	local d
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] && echo "${d#/proc/}"
	done
	return 0
}
alive() { # alive NAME: a process with exactly this command name runs
	[ -n "$(pids_of "$1")" ]
}

start() { # start NAME CMD...: run CMD in the foreground of a new session, record "NAME PID"
	local name=$1
	shift
	setsid "$@" >>"$STATE_DIR/$name.log" 2>&1 </dev/null &
	local pid=$!
	# setsid execs (it only forks when it is a process-group leader, which a background job of
	# a non-interactive shell is not), so $! is the daemon itself; check it anyway
	sleep 0.2
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
		local child
		for child in $(pids_of "$name"); do
			[ "$(awk '{print $4}' "/proc/$child/stat" 2>/dev/null)" = "$pid" ] && pid=$child
		done
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		log "$name exited at once; its log $STATE_DIR/$name.log ends with:"
		tail -n 20 "$STATE_DIR/$name.log" >&2 || true
		exit 1
	fi
	echo "$name $pid" >>"$PIDFILE"
	log "started $name (pid $pid)"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s
	local seconds=$1 what=$2
	shift 2
	local i
	for ((i = 0; i < seconds * 5; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	log "timed out after ${seconds} s waiting for $what"
	return 1
}

# ------------------------------------------------------------------------------------ munge
if [ ! -s /etc/munge/munge.key ]; then
	dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if alive munged; then
	log "munged already runs; leaving it alone"
else
	start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
fi
wait_for 20 "munge credentials" munge -n

# ------------------------------------------------------------------------------------ config
# The node claims at least 4 CPUs and 4 GPUs, so the profile's grouped submissions (4 jobs at
# once) and four GPU jobs at a time fit on a 2-core CI machine (SlurmdParameters=config_overrides
# makes slurmd trust the configuration instead of the hardware).
CPUS=$(nproc)
[ "$CPUS" -ge 4 ] || CPUS=4
MEM=$(($(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 85 / 100))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm

# Written only when the daemons are not running yet: a live cluster keeps its configuration.
if ! alive slurmctld && ! alive slurmd; then
	# fake GPUs: gres needs one device file per GPU (count-only gres leaves the node INVAL)
	printf 'NodeName=localhost Name=gpu Type=fake File=%s\n' /dev/null /dev/zero /dev/full /dev/urandom \
		>/etc/slurm/gres.conf
	cat >/etc/slurm/slurm.conf <<CONF
# Written by prunesweep tests/slurm/slurm_up.sh: one node on localhost, fake GPU, no accounting.
ClusterName=local
SlurmctldHost=localhost
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# finished jobs stay visible to squeue (the plugin's status command) for an hour
MinJobAge=3600
KillWait=5
ReturnToService=2
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM Gres=gpu:fake:4 Features=fakegpu State=UNKNOWN
PartitionName=$CPU_PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=$GPU_PARTITION Nodes=localhost Default=NO MaxTime=INFINITE State=UP
CONF
fi

# ------------------------------------------------------------------------------------ daemons
if alive slurmctld; then
	log "slurmctld already runs; leaving it alone"
else
	# -c: a clean start, without jobs saved by an earlier cluster; -D: foreground
	start slurmctld /usr/sbin/slurmctld -D -c
fi
ctld_up() { scontrol ping | grep -q UP; }
wait_for 30 "slurmctld to answer" ctld_up

if alive slurmd; then
	log "slurmd already runs; leaving it alone"
else
	start slurmd /usr/sbin/slurmd -D -N localhost
fi
node_idle() {
	local state
	state=$(sinfo -h -n localhost -o %t | head -n 1)
	case "$state" in
	idle | mix | alloc) return 0 ;;
	drain* | drng | inval | down*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 ;;
	esac
	return 1
}
wait_for 60 "node localhost to be idle" node_idle

sinfo >&2
timeout 60 srun -p "$CPU_PARTITION" -t 1 true
timeout 60 srun -p "$GPU_PARTITION" -t 1 --gpus=1 true
timeout 60 srun -p "$GPU_PARTITION" -t 1 --gres=gpu:fake:1 -C fakegpu true
log "up: partitions $CPU_PARTITION (default) and $GPU_PARTITION on localhost; pids in $PIDFILE"
