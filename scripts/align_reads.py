"""Snakemake adapter: align one sample's read pairs."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads.align import align_unsorted
from seq2rx.reads.index import describe_index

index = snakemake.params.index
kind = describe_index(index)
print(f"seq2rx: index: {kind}", file=sys.stderr)
n = align_unsorted(
    snakemake.input.r1,
    snakemake.input.r2,
    index,
    snakemake.output.bam,
    sample=snakemake.wildcards.sample,
    aligner=snakemake.params.aligner,
    threads=snakemake.threads,
    platform=snakemake.params.platform,
    fasta=snakemake.params.fasta,
)
print(f"{n} alignment records written", file=sys.stderr)
tools = {"bwa": ["pybwa", "pysam"], "minimap2": ["pyminimap2", "pysam"]}[snakemake.params.aligner]
write_versions(snakemake.output.versions, "align_reads", tools, extra={"index": kind})
