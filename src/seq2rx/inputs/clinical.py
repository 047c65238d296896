"""The clinical table (``config/clinical.tsv``): one row per patient, checked cell by cell.

The columns and their types are specified in ``docs/data-model.md``. Every problem is an
:class:`~seq2rx.core.errors.InputError` naming the file, the line (the header is line 1), the column
and what to write instead, so a table is either read whole or refused.
"""

from __future__ import annotations

import csv
import datetime
import math
import re
from collections.abc import Callable, Collection
from pathlib import Path

import pandas as pd

from seq2rx.core.errors import InputError

MISSING = ("", "NA")
STAGES = ("I", "II", "III", "IV")
TREATMENTS = ("chemotherapy", "targeted")
SEXES = ("female", "male")
SMOKING = ("current", "former", "never")
OUTCOMES = ("response", "time_months", "event")
#: a responder's least possible follow-up: an objective response is read at a tumour assessment on
#: treatment and, by RECIST 1.1 (Eisenhauer et al. 2009), confirmed no less than 4 weeks after it is
#: first seen, so a patient with ``response`` 1 was followed (and progression-free) at least this long
MIN_RESPONDER_MONTHS = 1.0
#: what ``time_months`` counts from (docs/data-model.md): the start of ``treatment`` when one is
#: recorded (True), else diagnosis (False)
TIME_FROM = {True: "the start of treatment", False: "diagnosis"}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_INT = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DRUG = re.compile(r"[a-z0-9][a-z0-9 ()/.+-]*")
_ONCOTREE = re.compile(r"[A-Z][A-Z0-9_]{1,15}")


def time_axis_label(treated: Collection[bool]) -> str:
    """The label of a time axis over patients whose ``treatment`` is recorded (True) or not
    (False): ``time_months`` runs from the start of treatment for a treated patient and from
    diagnosis for an untreated one, so an axis over both says so. No patient: the treated label.

    >>> time_axis_label([True, True])
    'months from the start of treatment'
    >>> time_axis_label([False, False])
    'months from diagnosis'
    >>> time_axis_label([True, False])
    'months from the start of treatment (from diagnosis if untreated)'
    """
    found = {bool(t) for t in treated}
    if found == {True, False}:
        return f"months from {TIME_FROM[True]} (from {TIME_FROM[False]} if untreated)"
    return f"months from {TIME_FROM[found.pop() if found else True]}"


