"""Copy number from another caller: PCGR's segment format read into gene-level calls.

PCGR's allele-specific segment file is tab-separated with the columns ``Chromosome Start End nMajor
nMinor`` (one-based, inclusive coordinates; whole-number copies; other columns are ignored). A gene
is called from the segment that covers most of it, if that segment covers at least
``min_gene_overlap`` of the gene:

* ``amplification``: total copies (nMajor + nMinor) at least ``amplification_min_copies``;
* ``deletion``: total copies at most ``deletion_max_copies`` (0 by default: both copies lost);
* ``neutral``: anything between (a one-copy loss or a low gain is not an actionable event here).

A gene that no segment covers well enough gets no call; :func:`gene_calls` says which.

A file is read strictly, as PCGR validates it: a file with a header but no segments is an error
(a caller's segments cover the genome, neutral ones included, so an empty file is a failed export,
not "no alterations": leave the file out and copy number is reported as not assessed); so are a
contig that is not a primary chromosome (``23``, ``chr1_KI270706v1_random``), a position past the
chromosome's end on the build the file is read for (:data:`seq2rx.genome.PRIMARY_LENGTHS`: a
GRCh37 file read as GRCh38), a ``Start`` of 0 (a 0-based file), and overlapping or repeated
segments (two copy numbers for one base: often two samples' rows in one file). The
thresholds are PCGR's defaults (``--n_copy_gain 6``, ``--cna_overlap_pct 50``; a homozygous
deletion is 0 copies) so that a PCGR user's file is read the way PCGR reads it. The CNVkit engine
produces the same :class:`GeneCopyNumber` records.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.genome.builds import PRIMARY_LENGTHS
from seq2rx.tumour.tables import check_position, primary_chromosome, read_rows

SEGMENT_COLUMNS = ("Chromosome", "Start", "End", "nMajor", "nMinor")
CALLS = ("amplification", "deletion", "neutral")
_FIX = "give PCGR's segment format: Chromosome, Start, End, nMajor, nMinor (tab-separated, whole numbers)"


@dataclass(frozen=True)
class CopyNumberThresholds:
    """When a gene counts as amplified or deleted.

    >>> CopyNumberThresholds.from_config({"amplification_min_copies": 8}).amplification_min_copies
    8
    """

    #: total copies at or above which a gene is amplified (PCGR's ``--n_copy_gain``, default 6)
    amplification_min_copies: int = 6
    #: total copies at or below which a gene is deleted (0: homozygous deletion, as PCGR calls it)
    deletion_max_copies: int = 0
    #: the share of the gene that one segment must cover (PCGR's ``--cna_overlap_pct`` 50, as a fraction)
    min_gene_overlap: float = 0.5

    def __post_init__(self) -> None:
        if not (isinstance(self.amplification_min_copies, int) and self.amplification_min_copies > 2):
            raise ValueError(f"amplification_min_copies must be a whole number above 2, got "
                             f"{self.amplification_min_copies!r}")  # fmt: skip
        if not (isinstance(self.deletion_max_copies, int) and 0 <= self.deletion_max_copies < 2):
            raise ValueError(f"deletion_max_copies must be 0 or 1, got {self.deletion_max_copies!r}")
        if not (isinstance(self.min_gene_overlap, (int, float)) and 0 < self.min_gene_overlap <= 1):
            raise ValueError(f"min_gene_overlap must be in (0, 1], got {self.min_gene_overlap!r}")

    @classmethod
    def from_config(cls, section: dict) -> CopyNumberThresholds:
        """The thresholds of a config section; a key it does not know is an error, a key it lacks
        keeps the default above (the config schema states the same defaults)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - names)
        if unknown:
            raise ValueError(f"unknown copy-number threshold(s) {unknown}; allowed: {sorted(names)}")
        return cls(**{k: section[k] for k in names if k in section})


@dataclass(frozen=True)
class Segment:
    chrom: str
    start: int
    end: int
    major: int
    minor: int

    @property
    def total(self) -> int:
        return self.major + self.minor


@dataclass(frozen=True)
class GeneCopyNumber:
    """One gene's copy-number call. ``start``/``end`` are the segment's that gave the call."""

    gene: str
    chrom: str
    start: int
    end: int
    total_cn: int
    call: str
    source: str
    #: the share of the gene the segment covers
    overlap: float = 1.0


@dataclass(frozen=True)
class Gene:
    name: str
    chrom: str
    start: int
    end: int


