"""Did a Snakemake run really go through SLURM, with the resources its rules declare?

    python -m seq2rx.ops.slurmcheck RUN_LOG        # the main snakemake process's output (stdout+stderr)

Reads, from the log of a run with ``--executor slurm``, the SLURM run ID, every job's rule,
threads, ``mem_mb`` and ``runtime``, and the SLURM job ID each was submitted as. Then asks the
accounting database (``sacct``, which needs slurmdbd) for every job carrying that run ID and
checks that:

* sacct holds exactly the jobs the log says were submitted, no more and no fewer, and every
  job that was not a local rule was submitted;
* each job's last submission ended COMPLETED; a job submitted again (``--retries``: Snakemake
  announces the job anew, with the resources of the next attempt) had failed before;
* each submission was given the rule's threads as CPUs, and the ``mem_mb`` and ``runtime``
  (minutes) that Snakemake announced for that submission as memory and time limit. Rules size
  these per job from its input (``seq2rx.ops.resources``), so the log, not the rule's text,
  holds the values each job asked for.

The log format is that of Snakemake 9 and snakemake-executor-plugin-slurm 2 (pinned in
pyproject.toml); a log this module cannot read is an error, never an empty success.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

SACCT_FIELDS = ("JobIDRaw", "JobName", "State", "AllocCPUS", "ReqMem", "Timelimit", "Comment")


@dataclass
class Job:
    """One Snakemake job as the log announced it."""

    jobid: int
    rule: str
    local: bool
    threads: int = 1
    mem_mb: int | None = None
    runtime: int | None = None
    slurm_id: str | None = None


@dataclass
class RunLog:
    run_id: str
    started: str  # the run's start, as sacct's --starttime wants it
    jobs: dict[int, Job]  # each job as last announced
    #: every submission to SLURM, in order: the job as announced just before it (a retried job
    #: appears once per attempt)
    submissions: list[Job] = field(default_factory=list)


class CheckError(Exception):
    """The log cannot be read, or the accounting does not match it."""


def parse_log(text: str) -> RunLog:
    """The SLURM run ID, start time and jobs of a ``snakemake --executor slurm`` log."""
    run = re.search(r"^SLURM run ID: (\S+)$", text, re.M)
    date = re.search(r"^\s*Date: (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)$", text, re.M)
    if not run or not date:
        raise CheckError("no 'SLURM run ID' or 'Date' line: not the log of a run with --executor slurm")
    jobs: dict[int, Job] = {}
    submissions: list[Job] = []
    # a job block: "rule NAME:" or "localrule NAME:", indented fields, ends at a line without indent;
    # a submission line follows its block (again after a retry's new block)
    blocks = re.compile(r"^(local)?rule (\w+):\n((?:[ \t]+\S.*\n?)+)", re.M)
    submitted = re.compile(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", re.M)
    events = sorted([*((m.start(), m) for m in blocks.finditer(text)), *((m.start(), m) for m in submitted.finditer(text))],
                    key=lambda e: e[0])  # fmt: skip
    for _, m in events:
        if m.re is submitted:
            jobid, slurm_id = int(m.group(1)), m.group(2)
            if jobid not in jobs:
                raise CheckError(f"job {jobid} was submitted as SLURM job {slurm_id} but the log never announced it")
            jobs[jobid].slurm_id = slurm_id
            submissions.append(replace(jobs[jobid]))
            continue
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", m.group(3), re.M))
        if "jobid" not in fields:
            raise CheckError(f"job block of rule {m.group(2)} has no jobid line")
        job = Job(int(fields["jobid"]), m.group(2), local=bool(m.group(1)))
        job.threads = int(fields.get("threads", 1))
        resources = dict(kv.split("=", 1) for kv in fields.get("resources", "").split(", ") if "=" in kv)
        if "mem_mb" in resources:
            job.mem_mb = int(resources["mem_mb"])
        if "runtime" in resources:
            job.runtime = int(resources["runtime"])
        jobs[job.jobid] = job
    if not jobs:
        raise CheckError("the log announces no job")
    return RunLog(run.group(1), f"{date.group(1)}T{date.group(2)}", jobs, submissions)


def minutes(timelimit: str) -> int:
    """sacct's ``[D-]HH:MM:SS`` (or ``MM:SS``) time limit in whole minutes."""
    days, _, clock = timelimit.rpartition("-")
    parts = [int(x) for x in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return (int(days or 0) * 24 + h) * 60 + m + (1 if s else 0)


def megabytes(reqmem: str) -> int:
    """sacct's ReqMem (``2000M``, ``8G``; Slurm < 21 added ``n``/``c``) in MB."""
    m = re.fullmatch(r"([\d.]+)([KMGT])[nc]?", reqmem)
    if not m:
        raise CheckError(f"cannot read ReqMem {reqmem!r}")
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return round(float(m.group(1)) * scale)


def check(run: RunLog, sacct_rows: list[dict[str, str]]) -> tuple[list[str], dict[str, Counter]]:
    """Problems found (empty when all is well) and, per rule, the number of SLURM jobs."""
    problems: list[str] = []
    remote = [j for j in run.jobs.values() if not j.local]
    problems += [f"job {j.jobid} (rule {j.rule}) was never submitted to SLURM" for j in remote if j.slurm_id is None]
    by_slurm_id = {j.slurm_id: j for j in run.submissions}
    last = {j.jobid: j.slurm_id for j in run.submissions}  # each job's last submission
    seen = {row["JobIDRaw"]: row for row in sacct_rows}
    problems += [f"SLURM job {sid} (rule {j.rule}) is missing from sacct" for sid, j in by_slurm_id.items()
                 if sid not in seen]  # fmt: skip
    problems += [f"sacct lists SLURM job {sid} of this run that the log never submitted" for sid in seen
                 if sid not in by_slurm_id]  # fmt: skip
    per_rule: dict[str, Counter] = {}
    for sid, row in sorted(seen.items(), key=lambda kv: int(kv[0])):
        job = by_slurm_id.get(sid)
        if job is None:
            continue
        retried = last[job.jobid] != sid
        per_rule.setdefault(job.rule, Counter())["retried" if retried else "jobs"] += 1
        where = f"SLURM job {sid} (rule {job.rule}, job {job.jobid})"
        if retried and row["State"] == "COMPLETED":
            problems.append(f"{where}: COMPLETED, yet the job was submitted again")
        elif not retried and row["State"] != "COMPLETED":
            problems.append(f"{where}: state {row['State']}")
        if not row["Comment"].startswith(f"rule_{job.rule}"):
            problems.append(f"{where}: comment {row['Comment']!r} does not name the rule")
        if int(row["AllocCPUS"]) != job.threads:
            problems.append(f"{where}: {row['AllocCPUS']} CPUs allocated, the rule has {job.threads} threads")
        if job.mem_mb is not None and megabytes(row["ReqMem"]) != job.mem_mb:
            problems.append(
                f"{where}: {row['ReqMem']} memory requested, the job was announced with mem_mb={job.mem_mb}"
            )
        if job.runtime is not None and minutes(row["Timelimit"]) != job.runtime:
            problems.append(f"{where}: time limit {row['Timelimit']}, the job was announced with runtime={job.runtime}")
    return problems, per_rule


def _span(values) -> str:
    """``lo-hi`` of the values given (``lo`` when all are equal); ``None`` without any."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return "None"
    return str(vals[0]) if vals[0] == vals[-1] else f"{vals[0]}-{vals[-1]}"


def query_sacct(run: RunLog) -> list[dict[str, str]]:
    """Every job (allocations, not steps) that carries the run ID as its name."""
    cmd = ["sacct", "-X", "-n", "-P", "--noconvert", "--name", run.run_id, "--starttime", run.started,
           "-o", ",".join(SACCT_FIELDS)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise CheckError(f"sacct failed ({proc.returncode}): {proc.stderr.strip()} (sacct needs slurmdbd)")
    rows = []
    for line in proc.stdout.splitlines():
        if line.strip():
            # Comment is last and may itself hold a '|'
            rows.append(dict(zip(SACCT_FIELDS, line.split("|", len(SACCT_FIELDS) - 1), strict=True)))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seq2rx.ops.slurmcheck", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("log", type=Path, help="stdout and stderr of the snakemake --executor slurm run")
    args = ap.parse_args(argv)
    try:
        run = parse_log(args.log.read_text())
        problems, per_rule = check(run, query_sacct(run))
    except (CheckError, OSError) as exc:
        print(f"seq2rx.ops.slurmcheck: {args.log}: {exc}", file=sys.stderr)
        return 2
    print(f"SLURM run {run.run_id}: {sum(c['jobs'] for c in per_rule.values())} jobs in sacct")
    print("rule\tjobs\tretried\tcpus\tmem_mb\truntime_min")
    for rule in sorted(per_rule):
        subs = [j for j in run.submissions if j.rule == rule]
        print(f"{rule}\t{per_rule[rule]['jobs']}\t{per_rule[rule]['retried']}\t{subs[0].threads}\t"
              f"{_span(j.mem_mb for j in subs)}\t{_span(j.runtime for j in subs)}")  # fmt: skip
    local = sorted({j.rule for j in run.jobs.values() if j.local})
    if local:
        print(f"local rules (not submitted): {', '.join(local)}")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
