"""The config's ``clinical_notes`` block, checked before any job (the workflow and ``seq2rx validate``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seq2rx.core.errors import InputError


def check_notes_config(cfg: Mapping, source: str, *, path_will_exist: bool = False) -> None:
    """``clinical_notes.path`` names notes that are there (``path_will_exist``: a file the workflow
    writes first, the demo's CDM), and the notes have a clinical table to fill: ``clinical`` or
    ``clinical_omop.path``. Its ``terms`` and ``targets`` files, when named, are there."""
    from seq2rx.notes._extract import check_notes_path

    notes = cfg.get("clinical_notes") or {}
    if not notes.get("path"):
        return
    if not path_will_exist:
        check_notes_path(notes["path"])
    if not cfg.get("clinical") and not (cfg.get("clinical_omop") or {}).get("path"):
        raise InputError(source, "clinical_notes.path is set, but there is no clinical table for the notes to fill",
                         field="clinical_notes.path",
                         hint="set clinical (a clinical TSV) or clinical_omop.path (an OMOP CDM), or leave "
                         "clinical_notes.path empty")  # fmt: skip
    for key, example in (("terms", "context_terms.tsv"), ("targets", "targets.tsv")):
        named = notes.get(key)
        if named and not Path(named).is_file():
            raise InputError(named, "no such file", field=f"clinical_notes.{key}",
                             hint=f"name a file like resources/kb/nlp/{example}, or leave it empty (the shipped one)")  # fmt: skip
