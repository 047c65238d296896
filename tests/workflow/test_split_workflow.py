"""align.split_fastq through Snakemake: the job shape a dry run plans, and a sample split into two
chunks giving the duplicate-marked BAM of one alignment job, byte for byte."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
import yaml
from conftest import repeat_genome

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow

#: 2 x 150 bases a pair: one BWA batch (10 million bases) holds 33,334 pairs, so two chunks
PAIRS = 40_000


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc


def planned_rules(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """rule -> jobs, from the table of a dry run with ``--quiet rules``."""
    found = (re.fullmatch(r"(\w+)\s+(\d+)", line.strip()) for line in proc.stdout.splitlines())
    return {m.group(1): int(m.group(2)) for m in found if m and m.group(1) != "total"}


def test_dry_run_plans_a_split_and_a_join_per_sample(tmp_path):
    """The demo with align.split_fastq: a fastq_split checkpoint and a samtools_cat per sample that
    starts from reads, no align_reads job; the align_chunk jobs are planned once the reads are split."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["align"]["split_fastq"] = 50_000_000
    (tmp_path / "split.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    sheet = (REPO / "config/samples.tsv").read_text().splitlines()
    header = sheet[0].split("\t")
    fastq_samples = sum(1 for line in sheet[1:] if dict(zip(header, line.split("\t"), strict=False)).get("fastq1"))
    assert fastq_samples >= 10
    split = planned_rules(snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", "split.yaml"))
    assert split["fastq_split"] == split["samtools_cat"] == split["samtools_markdup"] == fastq_samples
    assert "align_reads" not in split and "align_chunk" not in split
    one = planned_rules(snakemake(tmp_path, "-n", "--quiet", "rules"))
    assert one["align_reads"] == fastq_samples and "fastq_split" not in one and "samtools_cat" not in one
    # the rest of the run is the same jobs
    rest = {k: v for k, v in split.items() if k not in ("fastq_split", "samtools_cat")}
    assert rest == {k: v for k, v in one.items() if k != "align_reads"}


def _project(d: Path) -> None:
    """A two-contig reference (an N gap, a repeat across it) and PAIRS error-free pairs, as a
    sample sheet and two configs: one alignment job, and align.split_fastq: 1 (a chunk per batch)."""
    rng = np.random.default_rng(11)
    contigs = repeat_genome(d / "ref.fa", rng)
    pysam.faidx(str(d / "ref.fa"))
    comp = str.maketrans("ACGT", "TGCA")
    sizes = np.maximum(160, rng.normal(350, 35, PAIRS).astype(int))
    on_b = rng.random(PAIRS) < 0.25
    flip = rng.random(PAIRS) < 0.5
    r1, r2, qual = [], [], "I" * 150
    for i in range(PAIRS):
        seq = contigs["chrB" if on_b[i] else "chrA"]
        while True:
            start = int(rng.integers(0, len(seq) - sizes[i]))
            frag = seq[start : start + sizes[i]]
            if "N" not in frag:
                break
        rc = frag.translate(comp)[::-1]
        a, b = (rc, frag) if flip[i] else (frag, rc)
        r1.append(f"@p{i}\n{a[:150]}\n+\n{qual}\n")
        r2.append(f"@p{i}\n{b[:150]}\n+\n{qual}\n")
    for mate, records in (("R1", r1), ("R2", r2)):
        with gzip.open(d / f"S1_{mate}.fq.gz", "wt", compresslevel=1) as fh:
            fh.write("".join(records))
    (d / "samples.tsv").write_text(
        "sample\tpatient\ttype\tfastq1\tfastq2\tbam\tvcf\tsex\ttumor_type\n"
        f"S1\tP1\tgermline\t{d}/S1_R1.fq.gz\t{d}/S1_R2.fq.gz\t\t\tfemale\tNA\n"
    )
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(
        samples=str(d / "samples.tsv"),
        targets="",
        demo={"simulate": False},
        clinical="",
        clinical_omop={},
        clinical_notes={},
    )  # the demo's CDM and notes are the demo's
    cfg["reference"].update(fasta=str(d / "ref.fa"), gff3="")
    (d / "one.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    cfg["align"]["split_fastq"] = 1
    (d / "split.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def test_split_alignment_gives_the_bam_of_one_job(tmp_path):
    _project(tmp_path)
    target = "results/align/S1.bam"
    for run in ("one", "split"):
        (tmp_path / run).mkdir()
        snakemake(tmp_path / run, "--configfile", f"../{run}.yaml", "--", target)
    one, split = tmp_path / "one", tmp_path / "split"
    log = (split / "logs/fastq_split/S1.log").read_text()
    assert f"{PAIRS} read pairs in 2 chunks" in log
    assert sorted(p.name for p in (split / "logs/align_chunk/S1").iterdir()) == ["0000.log", "0001.log"]
    for name in ("S1.bam", "S1.bam.bai"):
        assert (split / "results/align" / name).read_bytes() == (one / "results/align" / name).read_bytes()
    # the chunks, their BAMs and the joined BAM were scratch files: removed
    assert not (split / "results/reads").exists() and not (split / "results/align/chunks").exists()
    assert sorted(p.name for p in (split / "results/align").iterdir()) == ["S1.bam", "S1.bam.bai"]
    # the alignment step's record names the aligner the chunks ran and the samtools that joined them
    record = json.loads((split / "results/versions/align_reads/S1.json").read_text())
    assert record["step"] == "align_reads" and {"pybwa", "pysam", "samtools"} <= set(record["tools"])
    # a second run has nothing to do: the removed scratch files do not call the checkpoint back
    again = snakemake(split, "-n", "--configfile", "../split.yaml", "--", target)
    assert "Nothing to be done" in again.stdout + again.stderr
