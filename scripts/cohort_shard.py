"""Snakemake adapter: one sample's rows of the cohort database, as Parquet shards."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.cohort import SHARD_TABLES, write_sample_shards

counts = write_sample_shards(
    snakemake.params.row,
    {name: snakemake.output[name] for name in SHARD_TABLES},
    qc=snakemake.input.get("qc"),
    variants=[tuple(v) for v in snakemake.params.variants],
    pgx_genes=snakemake.input.pgx_genes,
    pgx_drugs=snakemake.input.pgx_drugs,
    actionable=snakemake.input.get("actionable"),
)
print(" ".join(f"{name}={n}" for name, n in counts.items()), file=sys.stderr)
