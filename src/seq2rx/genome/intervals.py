"""Calling intervals: the genome cut into balanced pieces that are called as separate jobs.

Variant calling is scattered over intervals and gathered again (``bcftools concat`` in interval
order, then one ``norm`` and the filters), so the intervals must be exact: every base the
unscattered caller would visit lies in exactly one interval. They are therefore a *tiling* of the
genome in FASTA order (every contig, N runs included, belongs to one interval), and what each
interval calls is that tile intersected with a *mask*:

* a whole genome: the mask is the genome; tiles are balanced by their callable bases, the non-N
  sequence (runs of N shorter than ``min_gap`` count as sequence), and a cut is moved into the
  nearest N gap when one lies within a tenth of an interval's share, else it falls inside the
  sequence (a read over the cut is read by both jobs, and each reports only its own positions);
* exomes and panels (``targets``): the mask is the targets, each widened by ``padding`` bases on
  both sides and merged where they overlap; tiles are balanced by the padded target bases and
  always cut between regions, so that each interval's regions are regions of the unscattered
  caller, which reads each region on its own. Germline calling also takes the
  pharmacogene definition positions (each widened the same way), somatic calling does not (its
  callable bases are the TMB denominator).

The same inputs give the same intervals; the count is the caller's (see :func:`interval_count`
for the default) and every interval holds at least one base of its mask.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import pysam

from seq2rx.core.bed import read_bed_named
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.genome.reference import find_islands

Region = tuple[str, int, int]  # contig, 0-based start, end (BED)

#: callable bases per interval when ``calling.intervals`` is ``auto`` (GRCh38's ~2.9 Gb: ~50)
DEFAULT_INTERVAL_BASES = 60_000_000
#: a cut moves to the nearest gap between sequence (or targets) within this share of an interval
SNAP = 0.1


def padded_regions(regions: Iterable[Region], padding: int, contigs: dict[str, int]) -> list[Region]:
    """Regions widened by ``padding`` on each side, clipped to their contig, sorted in the
    reference's contig order and merged where they overlap or touch. Regions on contigs the
    reference lacks are left out.

    >>> padded_regions([("c", 10, 20), ("c", 200, 210), ("c", 25, 30)], 5, {"c": 212})
    [('c', 5, 35), ('c', 195, 212)]
    """
    order = {c: i for i, c in enumerate(contigs)}
    rows = sorted(
        ((c, max(0, s - padding), min(contigs[c], e + padding)) for c, s, e in regions if c in contigs),
        key=lambda r: (order[r[0]], r[1], r[2]),
    )
    merged: list[list] = []
    for c, s, e in rows:
        if merged and merged[-1][0] == c and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        elif e > s:
            merged.append([c, s, e])
    return [tuple(r) for r in merged]


def _cuts(weights: Sequence[Region], n: int, inside: bool = True) -> list[int]:
    """The n-1 cuts, as cumulative offsets into ``weights`` (0 < cut < total, increasing): the
    ideal k*total/n, moved onto the start of a region when one lies within SNAP of a share; or,
    with ``inside`` false, always onto the nearest start of a region (never inside one)."""
    sizes = [e - s for _c, s, e in weights]
    total = sum(sizes)
    starts = [0]
    for size in sizes[:-1]:
        starts.append(starts[-1] + size)
    if not inside:
        if n > len(starts):
            raise ValueError(f"cannot group {len(starts)} regions into {n} intervals")
        idx: list[int] = []
        for k in range(1, n):
            ideal = k * total // n
            lo, hi = (idx[-1] + 1 if idx else 1), len(starts) - (n - k)  # room for the later cuts
            j = min(max(bisect.bisect_left(starts, ideal), lo), hi)
            if j - 1 >= lo and ideal - starts[j - 1] <= starts[j] - ideal:
                j -= 1
            idx.append(j)
        return [starts[j] for j in idx]
    tol = int(SNAP * total / n)
    cuts = []
    for k in range(1, n):
        ideal = k * total // n
        cut = ideal
        j = bisect.bisect_left(starts, ideal)
        near = [starts[i] for i in (j - 1, j) if 0 <= i < len(starts) and 0 < starts[i] < total]
        if near:
            best = min(near, key=lambda b: (abs(b - ideal), b))
            if abs(best - ideal) <= tol and (not cuts or best > cuts[-1]):
                cut = best
        cuts.append(cut)
    return cuts


def _coordinate(weights: Sequence[Region], starts: list[int], offset: int) -> tuple[str, int]:
    """The genome position (contig, 0-based) of a cumulative offset into ``weights``."""
    i = bisect.bisect_right(starts, offset) - 1
    contig, s, _e = weights[i]
    return contig, s + offset - starts[i]


def tiles(weights: Sequence[Region], n: int, contigs: dict[str, int], inside: bool = True) -> list[list[Region]]:
    """Cut the genome (``contigs``, in order) into ``n`` consecutive tiles holding equal shares
    of the bases of ``weights`` (sorted, non-overlapping regions), cut inside a region only when
    ``inside`` and no gap between regions is near; each tile is a list of BED rows.

    >>> tiles([("a", 0, 10), ("b", 0, 10)], 2, {"a": 50, "b": 30})
    [[('a', 0, 50)], [('b', 0, 30)]]
    >>> tiles([("a", 0, 10)], 2, {"a": 50, "b": 30})
    [[('a', 0, 5)], [('a', 5, 50), ('b', 0, 30)]]
    """
    total = sum(e - s for _c, s, e in weights)
    if n < 1 or n > total:
        raise ValueError(f"cannot cut {total} bases into {n} intervals")
    starts = [0]
    for _c, s, e in weights[:-1]:
        starts.append(starts[-1] + e - s)
    names = list(contigs)
    order = {c: i for i, c in enumerate(names)}
    bounds = [(names[0], 0)] + [_coordinate(weights, starts, cut) for cut in _cuts(weights, n, inside)]
    bounds.append((names[-1], contigs[names[-1]]))
    out = []
    for (c0, p0), (c1, p1) in zip(bounds, bounds[1:], strict=False):
        rows = []
        for i in range(order[c0], order[c1] + 1):
            c = names[i]
            s = p0 if c == c0 else 0
            e = p1 if c == c1 else contigs[c]
            if e > s:
                rows.append((c, s, e))
        out.append(rows)
    return out


def intersect(tile: Sequence[Region], mask: Sequence[Region]) -> list[Region]:
    """The parts of ``mask`` (sorted, merged) inside ``tile`` (consecutive rows), in order.

    >>> intersect([("a", 5, 50), ("b", 0, 30)], [("a", 0, 10), ("a", 20, 30), ("b", 25, 40)])
    [('a', 5, 10), ('a', 20, 30), ('b', 25, 30)]
    """
    out = []
    by_contig: dict[str, list[Region]] = {}
    for row in mask:
        by_contig.setdefault(row[0], []).append(row)
    for c, s, e in tile:
        rows = by_contig.get(c, [])
        j = bisect.bisect_right([r[2] for r in rows], s)
        for _c, ms, me in rows[j:]:
            if ms >= e:
                break
            if min(e, me) > max(s, ms):
                out.append((c, max(s, ms), min(e, me)))
    return out


def plan_intervals(
    fasta: str | Path,
    n: int,
    *,
    targets: str | Path | None = None,
    padding: int = 100,
    positions: Iterable[tuple[str, int]] = (),
    min_gap: int = 1000,
) -> list[dict[str, list[Region]]]:
    """``n`` calling intervals of ``fasta``: per interval its germline and somatic regions (BED rows).

    Without ``targets`` both are the interval's tile of the genome. With ``targets`` (a BED),
    somatic regions are the padded targets inside the tile, germline regions the padded targets
    and the padded ``positions`` (1-based, e.g. the pharmacogene definition positions) inside it.
    """
    with pysam.FastaFile(str(fasta)) as fa:
        contigs = dict(zip(fa.references, fa.lengths, strict=True))
    if targets:
        rows = [(c, s, e) for c, s, e, _name in read_bed_named(targets)]
        somatic = padded_regions(rows, padding, contigs)
        if not somatic:
            raise InputError(str(targets), "has no region on a contig of the reference", hint="check the contig names")
        germline = padded_regions(rows + [(c, p - 1, p) for c, p in positions], padding, contigs)
        weights = somatic
        what = "padded target regions (after merging those that overlap)"
    else:
        weights = find_islands(fasta, min_gap=min_gap)
        if not weights:
            raise InputError(str(fasta), "the reference holds no A, C, G or T bases", hint="check the FASTA file")
        what = "callable (non-N) bases"
    total = sum(e - s for _c, s, e in weights)
    have = len(weights) if targets else total
    if n > have:
        raise InputError(
            str(targets or fasta),
            f"{n} calling intervals asked for, but there are only {have} {what}",
            hint="lower calling.intervals",
        )
    out = []
    for tile in tiles(weights, n, contigs, inside=not targets):
        if targets:
            out.append({"germline": intersect(tile, germline), "somatic": intersect(tile, somatic)})
        else:
            out.append({"germline": tile, "somatic": tile})
    return out


def interval_name(k: int) -> str:
    """The name of the k-th interval (1-based): ``0001``, ``0002``, ..."""
    return f"{k:04d}"


def write_intervals(intervals: Sequence[dict[str, list[Region]]], outdir: str | Path) -> list[Path]:
    """``NNNN.bed`` (germline) and ``NNNN.somatic.bed`` per interval in ``outdir``, and
    ``intervals.tsv`` with each one's bases and extent; returns the paths written."""
    outdir = Path(outdir)
    written = []
    summary = ["interval\tgermline_bases\tsomatic_bases\tregions\tfirst\tlast"]
    for k, iv in enumerate(intervals, start=1):
        name = interval_name(k)
        for kind, suffix in (("germline", ".bed"), ("somatic", ".somatic.bed")):
            path = outdir / f"{name}{suffix}"
            with atomic_output(path) as tmp:
                Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in iv[kind]))
            written.append(path)
        g, s = iv["germline"], iv["somatic"]
        bases = [sum(e - b for _c, b, e in rows) for rows in (g, s)]
        first, last = f"{g[0][0]}:{g[0][1] + 1}", f"{g[-1][0]}:{g[-1][2]}"
        summary.append(f"{name}\t{bases[0]}\t{bases[1]}\t{len(g)}\t{first}\t{last}")
    path = outdir / "intervals.tsv"
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(summary) + "\n")
    return [*written, path]


