#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine: munged, MariaDB, slurmdbd, slurmctld, slurmd.
# For CI and for a developer who wants to try `--workflow-profile profiles/slurm` by hand.
# Needs root on Debian 12 (Slurm 22.05 from the Debian packages, installed here if missing).
#
#   .ci/slurm/start.sh            # then: sinfo; sacct; ...
#   .ci/slurm/stop.sh             # stops exactly the daemons this script started, by PID
#
# Everything the cluster writes (config, state, logs, database) goes under $SLURM_CI_DIR
# (default: $TMPDIR/seq2rx-slurm). The recorded PIDs are in $SLURM_CI_DIR/run/*.pid.started.
# The one file outside it is /etc/slurm/slurm.conf (and slurmdbd.conf): the job-step plugin
# clears SLURM_CONF before its inner srun, so the configuration must be at Slurm's default path.
# It is a symlink into $SLURM_CI_DIR, refused if a real configuration is already there, and
# removed by stop.sh.
#
# Measured recipe and its pitfalls: ../shared/notes/slurm-single-node.md.
set -euo pipefail

S="${SLURM_CI_DIR:-${TMPDIR:-/tmp}/seq2rx-slurm}"
DB_PORT="${SLURM_CI_DB_PORT:-3306}"
NODE="$(hostname -s)"
CONF=/etc/slurm/slurm.conf
DBD_CONF=/etc/slurm/slurmdbd.conf

die() { echo "start.sh: $*" >&2; exit 1; }
# the last lines of a daemon's log, for a start that failed
show() { for f in "$@"; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; return 0; }
# wait (up to $1 half-seconds) until the command after it succeeds
wait_for() {
  local n=$1
  shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
# remember a PID we started, so that stop.sh ends that process and no other
record() { echo "$2" >"$S/run/$1.pid.started"; }

[ "$(id -u)" = 0 ] || die "run as root (the daemons and /etc/slurm need it)"
for f in "$CONF" "$DBD_CONF"; do
  if [ -e "$f" ] && ! { [ -L "$f" ] && [ "$(readlink "$f")" = "$S/$(basename "$f")" ]; }; then
    die "$f exists and is not ours (a symlink into $S): refusing to replace a real cluster's configuration"
  fi
done
if [ -n "$(ls "$S"/run/*.pid.started 2>/dev/null)" ]; then
  die "$S/run holds PIDs of a cluster that was not stopped: run .ci/slurm/stop.sh first"
fi

echo "== packages"
PKGS=(slurm-wlm munge slurmdbd mariadb-server)
if ! dpkg -s "${PKGS[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
fi
for port in 6817 6818 6819 "$DB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is already in use (another slurm or database?); set SLURM_CI_DB_PORT for the database"
  fi
done

# a fresh cluster every time: job IDs from 1, an empty accounting database. Only a folder this
# script made (it carries a marker file) is wiped.
if [ -e "$S" ] && [ ! -f "$S/.seq2rx-slurm" ]; then
  die "$S exists and was not made by this script: set SLURM_CI_DIR to a new folder"
fi
rm -rf "$S"
mkdir -p "$S"/{state,spool,log,run,db,dbrun}
touch "$S/.seq2rx-slurm"
# a start that fails half-way stops what it had started
trap 'rc=$?; [ $rc = 0 ] || "$(dirname "$0")/stop.sh"; exit $rc' EXIT

echo "== configuration in $S"
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.85)}' /proc/meminfo)
cat >"$S/slurm.conf" <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
# keep sbatch --comment (the executor writes the rule name there) so sacct can show it
AccountingStoreFlags=job_comment
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default, a job that names no memory gets the whole node and jobs run one by one
DefMemPerCPU=1000
MinJobAge=3600
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$S/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=$S/log/slurmdbd.log
PidFile=$S/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm-ci
StorageLoc=slurm_acct_db
EOF
chmod 600 "$S/slurmdbd.conf" # slurmdbd refuses a readable file holding the database password
mkdir -p /etc/slurm
ln -sfn "$S/slurm.conf" "$CONF"
ln -sfn "$S/slurmdbd.conf" "$DBD_CONF"

echo "== munged"
if munge -n >/dev/null 2>&1; then
  echo "munged is already running: using it (stop.sh will leave it alone)"
else
  mkdir -p /run/munge
  chown munge:munge /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged # forks into the background and writes its PID file
  wait_for 20 test -s /run/munge/munged.pid || die "munged wrote no PID file"
  record munged "$(cat /run/munge/munged.pid)"
  wait_for 20 munge -n || die "munged does not answer"
fi

echo "== MariaDB on 127.0.0.1:$DB_PORT"
# mariadbd runs as mysql and exits without a word if it cannot write its folders
chown mysql:mysql "$S/db" "$S/dbrun"
mariadb-install-db --user=mysql --datadir="$S/db" >"$S/log/mariadb-install.log" 2>&1 ||
  { show "$S/log/mariadb-install.log"; die "mariadb-install-db failed"; }
nohup /usr/sbin/mariadbd --user=mysql --datadir="$S/db" --bind-address=127.0.0.1 --port="$DB_PORT" \
  --socket="$S/dbrun/mysqld.sock" --pid-file="$S/dbrun/mariadbd.pid" --log-error="$S/log/mariadbd.err" \
  >/dev/null 2>&1 &
record mariadbd $!
DB=(mariadb --socket="$S/dbrun/mysqld.sock")
wait_for 60 "${DB[@]}" -e 'SELECT 1' || { show "$S/log/mariadbd.err"; die "MariaDB did not start"; }
"${DB[@]}" -e "CREATE DATABASE slurm_acct_db;
  CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm-ci';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"

echo "== slurmdbd"
nohup slurmdbd -D >"$S/log/slurmdbd.out" 2>&1 &
record slurmdbd $!
wait_for 60 sacctmgr -n list cluster || { show "$S/log/slurmdbd.log" "$S/log/slurmdbd.out"; die "slurmdbd does not answer"; }
sacctmgr -i add cluster ci >/dev/null
sacctmgr -i add account ci_acct Description=ci Organization=ci >/dev/null
sacctmgr -i add user root Account=ci_acct DefaultAccount=ci_acct >/dev/null

echo "== slurmctld and slurmd"
nohup slurmctld -D -i >"$S/log/slurmctld.out" 2>&1 & # -i: no state files yet
record slurmctld $!
nohup slurmd -D >"$S/log/slurmd.out" 2>&1 &
record slurmd $!
node_idle() { sinfo -h -o %T | grep -qx idle; }
wait_for 60 node_idle || { show "$S/log/slurmctld.log" "$S/log/slurmd.log"; die "node $NODE did not become idle"; }
sinfo
echo "cluster up: config $CONF -> $S/slurm.conf; stop with .ci/slurm/stop.sh"
