"""The clinical table (``config/clinical.tsv``'s columns) derived from an OMOP CDM.

The rules are written in docs/data-model.md ("The clinical table from an OMOP CDM"); the concepts
they look for are data (``resources/kb/omop/concepts.tsv``), matched with their descendants in the
CDM's own ``concept_ancestor``. Every value says where it came from (:func:`derive_clinical`'s
``sources``): ``omop`` with the rule and table, so that a merged table can say which field came from
the TSV and which from the CDM (:func:`merge_clinical`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.ehr._cdm import INGREDIENT_VOCABULARIES, LINK_COLUMNS, Cdm, open_cdm
from seq2rx.inputs.clinical import _ID, COLUMNS, STAGES

#: how a person's index date (the clinical table's ``diagnosis_date``) is found
INDEX_RULES = ("first_diagnosis", "observation_start", "observation_end")
#: the roles of resources/kb/omop/concepts.tsv and the values a row of each may carry
ROLES = {"sex": ("male", "female"), "diagnosis": ("",), "ecog": ("",), "egfr": ("",), "stage": STAGES}
#: how far from the index date (days, either side) a record still counts for the field
WINDOW_DAYS = {"stage": 90, "ecog": 30, "egfr": 90}
#: days per month for ``time_months`` (the Julian year over 12)
DAYS_PER_MONTH = 365.25 / 12
#: the clinical table's columns in the order the TSV is written (``sex`` is optional there)
OUTPUT_COLUMNS = ("patient", *COLUMNS, "sex")
_DRUG_CLEAN = re.compile(r"[^a-z0-9 ()/.+-]+")


def read_concepts(path: str | Path | None = None) -> pd.DataFrame:
    """The concept table (default: the shipped ``kb/omop/concepts.tsv``): columns ``role``,
    ``value``, ``concept_id`` (int) and the rest as text. A row with an unknown role, a value its
    role does not allow or a concept id that is not a positive whole number is an
    :class:`InputError` naming the line."""
    path = Path(path) if path is not None else data_path("kb", "omop", "concepts.tsv")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None
    need = ("role", "value", "concept_id", "source", "date")
    for line, row in enumerate(rows, 2):
        missing = [c for c in need if c not in row or row[c] is None]
        if missing:
            raise InputError(str(path), f"lacks column {missing[0]}", line=line, field=missing[0])
        if row["role"] not in ROLES:
            raise InputError(str(path), f"unknown role {row['role']!r}", line=line, field="role",
                             hint=f"one of {', '.join(ROLES)}")  # fmt: skip
        if row["value"] not in ROLES[row["role"]]:
            raise InputError(str(path), f"{row['value']!r} is not a value of role {row['role']}", line=line,
                             field="value", hint=f"allowed: {', '.join(v or '(empty)' for v in ROLES[row['role']])}")  # fmt: skip
        if not row["concept_id"].isdigit() or int(row["concept_id"]) == 0:
            raise InputError(str(path), f"{row['concept_id']!r} is not a concept id", line=line, field="concept_id",
                             hint="the OMOP standard concept id, a positive whole number")  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else list(need))
    frame["concept_id"] = frame["concept_id"].astype("int64")
    return frame


def _concept_sets(cdm: Cdm, concepts: pd.DataFrame) -> None:
    """``concept_set(role, value, concept_id)``: each listed concept and its descendants."""
    con = cdm.con
    con.execute("CREATE OR REPLACE TEMP TABLE listed_concept (role VARCHAR, value VARCHAR, concept_id BIGINT)")
    con.executemany(
        "INSERT INTO listed_concept VALUES (?, ?, ?)",
        [(r.role, r.value, int(r.concept_id)) for r in concepts.itertuples()],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE concept_set AS "
        "SELECT role, value, concept_id FROM listed_concept UNION "
        "SELECT l.role, l.value, a.descendant_concept_id FROM listed_concept l "
        "JOIN concept_ancestor a ON a.ancestor_concept_id = l.concept_id"
    )


_PATIENTS = """
CREATE OR REPLACE TEMP TABLE patient_index AS
WITH linked AS (
    SELECT person_id, CAST({link} AS VARCHAR) AS patient, gender_concept_id,
           year_of_birth, month_of_birth, day_of_birth
    FROM person
), first_dx AS (
    SELECT c.person_id, min(c.condition_start_date) AS index_date
    FROM condition_occurrence c JOIN concept_set s ON s.role = 'diagnosis' AND s.concept_id = c.condition_concept_id
    GROUP BY c.person_id
), observed AS (
    SELECT person_id, min(observation_period_start_date) AS first_day, max(observation_period_end_date) AS last_day
    FROM observation_period GROUP BY person_id
)
SELECT l.*, CASE $rule WHEN 'first_diagnosis' THEN d.index_date
                       WHEN 'observation_start' THEN o.first_day ELSE o.last_day END AS index_date
