"""Snakemake adapter: the items of the clinical notes (concepts, ConText axes, spans), never their text."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

# the notes may be a CDM folder: read_notes checks what it reads
log_stderr(snakemake.log[0], [])

from seq2rx.core.io import write_json
from seq2rx.notes import extract_notes, read_notes

p = snakemake.params
notes = read_notes(p.notes, link=p.link)
doc = extract_notes(notes, targets=p.targets or None, terms=p.terms or None)
if notes.unlinked:
    print(f"{notes.unlinked} note(s) of persons without a {p.link} were left out", file=sys.stderr)
write_json(doc, snakemake.output.found)
print(f"{len(doc['items'])} items from {doc['notes']} notes of {doc['patients']} patients", file=sys.stderr)
