"""Snakemake adapter: compare one sample's calls with the demo truth."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.cli import main

args = [
    "compare-vcf",
    "--truth",
    snakemake.input.truth,
    "--query",
    snakemake.input.query,
    "--reference",
    snakemake.input.fasta,
    "--regions",
    snakemake.input.regions,
    "--json",
    snakemake.output.json,
]
sys.exit(main(args))  # a bad input exits non-zero with its message in the log
