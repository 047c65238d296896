"""Snakemake adapter: the cohort summary document the cohort report renders."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx.findings import cohort as C

inp = snakemake.input
network = json.loads(Path(inp.network).read_text()) if inp.get("network") else None
validation = []
if network:
    from seq2rx.similarity.validate import shipped_validation

    validation = shipped_validation()
summary = C.build(
    [json.loads(Path(p).read_text()) for p in inp.findings],
    metrics=json.loads(Path(inp.metrics).read_text()) if inp.get("metrics") else None,
    network=network,
    validation=validation,
    cohorts=[C.read_cohort(p) for p in inp.get("cohorts", [])],
    ml_figures={Path(p).stem: p for p in inp.get("ml_plots", [])},
    similarity_figures={Path(p).stem: p for p in inp.get("sim_plots", [])},
)
C.write(summary, snakemake.output.json)
