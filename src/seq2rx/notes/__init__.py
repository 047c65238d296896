"""Clinical notes: concepts from a target list, asserted with ConText's categories (negated, historical,
hypothetical, about someone other than the patient, possible) on negspaCy's NegEx, NegEx's annotation
format, and the structured fields notes can fill (ECOG, smoking). The note text never leaves the
library: outputs carry the items and their character spans only."""

from seq2rx.notes._config import check_notes_config
from seq2rx.notes._extract import Note, Notes, check_notes_path, extract_note, extract_notes, load_targets, read_notes
from seq2rx.notes._fields import note_fields
from seq2rx.notes._negex import assert_file, assert_rows, find_concept, read_annotations, write_annotations
from seq2rx.notes._pipeline import (
    CATEGORIES,
    assert_context,
    axes,
    build_pipeline,
    load_context_terms,
    make_doc,
    normalize_space,
)

__all__ = [
    "check_notes_config",
    "check_notes_path",
    "CATEGORIES",
    "Note",
    "Notes",
    "assert_context",
    "assert_file",
    "assert_rows",
    "axes",
    "build_pipeline",
    "extract_note",
    "extract_notes",
    "find_concept",
    "load_context_terms",
    "load_targets",
    "make_doc",
    "normalize_space",
    "note_fields",
    "read_annotations",
    "read_notes",
    "write_annotations",
]
