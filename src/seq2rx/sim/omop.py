"""The demo's EHR as a small OMOP CDM v5.4: a folder of CSV files, one per table, with CDM column
names (``person.csv``, ``observation_period.csv``, ...), written from the demo's own clinical values.

The values are the clinical table's (``config/clinical.tsv``) and the sample sheet's sex (the
spec's patients), written the way an EHR's ETL would: a birth date that gives the age at
diagnosis, the index condition on ``diagnosis_date``, ECOG, eGFR and stage as measurements near
it, each medication as a drug exposure running on it, follow-up as the observation period (with a
death on its last day when ``event`` is 1). The spec's ``omop:`` section holds the concepts, the
index condition of each patient and its simulated notes (text from templates). Dates that the
table does not fix (the birth day, how long before diagnosis a drug started) come from the seed, so
the same spec, table and seed give the same bytes. Deriving the clinical table back from this CDM
(:func:`seq2rx.ehr.derive_clinical`, docs/data-model.md) gives the table's values; a test holds
the two to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import string
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from seq2rx.core.data import data_path
from seq2rx.core.io import atomic_output
from seq2rx.ehr._cdm import CDM_COLUMNS
from seq2rx.inputs.clinical import read_clinical

#: the note table, which seq2rx.ehr's cohort loading leaves out (seq2rx.notes reads it)
NOTE_COLUMNS = ("note_id", "person_id", "note_date", "note_datetime", "note_type_concept_id", "note_class_concept_id",
                "note_title", "note_text", "encoding_concept_id", "language_concept_id", "provider_id",
                "visit_occurrence_id", "visit_detail_id", "note_source_value", "note_event_id",
                "note_event_field_concept_id")  # fmt: skip
#: the CDM v5.4 columns of each table the demo writes, in the CDM's order (seq2rx.ehr's lists)
COLUMNS: dict[str, tuple[str, ...]] = {
    t: NOTE_COLUMNS if t == "note" else CDM_COLUMNS[t]
    for t in ("person", "observation_period", "death", "condition_occurrence", "drug_exposure", "measurement",
              "observation", "note", "concept", "concept_ancestor")
}  # fmt: skip
#: type concepts as Eunomia's rows carry them (observation period, drug, condition, measurement);
#: the others (death, note type and class, encoding, language) are 0, "No matching concept"
TYPE = {"period": 44814724, "drug": 38000177, "condition": 32020, "measurement": 5001}
#: the concept table (beside the CDM) that the demo's config names: the shipped one plus the index
#: conditions of the demo's patients without cancer, as ``diagnosis`` rows
CONCEPTS_FILE = "seq2rx_concepts.tsv"
#: days per month, as the clinical table's follow-up counts them (the Julian year over 12)
_DAYS_PER_MONTH = 365.25 / 12
_PERSON = {"female": ("woman", 8532, "F"), "male": ("man", 8507, "M")}


def _shipped_concepts() -> list[dict[str, str]]:
    with open(data_path("kb", "omop", "concepts.tsv"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _first(shipped: list[dict[str, str]], role: str, value: str = "") -> int | None:
    """The first concept of ``role`` (and ``value``) in concepts.tsv: the one the demo records."""
    return next((int(r["concept_id"]) for r in shipped if r["role"] == role and r["value"] == value), None)


def _birth(diagnosis: dt.date, age: int, days_before: int) -> dt.date:
    """A birth date ``days_before`` (0-364) days before the ``age``-th birthday-to-be on the
    diagnosis date's day of year, so that the completed age on ``diagnosis`` is ``age``."""
    try:
        anniversary = diagnosis.replace(year=diagnosis.year - age)
    except ValueError:  # 29 February in a year that has none
        anniversary = dt.date(diagnosis.year - age, 2, 28)
    born = anniversary - dt.timedelta(days=days_before)
    completed = diagnosis.year - born.year - ((diagnosis.month, diagnosis.day) < (born.month, born.day))
    if completed != age:  # cannot happen for days_before < 365; a guard for the arithmetic
        raise ValueError(f"birth date {born} gives age {completed}, not {age}")
    return born


