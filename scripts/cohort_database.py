"""Snakemake adapter: combine the per-sample shards, the sheet, the clinical table and (with an OMOP
CDM) the linked patients' EHR rows into DuckDB."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

# the CDM may be a folder of CSV files, which the first look at input files does not take; the OMOP
# cohort definitions are read and checked by seq2rx.ehr.read_definitions, with messages of their own
own = ("cdm", "omop_definitions")
log_stderr(snakemake.log[0], [snakemake.input.get(name) for name in snakemake.input.keys() if name not in own])

from seq2rx.cohort import build_database

ehr = None
if snakemake.params.cdm:
    # as data frames: a CDM of many persons gives millions of rows, kept out of Python objects
    from seq2rx.ehr import linked_frames

    ehr = linked_frames(
        snakemake.params.cdm,
        {row["patient"] for row in snakemake.params.rows},
        link=snakemake.params.link,
        definitions=snakemake.params.omop_definitions or None,
    )
shards = {name: [p for p in snakemake.input.shards if Path(p).stem == name] for name in snakemake.params.tables}
counts = build_database(
    snakemake.output.db,
    shards,
    snakemake.params.rows,
    clinical=snakemake.input.clinical or None,
    predictions=snakemake.input.predictions or None,
    ehr=ehr,
    fingerprint_path=snakemake.output.tables,
    threads=snakemake.threads,
)
print(" ".join(f"{name}={n}" for name, n in counts.items()), file=sys.stderr)
