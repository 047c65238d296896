"""Structured fields that notes can fill in the clinical table: ECOG and smoking status.

Pure functions over :func:`seq2rx.notes.extract_notes`'s items; the caller decides where a value from
a note may fill a gap (docs/data-model.md, "Fields from clinical notes").
"""

from __future__ import annotations

import datetime as dt

#: days either side of the index date in which an ECOG from a note counts (the OMOP ECOG rule's window)
ECOG_WINDOW_DAYS = 30
ECOG_VALUES = ("0", "1", "2", "3", "4")
SMOKING_VALUES = ("current", "former", "never")


def _day(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _about_the_patient(item: dict) -> bool:
    """Affirmed (not negated, not possible), the patient's own, and not hypothetical."""
    return item["negation"] == "affirmed" and item["experiencer"] == "patient" and item["temporality"] != "hypothetical"


def _smoking_status(item: dict) -> str:
    """The item's smoking status; a current smoker told in the past ("she was previously a daily
    smoker", temporality historical) is a former smoker."""
    if item["value"] == "current" and item["temporality"] == "historical":
        return "former"
    return item["value"]


def _field(item: dict, value) -> dict:
    return {"value": value, "note_id": item["note_id"], "date": item["date"], "start": item["start"],
            "end": item["end"], "source": "note"}  # fmt: skip


def note_fields(items: list[dict], index_dates: dict[str, str | dt.date | None]) -> dict[str, dict]:
    """Per patient of ``index_dates`` (patient -> index date, ``YYYY-MM-DD``), the fields the notes give.

    - ``ecog``: the value (0-4, an int; a range such as "ECOG 0-1" has none) of an affirmed, patient-experienced ``ecog`` item, neither
      hypothetical nor historical, whose note is dated within 30 days of the index date, the nearest; ties go to the note
      before the index date, then to the later day, then to the first in note order (note_id, span).
    - ``smoking``: ``current``, ``former`` or ``never`` from the latest such ``smoking`` item with one of
      those values dated on or before the index date (a historical item counts: "former smoker" is
      historical by its own words); same day: the last in note order. A ``current`` item that is
      historical ("she was previously a daily smoker") gives ``former``.

    Each field is ``None`` or ``{"value", "note_id", "date", "start", "end", "source": "note"}``. A
    patient without an index date, or an item without a valid date, gives nothing.
    """
    out: dict[str, dict] = {}
    by_patient: dict[str, list[dict]] = {}
    for item in items:
        by_patient.setdefault(str(item["patient"]), []).append(item)
    for patient in sorted(index_dates):
        index = _day(index_dates[patient])
        ecog = smoking = None
        if index is not None:
            ecog_best, smoking_best = None, None
            for item in by_patient.get(str(patient), []):
                day = _day(item.get("date"))
                if day is None or not _about_the_patient(item):
                    continue
                offset = (day - index).days
                order = (str(item["note_id"]), item["start"])
                # an ECOG told as past ("ECOG was 0 before the first line") is not the state at the note's date
                if (item["concept"] == "ecog" and item["value"] in ECOG_VALUES and abs(offset) <= ECOG_WINDOW_DAYS
                        and item["temporality"] != "historical"):  # fmt: skip
                    key = (abs(offset), offset > 0, -offset, order)
                    if ecog_best is None or key < ecog_best[0]:
                        ecog_best = (key, item)
                if item["concept"] == "smoking" and item["value"] in SMOKING_VALUES and offset <= 0:
                    key = (day, order)
                    if smoking_best is None or key > smoking_best[0]:
                        smoking_best = (key, item)
            if ecog_best:
                ecog = _field(ecog_best[1], int(ecog_best[1]["value"]))
            if smoking_best:
                smoking = _field(smoking_best[1], _smoking_status(smoking_best[1]))
        out[patient] = {"ecog": ecog, "smoking": smoking}
    return out
