"""Tab-separated files from other callers, read with the line of each row for error messages."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.genome.builds import PRIMARY_LENGTHS

#: the chromosomes another caller's file may name (without ``chr``), the same in both builds
PRIMARY = tuple(PRIMARY_LENGTHS["GRCh38"])
_PRIMARY_TEXT = "1-22, X, Y, MT"


def read_rows(path: Path, columns: tuple[str, ...], hint: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, the named columns' stripped cells) for each non-empty row after the header.

    The header must hold ``columns`` (others are ignored); a short row, an unreadable or an empty
    file stops with an :class:`InputError` naming the file, the line and ``hint``.
    """
    try:
        fh = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "does not exist",
                         hint="check the path; a relative path is taken from the working directory") from None  # fmt: skip
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
            found = ", ".join(repr(h) for h in header) or "nothing"
            problem = f"the header lacks column(s) {', '.join(missing)}; it has {found}"
            folded = {h.lower(): h for h in header}
            cased = [f"{folded[c.lower()]!r} for {c!r}" for c in missing if c.lower() in folded]
            if cased:
                problem += f" (column names are case-sensitive: {', '.join(cased)})"
            raise InputError(str(path), problem, line=1, hint=hint)
        index = {c: header.index(c) for c in columns}
        for lineno, cells in enumerate(reader, 2):
            if not "".join(cells).strip():
                continue
            if len(cells) < len(header):
                raise InputError(str(path), f"has {len(cells)} cells but the header has {len(header)} columns",
                                 line=lineno, hint=hint)  # fmt: skip
            yield lineno, {c: cells[i].strip() for c, i in index.items()}


def primary_chromosome(text: str, path: Path, line: int, field: str, build: str | None = None) -> str:
    """``text`` as a primary chromosome name without ``chr`` (``chrM`` is ``MT``), or an
    :class:`InputError` naming the cell: another caller's file on unplaced or alternate contigs, or
    with PLINK's 23/24 for X/Y, is refused rather than silently matching nothing."""
    chrom = re.sub(r"^chr", "", text.strip(), flags=re.I)
    chrom = chrom.upper() if chrom.upper() in ("X", "Y", "M", "MT") else chrom
    chrom = "MT" if chrom == "M" else chrom
    if chrom in PRIMARY:
        return chrom
    on = f" of {build}" if build else ""
    if not chrom:
        raise InputError(str(path), "a chromosome is required", line=line, field=field, hint=f"one of {_PRIMARY_TEXT}")
    hint = (
        "write X for 23, Y for 24 and MT for 25"
        if chrom in ("23", "24", "25")
        else f"name a primary chromosome ({_PRIMARY_TEXT}, with or without 'chr'); leave out rows on "
        "unplaced, alternate and decoy contigs"
    )
    raise InputError(str(path), f"{text.strip()!r} is not a chromosome{on} ({_PRIMARY_TEXT})", line=line,
                     field=field, hint=hint)  # fmt: skip


def check_position(pos: int, chrom: str, path: Path, line: int, field: str, build: str | None = None) -> None:
    """A one-based position on ``chrom``: at least 1 and, with ``build``, within the chromosome there
    (a position past the end names the other build when it fits there: the file's build is wrong)."""
    if pos < 1:
        raise InputError(str(path), f"{field} {pos} is not a one-based position", line=line, field=field,
                         hint="positions start at 1; a 0-based (BED-like) file needs 1 added to each start")  # fmt: skip
    if build is None:
        return
    length = PRIMARY_LENGTHS[build][chrom]
    if pos > length:
        problem = f"{field} {pos} is past the end of chromosome {chrom} on {build} ({length} bp)"
        other = next(b for b in PRIMARY_LENGTHS if b != build)
        if pos <= PRIMARY_LENGTHS[other][chrom]:
            problem += f"; it fits {other}: is the file on {other}?"
        raise InputError(str(path), problem, line=line, field=field,
                         hint=f"give positions on {build} (the build given with --build, or the configured "
                         "reference.build), or lift the file over")  # fmt: skip
