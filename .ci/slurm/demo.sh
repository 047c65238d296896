#!/usr/bin/env bash
# The demo through a real one-node SLURM cluster, checked against a local run of the demo.
#
#   .ci/slurm/demo.sh [LOCAL_RUN]     # LOCAL_RUN: a folder holding a finished local demo's
#                                     # results/ (default: the checkout, as .ci/run leaves it)
#
# 1. starts the cluster (.ci/slurm/start.sh: munged, MariaDB, slurmdbd, slurmctld, slurmd);
# 2. runs `snakemake --workflow-profile profiles/slurm` on a copy of config/ in $SLURM_DEMO_DIR
#    (default $TMPDIR/seq2rx-slurm-demo), so every job goes through sbatch;
# 3. checks with sacct that SLURM ran every job of the run, COMPLETED, with the CPUs of its rule
#    and the memory and time limit Snakemake announced for it in the log (the heavy rules size
#    them per job from its input; a retry asks for more; python -m seq2rx.ops.slurmcheck);
# 4. compares the results with LOCAL_RUN's (python -m seq2rx.ops.rundiff: TSV, JSON and VCF bodies
#    byte for byte, BAMs by records, the named run-record exceptions left out);
# 5. stops every daemon it started, by PID, whatever happened (trap).
#
# Needs root on Debian 12 and the seq2rx environment active (python with seq2rx and snakemake).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
LOCAL="$(cd "${1:-$REPO}" && pwd)"
WORK="${SLURM_DEMO_DIR:-${TMPDIR:-/tmp}/seq2rx-slurm-demo}"
PY="${PYTHON:-python}"
# seconds before snakemake asks SLURM about a job it submitted (the plugin's default is 40 s,
# polite on a shared cluster; on this private one-node cluster the demo's jobs take seconds)
FIRST_CHECK="${SLURM_DEMO_FIRST_CHECK:-2}"

if [ ! -f "$LOCAL/results/provenance.json" ]; then
  echo "demo.sh: $LOCAL/results holds no finished demo run to compare with: run 'snakemake --cores 2' there first" >&2
  exit 2
fi

# the run folder is wiped first: only one this script made (it carries a marker file)
if [ -e "$WORK" ] && [ ! -f "$WORK/.seq2rx-slurm-demo" ]; then
  echo "demo.sh: $WORK exists and was not made by this script: set SLURM_DEMO_DIR to a new folder" >&2
  exit 2
fi

"$REPO/.ci/slurm/start.sh"
trap '"$REPO/.ci/slurm/stop.sh"' EXIT

rm -rf "$WORK"
mkdir -p "$WORK"
touch "$WORK/.seq2rx-slurm-demo"
cp -r "$REPO/config" "$WORK/config"
cd "$WORK"
echo "== the demo through SLURM in $WORK"
T0=$(date +%s)
# SIGINT, not SIGTERM: on SIGTERM snakemake waits for its running jobs; on SIGINT it cancels them
if ! timeout -s INT 3600 "$PY" -m snakemake -s "$REPO/Snakefile" --workflow-profile "$REPO/profiles/slurm" \
  --slurm-no-account --slurm-init-seconds-before-status-checks "$FIRST_CHECK" >slurm-run.log 2>&1; then
  tail -n 60 slurm-run.log
  echo "demo.sh: the SLURM run failed; its log is $WORK/slurm-run.log, SLURM's job logs are in $WORK/.snakemake/slurm_logs" >&2
  exit 1
fi
echo "demo through SLURM: $(($(date +%s) - T0)) s wall, $(grep -c 'has been submitted with SLURM jobid' slurm-run.log) jobs submitted"

echo "== sacct: every job went through sbatch with the resources announced for it"
"$PY" -m seq2rx.ops.slurmcheck slurm-run.log

echo "== results: SLURM run ($WORK) against the local run ($LOCAL)"
"$PY" -m seq2rx.ops.rundiff "$LOCAL" "$WORK"