FROM linked l LEFT JOIN first_dx d USING (person_id) LEFT JOIN observed o USING (person_id)
"""

_DERIVE = """
WITH p AS (SELECT * FROM patient_index),
age AS (
    SELECT person_id,
        year(index_date) - year_of_birth
        - CASE WHEN month_of_birth IS NULL OR day_of_birth IS NULL THEN 0
               WHEN month(index_date) < month_of_birth
                    OR (month(index_date) = month_of_birth AND day(index_date) < day_of_birth) THEN 1
               ELSE 0 END AS age
    FROM p WHERE index_date IS NOT NULL AND year_of_birth IS NOT NULL
),
sex AS (
    SELECT p.person_id, min(s.value) AS sex, count(DISTINCT s.value) AS n
    FROM p JOIN concept_set s ON s.role = 'sex' AND s.concept_id = p.gender_concept_id GROUP BY p.person_id
),
coded AS (  -- stage, ECOG and eGFR records from measurement and observation
    SELECT m.person_id, s.role, s.value, m.measurement_date AS day, m.value_as_number AS number
    FROM measurement m JOIN concept_set s ON s.concept_id = m.measurement_concept_id AND s.role IN ('stage', 'ecog', 'egfr')
    UNION ALL
    SELECT o.person_id, s.role, s.value, o.observation_date, o.value_as_number
    FROM observation o JOIN concept_set s ON s.concept_id = o.observation_concept_id AND s.role IN ('stage', 'ecog', 'egfr')
),
near AS (  -- each role's record nearest the index date within its window; before beats after, then the later day
    SELECT c.person_id, c.role, c.value, c.number,
        row_number() OVER (PARTITION BY c.person_id, c.role
            ORDER BY abs(date_diff('day', p.index_date, c.day)), c.day > p.index_date, c.day DESC, c.value DESC, c.number DESC) AS k
    FROM coded c JOIN p USING (person_id)
    WHERE p.index_date IS NOT NULL
      AND abs(date_diff('day', p.index_date, c.day)) <= CASE c.role WHEN 'stage' THEN $stage_days
                                                                    WHEN 'ecog' THEN $ecog_days ELSE $egfr_days END
      AND (c.role = 'stage' OR (c.number IS NOT NULL AND isfinite(c.number) AND c.number >= 0))
      AND (c.role <> 'ecog' OR (c.number = floor(c.number) AND c.number <= 4))
),
observed AS (  -- the observation period holding the index date
    SELECT p.person_id, max(o.observation_period_end_date) AS period_end
    FROM p JOIN observation_period o ON o.person_id = p.person_id
        AND p.index_date BETWEEN o.observation_period_start_date AND o.observation_period_end_date
    GROUP BY p.person_id
),
dead AS (SELECT person_id, min(death_date) AS death_date FROM death GROUP BY person_id),
current_drug AS (  -- exposures running on the index date, as their RxNorm (Extension) ingredients
    SELECT DISTINCT d.person_id, lower(c.concept_name) AS ingredient
    FROM drug_exposure d JOIN p ON p.person_id = d.person_id
    JOIN concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id
    JOIN concept c ON c.concept_id = a.ancestor_concept_id
        AND c.vocabulary_id IN (SELECT unnest($vocabularies)) AND c.concept_class_id = 'Ingredient'
    WHERE p.index_date BETWEEN d.drug_exposure_start_date
        AND coalesce(d.drug_exposure_end_date,
                     d.drug_exposure_start_date + CAST(greatest(coalesce(d.days_supply, 1), 1) - 1 AS INTEGER))
)
SELECT p.person_id, p.patient, p.index_date AS diagnosis_date, age.age,
    CASE WHEN sex.n = 1 THEN sex.sex END AS sex,
    st.value AS stage, CAST(ec.number AS INTEGER) AS ecog, eg.number AS egfr,
    observed.period_end, dead.death_date,
    (SELECT list(ingredient ORDER BY ingredient) FROM current_drug cd WHERE cd.person_id = p.person_id) AS drugs
