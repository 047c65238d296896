"""Issue 18's check for the aligner index: a simulated genome of 20 Mb (no N; above the 10 Mb where
BWA switches to its large-genome algorithm) is indexed once with
`seq2rx index`; then two results folders plan runs that build no index (dry runs), and one of them
really aligns a sample against the reused index. Nothing is written beside the FASTA after the
index, and no results folder gets an index of its own.

The slow part is BWA indexing 20 Mb once (about 40 s on 2 cores); the dry runs and the small
alignment take seconds each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
import yaml

from seq2rx.cli import main
from seq2rx.reads.index import bwa_contigs
from seq2rx.sim.large_genome import random_contigs, write_fasta, write_read_pairs

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow
GENOME_BASES = 20_000_000


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile", "config.yaml", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("index_reuse")
    contigs = random_contigs(GENOME_BASES, 5, seed=18)
    fasta = write_fasta(contigs, base / "reference" / "genome.fa")
    reads = base / "reads"
    reads.mkdir()
    write_read_pairs(contigs, reads / "S1_R1.fastq.gz", reads / "S1_R2.fastq.gz", 3000, seed=19)
    start = time.monotonic()
    assert main(["index", "--fasta", str(fasta)]) == 0
    seconds = time.monotonic() - start
    print(f"seq2rx index of {GENOME_BASES / 1e6:.0f} Mb: {seconds:.1f} s", file=sys.stderr)
    return {"base": base, "fasta": fasta, "listing": sorted(os.listdir(fasta.parent)), "index_s": seconds}


def results_folder(indexed: dict, name: str) -> Path:
    work = indexed["base"] / name
    work.mkdir(exist_ok=True)
    reads = indexed["base"] / "reads"
    (work / "samples.tsv").write_text(
        "sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\n"
        f"S1\tS1\tgermline\t{reads / 'S1_R1.fastq.gz'}\t{reads / 'S1_R2.fastq.gz'}\tfemale\tNA\n"
    )
    config = {
        "samples": "samples.tsv",
        "reference": {"fasta": str(indexed["fasta"]), "gff3": "", "build": "GRCh38"},
        "targets": "",
        "demo": {"simulate": False},
        "align": {"aligner": "bwa"},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    return work


def test_the_index_is_of_the_whole_20_mb_genome(indexed):
    contigs = bwa_contigs(indexed["fasta"])
    assert sum(contigs.values()) == GENOME_BASES
    assert list(contigs) == ["sim1", "sim2", "sim3", "sim4", "sim5"]


@pytest.mark.parametrize("name", ["run_a", "run_b"])
def test_two_results_folders_plan_no_index_job(indexed, name):
    work = results_folder(indexed, name)
    proc = snakemake(work, "-n")
    planned = proc.stdout + proc.stderr
    assert "align_reads" in planned  # the run aligns...
    assert "aligner_index" not in planned  # ...against the index it found: none is built
    assert not (work / "results").exists()


def test_a_real_run_aligns_against_the_reused_index_and_builds_nothing(indexed):
    work = results_folder(indexed, "run_a")
    snakemake(work, "--cores", "2", "results/align/S1.bam")
    fasta = indexed["fasta"]
    assert not (work / "results" / "index").exists()
    assert sorted(os.listdir(fasta.parent)) == indexed["listing"]  # nothing written beside the FASTA
    log = (work / "logs" / "align_reads" / "S1.log").read_text()
    assert f"seq2rx: index: existing index at {fasta}" in log
    record = json.loads((work / "results" / "versions" / "align_reads" / "S1.json").read_text())
    assert record["index"] == f"existing index at {fasta}"
    with pysam.AlignmentFile(str(work / "results" / "align" / "S1.bam")) as bam:
        assert list(zip(bam.references, bam.lengths, strict=True)) == list(bwa_contigs(fasta).items())
        primary = [r for r in bam if not r.is_secondary and not r.is_supplementary]
    assert len(primary) == 6000
    assert sum(not r.is_unmapped for r in primary) / len(primary) > 0.99
