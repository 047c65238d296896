"""Snakemake adapter: a tumour's somatic calls of every calling interval joined in order, with
their callable bases summed (the TMB denominator)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.variants.somatic import gather_somatic, write_callable

parts = [
    (vcf, json.loads(Path(counts).read_text()))
    for vcf, counts in zip(snakemake.input.parts, snakemake.input.counts, strict=True)
]
counts = gather_somatic(parts, snakemake.output.vcf)
write_callable(counts, snakemake.output.callable)
print(counts, file=sys.stderr)
write_versions(snakemake.output.versions, "somatic_call", ["bcftools", "seq2rx"])
