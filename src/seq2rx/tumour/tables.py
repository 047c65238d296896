"""Tab-separated files from other callers, read with the line of each row for error messages."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from seq2rx.core.errors import InputError


def read_rows(path: Path, columns: tuple[str, ...], hint: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, the named columns' stripped cells) for each non-empty row after the header.

    The header must hold ``columns`` (others are ignored); a short row, an unreadable or an empty
    file stops with an :class:`InputError` naming the file, the line and ``hint``.
    """
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})", hint=hint) from None
    with fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None:
            raise InputError(str(path), "is empty", hint=hint)
        header = [h.strip() for h in header]
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputError(str(path), f"the header lacks column(s) {', '.join(missing)}", line=1, hint=hint)
        index = {c: header.index(c) for c in columns}
        for lineno, cells in enumerate(reader, 2):
            if not "".join(cells).strip():
                continue
            if len(cells) < len(header):
                raise InputError(str(path), f"has {len(cells)} cells but the header has {len(header)} columns",
                                 line=lineno, hint=hint)  # fmt: skip
            yield lineno, {c: cells[i].strip() for c, i in index.items()}
