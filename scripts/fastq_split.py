"""Snakemake adapter: split one sample's trimmed read pairs into chunks of whole alignment batches."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.reads.split import split_pairs

counts = split_pairs(
    snakemake.input.r1,
    snakemake.input.r2,
    snakemake.output.chunks,
    pairs_per_chunk=snakemake.params.pairs_per_chunk,
)
print(f"{sum(counts)} read pairs in {len(counts)} chunks: {counts}", file=sys.stderr)
