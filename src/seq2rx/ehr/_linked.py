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
from typing import TYPE_CHECKING

from seq2rx.core.errors import InputError
from seq2rx.ehr._cdm import INGREDIENT_VOCABULARIES, LINK_COLUMNS, open_cdm
from seq2rx.ehr._clinical import _drug_name
from seq2rx.ehr.circe import Definition, cohorts_rows, read_definition

if TYPE_CHECKING:
    import pandas as pd

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
SELECT DISTINCT l.patient, n.ingredient, d.drug_exposure_start_date AS start_date,
    coalesce(d.drug_exposure_end_date,
             d.drug_exposure_start_date + CAST(greatest(coalesce(d.days_supply, 1), 1) - 1 AS INTEGER)) AS end_date
FROM drug_exposure d JOIN linked l USING (person_id)
JOIN ingredient_of i ON i.drug_concept_id = d.drug_concept_id
JOIN concept c ON c.concept_id = i.ingredient_id AND c.vocabulary_id IN (SELECT unnest($vocabularies))
    AND c.concept_class_id = 'Ingredient'
JOIN ingredient_names n ON n.concept_name = c.concept_name
WHERE d.drug_exposure_start_date IS NOT NULL
ORDER BY patient, ingredient, start_date NULLS LAST, end_date NULLS LAST
"""

#: the RxNorm (and RxNorm Extension) ingredients' names in the CDM's concept table, to be spelled by _drug_name
_INGREDIENTS = """
SELECT DISTINCT concept_name FROM concept
WHERE vocabulary_id IN (SELECT unnest($vocabularies)) AND concept_class_id = 'Ingredient' AND concept_name IS NOT NULL
"""

_CONDITIONS = """
SELECT DISTINCT l.patient, o.condition_concept_id AS concept_id,
    (SELECT min(c.concept_name) FROM concept c WHERE c.concept_id = o.condition_concept_id) AS concept_name,
    o.condition_start_date AS start_date
FROM condition_occurrence o JOIN linked l USING (person_id)
WHERE o.condition_start_date IS NOT NULL AND o.condition_concept_id IS NOT NULL
ORDER BY patient, start_date NULLS LAST, concept_id, concept_name NULLS LAST
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
      the CDM by :func:`seq2rx.ehr.circe.cohorts_rows` (a CDM folder loaded once for all of them),
      of the linked persons only.

    Rows are deduplicated and sorted. Two persons with one patient's link value are an
    :class:`InputError` (the patient would get both persons' records). :func:`linked_frames` gives
    the same rows as data frames, without a Python object per row (for a large CDM).
    """
    return _linked(cdm, patients, link=link, definitions=definitions, frames=False)


def linked_frames(
    cdm: str | os.PathLike,
    patients: Iterable[str],
    *,
    link: str = "person_source_value",
    definitions: str | os.PathLike | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`linked_rows` as one pandas data frame per table (columns ``patient`` and the table's
    others, in the same order; dates as ``datetime64``, a missing one ``NaT``), fetched from DuckDB
    column by column: what :func:`seq2rx.cohort.build_database` takes for a CDM of many persons."""
    return _linked(cdm, patients, link=link, definitions=definitions, frames=True)


def _linked(cdm, patients, *, link: str, definitions, frames: bool) -> dict:
    if link not in LINK_COLUMNS:
        raise InputError(str(cdm), f"{link!r} cannot link persons to patients", field="link",
                         hint=f"one of {', '.join(LINK_COLUMNS)}")  # fmt: skip
    import pandas as pd

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
        # each ingredient's name spelled once, in Python, then joined in SQL
        vocabularies = {"vocabularies": list(INGREDIENT_VOCABULARIES)}  # as the clinical table's medications
        names = [r[0] for r in con.execute(_INGREDIENTS, vocabularies).fetchall()]
        spelled = pd.DataFrame({"concept_name": names, "ingredient": [_drug_name(n) for n in names]}, dtype=object)
        con.register("ingredient_names", spelled)
        fetch = (
            (lambda sql, *p: con.execute(sql, *p).df()) if frames else (lambda sql, *p: con.execute(sql, *p).fetchall())
        )
        drugs = fetch(_DRUGS, vocabularies)
        conditions = fetch(_CONDITIONS)
    cohorts = []
    for definition, entries in zip(read, cohorts_rows(cdm, read), strict=True):
        name = Path(definition.path).stem
        cohorts.extend((person_of[s], name, start, end) for s, start, end in entries if s in person_of)
    cohorts = sorted(set(cohorts), key=lambda t: tuple((v is None, "" if v is None else v) for v in t))
    columns = {
        "ehr_drug_exposures": ("patient", "ingredient", "start_date", "end_date"),
        "ehr_conditions": ("patient", "concept_id", "concept_name", "start_date"),
        "ehr_cohorts": ("patient", "cohort", "cohort_start_date", "cohort_end_date"),
    }
    if frames:
        cohort_frame = pd.DataFrame(cohorts, columns=list(columns["ehr_cohorts"]))
        for col in ("cohort_start_date", "cohort_end_date"):
            cohort_frame[col] = pd.to_datetime(cohort_frame[col])
        return {
            "ehr_drug_exposures": drugs[list(columns["ehr_drug_exposures"])],
            "ehr_conditions": conditions[list(columns["ehr_conditions"])],
            "ehr_cohorts": cohort_frame,
        }
    # the SQL selects each table's columns in this order, distinct (the drugs after spelling) and sorted
    rows = {"ehr_drug_exposures": drugs, "ehr_conditions": conditions, "ehr_cohorts": cohorts}
    return {name: [dict(zip(columns[name], r, strict=True)) for r in rows[name]] for name in columns}
