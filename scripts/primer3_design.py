"""Snakemake adapter: Sanger confirmation primers for one patient's reportable variants."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants import primers

p = snakemake.params.settings
variants, known = [], []
for table, vcf in zip(snakemake.input.tables, snakemake.input.vcfs, strict=True):
    variants += [v for v in primers.reportable_variants(table, vcf) if v not in variants]
    known += primers.all_calls(vcf)
rows = primers.design_all(
    snakemake.input.fasta,
    variants,
    known_variants=known,
    amplicon=(p["amplicon_min"], p["amplicon_max"]),
    min_distance=p["primer_min_distance"],
    tm=(p["primer_tm_min"], p["primer_tm_max"]),
    opt_tm=(p["primer_tm_min"] + p["primer_tm_max"]) / 2,
)
primers.write_tsv(rows, snakemake.output.tsv)
print(f"{len(rows)} reportable variants, {sum(r['status'] == 'designed' for r in rows)} with primers", file=sys.stderr)
write_versions(snakemake.output.versions, "primer3_design", ["primer3-py", "biopython"])
