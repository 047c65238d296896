"""Concepts in clinical notes: the target list (``kb/nlp/targets.tsv``) finds them, ConText's categories
on negspaCy assert them. Each item keeps its note's id, patient and date, its character span in the
note, the concept, its value where there is one, and ConText's axes; the note's text never leaves
this module.

Notes come from
- a TSV (UTF-8, a byte-order mark allowed): columns ``patient``, ``date`` (``YYYY-MM-DD``), ``text``
  (``\\n`` for a line break) and optionally ``note_id`` (without it a note is ``{patient}-{row}``),
  the names in any case;
- an OMOP CDM ``note`` table (``note_id``, ``person_id``, ``note_date``, ``note_text``), in a DuckDB
  file or a folder of CDM CSV files (``note.csv``, any case, column names in any case). The patient
  is what ``link`` names (config ``clinical_omop.link``, as ``seq2rx ehr clinical`` links persons):
  the person's ``person_source_value`` (default; a person without one is left out and counted, never
  linked by its id instead), or the ``person_id``.

A message about a bad value shows at most its first 10 characters (a misplaced note text never
reaches a message or a log), and never a note's text.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.notes._text import numbered, shown, wide_fields

TARGET_COLUMNS = ("concept", "kind", "pattern", "value", "implies", "source", "date")
KINDS = ("phrase", "regex")
IMPLIES = ("", "historical", "hypothetical", "negated", "possible", "family")
NOTE_COLUMNS = ("patient", "date", "text")
OMOP_NOTE = ("note_id", "person_id", "note_date", "note_text")
#: what a CDM note's patient is (config clinical_omop.link): the person's source value or its id
LINKS = ("person_source_value", "person_id")
#: the two fixed queries of a DuckDB CDM's notes: with the person's source value, or without a person table
NOTES_WITH_PERSON = (
    "SELECT CAST(n.note_id AS VARCHAR), CAST(n.person_id AS VARCHAR), CAST(n.note_date AS VARCHAR), n.note_text, "
    "CAST(p.person_source_value AS VARCHAR) FROM note n LEFT JOIN person p ON p.person_id = n.person_id "
    "ORDER BY n.note_id"
)
NOTES_ALONE = (
    "SELECT CAST(note_id AS VARCHAR), CAST(person_id AS VARCHAR), CAST(note_date AS VARCHAR), note_text, NULL "
    "FROM note ORDER BY note_id"
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Target:
    concept: str
    regex: re.Pattern
    value: str
    implies: str
    #: a phrase's first word, case-folded: the text cannot match without it (a cheap test before the regex)
    needle: str = ""


@dataclass(frozen=True)
class Note:
    note_id: str
    patient: str
    date: str
    text: str


def load_targets(path: str | Path | None = None) -> list[Target]:
    """The target list: one row per pattern (a phrase matched case-insensitively word by word, or a
    regular expression whose named groups become the item's fields, ``value`` its value)."""
    path = Path(path) if path else data_path("kb", "nlp", "targets.tsv")
    targets = []
    wide_fields()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = [c for c in TARGET_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(str(path), f"misses the column(s) {', '.join(missing)}", line=1,
                                 hint=f"a target list has the columns {', '.join(TARGET_COLUMNS)}")  # fmt: skip
            for line, row in enumerate(reader, 2):
                for column in ("concept", "kind", "pattern", "source", "date"):
                    if not (row[column] or "").strip():
                        raise InputError(str(path), "is empty", line=line, field=column,
                                         hint="every target names its concept, pattern, source and date")  # fmt: skip
                if row["kind"] not in KINDS:
                    raise InputError(
                        str(path), f"{row['kind']!r} is not one of {', '.join(KINDS)}", line=line, field="kind"
                    )
                if (row["implies"] or "") not in IMPLIES:
                    raise InputError(str(path), f"{row['implies']!r} is not one of {', '.join(IMPLIES[1:])} or empty",
                                     line=line, field="implies")  # fmt: skip
                if row["kind"] == "phrase":
                    source = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in row["pattern"].split()) + r"(?!\w)"
                else:
                    source = row["pattern"]
                try:
                    regex = re.compile(source, re.IGNORECASE)
                except re.error as exc:
                    raise InputError(
                        str(path), f"not a regular expression: {exc}", line=line, field="pattern"
                    ) from None
                needle = row["pattern"].split()[0].casefold() if row["kind"] == "phrase" else ""
                targets.append(Target(row["concept"], regex, row["value"] or "", row["implies"] or "", needle))
    except UnicodeDecodeError:
        raise _not_utf8(path, "save the target list as UTF-8") from None
    except csv.Error as exc:
        raise InputError(
            str(path), f"cannot be read as a TSV ({exc})", hint="fields are separated by one tab"
        ) from None
    return targets


def check_notes_path(path: str | Path, *, field: str = "clinical_notes.path") -> None:
    """A configured notes path is there (before any job; its content is read when notes are)."""
    if not Path(path).exists():
        raise InputError(str(path), "no such file or folder", field=field,
                         hint="give a notes TSV (patient, date, text), an OMOP CDM .duckdb file or CDM CSV folder "
                         "with a note table, or leave the path empty")  # fmt: skip


class Notes(list):
    """The notes read (a list of :class:`Note`), and what was left out: ``unlinked`` notes of
    ``unlinked_persons`` persons who have no ``person_source_value`` (link ``person_source_value``);
    never linked by their ``person_id`` instead. The caller reports the count."""

    def __init__(self, notes=(), *, unlinked: int = 0, unlinked_persons: int = 0) -> None:
        super().__init__(notes)
        self.unlinked = unlinked
        self.unlinked_persons = unlinked_persons


def read_notes(path: str | Path, *, link: str = "person_source_value") -> Notes:
    """Notes from a TSV, an OMOP CDM DuckDB file (told apart by the file's first bytes) or a folder of
    OMOP CDM CSV files (its ``note.csv``).

    ``link`` (as config ``clinical_omop.link``) names what a CDM note's patient is: the person's
    ``person_source_value`` (default; a person without one is left out and counted in
    :attr:`Notes.unlinked`), or its ``person_id``. A TSV names its patients itself and ignores it.
    """
    path = Path(path)
    if link not in LINKS:
        raise InputError(str(path), f"{shown(link)} cannot link notes to patients", field="link",
                         hint=f"use one of {', '.join(LINKS)}")  # fmt: skip
    if not path.exists():
        raise InputError(str(path), "does not exist",
                         hint="give a notes TSV, an OMOP CDM DuckDB file or a CDM CSV folder with note.csv")  # fmt: skip
    if path.is_dir():
        return _read_csv_folder_notes(path, link)
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[8:12] == b"DUCK":
        return _read_omop_notes(path, link)
    return _read_tsv_notes(path)


def _check_date(path: Path, value: str, line: int | None, field: str, *, leading: bool = False) -> str:
    """``value`` if it is a real ``YYYY-MM-DD`` day (2024-13-45 is not); ``leading``: its first 10
    characters are (a CDM date written with a time). The message shows at most 10 characters of it."""
    value = (value or "").strip()
    day = value[:10] if leading else value
    try:
        if not ISO_DATE.fullmatch(day):
            raise ValueError(day)
        dt.date.fromisoformat(day)
    except ValueError:
        raise InputError(str(path), f"{shown(value)} is not a date", line=line, field=field,
                         hint="write YYYY-MM-DD, a real day") from None  # fmt: skip
    return day


def _not_utf8(path: Path, hint: str) -> InputError:
    return InputError(str(path), "is not UTF-8 text", hint=hint)


def _read_tsv_notes(path: Path) -> Notes:
    wide_fields()
    notes, seen = [], set()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # -sig: a byte-order mark (Excel) is no name
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            rows = numbered(reader, str(path))
            _, header = next(rows, (1, []))
            names = [h.strip().lower() for h in header]
            if len(header) == 1 and "," in header[0]:
                raise InputError(str(path), "is not tab-separated: its header holds commas and no tab", line=1,
                                 hint="save the notes as tab-separated text (TSV) with the columns patient, "
                                 "date, text (and note_id)")  # fmt: skip
            missing = [c for c in NOTE_COLUMNS if c not in names]
            if missing:
                raise InputError(str(path), f"misses the column(s) {', '.join(missing)}", line=1,
                                 hint="notes are a TSV with the columns patient, date, text (and note_id), "
                                 "an OMOP CDM DuckDB file or a CDM CSV folder with note.csv")  # fmt: skip
            twice = [c for c in (*NOTE_COLUMNS, "note_id") if names.count(c) > 1]
            if twice:
                raise InputError(str(path), f"names the column {twice[0]} twice (case aside)", line=1,
                                 hint="keep one column of each name")  # fmt: skip
            at = {c: names.index(c) for c in (*NOTE_COLUMNS, "note_id") if c in names}
            for line, values in rows:
                if not values:
                    continue
                if len(values) != len(header):
                    raise InputError(str(path), "has a different number of fields than the header", line=line,
                                     hint="a note's text holds no tab: write tabs in it as spaces")  # fmt: skip
                patient = values[at["patient"]].strip()
                if not patient:
                    raise InputError(str(path), "is empty", line=line, field=header[at["patient"]])
                date = _check_date(path, values[at["date"]], line, header[at["date"]])
                note_id = (values[at["note_id"]].strip() if "note_id" in at else "") or f"{patient}-{len(notes) + 1}"
                if note_id in seen:
                    raise InputError(str(path), f"note_id {shown(note_id)} is used twice", line=line,
                                     field="note_id", hint="give each note its own id")  # fmt: skip
                seen.add(note_id)
                notes.append(Note(note_id, patient, date, values[at["text"]].replace("\\n", "\n")))
    except UnicodeDecodeError:
        raise _not_utf8(path, "save the notes as UTF-8, or give an OMOP CDM DuckDB file or CSV folder") from None
    return Notes(notes)


def _csv_table(folder: Path, name: str) -> Path | None:
    """``folder``'s CSV file of CDM table ``name``, its file name in any case (``NOTE.csv``)."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() == f"{name}.csv")
    return found[0] if found else None


def _cdm_csv_rows(path: Path, columns: tuple[str, ...], *, missing_hint: str, width_hint: str):
    """The rows of a CDM CSV file (UTF-8, a BOM allowed, header names in any case) as ``(line,
    {column: value})`` for ``columns``; blank rows are skipped. A missing column, a row of another
    width or text that is not UTF-8 stops with the file and the line."""
    wide_fields()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = numbered(csv.reader(fh), str(path))
            _, header = next(lines, (1, []))
            header = [c.strip().lower() for c in header]
            missing = [c for c in columns if c not in header]
            if missing:
                raise InputError(str(path), f"misses the column(s) {', '.join(missing)}", line=1, hint=missing_hint)
            at = {c: header.index(c) for c in columns}
            for line, values in lines:
                if not values:
                    continue
                if len(values) != len(header):
                    raise InputError(str(path), f"has {len(values)} fields, the header {len(header)}", line=line,
                                     hint=width_hint)  # fmt: skip
                yield line, {c: values[k] for c, k in at.items()}
    except UnicodeDecodeError:
        raise _not_utf8(path, "export the CDM as UTF-8") from None


def _read_csv_folder_notes(folder: Path, link: str) -> Notes:
    note_csv = _csv_table(folder, "note")
    if note_csv is None:
        raise InputError(str(folder), "holds no note.csv",
                         hint="export the CDM's NOTE table as note.csv, or give the notes as a TSV "
                         "(patient, date, text)")  # fmt: skip
    links = _csv_person_links(folder) if link == "person_source_value" else None
    rows, seen = [], set()
    for line, row in _cdm_csv_rows(note_csv, OMOP_NOTE,
                                   missing_hint="see the OMOP CDM v5.4 NOTE table (a comma-separated file)",
                                   width_hint="quote a note_text that holds commas or line breaks"):  # fmt: skip
        note_id, person_id = row["note_id"].strip(), row["person_id"].strip()
        for field, value in (("note_id", note_id), ("person_id", person_id)):
            if not value.isdigit():
                raise InputError(str(note_csv), f"{shown(value)} is not a whole number", line=line, field=field,
                                 hint="CDM ids are integers")  # fmt: skip
        if note_id in seen:
            raise InputError(str(note_csv), f"note_id {shown(note_id)} is used twice", line=line, field="note_id",
                             hint="note_id is the NOTE table's primary key")  # fmt: skip
        seen.add(note_id)
        date = _check_date(note_csv, row["note_date"], line, "note_date", leading=True)
        rows.append((int(note_id), person_id, date, row["note_text"]))
    return _linked([(str(n), p, d, t, links.get(p, "") if links is not None else p) for n, p, d, t in sorted(rows)])


def _csv_person_links(folder: Path) -> dict[str, str]:
    """person_id -> person_source_value (empty where the person has none) from the folder's ``person.csv``."""
    person_csv = _csv_table(folder, "person")
    if person_csv is None:
        raise InputError(str(folder), "holds no person.csv to link notes by person_source_value",
                         hint="export the CDM's PERSON table as person.csv, or link by person_id "
                         "(clinical_omop.link, --link person_id)")  # fmt: skip
    rows = _cdm_csv_rows(person_csv, ("person_id", "person_source_value"),
                         missing_hint="notes are linked to patients by person_source_value; give the column, "
                         "or link by person_id (clinical_omop.link, --link person_id)",
                         width_hint="quote a value that holds commas")  # fmt: skip
    return {row["person_id"].strip(): row["person_source_value"].strip() for _, row in rows}


def _linked(rows: list[tuple[str, str, str, str, str | None]]) -> Notes:
    """Notes from (note_id, person_id, date, text, patient) rows; a row without a patient is left out
    and counted."""
    kept = [Note(n, patient, d, t) for n, _p, d, t, patient in rows if patient]
    left = {p for _n, p, _d, _t, patient in rows if not patient}
    return Notes(kept, unlinked=len(rows) - len(kept), unlinked_persons=len(left))


def _read_omop_notes(path: Path, link: str) -> Notes:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise InputError(str(path), f"cannot be opened as a DuckDB database ({exc})") from None
    try:
        columns: dict[str, set[str]] = {}
        for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
            columns.setdefault(table.lower(), set()).add(column.lower())
        if "note" not in columns:
            raise InputError(str(path), "holds no OMOP CDM note table",
                             hint="load the CDM's NOTE table, or give the notes as a TSV (patient, date, text)")  # fmt: skip
        missing = [c for c in OMOP_NOTE if c not in columns["note"]]
        if missing:
            raise InputError(
                str(path), f"the note table misses {', '.join(missing)}", hint="see the OMOP CDM v5.4 NOTE table"
            )
        if link == "person_source_value" and "person_source_value" not in columns.get("person", set()):
            raise InputError(str(path), "holds no person table with person_source_value to link notes by",
                             field="link", hint="load the CDM's PERSON table, or link by person_id "
                             "(clinical_omop.link, --link person_id)")  # fmt: skip
        rows = con.execute(NOTES_WITH_PERSON if link == "person_source_value" else NOTES_ALONE).fetchall()
    except duckdb.Error as exc:
        raise InputError(str(path), f"its note table cannot be read ({exc})",
                         hint="see the OMOP CDM v5.4 NOTE table") from None  # fmt: skip
    finally:
        con.close()
    seen, out = set(), []
    for note_id, person_id, date, text, patient in rows:
        where = f"note_id {shown(note_id)}"
        if note_id is None or person_id is None:
            raise InputError(str(path), f"a note has no {'note_id' if note_id is None else 'person_id'}",
                             field="note", hint="note_id and person_id are required in the NOTE table")  # fmt: skip
        if note_id in seen:
            raise InputError(str(path), f"{where} is used twice", field="note_id",
                             hint="note_id is the NOTE table's primary key (and person_id the PERSON table's)")  # fmt: skip
        seen.add(note_id)
        try:
            date = _check_date(path, date, None, "note_date", leading=True)
        except InputError as exc:
            raise InputError(str(path), f"{where}: {exc.problem}", field="note_date", hint=exc.hint) from None
        out.append(
            (note_id, person_id, date, text or "", (patient or "").strip() if link != "person_id" else person_id)
        )
    return _linked(out)


def _targets_in(text: str, targets: list[Target]) -> list[tuple[int, int, Target, dict]]:
    """Non-overlapping target matches in ``text``: the longest wins, then the earliest, then the first row."""
    found = []
    folded = text.casefold()
    for order, target in enumerate(targets):
        if target.needle and target.needle not in folded:
            continue
        for match in target.regex.finditer(text):
            if match.end() > match.start():
                groups = {k: v.lower() for k, v in match.groupdict().items() if v}
                found.append((match.start(), match.end(), order, target, groups))
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0], m[2]))
    kept: list[tuple[int, int, Target, dict]] = []
    for start, end, _order, target, groups in found:
        if all(end <= s or start >= e for s, e, _t, _g in kept):
            kept.append((start, end, target, groups))
    return sorted(kept, key=lambda m: (m[0], m[1]))