FROM p
LEFT JOIN age USING (person_id) LEFT JOIN sex USING (person_id)
LEFT JOIN near st ON st.person_id = p.person_id AND st.role = 'stage' AND st.k = 1
LEFT JOIN near ec ON ec.person_id = p.person_id AND ec.role = 'ecog' AND ec.k = 1
LEFT JOIN near eg ON eg.person_id = p.person_id AND eg.role = 'egfr' AND eg.k = 1
LEFT JOIN observed USING (person_id) LEFT JOIN dead USING (person_id)
ORDER BY p.patient
"""

#: field -> the rule a derived value followed (the ``sources`` record; docs/data-model.md says more)
RULES = {
    "diagnosis_date": {
        "first_diagnosis": "condition_occurrence: first condition_start_date of a 'diagnosis' concept or a descendant",
        "observation_start": "observation_period: first observation_period_start_date",
        "observation_end": "observation_period: last observation_period_end_date",
    },
    "age": "person: completed years from the birth date (year only when month or day is missing) to the index date",
    "sex": "person.gender_concept_id: a 'sex' concept or a descendant",
    "stage": f"measurement/observation: a 'stage' concept nearest the index date within {WINDOW_DAYS['stage']} days",
    "ecog": f"measurement/observation: value_as_number 0-4 of an 'ecog' concept nearest the index date within {WINDOW_DAYS['ecog']} days",
    "egfr": f"measurement/observation: finite value_as_number >= 0 of an 'egfr' concept nearest the index date within {WINDOW_DAYS['egfr']} days",
    "medications": f"drug_exposure running on the index date -> Ingredient ancestors in {' or '.join(INGREDIENT_VOCABULARIES)} (concept_ancestor)",
    "time_months": "death.death_date, else the end of the observation_period holding the index date, minus the index date",
    "event": "death: 1 when death_date ends the follow-up, else 0 (censored)",
}  # fmt: skip


def _drug_name(name: str) -> str:
    """An RxNorm ingredient name in the clinical table's spelling: lower case, characters it does not
    allow (a comma, an apostrophe) replaced by a space, spaces collapsed."""
    return " ".join(_DRUG_CLEAN.sub(" ", name.lower()).split())


def derive_clinical(
    cdm: Cdm,
    *,
    link: str = "person_source_value",
    index_date: str = "first_diagnosis",
    concepts: pd.DataFrame | None = None,
    patients: set[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, dict[str, str]]]]:
    """Derive the clinical table from ``cdm``: one row per person (``patients``, when given, keeps
    only those IDs), columns :data:`OUTPUT_COLUMNS` as text cells ready for the TSV (``NA`` when
    missing), sorted by patient. Returns ``(table, sources)`` where ``sources[patient][field]`` is
    ``{"source": "omop", "rule": ...}`` for every value that was found.

    ``link`` is the person column that holds the sample sheet's patient ID (:data:`LINK_COLUMNS`);
    ``index_date`` is one of :data:`INDEX_RULES`. ``treatment`` and ``response`` are never derived
    (the CDM's standard tables do not record a treatment line's objective response): they are NA.
    A person whose link value is missing or not a valid patient ID cannot be linked to a patient
    and is left out (real CDMs hold such persons; ``cdm.notes`` says how many). A patient's link
    value shared by two persons is an :class:`InputError` (only the requested ``patients``' are
    checked, when given). A person without an index date has every dated field NA."""
    if link not in LINK_COLUMNS:
        raise InputError(cdm.source, f"{link!r} cannot link persons to patients", field="link",
                         hint=f"one of {', '.join(LINK_COLUMNS)}")  # fmt: skip
    if index_date not in INDEX_RULES:
        raise InputError(cdm.source, f"{index_date!r} is not an index-date rule", field="index_date",
                         hint=f"one of {', '.join(INDEX_RULES)}")  # fmt: skip
    concepts = read_concepts() if concepts is None else concepts
    _concept_sets(cdm, concepts)
    # the link column is one of LINK_COLUMNS (checked above), never user text
    cdm.con.execute(_PATIENTS.format(link=link), {"rule": index_date})
    _keep_linked(cdm, link, patients)
    windows = {f"{role}_days": days for role, days in WINDOW_DAYS.items()}
    rows = cdm.con.execute(_DERIVE, windows | {"vocabularies": list(INGREDIENT_VOCABULARIES)}).fetchall()
    names = [d[0] for d in cdm.con.description]
    records, sources = [], {}
    for values in rows:
        row = dict(zip(names, values, strict=True))
        patient = row["patient"]
        cells, found = _cells(row, index_date)
        records.append(cells)
        sources[patient] = {f: {"source": "omop", "rule": r} for f, r in found.items()}
    table = pd.DataFrame(records, columns=list(OUTPUT_COLUMNS))
    return table, sources


def _keep_linked(cdm: Cdm, link: str, patients: set[str] | None) -> None:
    """Keep in ``patient_index`` the persons that link to a patient: a link value that is a valid
    patient ID, and one of ``patients`` when given. The persons left out for want of a usable link
    value are counted in ``cdm.notes``; a kept patient ID that two persons share is an
    :class:`InputError` (the patient would get one person's record or the other's)."""
    con = cdm.con
    (unusable,) = con.execute(
        "SELECT count(*) FROM patient_index WHERE patient IS NULL OR NOT regexp_full_match(patient, ?)",
        [_ID.pattern],
    ).fetchone()
    con.execute("DELETE FROM patient_index WHERE patient IS NULL OR NOT regexp_full_match(patient, ?)", [_ID.pattern])
    if unusable:
        cdm.notes.append(f"person: {unusable} person(s) without a usable {link} (empty or not a patient ID) "
                         "were left out: they cannot be linked to a patient")  # fmt: skip
    if patients is not None:
        con.execute("DELETE FROM patient_index WHERE patient NOT IN (SELECT unnest($p))", {"p": sorted(patients)})
    twice = con.execute(
        "SELECT patient, count(*) FROM patient_index GROUP BY patient HAVING count(*) > 1 ORDER BY patient LIMIT 1"
    ).fetchone()
    if twice is not None:
        raise InputError(cdm.source, f"{link} {twice[0]!r} belongs to {twice[1]} persons", field=link,
                         hint="each patient must be one person; link by a column that is unique per person")  # fmt: skip


def _cells(row: Mapping[str, object], index_rule: str) -> tuple[dict[str, str], dict[str, str]]:
    cells = dict.fromkeys(OUTPUT_COLUMNS, "NA")
    cells["patient"] = row["patient"]
    found: dict[str, str] = {}

    def put(name: str, text: str, rule: str) -> None:
        cells[name] = text
        found[name] = rule

    index = row["diagnosis_date"]
    if row["sex"] is not None:
        put("sex", row["sex"], RULES["sex"])
    if index is None:
        return cells, found
    put("diagnosis_date", index.isoformat(), RULES["diagnosis_date"][index_rule])
    if row["age"] is not None and 0 <= row["age"] <= 120:
        put("age", str(row["age"]), RULES["age"])
    if row["stage"] is not None:
        put("stage", row["stage"], RULES["stage"])
    if row["ecog"] is not None:
        put("ecog", str(row["ecog"]), RULES["ecog"])
    if row["egfr"] is not None:
        put("egfr", f"{row['egfr']:g}", RULES["egfr"])
    if row["period_end"] is not None:  # observed on the index date: what it was taking is known
        drugs = sorted({_drug_name(d) for d in row["drugs"] or []} - {""})
        put("medications", ";".join(drugs) if drugs else "none", RULES["medications"])
    end, event = (row["death_date"], 1) if row["death_date"] is not None else (row["period_end"], 0)
    if end is not None and end >= index:
        months = (end - index).days / DAYS_PER_MONTH
        put("time_months", f"{months:.2f}", RULES["time_months"])
        put("event", str(event), RULES["event"])
    return cells, found


def clinical_from_cdm(
    cdm_path: str | Path,
    *,
    clinical: str | Path | None = None,
    link: str = "person_source_value",
    index_date: str = "first_diagnosis",
    concepts: str | Path | None = None,
    patients: set[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """The clinical table from the CDM at ``cdm_path`` (:func:`derive_clinical` with ``link``,
    ``index_date``, the concept table at ``concepts`` or the shipped one, and ``patients``), merged
    with the clinical TSV ``clinical`` when given (:func:`merge_clinical`: the TSV wins field by
    field). Returns the table and its report: ``sources``, ``differences`` and ``cdm_notes`` (what
    the CDM lacked and was read as empty). ``seq2rx ehr clinical`` and the workflow's
    ``ehr_clinical`` step both run this."""
    table_of_concepts = read_concepts(concepts or None)
    with open_cdm(cdm_path) as cdm:
        table, sources = derive_clinical(
            cdm, link=link, index_date=index_date, concepts=table_of_concepts, patients=patients
        )
        notes = list(cdm.notes)
    report: dict[str, object] = {"sources": sources, "differences": [], "cdm_notes": notes}
    if clinical:
        table, merged = merge_clinical(read_cells(clinical), table, sources)
        report.update(merged)
    return table, report


def write_sources(report: Mapping[str, object], path: str | Path) -> None:
    """Write :func:`clinical_from_cdm`'s report as JSON (sorted keys), atomically."""
    import json

    from seq2rx.core.io import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_clinical(table: pd.DataFrame, path: str | Path) -> None:
    """Write a derived (or merged) table as the clinical TSV, atomically; it reads back with
    :func:`seq2rx.inputs.clinical.read_clinical` (a test holds it to that)."""
    from seq2rx.core.io import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(table.columns) + "\n")
        for row in table.itertuples(index=False):
            fh.write("\t".join(str(v) for v in row) + "\n")


