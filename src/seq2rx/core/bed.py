"""BED files: the named regions that QC, findings and the ML features read."""

from __future__ import annotations

from pathlib import Path


def read_bed_named(path: str | Path) -> list[tuple[str, int, int, str]]:
    """``(contig, start, end, name)`` per region; a region without a name is named ``contig:start-end``
    (1-based); comment, track and browser lines are skipped."""
    from seq2rx.core.errors import InputError

    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 3 or not (f[1].isdigit() and f[2].isdigit()):
                raise InputError(str(path), "is not a BED line: want contig, start and end (whole numbers), tab-separated",
                                 line=n, hint="is it a BED file?")  # fmt: skip
            rows.append((f[0], int(f[1]), int(f[2]), f[3] if len(f) > 3 else f"{f[0]}:{int(f[1]) + 1}-{f[2]}"))
    return rows
