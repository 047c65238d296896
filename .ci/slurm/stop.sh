#!/usr/bin/env bash
# Stop the daemons .ci/slurm/start.sh started, each by the PID it recorded, newest first, and
# remove the /etc/slurm symlinks it made. A PID whose process is gone, or is now some other
# program, is left alone. Safe to run twice, or after a start that failed half-way.
set -uo pipefail

S="${SLURM_CI_DIR:-${TMPDIR:-/tmp}/seq2rx-slurm}"

stop() {
  local name=$1 file="$S/run/$1.pid.started" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  # the process must still be the program we started (a PID can be reused after it exits)
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop.sh: $name ($pid) ignored SIGTERM for 20 s: SIGKILL" >&2
      kill -9 "$pid" 2>/dev/null
    fi
    echo "stopped $name ($pid)"
  fi
  rm -f "$file"
}

# clients before servers: the node, the controller, accounting, its database, authentication
for daemon in slurmd slurmctld slurmdbd mariadbd munged; do
  stop "$daemon"
done
for f in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
  if [ -L "$f" ] && [ "$(readlink "$f")" = "$S/$(basename "$f")" ]; then
    rm -f "$f"
  fi
done
exit 0
