"""Snakemake adapter: the microsatellites of the reference (over the targets when there are any), once."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import MsiParams, find_microsatellites, write_microsatellites

sites = find_microsatellites(
    snakemake.input.fasta, snakemake.input.get("targets"), params=MsiParams.from_config(snakemake.params.msi)
)
write_microsatellites(sites, snakemake.output.tsv)
print(f"{len(sites)} microsatellites", file=sys.stderr)
write_versions(snakemake.output.versions, "msi_sites", ["pysam", "seq2rx"])
