"""Snakemake adapter: the clinical table from the OMOP CDM, merged with the clinical TSV if any."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

# the CDM may be a folder: open_cdm checks its files, the first look checks the others
log_stderr(snakemake.log[0], [snakemake.input.get("clinical"), snakemake.input.get("concepts")])

from seq2rx.ehr import clinical_from_cdm, write_clinical, write_sources

table, report = clinical_from_cdm(
    snakemake.params.cdm,
    clinical=snakemake.input.get("clinical"),
    link=snakemake.params.link,
    index_date=snakemake.params.index_date,
    concepts=snakemake.input.get("concepts"),
    patients=set(snakemake.params.patients),
)
write_clinical(table, snakemake.output.table)
write_sources(report, snakemake.output.sources)
for note in report["cdm_notes"]:
    print(f"note: {note}", file=sys.stderr)
print(f"{len(table)} patients; {len(report['differences'])} field(s) where the TSV and the CDM differ", file=sys.stderr)
