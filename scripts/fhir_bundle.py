"""Snakemake adapter: one patient's findings as a FHIR R4 Genomics Reporting bundle."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.fhir import count_resources, load_tables, write_bundle
from seq2rx.provenance.versions import write_versions

tables = load_tables(Path(snakemake.input.kb[0]).parent, positions=snakemake.input.positions)
bundle = write_bundle(snakemake.input.json, snakemake.output.json, tables=tables)
print(" ".join(f"{kind}={n}" for kind, n in count_resources(bundle).items()), file=sys.stderr)
write_versions(snakemake.output.versions, "fhir_bundle", ["seq2rx", "fhir.resources"])
