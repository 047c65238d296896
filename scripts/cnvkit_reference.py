"""Snakemake adapter: CNVkit's pooled reference from the run's normal and germline samples, once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import CopyNumberParams, build_reference

doc = build_reference(
    snakemake.input.bams,
    fasta=snakemake.input.fasta,
    out=snakemake.output.cnn,
    targets=snakemake.input.get("targets"),
    access=snakemake.input.access,
    matched=False,
    params=CopyNumberParams.from_config(snakemake.params.copy_number),
)
print(doc, file=sys.stderr)
write_versions(snakemake.output.versions, "cnvkit_reference", ["cnvkit", "seq2rx"])
