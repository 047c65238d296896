"""EHR data in: an OMOP CDM (a DuckDB file or a folder of CDM CSV exports) as a clinical source,
and cohort definitions the OHDSI way (:mod:`.circe`: Circe JSON through ohdsi-circepy's SQL, or one
SELECT, run read-only on a CDM).

:func:`open_cdm` opens a CDM with lower-case, typed views of the tables seq2rx reads;
:func:`derive_clinical` derives the clinical table's fields from it by the rules of
docs/data-model.md, each value labelled with its source; :func:`merge_clinical` joins it with a
clinical TSV (the TSV wins per field, differences reported); :func:`clinical_from_cdm` does both
from paths (the command and the workflow's step); :func:`check_cdm` checks a configured CDM before
any job without loading it; :func:`linked_rows` (or :func:`linked_frames`, as data frames) gives the
cohort database the drug exposures, conditions and OMOP cohort entries of the persons linked to patients.
"""

from seq2rx.ehr._cdm import LINK_COLUMNS, REQUIRED, TABLES, Cdm, check_cdm, open_cdm
from seq2rx.ehr._clinical import (
    INDEX_RULES,
    OUTPUT_COLUMNS,
    clinical_from_cdm,
    clinical_from_tsv,
    derive_clinical,
    fill_from_notes,
    merge_clinical,
    read_cells,
    read_concepts,
    write_clinical,
    write_sources,
)
from seq2rx.ehr._linked import definition_files, linked_frames, linked_rows, read_definitions

__all__ = [
    "INDEX_RULES",
    "LINK_COLUMNS",
    "OUTPUT_COLUMNS",
    "REQUIRED",
    "TABLES",
    "Cdm",
    "definition_files",
    "check_cdm",
    "clinical_from_cdm",
    "clinical_from_tsv",
    "derive_clinical",
    "fill_from_notes",
    "merge_clinical",
    "linked_frames",
    "linked_rows",
    "open_cdm",
    "read_cells",
    "read_concepts",
    "read_definitions",
    "write_clinical",
    "write_sources",
]
