"""The notes pipeline: ConText's assertion categories on negspaCy's NegEx.

ConText (Harkema et al. 2009, J Biomed Inform 42:839) is NegEx (Chapman et al. 2001, J Biomed Inform
34:301) generalised: the same algorithm (a trigger term opens a scope forward or backward, a pseudo
trigger is ignored, a termination term closes the scope, and the scope never leaves its sentence) run
once per category, each with its own trigger terms. That is how this pipeline is built: a blank English
spaCy model (nothing is downloaded), sentence boundaries from spaCy's rule-based ``sentencizer`` plus
clinical line breaks (a blank line, or a line that starts with a section header such as ``Social
history:``), the targets set as ``doc.ents``, then one negspaCy ``negex`` component per ConText
category, each with its own termset and its own span extension (``span._.context_negated``, ...):

========================  ==========================  ==============================
category                  axis                        value when triggered
========================  ==========================  ==============================
``negated``               negation                    ``negated``
``possible``              negation                    ``possible``
``historical``            temporality                 ``historical``
``hypothetical``          temporality                 ``hypothetical``
``family``                experiencer                 ``other`` (not the patient)
========================  ==========================  ==============================

The trigger terms are data: ``kb/nlp/context_terms.tsv`` (term, category, direction, source, date).
``assertion`` folds the three axes into one word, the first that applies of: negated, family (someone
other than the patient), hypothetical, historical, possible, affirmed.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.notes._text import numbered, wide_fields

#: ConText category -> (axis, value); an axis with two categories keeps the later one of this order
CATEGORIES = {
    "possible": ("negation", "possible"),
    "negated": ("negation", "negated"),
    "historical": ("temporality", "historical"),
    "hypothetical": ("temporality", "hypothetical"),
    "family": ("experiencer", "other"),
}
#: the one-word assertion: the first axis value that applies, in this order
PRECEDENCE = (
    ("negation", "negated", "negated"),
    ("experiencer", "other", "family"),
    ("temporality", "hypothetical", "hypothetical"),
    ("temporality", "historical", "historical"),
    ("negation", "possible", "possible"),
)
#: each axis's value when no trigger applies
DEFAULTS = ("affirmed", "recent", "patient")
#: the term file's direction -> negspaCy's termset key
DIRECTIONS = {
    "preceding": "preceding_negations",
    "following": "following_negations",
    "pseudo": "pseudo_negations",
    "termination": "termination",
}
TERM_COLUMNS = ("term", "category", "direction", "source", "date")
#: a category that names every category at once (shared termination and pseudo terms)
ALL = "all"
DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")
#: a line that opens a section of a note: "Social history:", "ALLERGIES:", "Family Hx:"
HEADER = re.compile(r"[A-Z][A-Za-z/&()' -]{0,40}:")


def extension(category: str) -> str:
    """The span extension a category's negspaCy component sets (``span._.context_negated``)."""
    return f"context_{category}"


def default_terms_path() -> Path:
    return data_path("kb", "nlp", "context_terms.tsv")


def load_context_terms(path: str | Path | None = None) -> dict[str, dict[str, list[str]]]:
    """The trigger terms, as one negspaCy termset per ConText category.

    Each row names its term, its category (one of :data:`CATEGORIES`, or ``all`` for a termination or
    pseudo term shared by every category), its direction (``preceding``, ``following``, ``pseudo``,
    ``termination``), a source and a date (``YYYY-MM`` or ``YYYY-MM-DD``); ``note`` is optional.
    A term is matched ignoring case, token by token. A row given twice is an error.
    """
    path = Path(path) if path else default_terms_path()
    termsets = {category: {key: [] for key in DIRECTIONS.values()} for category in CATEGORIES}
    seen: dict[tuple[str, str, str], int] = {}
    wide_fields()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = numbered(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), str(path))
            _, header = next(reader, (1, None))
            missing = [c for c in TERM_COLUMNS if c not in (header or [])]
            if missing:
                raise InputError(str(path), f"misses the column(s) {', '.join(missing)}", line=1,
                                 hint=f"a ConText term list has the columns {', '.join(TERM_COLUMNS)} (and note)")  # fmt: skip
            for line, values in reader:
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) > len(header) or len(values) < len(TERM_COLUMNS):
                    raise InputError(str(path), f"has {len(values)} fields, the header {len(header)}", line=line,
                                     hint="fields are separated by one tab")  # fmt: skip
                row = dict(zip(header, values, strict=False))
                for column in TERM_COLUMNS:
                    if not row[column].strip():
                        raise InputError(str(path), "is empty", line=line, field=column,
                                         hint="every term names its category, direction, source and date")  # fmt: skip
                term, category, direction = " ".join(row["term"].split()), row["category"], row["direction"]
                if category not in (*CATEGORIES, ALL):
                    raise InputError(str(path), f"{category!r} is not a ConText category", line=line,
                                     field="category", hint=f"use one of {', '.join([*CATEGORIES, ALL])}")  # fmt: skip
                if direction not in DIRECTIONS:
                    raise InputError(str(path), f"{direction!r} is not a direction", line=line, field="direction",
                                     hint=f"use one of {', '.join(DIRECTIONS)}")  # fmt: skip
                if category == ALL and direction not in ("pseudo", "termination"):
                    raise InputError(str(path), f"category 'all' with direction {direction!r}", line=line,
                                     field="category", hint="only pseudo and termination terms apply to all "
                                     "categories; a trigger names its one category")  # fmt: skip
                if not DATE.fullmatch(row["date"].strip()):
                    raise InputError(str(path), f"{row['date']!r} is not a date", line=line, field="date",
                                     hint="write YYYY-MM or YYYY-MM-DD")  # fmt: skip
                key = (term.lower(), category, direction)
                if key in seen:
                    raise InputError(str(path), f"repeats line {seen[key]} ({term!r}, {category}, {direction})",
                                     line=line, field="term", hint="keep one of the two rows")  # fmt: skip
                seen[key] = line
                for each in CATEGORIES if category == ALL else (category,):
                    termsets[each][DIRECTIONS[direction]].append(term)
    except UnicodeDecodeError:
        raise InputError(str(path), "is not UTF-8 text", hint="save the term list as UTF-8") from None
    return termsets


