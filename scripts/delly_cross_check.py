"""Snakemake adapter: delly beside our fusion caller on one tumour, and the comparison."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour.delly import cross_check

inp = snakemake.input
result = cross_check(
    inp.tumour_bam,
    inp.get("normal_bam") or None,
    inp.fasta,
    inp.fusions,
    snakemake.output.tsv,
    snakemake.output.json,
    gff3=inp.gff3,
)
print(result.summary["text"], file=sys.stderr)
write_versions(snakemake.output.versions, "delly_cross_check", ["delly", "pysam", "seq2rx"])