def read_segments(path: str | Path, *, build: str | None = None) -> list[Segment]:
    """The segments of a PCGR-format copy-number file, checked cell by cell and against each other;
    with ``build`` (``GRCh38``, ``GRCh37``) each segment must also lie within its chromosome there."""
    path = Path(path)
    if build is not None and build not in PRIMARY_LENGTHS:
        raise ValueError(f"build must be one of {sorted(PRIMARY_LENGTHS)}, got {build!r}")
    out, lines = [], []
    for lineno, cells in read_rows(path, SEGMENT_COLUMNS, _FIX):
        values = {}
        for col in SEGMENT_COLUMNS[1:]:
            text = cells[col]
            try:
                values[col] = int(text)
            except ValueError:
                raise InputError(str(path), f"{text!r} is not a whole number", line=lineno, field=col,
                                 hint="copy numbers and coordinates are integers; round a caller's "
                                 "fractional copy numbers first") from None  # fmt: skip
            if values[col] < 0:
                raise InputError(str(path), f"{text} is negative", line=lineno, field=col, hint=_FIX)
        chrom = primary_chromosome(cells["Chromosome"], path, lineno, "Chromosome", build)
        if values["End"] < values["Start"]:
            raise InputError(str(path), f"End {values['End']} is before Start {values['Start']}", line=lineno,
                             field="End", hint="segments are one-based and inclusive: Start <= End")  # fmt: skip
        check_position(values["Start"], chrom, path, lineno, "Start", build)
        check_position(values["End"], chrom, path, lineno, "End", build)
        out.append(Segment(chrom, values["Start"], values["End"], values["nMajor"], values["nMinor"]))
        lines.append(lineno)
    if not out:
        raise InputError(str(path), "holds no segments (only a header)", line=1,
                         hint="a copy-number caller's segments cover the genome, neutral ones included, so an "
                         "empty file is a failed export, not 'no alterations' (PCGR refuses it too): export "
                         "the segments again, or leave the file out and copy number is reported as not "
                         "assessed")  # fmt: skip
    _check_overlaps(out, lines, path)
    return out


def _check_overlaps(segments: list[Segment], lines: list[int], path: Path) -> None:
    """One copy number per base: no two segments of the file share a base (in any row order)."""
    order = sorted(range(len(segments)), key=lambda k: (segments[k].chrom, segments[k].start, lines[k]))
    reach = None  # the segment reaching furthest so far on the current chromosome
    for k in order:
        s = segments[k]
        r = segments[reach] if reach is not None else None
        if r is not None and r.chrom == s.chrom and s.start <= r.end:
            first, later = sorted((reach, k), key=lambda j: lines[j])
            a, b = segments[first], segments[later]
            if (a.start, a.end) == (b.start, b.end):
                problem = f"the segment {b.chrom}:{b.start}-{b.end} repeats line {lines[first]}"
                hint = "keep each segment once"
            else:
                problem = f"the segment {b.chrom}:{b.start}-{b.end} overlaps {a.chrom}:{a.start}-{a.end} on line {lines[first]}"
                hint = "a sample's segments must not overlap (two copy numbers for one base)"
            if s.start == r.end and r.start < r.end:
                hint += "; one shared base at each boundary means 0-based or half-open Starts: add 1 to each Start"
            else:
                hint += "; one file holds one sample's segments: keep that sample's rows"
            raise InputError(str(path), problem, line=lines[later], field="Start", hint=hint)
        if r is None or r.chrom != s.chrom or s.end > r.end:
            reach = k


def call_genes(
    segments: list[Segment], genes: list[Gene], thresholds: CopyNumberThresholds, source: str
) -> tuple[list[GeneCopyNumber], list[str]]:
    """Gene-level calls, and the genes left without one (no segment covers enough of them).

    Each gene takes the segment covering most of it (the first such segment on a tie).
    """
    by_chrom: dict[str, list[Segment]] = {}
    for s in segments:
        by_chrom.setdefault(s.chrom, []).append(s)
    calls, uncalled = [], []
    for g in genes:
        length = g.end - g.start + 1
        best, best_bp = None, 0
        for s in by_chrom.get(g.chrom, []):
            bp = min(s.end, g.end) - max(s.start, g.start) + 1
            if bp > best_bp:
                best, best_bp = s, bp
        if best is None or best_bp / length < thresholds.min_gene_overlap:
            uncalled.append(g.name)
            continue
        if best.total >= thresholds.amplification_min_copies:
            call = "amplification"
        elif best.total <= thresholds.deletion_max_copies:
            call = "deletion"
        else:
            call = "neutral"
        calls.append(GeneCopyNumber(g.name, g.chrom, best.start, best.end, best.total, call, source,
                                    round(best_bp / length, 4)))  # fmt: skip
    return calls, uncalled


def gene_calls(
    path: str | Path, genes: list[Gene], thresholds: CopyNumberThresholds | None = None, *, build: str | None = None
) -> tuple[list[GeneCopyNumber], list[str], int]:
    """Read a PCGR-format segment file (on ``build``, when given) and call ``genes``: (calls, genes
    without a call, segments)."""
    segments = read_segments(path, build=build)
    calls, uncalled = call_genes(
        segments, genes, thresholds or CopyNumberThresholds(), f"PCGR segments: {Path(path).name}"
    )
    return calls, uncalled, len(segments)