def write_demo_cdm(spec: Mapping, clinical: str | Path, outdir: str | Path, *, seed: int) -> dict[str, int]:
    """Write the demo's patients (``spec["patients"]``, with their ``clinical`` rows) as an OMOP CDM
    v5.4 folder of CSV files in ``outdir``, and the concept table its config names
    (:data:`CONCEPTS_FILE`). Returns the rows written per table.

    A clinical value the spec cannot write the CDM's way (a medication without a drug concept, a
    stage without a concept, follow-up without medications or the reverse) is a ``ValueError``:
    the demo's own data would be wrong. Stage I has no checked concept (concepts.tsv): a stage I
    patient would be refused."""
    omop = spec["omop"]
    shipped = _shipped_concepts()
    table = read_clinical(clinical)
    rows_by_patient = {r["patient"]: r for r in table.to_dict("records")}
    rng = np.random.default_rng([seed, 20])  # 20: the issue that asked for the demo CDM
    concepts = {int(c["id"]): c for c in omop["concepts"]}
    tables: dict[str, list[dict[str, object]]] = {t: [] for t in COLUMNS}
    used: set[int] = set()
    for person_id, patient in enumerate(spec["patients"], 1):
        pid = patient["id"]
        row = rows_by_patient.get(pid)
        if row is None:
            continue
        used |= _write_person(tables, person_id, patient, row, omop, shipped, rng)
    _write_concepts(tables, used, omop, shipped, concepts)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name, columns in COLUMNS.items():
        _write_csv(out / f"{name}.csv", columns, tables[name])
    _write_concept_file(out / CONCEPTS_FILE, omop, shipped, concepts)
    return {name: len(rows) for name, rows in tables.items()}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "NaT", "nan")


