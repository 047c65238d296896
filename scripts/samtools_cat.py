"""Snakemake adapter: concatenate a sample's aligned chunks, in chunk order, into one unsorted BAM."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input.bams)

from seq2rx.provenance.versions import combine_versions
from seq2rx.reads.split import merge_chunk_bams

merge_chunk_bams(snakemake.input.bams, snakemake.output.bam)
print(f"{len(snakemake.input.bams)} chunks concatenated", file=sys.stderr)
combine_versions(snakemake.output.versions, "align_reads", snakemake.input.versions, ["samtools"])
