"""Snakemake adapter: check and normalise a VCF that the sample sheet provides."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.inputs import normalise_input

normalise_input(
    snakemake.input.vcf,
    snakemake.input.fasta,
    snakemake.output.vcf,
    snakemake.wildcards.sample,
    snakemake.params.build,
    vcf_sample=snakemake.params.get("vcf_sample"),
)
write_versions(snakemake.output.versions, "bcftools_norm_input", ["bcftools"])
