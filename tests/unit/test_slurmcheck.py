"""seq2rx.ops.slurmcheck: a SLURM run's log against the accounting database's rows."""

from __future__ import annotations

import pytest

from seq2rx.ops.slurmcheck import CheckError, check, megabytes, minutes, parse_log

# the shape of a `snakemake --executor slurm` log (Snakemake 9, executor plugin 2)
LOG = """\
SNAKEMAKE
=========
  Date: 2026-11-25 22:49:33
  Workflow ID: 836ebcdf

Building DAG of jobs...
SLURM run ID: c95d6ff1-3e8e
Job stats:
job              count
-------------  -------
demo_simulate        1
cutadapt_trim        1
all                  1
total                3

[Wed Nov 25 22:49:34 2026]
rule demo_simulate:
    input: resources/demo/demo.yaml
    output: demo/genome.fa.gz
    log: logs/demo_simulate/demo.log
    jobid: 5
    reason: Missing output files: demo/genome.fa.gz
    resources: tmpdir=<TBD>, disk_mb=1000, disk=1 GB, disk_mib=954, mem_mb=2000, mem=2 GB, mem_mib=1908, runtime=20
Shell command: None
Job 5 has been submitted with SLURM jobid 2 (log: .snakemake/slurm_logs/rule_demo_simulate/2.log).

[Wed Nov 25 22:50:10 2026]
rule cutadapt_trim:
    input: demo/reads/P1_R1.fastq.gz
    jobid: 30
    wildcards: sample=P1
    threads: 2
    resources: tmpdir=<TBD>, mem_mb=1000, mem=1 GB, runtime=60
Shell command: None
Job 30 has been submitted with SLURM jobid 3 (log: .snakemake/slurm_logs/rule_cutadapt_trim/P1/3.log).

[Wed Nov 25 22:51:10 2026]
localrule all:
    input: results/x
    jobid: 0
    resources: tmpdir=/tmp
"""


def row(jobid, comment, cpus="1", mem="2000M", limit="00:20:00", state="COMPLETED"):
    return {"JobIDRaw": jobid, "JobName": "c95d6ff1-3e8e", "State": state, "AllocCPUS": cpus, "ReqMem": mem,
            "Timelimit": limit, "Comment": comment}  # fmt: skip


GOOD = [row("2", "rule_demo_simulate"), row("3", "rule_cutadapt_trim_wildcards_P1", "2", "1000M", "01:00:00")]


def test_the_log_is_read():
    run = parse_log(LOG)
    assert run.run_id == "c95d6ff1-3e8e" and run.started == "2026-11-25T22:49:33"
    assert sorted(run.jobs) == [0, 5, 30]
    trim = run.jobs[30]
    assert (trim.rule, trim.threads, trim.mem_mb, trim.runtime, trim.slurm_id) == ("cutadapt_trim", 2, 1000, 60, "3")
    assert run.jobs[5].threads == 1  # Snakemake prints no threads line for one thread
    assert run.jobs[0].local and run.jobs[0].slurm_id is None


def test_matching_accounting_passes():
    problems, per_rule = check(parse_log(LOG), GOOD)
    assert problems == []
    assert {rule: c["jobs"] for rule, c in per_rule.items()} == {"demo_simulate": 1, "cutadapt_trim": 1}


def test_each_mismatch_is_named():
    rows = [row("2", "rule_demo_simulate", state="FAILED"), row("3", "rule_cutadapt_trim_wildcards_P1", "1", "954M", "00:30:00"),
            row("9", "rule_other")]  # fmt: skip
    problems, _ = check(parse_log(LOG), rows)
    assert problems == [
        "sacct lists SLURM job 9 of this run that the log never submitted",
        "SLURM job 2 (rule demo_simulate, job 5): state FAILED",
        "SLURM job 3 (rule cutadapt_trim, job 30): 1 CPUs allocated, the rule has 2 threads",
        "SLURM job 3 (rule cutadapt_trim, job 30): 954M memory requested, the job was announced with mem_mb=1000",
        "SLURM job 3 (rule cutadapt_trim, job 30): time limit 00:30:00, the job was announced with runtime=60",
    ]


