"""Snakemake adapter: bcftools stats of one sample's calls."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.germline import bcftools_stats

bcftools_stats(snakemake.input.vcf, snakemake.input.fasta, snakemake.output.stats)
write_versions(snakemake.output.versions, "bcftools_stats", ["bcftools"])
