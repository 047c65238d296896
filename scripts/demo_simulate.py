"""Snakemake adapter: simulate the demo data set."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.sim import simulate

summary = simulate(snakemake.input.spec, snakemake.input.sites, snakemake.params.outdir, seed=snakemake.params.seed)
for sample, counts in summary["samples"].items():
    print(sample, counts, file=sys.stderr)