def _write_person(tables, person_id, patient, row, omop, shipped, rng) -> set[int]:
    pid, sex = patient["id"], patient["sex"]
    extra = omop["patients"].get(pid)
    if not extra or "condition" not in extra:
        raise ValueError(f"{pid}: the spec's omop.patients gives no index condition for this patient")
    word, gender, gender_code = _PERSON[sex]
    diagnosis = row["diagnosis_date"].date()
    used = {gender}
    born = _birth(diagnosis, int(row["age"]), int(rng.integers(0, 365)))
    tables["person"].append({"person_id": person_id, "gender_concept_id": gender, "year_of_birth": born.year,
                             "month_of_birth": born.month, "day_of_birth": born.day, "race_concept_id": 0,
                             "ethnicity_concept_id": 0, "person_source_value": pid,
                             "gender_source_value": gender_code, "gender_source_concept_id": 0,
                             "race_source_concept_id": 0, "ethnicity_source_concept_id": 0})  # fmt: skip
    # follow-up: the observation period holding the diagnosis date, or (no follow-up recorded)
    # an earlier one only
    months, medications = row["time_months"], row["medications"]
    if _missing(months) != _missing(medications):
        raise ValueError(f"{pid}: the demo CDM records medications and follow-up together (both or neither)")
    start = diagnosis - dt.timedelta(days=int(rng.integers(365, 1826)))
    if _missing(months):
        end = diagnosis - dt.timedelta(days=int(rng.integers(180, 720)))
        start, end = min(start, end), max(start, end)  # the two draws may cross: a period starts first
    else:
        end = diagnosis + dt.timedelta(days=round(float(months) * _DAYS_PER_MONTH))
        if int(row["event"]) == 1:
            tables["death"].append({"person_id": person_id, "death_date": end, "death_type_concept_id": 0,
                                    "cause_concept_id": 0, "cause_source_concept_id": 0})  # fmt: skip
    tables["observation_period"].append({"observation_period_id": person_id, "person_id": person_id,
                                         "observation_period_start_date": start, "observation_period_end_date": end,
                                         "period_type_concept_id": TYPE["period"]})  # fmt: skip
    condition = int(extra["condition"])
    used.add(condition)
    tables["condition_occurrence"].append({
        "condition_occurrence_id": len(tables["condition_occurrence"]) + 1, "person_id": person_id,
        "condition_concept_id": condition, "condition_start_date": diagnosis,
        "condition_type_concept_id": TYPE["condition"], "condition_status_concept_id": 0,
        "condition_source_concept_id": 0, "condition_source_value": str(condition)})  # fmt: skip
    # drugs running on the diagnosis date, then ones that ended before it
    for name in [] if _missing(medications) else [m for m in str(medications).split(";") if m and m != "none"]:
        drug = omop["drugs"].get(name)
        if drug is None:
            raise ValueError(f"{pid}: medication {name!r} has no drug concept in the spec's omop.drugs")
        first = diagnosis - dt.timedelta(days=int(rng.integers(14, 721)))
        last = min(diagnosis + dt.timedelta(days=int(rng.integers(30, 366))), end)
        _drug(tables, person_id, int(drug), first, last, name, "")
        used.add(int(drug))
    for past in extra.get("past_drugs", []):
        first, last = dt.date.fromisoformat(past["start"]), dt.date.fromisoformat(past["end"])
        _drug(tables, person_id, int(past["drug"]), first, last, str(past["drug"]), past.get("stop_reason", ""))
        used.add(int(past["drug"]))
    # measurements near the diagnosis date: ECOG (unless only a note states it), eGFR, stage
    records = []
    if not _missing(row["ecog"]) and not extra.get("ecog_in_notes_only"):
        records.append(("ecog", "", float(row["ecog"]), int(rng.integers(0, 15)), "ECOG"))
    if not _missing(row["egfr"]):
        records.append(("egfr", "", float(row["egfr"]), int(rng.integers(0, 61)), "eGFR"))
    if not _missing(row["stage"]):
        records.append(("stage", str(row["stage"]), None, -int(rng.integers(0, 22)), f"stage {row['stage']}"))
    for role, value, number, days_before, source in records:
        concept = _first(shipped, role, value)
        if concept is None:
            raise ValueError(f"{pid}: no concept in concepts.tsv for {role} {value} (stage I has no checked id)")
        used.add(concept)
        tables["measurement"].append({
            "measurement_id": len(tables["measurement"]) + 1, "person_id": person_id,
            "measurement_concept_id": concept, "measurement_date": diagnosis - dt.timedelta(days=days_before),
            "measurement_type_concept_id": TYPE["measurement"], "operator_concept_id": 0,
            "value_as_number": "" if number is None else f"{number:g}", "value_as_concept_id": 0, "unit_concept_id": 0,
            "measurement_source_value": source, "measurement_source_concept_id": 0,
            "unit_source_value": "mL/min/{1.73_m2}" if role == "egfr" else ""})  # fmt: skip
    values = {
        "age": str(int(row["age"])),
        "person": word,
        "ecog": "NA" if _missing(row["ecog"]) else str(int(row["ecog"])),
    }
    for k, note in enumerate(extra.get("notes", []), 1):
        if "template" in note:
            text = string.Template(omop["templates"][note["template"]]).substitute(values, **{
                k: note[k] for k in ("reason", "smoking", "negated")})  # fmt: skip
        else:
            text = note["text"]
        tables["note"].append({
            "note_id": len(tables["note"]) + 1, "person_id": person_id,
            "note_date": diagnosis + dt.timedelta(days=int(note["day"])), "note_type_concept_id": 0,
            "note_class_concept_id": 0, "note_title": note["title"], "note_text": text, "encoding_concept_id": 0,
            "language_concept_id": 0, "note_source_value": f"{pid}-{k}", "note_event_field_concept_id": 0})  # fmt: skip
    return used


