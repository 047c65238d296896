"""Snakemake adapter: cutadapt adapter and quality trimming."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads.trim import trim_pairs

p = snakemake.params
trim_pairs(
    snakemake.input.r1,
    snakemake.input.get("r2"),  # none: one interleaved file
    snakemake.output.r1,
    snakemake.output.r2,
    snakemake.output.json,
    snakemake.output.txt,
    p.adapter_r1,
    p.adapter_r2,
    min_quality=p.min_quality,
    min_length=p.min_length,
    threads=snakemake.threads,
    phred64=p.phred64,
    reads_report=snakemake.output.reads,
)
write_versions(snakemake.output.versions, "cutadapt_trim", ["cutadapt"])