def estimate_callable_bases(fasta: str | Path, windows: int = 256, width: int = 1000) -> int:
    """The non-N bases of ``fasta``, estimated from ``windows`` evenly spaced windows of ``width``
    bases (reads about ``windows * width`` bases through the index: cheap enough to plan with,
    exact enough to choose a count of intervals; the same file gives the same estimate)."""
    with pysam.FastaFile(str(fasta)) as fa:
        contigs = list(zip(fa.references, fa.lengths, strict=True))
        total = sum(length for _c, length in contigs)
        if total <= windows * width:
            return sum(length - fa.fetch(c).upper().count("N") for c, length in contigs)
        ends = []
        for _c, length in contigs:
            ends.append((ends[-1] if ends else 0) + length)
        seen = acgt = 0
        for k in range(windows):
            at = (2 * k + 1) * total // (2 * windows)
            i = bisect.bisect_right(ends, at)
            contig, length = contigs[i]
            start = at - (ends[i - 1] if i else 0)
            seq = fa.fetch(contig, start, min(length, start + width))
            seen += len(seq)
            acgt += len(seq) - seq.upper().count("N")
    return round(total * acgt / seen) if seen else 0


def interval_count(
    setting: int | str,
    interval_bases: int,
    *,
    fasta: str | Path | None,
    targets: str | Path | None = None,
    padding: int = 100,
) -> int:
    """How many intervals calling is scattered over: ``setting`` when it is a number; for
    ``auto``, one per ``interval_bases`` callable bases (the padded targets when there are
    targets, else the non-N bases of the reference, estimated), at least one. A file that does not
    exist yet (a reference or targets the run simulates itself) counts as one interval.
    """
    if setting != "auto":
        return int(setting)
    if targets:
        if not Path(targets).is_file():
            return 1
        rows = read_bed_named(targets)
        bases = sum(e - s + 2 * padding for _c, s, e, _n in rows)
        return max(1, min(len(rows), math.ceil(bases / interval_bases)))
    else:
        ready = fasta and Path(fasta).is_file() and Path(str(fasta) + ".fai").is_file()
        bases = estimate_callable_bases(fasta) if ready else 0
    return max(1, math.ceil(bases / interval_bases))
