"""Snakemake adapter: genotype every pharmacogene definition position of one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.pgx.genotype import genotype_positions, position_table, write_table
from seq2rx.provenance.versions import write_versions

p = snakemake.params
genotype_positions(
    snakemake.input.bam,
    snakemake.input.fasta,
    snakemake.input.positions,
    snakemake.output.vcf,
    snakemake.wildcards.sample,
    min_mapq=p.min_mapq,
    min_baseq=p.min_baseq,
)
rows = position_table(snakemake.input.positions, snakemake.output.vcf, min_depth=p.min_depth)
write_table(rows, snakemake.output.table)
missing = sum(r["status"] != "called" for r in rows)
print(f"{len(rows)} definition positions, {missing} missing", file=sys.stderr)
write_versions(snakemake.output.versions, "pgx_genotype_positions", ["bcftools"])
