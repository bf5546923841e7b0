#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by start-local-slurm.sh: cancel its jobs, stop
# slurmd, slurmctld and munged (each by the pid its pid file records, checked against its name).
# With --daemons-only the configuration and state folder stay (used by start-local-slurm.sh).
set -uo pipefail

STATE=${SERRULES_SLURM_STATE:-/var/lib/serrules-slurm}
MARK="# written by serrules .ci/slurm/start-local-slurm.sh"

if [ ! -f /etc/slurm/slurm.conf ] || { ! grep -qF "$MARK" /etc/slurm/slurm.conf &&
	! grep -qx "ClusterName=serrules-ci" /etc/slurm/slurm.conf; }; then
	echo "stop-local-slurm: no cluster started by start-local-slurm.sh; nothing to stop" >&2
	exit 0
fi

if command -v scancel >/dev/null && [ -f "$STATE/slurmctld.pid" ]; then
	timeout 10 scancel --full --user "$(id -un)" >/dev/null 2>&1 || true
fi

stop_pidfile() { # stop_pidfile FILE NAME: SIGTERM, wait up to 10 s, then SIGKILL
	local file=$1 name=$2 pid
	[ -f "$file" ] || return 0
	pid=$(cat "$file" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		grep -q "$name" "/proc/$pid/comm" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$file"
}

stop_pidfile "$STATE/slurmd.pid" slurmd
stop_pidfile "$STATE/slurmctld.pid" slurmctld
if [ "${1:-}" != "--daemons-only" ]; then
	stop_pidfile /run/munge/munged.pid munged
fi
exit 0
