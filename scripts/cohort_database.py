"""Snakemake adapter: combine the per-sample shards, the sheet and the clinical table into DuckDB."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.cohort import build_database

shards = {name: [p for p in snakemake.input.shards if Path(p).stem == name] for name in snakemake.params.tables}
counts = build_database(
    snakemake.output.db,
    shards,
    snakemake.params.rows,
    clinical=snakemake.input.clinical or None,
    predictions=snakemake.input.predictions or None,
    fingerprint_path=snakemake.output.tables,
    threads=snakemake.threads,
)
print(" ".join(f"{name}={n}" for name, n in counts.items()), file=sys.stderr)
