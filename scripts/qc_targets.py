"""Snakemake adapter: the target regions for coverage QC."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.reads.qc import write_targets

write_targets(
    snakemake.input.targets or None,
    snakemake.input.get("fasta") or None,
    snakemake.output.bed,
    min_gap=snakemake.params.get("min_gap", 1000),
)