def extract_note(note: Note, targets: list[Target], nlp) -> list[dict]:
    """The items of one note (spans are character offsets into the note's own text)."""
    from seq2rx.notes._pipeline import assert_context, axes, fold, make_doc, normalize_space

    text, offsets = normalize_space(note.text)
    matches = _targets_in(text, targets)
    if not matches:
        return []
    doc = make_doc(nlp, text, original=note.text, offsets=offsets)
    spans, kept = [], []
    for start, end, target, groups in matches:
        span = doc.char_span(start, end, label=target.concept.upper(), alignment_mode="expand")
        if span is not None and all(span.end <= s.start or span.start >= s.end for s in spans):
            spans.append(span)
            kept.append((start, end, target, groups))
    doc.ents = spans
    doc = assert_context(nlp, doc)
    items = []
    for span, (start, end, target, groups) in zip(doc.ents, kept, strict=True):
        assertion = fold(axes(span), target.implies)  # "former smoker": historical by its own words
        value = groups.pop("value", None) or target.value or groups.get("drug") or groups.get("site") or None
        items.append({
            "note_id": note.note_id, "patient": note.patient, "date": note.date,
            "start": offsets[start], "end": offsets[end], "concept": target.concept, "value": value,
            "fields": dict(sorted(groups.items())), **assertion,
        })  # fmt: skip
    return items


def extract_notes(notes: list[Note], *, targets: str | Path | None = None, terms: str | Path | None = None) -> dict:
    """The extraction document of ``notes``: items, and counts per concept and assertion."""
    from seq2rx.notes._pipeline import build_pipeline

    target_list = load_targets(targets)
    nlp = build_pipeline(str(terms) if terms else None)
    items = [item for note in notes for item in extract_note(note, target_list, nlp)]
    counts: dict[str, dict[str, int]] = {}
    for item in items:
        per = counts.setdefault(item["concept"], {})
        per[item["assertion"]] = per.get(item["assertion"], 0) + 1
    return {
        "notes": len(notes),
        "patients": len({n.patient for n in notes}),
        "items": items,
        "counts": counts,
        "targets": "packaged kb/nlp/targets.tsv" if targets is None else Path(targets).name,
        "terms": "packaged kb/nlp/context_terms.tsv" if terms is None else Path(terms).name,
    }
