"""Snakemake adapter: one sample's identity (sex against the sheet; a tumour against its normal)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import IdentityParams, sample_identity
from seq2rx.tumour import identity as identity_io

inp, p = snakemake.input, snakemake.params
doc = sample_identity(
    snakemake.wildcards.sample,
    inp.bam,
    sheet_sex=p.sex,
    fasta=inp.fasta,
    regions=inp.get("targets"),
    build=p.build,
    normal_bam=inp.get("normal_bam"),
    normal=p.normal or "normal",
    sites=inp.get("sites"),
    params=IdentityParams.from_config(p.identity),
)
identity_io.write_json(doc, snakemake.output.json)
print(doc["verdict"], doc["reasons"], file=sys.stderr)
write_versions(snakemake.output.versions, "identity_check", ["pysam", "seq2rx"])
