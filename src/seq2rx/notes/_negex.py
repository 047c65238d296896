"""NegEx's annotation format (Chapman et al. 2001): one row per concept in a sentence, columns
``Report No.``, ``Concept`` and ``Sentence``; we add ``Negation`` (``Affirmed`` or ``Negated``).

The concept is found in its sentence case-insensitively, any run of white space matching any other
(the published file pads some concepts with several spaces). A concept the sentence does not hold
whole (a sentence cut short) is matched by its longest leading, then trailing, run of words.
A ``Negation`` column already in the input is replaced, never read.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.notes._text import numbered, wide_fields

COLUMNS = ("Report No.", "Concept", "Sentence")
LABEL = "NEGEX_TARGET"


def read_annotations(path: str | Path) -> tuple[list[str], list[dict]]:
    """The header and the rows of a NegEx annotation file (tab-separated, UTF-8, a byte-order mark allowed)."""
    path = Path(path)
    wide_fields()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = numbered(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), str(path))
            _, header = next(lines, (1, None))
            if header is None:
                raise InputError(str(path), "is empty", hint=f"expected a tab-separated header: {', '.join(COLUMNS)}")
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise InputError(str(path), f"misses the column(s) {', '.join(missing)}", line=1,
                                 hint=f"NegEx's annotation format has the columns {', '.join(COLUMNS)}")  # fmt: skip
            rows = []
            for line, values in lines:
                if not values:
                    continue
                if len(values) != len(header):
                    raise InputError(str(path), f"has {len(values)} fields, the header {len(header)}", line=line,
                                     hint="fields are separated by one tab; a sentence holds no tab")  # fmt: skip
                row = dict(zip(header, values, strict=True))
                for column in ("Concept", "Sentence"):
                    if not row[column].strip():
                        raise InputError(str(path), "is empty", line=line, field=column)
                rows.append(row)
    except UnicodeDecodeError:
        raise InputError(str(path), "is not UTF-8 text", hint="save the annotation file as UTF-8") from None
    return header, rows


def find_concept(concept: str, sentence: str) -> tuple[int, int] | None:
    """Character span of ``concept`` in ``sentence`` (case-insensitive, white space runs alike), or of
    its longest leading or trailing run of words when the whole is not there; None if no word is."""
    words = concept.split()
    for n in range(len(words), 0, -1):
        for part in (words[:n], words[-n:]):
            pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in part) + r"(?!\w)"
            match = re.search(pattern, sentence, flags=re.IGNORECASE)
            if match:
                return match.span()
    return None


def assert_rows(rows: list[dict], nlp) -> list[str]:
    """``Affirmed`` or ``Negated`` for each row's concept in its sentence (the ``negated`` category).

    The row's sentence is one sentence (the format's unit), so no boundary is drawn inside it."""
    from seq2rx.notes._pipeline import assert_context, axes, make_doc, normalize_space

    out = []
    for row in rows:
        sentence, _ = normalize_space(row["Sentence"])
        doc = make_doc(nlp, sentence, split=False)
        span = find_concept(row["Concept"], sentence)
        target = doc.char_span(*span, label=LABEL, alignment_mode="expand") if span else None
        if target is None:  # no word of the concept in the sentence: nothing negates it
            out.append("Affirmed")
            continue
        doc.ents = [target]
        doc = assert_context(nlp, doc)
        out.append("Negated" if axes(doc.ents[0])["negation"] == "negated" else "Affirmed")
    return out


def write_annotations(header: list[str], rows: list[dict], labels: list[str], path: str | Path) -> None:
    """The rows as read, with ``Negation`` set (replacing the input's own, or added last)."""
    columns = list(header) if "Negation" in header else [*header, "Negation"]
    with atomic_output(path) as tmp:
        lines = ["\t".join(columns)]
        for row, label in zip(rows, labels, strict=True):
            lines.append("\t".join(label if c == "Negation" else row[c] for c in columns))
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")


def assert_file(path: str | Path, out: str | Path, *, terms: str | Path | None = None) -> dict[str, int]:
    """Read a NegEx annotation file, assert each row's concept, write ``out``; counts per label."""
    from seq2rx.notes._pipeline import build_pipeline

    header, rows = read_annotations(path)
    labels = assert_rows(rows, build_pipeline(str(terms) if terms else None))
    write_annotations(header, rows, labels, out)
    return {label: labels.count(label) for label in ("Affirmed", "Negated")}
