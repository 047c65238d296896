"""Snakemake adapter: render one patient's HTML report from the findings document (and the ML
step's contribution plot of the patient, when it has predictions)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx.report import patient as report

plot = snakemake.input.get("contributions")
report.write(
    json.loads(Path(snakemake.input.json).read_text()),
    snakemake.output.html,
    contributions_svg=Path(plot).read_text() if plot else None,
    tsv=snakemake.output.variants,
)
