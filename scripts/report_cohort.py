"""Snakemake adapter: the cohort HTML report, from the cohort summary and the SVG files it names."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx.report import cohort as R

summary = json.loads(Path(snakemake.input.summary).read_text())
svgs = {str(p): Path(p).read_text() for p in snakemake.input.get("figures", [])}
R.write(R.render(summary, svgs), snakemake.output.html)
