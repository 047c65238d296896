"""Snakemake adapter: one sample's genotypes from the joint call set."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.io import log_stderr

log_stderr(snakemake.log[0])

from seq2rx.call import subset_sample
from seq2rx.versions import write_versions

subset_sample(snakemake.input.joint, snakemake.wildcards.sample, snakemake.output.vcf)
write_versions(snakemake.output.versions, "bcftools_call", ["bcftools"])