class _Bad(ValueError):
    """A cell that does not parse: the problem and what to write instead."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.hint = hint


def _integer(low: int, high: int | None, what: str) -> Callable[[str], int]:
    bounds = f"between {low} and {high}" if high is not None else f">= {low}"

    def parse(text: str) -> int:
        if not _INT.fullmatch(text):
            raise _Bad(f"{text!r} is not a whole number", f"write {what} as an integer {bounds}, or NA")
        value = int(text)
        if value < low or (high is not None and value > high):
            raise _Bad(f"{value} is out of range", f"{what} must be an integer {bounds}, or NA")
        return value

    return parse


def _number(what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise _Bad(f"{text!r} is not a number", f"write {what} as a number >= 0, or NA") from None
        if not math.isfinite(value) or value < 0:
            raise _Bad(f"{text!r} is out of range", f"{what} must be a finite number >= 0, or NA")
        return value

    return parse


def _choice(allowed: tuple[str, ...], what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise _Bad(f"{text!r} is not a known {what}", f"write one of {', '.join(allowed)}, or NA")
        return text

    return parse


def _flag(what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if text not in ("0", "1"):
            raise _Bad(f"{text!r} is not 0 or 1", f"{what}; write 0, 1 or NA")
        return int(text)

    return parse


def _date(text: str) -> pd.Timestamp:
    hint = "write the date as YYYY-MM-DD, e.g. 2024-03-07, or NA"
    if not _DATE.fullmatch(text):
        raise _Bad(f"{text!r} is not a YYYY-MM-DD date", hint)
    try:
        return pd.Timestamp(datetime.date.fromisoformat(text))
    except ValueError:
        raise _Bad(f"{text!r} is not a calendar date", hint) from None


def _medications(text: str) -> str:
    drugs = text.split(";")
    for drug in drugs:
        if not _DRUG.fullmatch(drug):
            raise _Bad(
                f"{drug!r} is not a drug name in lower case",
                "list drug names in lower case separated by ';' without spaces around it, e.g. clopidogrel;simvastatin",
            )
    return ";".join(drugs)


def _tumour_type(text: str) -> str:
    if not _ONCOTREE.fullmatch(text):
        raise _Bad(f"{text!r} is not an OncoTree code", "write an OncoTree code in capitals, e.g. LUAD, or NA")
    return text


#: column -> (parser of a present cell, pandas dtype of the column)
COLUMNS: dict[str, tuple[Callable[[str], object], str]] = {
    "age": (_integer(0, 120, "age in years"), "Int64"),
    "ecog": (_integer(0, 4, "the ECOG performance status"), "Int64"),
    "stage": (_choice(STAGES, "stage"), "category"),
    "egfr": (_number("eGFR (mL/min/1.73 m²)"), "float64"),
    "diagnosis_date": (_date, "datetime64[ns]"),
    "medications": (_medications, "string"),
    "treatment": (_choice(TREATMENTS, "treatment"), "category"),
    "response": (_flag("1 = objective response, 0 = none"), "Int64"),
    "time_months": (_number("follow-up time in months"), "float64"),
    "event": (_flag("1 = progression or death observed, 0 = censored"), "Int64"),
}
REQUIRED = ("patient", *COLUMNS)
#: optional: free text that no model reads; sex and tumour type (the historical cohort's extra columns)
OPTIONAL: dict[str, tuple[Callable[[str], object], str]] = {
    "notes": (str, "string"),
    "sex": (_choice(SEXES, "sex"), "category"),
    "tumor_type": (_tumour_type, "string"),
    "smoking": (_choice(SMOKING, "smoking status"), "category"),
}
CATEGORIES = {"stage": STAGES, "treatment": TREATMENTS, "sex": SEXES, "smoking": SMOKING}


def read_clinical(path: str | Path, patients: Collection[str] | None = None) -> pd.DataFrame:
    """Read and check the clinical table; return one row per patient, in file order.

    ``patients``, when given, are the sample sheet's patients: a row for anyone else is an error
    (a patient of the sheet without a row is fine: their clinical values are missing).
    ``NA`` or an empty cell is missing (``<NA>``/``NaN``/``NaT``). Columns: ``patient`` (str),
    ``age``/``ecog``/``response``/``event`` (nullable ``Int64``), ``egfr``/``time_months``
    (float), ``diagnosis_date`` (datetime), ``stage``/``treatment`` (categorical with every
    allowed level, ``stage`` ordered I < II < III < IV), ``medications`` (``;``-joined string),
    and ``notes``, ``sex``, ``tumor_type``, ``smoking`` (current, former, never) when present.

    ``response`` needs ``treatment``; ``time_months`` and ``event`` come together (without a
    treatment they count from diagnosis). A patient
    without any outcome (one to predict for) leaves all four empty.
    """
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputError(path, f"the clinical table cannot be read ({exc.strerror})", hint="check the path") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"is not UTF-8 text ({exc.reason})", hint="save the table as UTF-8 tab-separated text"
        ) from None
    body = [(k, line) for k, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")]
    if not body:
        raise InputError(path, "the clinical table is empty", hint="write a header line and one row per patient")
    header_line, header = body[0]
    columns = next(csv.reader([header], delimiter="\t"))
    if len(columns) == 1 and len(header.split()) > 1:
        raise InputError(path, "the header has no tabs", line=header_line, hint="the clinical table is tab-separated")
    known = {"patient", *COLUMNS, *OPTIONAL}
    for col in columns:
        if col not in known:
            raise InputError(
                path,
                f"unknown column {col!r}",
                line=header_line,
                field=col,
                hint=f"allowed columns: {', '.join(sorted(known))} (docs/data-model.md)",
            )
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise InputError(path, f"column {twice[0]!r} appears twice", line=header_line, field=twice[0],
                         hint="keep one column of each name")  # fmt: skip
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            path,
            f"the header lacks column(s) {', '.join(missing)}",
            line=header_line,
            field=missing[0],
            hint="every column of docs/data-model.md must be present; leave unknown values as NA",
        )
    parsers = {**COLUMNS, **OPTIONAL}
    wanted = set(patients) if patients is not None else None
    records: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    for lineno, line in body[1:]:
        cells = next(csv.reader([line], delimiter="\t"))
        if len(cells) != len(columns):
            raise InputError(
                path,
                f"has {len(cells)} cells but the header has {len(columns)} columns",
                line=lineno,
                hint="write one tab-separated cell per column, NA where a value is unknown",
            )
        raw = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
        patient = raw["patient"]
        if not _ID.fullmatch(patient):
            raise InputError(path, f"{patient!r} is not a patient ID", line=lineno, field="patient",
                             hint="use the patient ID of the sample sheet")  # fmt: skip
        if patient in seen:
            raise InputError(
                path,
                f"patient {patient!r} appears twice (first on line {seen[patient]})",
                line=lineno,
                field="patient",
                hint="keep one row per patient",
            )
        if wanted is not None and patient not in wanted:
            raise InputError(
                path,
                f"patient {patient!r} is not in the sample sheet",
                line=lineno,
                field="patient",
                hint="correct the ID, add the patient's samples to the sheet, or remove the row",
            )
        seen[patient] = lineno
        record: dict[str, object] = {"patient": patient}
        for col in columns[0:]:
            if col == "patient":
                continue
            text = raw[col]
            if text in MISSING:
                record[col] = None
                continue
            try:
                record[col] = parsers[col][0](text)
            except _Bad as bad:
                raise InputError(path, f"patient {patient!r}: {bad}", line=lineno, field=col, hint=bad.hint) from None
        _check_outcome(record, path, lineno)
        records.append(record)
    if not records:
        raise InputError(path, "the clinical table has a header but no patients", hint="add one row per patient")
    return _frame(records, columns)


def _check_outcome(record: dict[str, object], path: str, lineno: int) -> None:
    patient = record["patient"]
    # a response is a response to something; follow-up (time, event) may stand alone, counted
    # from diagnosis, e.g. for a patient sequenced for pharmacogenomics only
    given = [c for c in ("response",) if record.get(c) is not None]
    if given and record.get("treatment") is None:
        raise InputError(
            path,
            f"patient {patient!r}: {given[0]} is given but treatment is missing",
            line=lineno,
            field="treatment",
            hint=f"an outcome belongs to a treatment: write one of {', '.join(TREATMENTS)}, or NA for every outcome",
        )
    time = record.get("time_months")
    if record.get("response") == 1 and time is not None and time < MIN_RESPONDER_MONTHS:
        raise InputError(
            path,
            f"patient {patient!r}: response is 1 but time_months is {time:g}: a response is seen at a tumour "
            f"assessment on treatment, so a responder is progression-free for at least {MIN_RESPONDER_MONTHS:g} month",
            line=lineno,
            field="time_months",
            hint="check the row: time_months counts from the start of treatment to progression or last follow-up; "
            "if the patient did not respond, write response 0 (docs/data-model.md)",
        )
    for have, need in (("time_months", "event"), ("event", "time_months")):
        if record.get(have) is not None and record.get(need) is None:
            raise InputError(
                path,
                f"patient {patient!r}: {have} is given but {need} is missing",
                line=lineno,
                field=need,
                hint="follow-up needs both the time and whether progression/death was observed (1) or censored (0)",
            )


def _frame(records: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    parsers = {**COLUMNS, **OPTIONAL}
    data: dict[str, pd.Series] = {"patient": pd.Series([r["patient"] for r in records], dtype="string")}
    for col in columns:
        if col == "patient":
            continue
        values = [r[col] for r in records]
        dtype = parsers[col][1]
        if col in CATEGORIES:
            kind = pd.CategoricalDtype(list(CATEGORIES[col]), ordered=col == "stage")
            data[col] = pd.Series(values, dtype=kind)
        elif dtype == "datetime64[ns]":
            data[col] = pd.to_datetime(pd.Series(values, dtype="object"))
        else:
            data[col] = pd.Series(values, dtype="object").astype(dtype)
    frame = pd.DataFrame(data)
    frame["patient"] = frame["patient"].astype(str)
    return frame