def test_a_job_missing_from_sacct_or_never_submitted():
    problems, _ = check(parse_log(LOG), GOOD[:1])
    assert problems == ["SLURM job 3 (rule cutadapt_trim) is missing from sacct"]
    unsubmitted = LOG.replace("Job 30 has been submitted with SLURM jobid 3", "Job 30 went elsewhere")
    problems, _ = check(parse_log(unsubmitted), GOOD[:1])
    assert problems == ["job 30 (rule cutadapt_trim) was never submitted to SLURM"]


# cutadapt_trim's job 30 failed as SLURM job 3 and was retried (--retries): Snakemake announces it
# anew, with twice the resources (the sized rules' attempt 2), and submits it as SLURM job 4
_TRIM = LOG[LOG.index("[Wed Nov 25 22:50:10 2026]\nrule cutadapt_trim:") : LOG.index("Job 30 has been submitted")]
_FIRST = "Job 30 has been submitted with SLURM jobid 3 (log: .snakemake/slurm_logs/rule_cutadapt_trim/P1/3.log).\n"
RETRY = LOG.replace(
    _FIRST,
    _FIRST
    + """Error in rule cutadapt_trim:
    message: SLURM-job '3' failed, SLURM status is: 'OUT_OF_MEMORY'
    jobid: 30
Trying to restart job 30.

"""
    + _TRIM.replace("mem_mb=1000, mem=1 GB, runtime=60", "mem_mb=2000, mem=2 GB, runtime=120")
    + _FIRST.replace("jobid 3 ", "jobid 4 ").replace("/3.log", "/4.log"),
)


def test_a_retried_job_is_checked_attempt_by_attempt():
    run = parse_log(RETRY)
    assert [(j.jobid, j.slurm_id, j.mem_mb, j.runtime) for j in run.submissions] == [
        (5, "2", 2000, 20), (30, "3", 1000, 60), (30, "4", 2000, 120)]  # fmt: skip
    assert run.jobs[30].slurm_id == "4" and run.jobs[30].mem_mb == 2000  # as last announced
    first = row("3", "rule_cutadapt_trim_wildcards_P1", "2", "1000M", "01:00:00", state="OUT_OF_MEMORY")
    second = row("4", "rule_cutadapt_trim_wildcards_P1", "2", "2000M", "02:00:00")
    problems, per_rule = check(run, [GOOD[0], first, second])
    assert problems == []
    assert per_rule["cutadapt_trim"] == {"jobs": 1, "retried": 1}
    # each attempt against its own announcement; the last must complete, an earlier one must not
    bad = [GOOD[0], {**first, "State": "COMPLETED", "ReqMem": "2000M"}, {**second, "State": "FAILED"}]
    assert check(run, bad)[0] == [
        "SLURM job 3 (rule cutadapt_trim, job 30): COMPLETED, yet the job was submitted again",
        "SLURM job 3 (rule cutadapt_trim, job 30): 2000M memory requested, the job was announced with mem_mb=1000",
        "SLURM job 4 (rule cutadapt_trim, job 30): state FAILED",
    ]
    # the first attempt missing from sacct is still missing
    assert check(run, [GOOD[0], second])[0] == ["SLURM job 3 (rule cutadapt_trim) is missing from sacct"]


def test_a_log_of_a_local_run_is_refused():
    with pytest.raises(CheckError, match="not the log of a run with --executor slurm"):
        parse_log(LOG.replace("SLURM run ID: c95d6ff1-3e8e\n", ""))


@pytest.mark.parametrize(("text", "mins"), [("00:20:00", 20), ("04:00:00", 240), ("1-02:00:00", 1560), ("05:30", 6)])
def test_minutes(text, mins):
    assert minutes(text) == mins


@pytest.mark.parametrize(("text", "mb"), [("2000M", 2000), ("8G", 8192), ("1000Mn", 1000), ("512000K", 500)])
def test_megabytes(text, mb):
    assert megabytes(text) == mb
