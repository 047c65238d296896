"""Snakemake adapter: copy number of one tumour with CNVkit, against its matched normal or the pooled
reference."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import CopyNumberParams, copy_number

inp = snakemake.input
normal = inp.get("normal_bam")
doc = copy_number(
    inp.tumour_bam,
    [normal] if normal else [],
    fasta=inp.fasta,
    gff3=inp.gff3,
    prefix=snakemake.params.prefix,
    reference=None if normal else inp.reference,
    targets=inp.get("targets"),
    access=inp.access,
    matched=bool(normal),
    sex=snakemake.params.sex,
    params=CopyNumberParams.from_config(snakemake.params.copy_number),
)
print({k: doc[k] for k in ("reference", "bins", "segments", "calls")}, file=sys.stderr)
write_versions(snakemake.output.versions, "cnvkit_copy_number", ["cnvkit", "seq2rx"])
