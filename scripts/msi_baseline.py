"""Snakemake adapter: the MSI baseline of the run's normal and germline samples, for tumour-only MSI."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import MsiParams, build_baseline, read_microsatellites, write_baseline

baseline = build_baseline(
    snakemake.input.bams,
    read_microsatellites(snakemake.input.sites),
    params=MsiParams.from_config(snakemake.params.msi),
)
write_baseline(baseline, snakemake.output.tsv)
print(f"{len(baseline)} sites covered by the normals", file=sys.stderr)
write_versions(snakemake.output.versions, "msi_baseline", ["pysam", "scipy", "seq2rx"])
