"""Snakemake adapter: consequences of one sample's variants (bcftools csq + Biopython)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.annotate import annotate

n = annotate(
    snakemake.input.vcf,
    snakemake.input.fasta,
    snakemake.input.gff3,
    snakemake.output.table,
    out_vcf=snakemake.output.vcf,
    sample=snakemake.wildcards.sample,
    clinvar_vcf=snakemake.input.clinvar or None,
)
print(f"{n} consequence rows written", file=sys.stderr)
write_versions(snakemake.output.versions, "bcftools_csq", ["bcftools", "biopython"])