def read_cells(path: str | Path) -> pd.DataFrame:
    """The clinical TSV's cells as written (text, ``NA`` for missing), after
    :func:`seq2rx.inputs.clinical.read_clinical` has checked it (its errors pass through)."""
    from seq2rx.inputs.clinical import read_clinical

    read_clinical(path)
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh.read().splitlines() if line.strip() and not line.startswith("#")]
    rows = list(csv.reader(lines, delimiter="\t"))
    frame = pd.DataFrame([[c.strip() or "NA" for c in r] for r in rows[1:]], columns=rows[0])
    return frame


def merge_clinical(
    tsv: pd.DataFrame, omop: pd.DataFrame, sources: Mapping[str, Mapping[str, Mapping[str, str]]]
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Merge the clinical TSV's cells (``tsv``: text cells as written, ``NA`` when missing) with
    the CDM's (``omop``, from :func:`derive_clinical`): per patient and field the TSV's value wins
    when it has one, else the CDM's fills it. Patients are the TSV's, then the CDM's others.
    Returns the merged table and a report: ``sources[patient][field]`` (``tsv`` or ``omop`` with
    its rule) and ``differences`` (each patient and field where both have a value and they
    differ, with both values), sorted. The TSV's free-text ``notes`` column is left out: the
    derived table goes to results/ and free text does not."""
    columns = [c for c in dict.fromkeys([*tsv.columns, *OUTPUT_COLUMNS]) if c != "notes"]
    by_patient = {str(r["patient"]): r for r in omop.to_dict("records")}
    merged, report, differences = [], {}, []
    order = [str(p) for p in tsv["patient"]] + sorted(set(by_patient) - {str(p) for p in tsv["patient"]})
    given = {str(r["patient"]): r for r in tsv.to_dict("records")}
    for patient in order:
        mine, theirs = given.get(patient, {}), by_patient.get(patient, {})
        row, where = {"patient": patient}, {}
        for col in columns[1:]:
            a, b = str(mine.get(col, "NA")), str(theirs.get(col, "NA"))
            if a not in ("NA", ""):
                row[col], where[col] = a, {"source": "tsv"}
                if b not in ("NA", "") and not _same(col, a, b):
                    differences.append({"patient": patient, "field": col, "tsv": a, "omop": b})
            elif b not in ("NA", ""):
                row[col], where[col] = b, dict(sources.get(patient, {}).get(col, {"source": "omop"}))
            else:
                row[col] = "NA"
        merged.append(row)
        report[patient] = where
    return pd.DataFrame(merged, columns=columns), {"sources": report, "differences": differences}


def clinical_from_tsv(clinical: str | Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """The clinical TSV alone as the workflow's derived table (no CDM configured, notes are): its
    cells without the free-text ``notes`` column, each value's source ``tsv``; the same report
    shape as :func:`clinical_from_cdm`."""
    cells = read_cells(clinical)
    table = cells[[c for c in cells.columns if c != "notes"]]
    sources = {
        str(row["patient"]): {c: {"source": "tsv"} for c in table.columns[1:] if str(row[c]) not in ("NA", "")}
        for row in table.to_dict("records")
    }
    return table.reset_index(drop=True), {"sources": sources, "differences": [], "cdm_notes": []}


def fill_from_notes(
    table: pd.DataFrame, report: dict[str, object], items: Sequence[Mapping]
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Fill the table's empty ``ecog`` and ``smoking`` cells from clinical notes: ``items`` are
    :func:`seq2rx.notes.extract_notes`'s, turned into fields by :func:`seq2rx.notes.note_fields`
    around each patient's ``diagnosis_date`` (docs/data-model.md, "Fields from clinical notes").
    A value already there (the TSV's or the CDM's) always wins. Each filled cell's source names its
    note and span (``{"source": "note", "note_id", "date", "start", "end", "value"}``), never its
    text. ``smoking`` is added as a column when the table has none."""
    from seq2rx.notes import note_fields

    table = table.reset_index(drop=True).copy()
    index_dates = {
        str(p): (None if str(d) in ("NA", "") else str(d))
        for p, d in zip(table["patient"], table["diagnosis_date"], strict=True)
    }
    fields = note_fields(list(items), index_dates)
    if "smoking" not in table.columns:
        table["smoking"] = "NA"
    sources = report.setdefault("sources", {})
    filled = 0
    for k, patient in enumerate(table["patient"].astype(str)):
        for field in ("ecog", "smoking"):
            found = fields.get(patient, {}).get(field)
            if found and str(table.at[k, field]) in ("NA", ""):
                table.at[k, field] = str(found["value"])
                sources.setdefault(patient, {})[field] = dict(found)
                filled += 1
    report["filled_from_notes"] = filled
    return table, report


def _same(column: str, a: str, b: str) -> bool:
    """Two cells of a column say the same: numbers compared as numbers, medications as sets, and
    follow-up months as the same day (a table's ``31.0`` and the CDM's 944 days, ``31.01``)."""
    if column == "medications":
        return set(a.split(";")) == set(b.split(";"))
    try:
        if column == "time_months":
            return abs(float(a) - float(b)) <= 0.5 / DAYS_PER_MONTH + 0.005
        return float(a) == float(b)
    except ValueError:
        return a == b
