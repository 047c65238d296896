"""Snakemake adapter: the cohort HTML report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0])

import json

from seq2rx.report import cohort as R

inp = snakemake.input
docs = [json.loads(Path(p).read_text()) for p in inp.findings]
metrics = json.loads(Path(inp.metrics).read_text()) if inp.get("metrics") else None
ml_plots = {Path(p).stem: Path(p).read_text() for p in inp.get("ml_plots", [])}
network = json.loads(Path(inp.network).read_text()) if inp.get("network") else None
sim_plots = {Path(p).stem: Path(p).read_text() for p in inp.get("sim_plots", [])}
cohorts = [R.read_cohort(Path(p).parent) for p in inp.get("cohorts", [])]
R.write(R.render(docs, metrics, ml_plots, network, sim_plots, cohorts), snakemake.output.html)
