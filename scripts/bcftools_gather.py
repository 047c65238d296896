"""Snakemake adapter: the calling intervals' calls joined in order, normalised, filtered, indexed."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.germline import CallParams, gather_calls

gather_calls(
    list(snakemake.input.parts),
    snakemake.input.fasta,
    snakemake.output.vcf,
    CallParams.from_config(snakemake.params.calling),
    threads=snakemake.threads,
)
if "versions" in snakemake.output.keys():
    write_versions(snakemake.output.versions, "bcftools_call", ["bcftools"])