def _drug(tables, person_id: int, concept: int, first: dt.date, last: dt.date, source: str, stop: str) -> None:
    tables["drug_exposure"].append({
        "drug_exposure_id": len(tables["drug_exposure"]) + 1, "person_id": person_id, "drug_concept_id": concept,
        "drug_exposure_start_date": first, "drug_exposure_end_date": last, "drug_type_concept_id": TYPE["drug"],
        "stop_reason": stop, "days_supply": (last - first).days + 1, "route_concept_id": 0,
        "drug_source_value": source, "drug_source_concept_id": 0})  # fmt: skip


def _write_concepts(tables, used: set[int], omop, shipped, concepts) -> None:
    """The CDM's ``concept`` and ``concept_ancestor``: the concepts the records use and their
    ancestors, each its own ancestor at level 0, as the CDM's vocabulary tables hold them."""
    roles = omop["roles"]
    known = {}
    for r in shipped:
        domain, kind = roles[r["role"]]
        known.setdefault(int(r["concept_id"]), (r["concept_name"], domain, r["vocabulary_id"], kind, "S",
                                                r["concept_code"]))  # fmt: skip
    for cid, c in concepts.items():
        local = cid >= 2_000_000_000
        known[cid] = (c["name"], c["domain"], c["vocabulary"], c["class"], "" if local else "S", str(c["code"]))

    def ancestors(cid: int) -> dict[int, int]:
        out, frontier, level = {cid: 0}, [cid], 0
        while frontier:
            level += 1
            frontier = [a for f in frontier for a in concepts.get(f, {}).get("ancestors", []) if a not in out]
            out.update({a: level for a in frontier})
        return out

    pairs = {(a, d): level for d in used for a, level in ancestors(d).items()}
    for cid in sorted({a for a, _ in pairs}):
        name, domain, vocabulary, kind, standard, code = known[cid]
        tables["concept"].append({"concept_id": cid, "concept_name": name, "domain_id": domain,
                                  "vocabulary_id": vocabulary, "concept_class_id": kind, "standard_concept": standard,
                                  "concept_code": code, "valid_start_date": "1970-01-01",
                                  "valid_end_date": "2099-12-31"})  # fmt: skip
    for (a, d), level in sorted(pairs.items()):
        tables["concept_ancestor"].append({"ancestor_concept_id": a, "descendant_concept_id": d,
                                           "min_levels_of_separation": level, "max_levels_of_separation": level})  # fmt: skip


def _write_concept_file(path: Path, omop, shipped, concepts) -> None:
    """concepts.tsv with the index conditions that are not cancers added as ``diagnosis`` rows, so
    that every demo patient's diagnosis_date is its first index condition."""
    cancer = {int(r["concept_id"]) for r in shipped if r["role"] == "diagnosis"}
    extra = sorted({int(p["condition"]) for p in omop["patients"].values()})
    extra = [c for c in extra if c not in cancer and not set(concepts[c].get("ancestors", [])) & cancer]
    columns = list(shipped[0])
    rows = [dict(r) for r in shipped]
    for cid in extra:
        c = concepts[cid]
        rows.append(dict.fromkeys(columns, "") | {
            "role": "diagnosis", "concept_id": str(cid), "vocabulary_id": c["vocabulary"], "concept_code": str(c["code"]),
            "concept_name": c["name"], "date": omop["concept_date"],
            "source": "seq2rx demo: the index condition of a demo patient without cancer "
            + ("(checked in Eunomia's concept table)" if c.get("checked") else "(OMOP local concept id)")})  # fmt: skip
    _write_rows(path, columns, rows, delimiter="\t")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    _write_rows(path, list(columns), rows, delimiter=",")


def _write_rows(path: Path, columns: list[str], rows: list[dict[str, object]], *, delimiter: str) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
