"""Snakemake adapter: the calling intervals of the reference (or of the padded targets)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.genome.intervals import plan_intervals, write_intervals
from seq2rx.pgx.genotype import read_positions

p = snakemake.params
positions = [(r["chrom"], int(r["pos"])) for r in read_positions(snakemake.input.positions) if r["build"] == p.build]
intervals = plan_intervals(
    snakemake.input.fasta,
    p.intervals,
    targets=snakemake.input.targets or None,
    padding=p.padding,
    positions=positions,
)
write_intervals(intervals, Path(snakemake.output.table).parent)
print(Path(snakemake.output.table).read_text(), file=sys.stderr)
