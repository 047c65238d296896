"""The EHR rows of the cohort database: drug exposures, conditions and OMOP cohort entries of the
persons of an OMOP CDM who are patients of the sample sheet.

The cohort database (:mod:`seq2rx.cohort`) sits below this layer and knows nothing of OMOP: this
module reads the CDM and hands :func:`seq2rx.cohort.build_database` plain rows of its tables
``ehr_drug_exposures``, ``ehr_conditions`` and ``ehr_cohorts`` (:data:`seq2rx.cohort.EHR_TABLES`).
A person is linked to a patient by ``link`` (``person_source_value`` by default, or ``person_id``);
persons whose link value is no patient of the sheet are not read at all. No note text is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.ehr._cdm import LINK_COLUMNS, open_cdm
from seq2rx.ehr._clinical import _drug_name
from seq2rx.ehr.circe import Definition, cohort_rows, read_definition

#: the suffixes of cohort definition files in ``cohorts.omop_definitions`` (others, e.g. a README, are skipped)
DEFINITION_SUFFIXES = (".json", ".sql")

_LINKED = """
CREATE OR REPLACE TEMP TABLE linked AS
SELECT person_id, CAST({link} AS VARCHAR) AS patient FROM person
WHERE CAST({link} AS VARCHAR) IN (SELECT unnest($patients))
"""

_DRUGS = """
WITH ingredient_of AS (  -- a drug concept's RxNorm ingredients: its ancestors, or itself when it is one
    SELECT a.descendant_concept_id AS drug_concept_id, a.ancestor_concept_id AS ingredient_id
    FROM concept_ancestor a
    UNION
    SELECT concept_id, concept_id FROM concept
)
SELECT DISTINCT l.patient, c.concept_name AS ingredient, d.drug_exposure_start_date AS start_date,
    coalesce(d.drug_exposure_end_date,
             d.drug_exposure_start_date + CAST(greatest(coalesce(d.days_supply, 1), 1) - 1 AS INTEGER)) AS end_date
FROM drug_exposure d JOIN linked l USING (person_id)
JOIN ingredient_of i ON i.drug_concept_id = d.drug_concept_id
JOIN concept c ON c.concept_id = i.ingredient_id AND c.vocabulary_id = 'RxNorm' AND c.concept_class_id = 'Ingredient'
WHERE d.drug_exposure_start_date IS NOT NULL
"""

_CONDITIONS = """
SELECT DISTINCT l.patient, o.condition_concept_id AS concept_id,
    (SELECT min(c.concept_name) FROM concept c WHERE c.concept_id = o.condition_concept_id) AS concept_name,
    o.condition_start_date AS start_date
FROM condition_occurrence o JOIN linked l USING (person_id)
WHERE o.condition_start_date IS NOT NULL AND o.condition_concept_id IS NOT NULL
"""


def definition_files(folder: str | os.PathLike) -> list[Path]:
    """The cohort definitions of ``folder``: its ``*.json`` and ``*.sql`` files, sorted by name.

    Each file's name without its suffix names the cohort in ``ehr_cohorts.cohort``, so two files of
    one name (``x.json`` and ``x.sql``) are an :class:`InputError`, and so is a folder that does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "no such folder of OMOP cohort definitions",
                         field="cohorts.omop_definitions", hint="give a folder of Circe JSON (.json) or SQL (.sql) files")  # fmt: skip
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DEFINITION_SUFFIXES)
    seen: dict[str, Path] = {}
    for f in files:
        if f.stem in seen:
            raise InputError(str(f), f"names the same cohort {f.stem!r} as {seen[f.stem].name}",
                             hint="keep one definition per cohort name")  # fmt: skip
        seen[f.stem] = f
    return files


def read_definitions(folder: str | os.PathLike) -> list[Definition]:
    """Every definition of ``folder`` (:func:`definition_files`) read and checked by
    :func:`seq2rx.ehr.circe.read_definition`: a broken one is an :class:`InputError` naming its file,
    before any CDM is opened (the workflow checks them before the first job)."""
    return [read_definition(f) for f in definition_files(folder)]


def linked_rows(
    cdm: str | os.PathLike,
    patients: Iterable[str],
    *,
    link: str = "person_source_value",
    definitions: str | os.PathLike | None = None,
) -> dict[str, list[dict]]:
    """Rows of ``ehr_drug_exposures``, ``ehr_conditions`` and ``ehr_cohorts`` for the persons of
    ``cdm`` (a DuckDB file or a folder of CDM CSV files) whose ``link`` value is one of
    ``patients``; each row's ``patient`` is that value.

    - drug exposures: each exposure as its RxNorm ingredients (``concept_ancestor``, or the drug
      concept itself when it is an ingredient), named as the clinical table names medications
      (lower case); the end is ``drug_exposure_end_date``, else start + ``days_supply`` - 1, else the
      start (as the clinical table's current medications count it). An exposure whose drug has no
      RxNorm ingredient in the CDM's vocabulary is left out;
    - conditions: every ``condition_occurrence`` with its concept and the concept's name;
    - cohorts: the entries of each definition of ``definitions`` (:func:`definition_files`), run on
      the CDM by :func:`seq2rx.ehr.circe.cohort_rows`, of the linked persons only.

    Rows are deduplicated and sorted. Two persons with one patient's link value are an
    :class:`InputError` (the patient would get both persons' records).
    """
    if link not in LINK_COLUMNS:
        raise InputError(str(cdm), f"{link!r} cannot link persons to patients", field="link",
                         hint=f"one of {', '.join(LINK_COLUMNS)}")  # fmt: skip
    wanted = sorted(set(patients))
    read = read_definitions(definitions) if definitions else []
    with open_cdm(cdm) as handle:
        con = handle.con
        # the link column is one of LINK_COLUMNS (checked above), never user text; patients are bound
        con.execute(_LINKED.format(link=link), {"patients": wanted})
        twice = con.execute(
            "SELECT patient, count(*) FROM linked GROUP BY patient HAVING count(*) > 1 ORDER BY patient LIMIT 1"
        ).fetchone()
        if twice is not None:
            raise InputError(str(cdm), f"{link} {twice[0]!r} belongs to {twice[1]} persons", field=link,
                             hint="each patient must be one person; link by a column that is unique per person")  # fmt: skip
        person_of = dict(con.execute("SELECT person_id, patient FROM linked").fetchall())
        drugs = [
            {"patient": p, "ingredient": _drug_name(name), "start_date": start, "end_date": end}
            for p, name, start, end in con.execute(_DRUGS).fetchall()
        ]
        conditions = [
            {"patient": p, "concept_id": cid, "concept_name": name, "start_date": start}
            for p, cid, name, start in con.execute(_CONDITIONS).fetchall()
        ]
    cohorts = []
    for definition in read:
        name = Path(definition.path).stem
        for subject, start, end in cohort_rows(cdm, definition):
            if subject in person_of:
                cohorts.append({"patient": person_of[subject], "cohort": name, "cohort_start_date": start,
                                "cohort_end_date": end})  # fmt: skip
    return {
        "ehr_drug_exposures": _unique(drugs, ("patient", "ingredient", "start_date", "end_date")),
        "ehr_conditions": _unique(conditions, ("patient", "start_date", "concept_id", "concept_name")),
        "ehr_cohorts": _unique(cohorts, ("patient", "cohort", "cohort_start_date", "cohort_end_date")),
    }


def _unique(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    out = {tuple(r[k] for k in key): r for r in rows}
    return [out[k] for k in sorted(out, key=lambda t: tuple((v is None, "" if v is None else v) for v in t))]
