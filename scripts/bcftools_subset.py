"""Snakemake adapter: one sample's genotypes from the joint call set."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.germline import subset_sample

subset_sample(snakemake.input.joint, snakemake.wildcards.sample, snakemake.output.vcf)
write_versions(snakemake.output.versions, "bcftools_call", ["bcftools"])
