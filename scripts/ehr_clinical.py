"""Snakemake adapter: the clinical table from the OMOP CDM, merged with the clinical TSV if any, its
ECOG and smoking gaps filled from the clinical notes' items if any."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

# the CDM may be a folder: open_cdm checks its files, the first look checks the others
log_stderr(snakemake.log[0], [snakemake.input.get(k) for k in ("clinical", "concepts", "notes")])

from seq2rx.ehr import clinical_from_cdm, clinical_from_tsv, fill_from_notes, write_clinical, write_sources

if snakemake.params.cdm:
    table, report = clinical_from_cdm(
        snakemake.params.cdm,
        clinical=snakemake.input.get("clinical"),
        link=snakemake.params.link,
        index_date=snakemake.params.index_date,
        concepts=snakemake.input.get("concepts"),
        patients=set(snakemake.params.patients),
    )
else:
    table, report = clinical_from_tsv(snakemake.input.clinical)
if snakemake.input.get("notes"):
    items = json.loads(Path(snakemake.input.notes).read_text(encoding="utf-8"))["items"]
    table, report = fill_from_notes(table, report, items)
    print(f"{report['filled_from_notes']} field(s) filled from clinical notes", file=sys.stderr)
write_clinical(table, snakemake.output.table)
write_sources(report, snakemake.output.sources)
for note in report["cdm_notes"]:
    print(f"note: {note}", file=sys.stderr)
print(f"{len(table)} patients; {len(report['differences'])} field(s) where the TSV and the CDM differ", file=sys.stderr)
