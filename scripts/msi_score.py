"""Snakemake adapter: MSI of one tumour (paired, against the baseline, or from its VCF)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import MsiParams, msi_score
from seq2rx.tumour import msi as msi_io

inp = snakemake.input
result, rows = msi_score(
    snakemake.params.mode,
    sites=inp.sites,
    tumour_bam=inp.get("tumour_bam"),
    normal_bam=inp.get("normal_bam"),
    baseline=inp.get("baseline"),
    vcf=inp.get("vcf"),
    fasta=inp.fasta,
    sample=snakemake.params.vcf_sample,
    params=MsiParams.from_config(snakemake.params.msi),
)
msi_io.write_json(result, snakemake.output.json)
msi_io.write_sites(rows, snakemake.output.sites)
print({k: result[k] for k in ("method", "status", "score", "reason")}, file=sys.stderr)
write_versions(snakemake.output.versions, "msi_score", ["pysam", "scipy", "seq2rx"])
