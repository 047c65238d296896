"""BED files: the named regions that QC, findings and the ML features read."""

from __future__ import annotations

from pathlib import Path


def read_bed_named(path: str | Path) -> list[tuple[str, int, int, str]]:
    """``(contig, start, end, name)`` per region; a region without a name is named ``contig:start-end``
    (1-based); comment, track and browser lines are skipped."""
    rows = []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            rows.append((f[0], int(f[1]), int(f[2]), f[3] if len(f) > 3 else f"{f[0]}:{int(f[1]) + 1}-{f[2]}"))
    return rows
