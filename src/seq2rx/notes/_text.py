"""What every notes reader shares: csv's field limit raised (a note is one field, and csv stops at
131,072 characters by default), and a field's value shown in a message without its content (a
notes file's fields may hold note text: a message shows at most its first ten characters)."""

from __future__ import annotations

import csv

from seq2rx.core.errors import InputError

#: the most characters of a notes file's field a message may show
SHOWN = 10


def wide_fields() -> None:
    """Let csv read a field of any length (a long note): the largest limit the platform's C long holds."""
    limit = 2**31 - 1
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a platform whose C long is narrower
            limit //= 2


def shown(value: str) -> str:
    """``value`` for a message: quoted whole when it is at most 10 characters, else its first 10
    characters, an ellipsis and its length (a misplaced note text never reaches a message or a log)."""
    value = str(value)
    if len(value) <= SHOWN:
        return repr(value)
    return f"{value[:SHOWN]!r}… ({len(value)} characters)"


def numbered(reader, path: str):
    """``reader``'s rows with the line each starts on (a quoted field may span lines); a row csv
    cannot read stops with the file and the line, never a traceback."""
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(path, f"cannot be read as delimited text ({exc})", line=line,
                             hint="check the quoting of this line; a note's text may hold any character "
                             "inside a quoted field") from None  # fmt: skip
        yield line, values
