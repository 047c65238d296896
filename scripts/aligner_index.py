"""Snakemake adapter: islands of the reference and the aligner's index."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads.align import build_index

build_index(
    snakemake.input.fasta, Path(snakemake.output.islands).parent, snakemake.params.aligner, snakemake.params.min_gap
)
tools = {"bwa": ["pybwa", "pysam"], "minimap2": ["pyminimap2", "pysam"]}[snakemake.params.aligner]
write_versions(snakemake.output.versions, "aligner_index", tools)
