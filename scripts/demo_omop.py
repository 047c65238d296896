"""Snakemake adapter: write the demo's patients as a small OMOP CDM v5.4 (CSV files)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.sim import load_spec
from seq2rx.sim.omop import write_demo_cdm

rows = write_demo_cdm(
    load_spec(snakemake.input.spec), snakemake.input.clinical, snakemake.params.outdir, seed=snakemake.params.seed
)
print(", ".join(f"{table}: {n}" for table, n in rows.items()), file=sys.stderr)