@lru_cache(maxsize=4)
def build_pipeline(terms_path: str | None = None):
    """``spacy.blank("en")`` with the ``sentencizer`` and one negspaCy ``negex`` per ConText category.

    Components run by hand (:func:`make_doc`, :func:`assert_context`), because the targets are set
    as ``doc.ents`` between the sentences and the assertions.
    """
    import negspacy.negation  # noqa: F401  (registers the "negex" factory)
    import spacy

    termsets = load_context_terms(terms_path)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    for category, termset in termsets.items():
        nlp.add_pipe("negex", name=extension(category),
                     config={"neg_termset": termset, "extension_name": extension(category)})  # fmt: skip
    return nlp


def normalize_space(text: str) -> tuple[str, list[int]]:
    """``text`` with each run of white space made one space (one blank line where the run holds two
    line breaks or more), and the offset in ``text`` of each character of the result plus its end.

    spaCy makes a token of every extra space, which would split a trigger ("negative   for") or a
    target; clinical text wraps lines and pads columns with spaces all the time.
    """
    out, offsets = [], []
    for match in re.finditer(r"\s+|\S+", text):
        piece = match.group()
        if piece[0].isspace():
            piece = "\n\n" if piece.count("\n") >= 2 else " "
            offsets.extend([match.start()] * len(piece))
        else:
            offsets.extend(range(match.start(), match.end()))
        out.append(piece)
    offsets.append(len(text))
    return "".join(out), offsets


def make_doc(nlp, text: str, *, original: str | None = None, offsets: list[int] | None = None, split: bool = True):
    """The tokens of ``text`` (already through :func:`normalize_space`) with their sentences.

    ``split``: the sentencizer's boundaries, plus a sentence at each blank line and at each line of
    ``original`` that starts with a section header (a word and a colon); without it the whole text is
    one sentence (NegEx's annotation format gives one sentence per row).
    """
    doc = nlp.make_doc(text)
    if not split:
        for token in doc:
            token.is_sent_start = token.i == 0
        return doc
    doc = nlp.get_pipe("sentencizer")(doc)
    if original is not None and offsets is not None:
        for token in doc[1:]:
            if token.is_space:
                continue
            start = offsets[token.idx]
            before = doc[token.i - 1]
            if before.is_space and "\n" in before.text:  # a blank line
                token.is_sent_start = True
            elif start and original[start - 1].isspace() and HEADER.match(original, start):
                gap = original[max(0, start - 64) : start]
                if "\n" in gap[len(gap.rstrip()) :]:
                    token.is_sent_start = True
    return doc


def assert_context(nlp, doc):
    """Run each category's negspaCy component over ``doc`` (its targets already in ``doc.ents``)."""
    for category in CATEGORIES:
        doc = nlp.get_pipe(extension(category))(doc)
    return doc


def axes(span) -> dict:
    """ConText's three axes and the one-word assertion of a target span (after :func:`assert_context`).

    negation: affirmed, possible or negated (negated wins); temporality: recent, historical or
    hypothetical (hypothetical wins); experiencer: patient or other.
    """
    out = {"negation": "affirmed", "temporality": "recent", "experiencer": "patient"}
    for category, (axis, value) in CATEGORIES.items():
        if span._.get(extension(category)):
            out[axis] = value
    return fold(out)


def fold(out: dict, implies: str = "") -> dict:
    """``out``'s axes with ``assertion`` set; ``implies`` (a category the target's own words carry,
    "former smoker" historical) sets its axis where no trigger did."""
    out = dict(out)
    if implies:
        axis, value = CATEGORIES[implies]
        if out[axis] in DEFAULTS:
            out[axis] = value
    out["assertion"] = next((name for axis, value, name in PRECEDENCE if out[axis] == value), "affirmed")
    return out
