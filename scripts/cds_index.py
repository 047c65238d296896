"""Snakemake adapter: the CDS Hooks service's patient index, from every patient's findings."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import sqlite3

from seq2rx.cds import build_index
from seq2rx.provenance.versions import write_versions

counts = build_index(snakemake.input.findings, snakemake.output.index, drug_codes=snakemake.input.drug_codes)
print(f"{counts['patients']} patients, {counts['cards']} card-making recommendations, {counts['drugs']} drugs",
      file=sys.stderr)  # fmt: skip
# the file's bytes depend on SQLite's version too
write_versions(snakemake.output.versions, "cds_index", ["seq2rx"], extra={"sqlite": sqlite3.sqlite_version})
