#!/usr/bin/env bash
# Install (Debian: slurm-wlm + munge) and start a single-node SLURM cluster on localhost, for
# testing the SLURM profile by real submissions (tests/test_slurm.py). Needs root.
#
#   .ci/slurm/start-local-slurm.sh     # prints the state folder; exit 0 when the node is idle
#   .ci/slurm/stop-local-slurm.sh      # stops the daemons started here
#
# The node: every CPU and ~90% of the memory of this machine, two fake GPUs (GRES backed by
# character devices made with mknod: a count-only gpu GRES without device files makes slurmd
# drain the node, "Removing file-less GPU"), partitions `cpu` (default) and `gpu`. No cgroups
# (proctrack/linuxproc, task/none), no accounting database (so `sacct` fails: status polling must
# use squeue, which MinJobAge=600 keeps reliable). EnforcePartLimits=ALL makes sbatch reject a
# request the node can never satisfy instead of leaving it pending forever.
set -euo pipefail

STATE=${SERRULES_SLURM_STATE:-/var/lib/serrules-slurm}
CONF_DIR=/etc/slurm
MARK="# written by serrules .ci/slurm/start-local-slurm.sh"

die() {
	echo "start-local-slurm: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (installs packages and starts slurmctld/slurmd as root)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
	! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
	command -v apt-get >/dev/null || die "slurmctld/slurmd/munged missing and no apt-get to install them"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# A configuration of this CI cluster (this script's mark, or the cluster name an earlier version
# of it wrote) is rewritten below, so a rerun on the same machine works. Any other one may belong
# to a real cluster: refuse, unless SERRULES_SLURM_REPLACE_CONF=1 says to move it aside.
if [ -f "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARK" "$CONF_DIR/slurm.conf" &&
	! grep -qx "ClusterName=serrules-ci" "$CONF_DIR/slurm.conf"; then
	if [ "${SERRULES_SLURM_REPLACE_CONF:-0}" = 1 ]; then
		saved="$CONF_DIR/slurm.conf.before-serrules.$(date +%Y%m%dT%H%M%S)"
		mv "$CONF_DIR/slurm.conf" "$saved"
		echo "start-local-slurm: moved the existing slurm.conf to $saved" >&2
	else
		die "$CONF_DIR/slurm.conf exists and was not written by this script (no mark, ClusterName \
is not serrules-ci); not touching what may be a real cluster. If it is a leftover, rerun with \
SERRULES_SLURM_REPLACE_CONF=1 to move it aside"
	fi
fi

# --- munge --------------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
	mkdir -p /etc/munge
	dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
	runuser -u munge -- /usr/sbin/munged --force
	for _ in $(seq 50); do
		munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
		sleep 0.1
	done
	munge -n </dev/null | unmunge >/dev/null || die "munged did not start"
fi

# --- configuration ------------------------------------------------------------------------------
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
N_GPUS=2
mkdir -p "$STATE"/{ctld,d,log,dev} "$CONF_DIR"
for i in $(seq 0 $((N_GPUS - 1))); do
	# major 195 is nvidia's; slurmd only needs the files to exist, nothing opens them
	[ -c "$STATE/dev/nvidia$i" ] || mknod "$STATE/dev/nvidia$i" c 195 "$i"
done

cat >"$CONF_DIR/slurm.conf" <<EOF
$MARK
ClusterName=serrules-ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
EnforcePartLimits=ALL
ReturnToService=2
MinJobAge=600
KillWait=5
SchedulerParameters=defer_batch
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$N_GPUS State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST MaxTime=INFINITE State=UP
EOF
cat >"$CONF_DIR/gres.conf" <<EOF
$MARK
NodeName=$HOST Name=gpu File=$STATE/dev/nvidia[0-$((N_GPUS - 1))]
EOF
# no cgroup.conf: with proctrack/linuxproc and task/none slurmd needs no cgroup plugin
if [ -f "$CONF_DIR/cgroup.conf" ] && grep -qF "$MARK" "$CONF_DIR/cgroup.conf"; then
	rm -f "$CONF_DIR/cgroup.conf"
fi

# --- daemons ------------------------------------------------------------------------------------
"$(dirname "$0")/stop-local-slurm.sh" --daemons-only >/dev/null 2>&1 || true
slurmctld -i
slurmd
for _ in $(seq 150); do
	state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1 || true)
	case "$state" in
	idle | mixed | allocated) break ;;
	esac
	sleep 0.2
done
case "$state" in
idle | mixed | allocated) ;;
*)
	tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
	die "node $HOST is '${state:-unknown}' after 30 s, not idle"
	;;
esac
echo "$STATE"
