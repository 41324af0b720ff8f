#!/usr/bin/env bash
# Stop exactly the daemons tests/slurm/slurm_up.sh started: the "name pid" lines of its pid file,
# newest first (slurmd, slurmctld, munged), each by pid and only if that pid still runs the
# program of that name. Daemons that were already running before slurm_up.sh are not touched.
# Environment: PRUNESWEEP_SLURM_STATE_DIR (default /run/prunesweep-slurm),
# PRUNESWEEP_SLURM_PIDFILE (default $PRUNESWEEP_SLURM_STATE_DIR/pids), as for slurm_up.sh.
set -uo pipefail

STATE_DIR=${PRUNESWEEP_SLURM_STATE_DIR:-/run/prunesweep-slurm}
PIDFILE=${PRUNESWEEP_SLURM_PIDFILE:-$STATE_DIR/pids}

log() { echo "slurm_down: $*" >&2; }

if [ ! -s "$PIDFILE" ]; then
	log "nothing to stop ($PIDFILE is empty or missing)"
	exit 0
fi

status=0
# newest first: slurmd before slurmctld before munged
while read -r name pid; do
	[ -n "${pid:-}" ] || continue
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
		log "$name (pid $pid) is not running any more"
		continue
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || status=1
	fi
	log "stopped $name (pid $pid)"
done < <(tac "$PIDFILE")

rm -f "$PIDFILE"
exit "$status"
