"""Snakemake adapter: one cohort's members, shareable summary and Kaplan-Meier curves."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.cohort import run_cohort

result = run_cohort(
    snakemake.input.db,
    snakemake.input.sql,
    dict(snakemake.params.parameters),
    {key: snakemake.output[key] for key in ("members", "summary", "km_svg", "km_tsv")},
    min_count=snakemake.params.min_count,
)
print(f"{result['size']} patients; log-rank {result['test'] or result['reason']}", file=sys.stderr)
