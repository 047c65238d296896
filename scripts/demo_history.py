"""Snakemake adapter: simulate the demo's historical cohort (past patients with outcomes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.sim import load_pgx_sites, load_spec
from seq2rx.sim.history import panel_genes, write_history

spec = load_spec(snakemake.input.spec)
genes = panel_genes(spec, load_pgx_sites(snakemake.input.sites))
paths = write_history(spec, genes, snakemake.params.seed, Path(snakemake.output.clinical).parent)
print("wrote", ", ".join(sorted(p.name for p in paths.values())), file=sys.stderr)
