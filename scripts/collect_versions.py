"""Snakemake adapter: one file of every tool version the run used."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import collect

collect(list(snakemake.input), snakemake.output.json)
