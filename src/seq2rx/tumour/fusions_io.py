"""Gene fusions from another caller: PCGR's fusion format read into fusion calls.

PCGR's fusion file is tab-separated with the columns ``FusionGene LeftBreakpoint RightBreakpoint
SplitReads`` (an optional ``Score`` and other columns are ignored). ``FusionGene`` names the 5′
gene, then ``--`` (or ``::``), then the 3′ gene, as STAR-Fusion and Arriba write it
(``EML4--ALK``); the left breakpoint is the 5′ gene's, the right one the 3′ gene's, each
``chrom:position`` with or without ``chr``. One side may be empty (``--ALK``: a rearrangement of ALK
whose partner the caller did not name); PCGR accepts that with a warning, and so do we.

The order is the caller's claim. A DNA caller sees both junctions of a balanced rearrangement and
may name either; :mod:`seq2rx.actionability` says where the order matters (the kinase's end).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.genome.builds import PRIMARY_LENGTHS
from seq2rx.tumour.tables import check_position, primary_chromosome, read_rows

FUSION_COLUMNS = ("FusionGene", "LeftBreakpoint", "RightBreakpoint", "SplitReads")
_FIX = "give PCGR's fusion format: FusionGene (5'--3', e.g. EML4--ALK), LeftBreakpoint and RightBreakpoint (chrom:pos), SplitReads"
_SYMBOL = re.compile(r"^(?![0-9]+$)[A-Za-z0-9._-]+$")
_BREAKPOINT = re.compile(r"^([^\s:]+):([0-9]+)$")


@dataclass(frozen=True)
class FusionCall:
    """One fusion: the 5′ and 3′ genes (``None`` where not named), their breakpoints, the reads."""

    five_prime: str | None
    three_prime: str | None
    five_prime_breakpoint: tuple[str, int]
    three_prime_breakpoint: tuple[str, int]
    split_reads: int
    source: str

    @property
    def name(self) -> str:
        """HGNC's notation, 5′ first: ``EML4::ALK``; an unnamed partner is ``?``."""
        return f"{self.five_prime or '?'}::{self.three_prime or '?'}"

    @property
    def genes(self) -> tuple[str, ...]:
        return tuple(g for g in (self.five_prime, self.three_prime) if g)

    def breakpoint_of(self, gene: str) -> tuple[str, int]:
        return self.five_prime_breakpoint if gene == self.five_prime else self.three_prime_breakpoint


def _genes(text: str, path: Path, lineno: int) -> tuple[str | None, str | None]:
    sep = "--" if "--" in text else "::" if "::" in text else None
    if sep is None:
        raise InputError(str(path), f"{text!r} has no '--' or '::' between the 5' and 3' gene", line=lineno,
                         field="FusionGene", hint="write the 5' gene, '--', then the 3' gene, e.g. EML4--ALK")  # fmt: skip
    left, _, right = text.partition(sep)
    out = []
    for part in (left.strip(), right.strip()):
        if part and not _SYMBOL.match(part):
            raise InputError(str(path), f"{part!r} is not a gene symbol", line=lineno, field="FusionGene",
                             hint="gene symbols are letters, digits, '.', '-' and '_', not only digits")  # fmt: skip
        out.append(part or None)
    if out == [None, None]:
        raise InputError(str(path), f"{text!r} names neither gene", line=lineno, field="FusionGene", hint=_FIX)
    return out[0], out[1]


def _breakpoint(text: str, path: Path, lineno: int, col: str, build: str | None) -> tuple[str, int]:
    m = _BREAKPOINT.match(text.strip())
    if not m:
        raise InputError(str(path), f"{text!r} is not chrom:position", line=lineno, field=col,
                         hint="e.g. 2:29223528 or chr2:29223528 (chromosomes 1-22, X, Y)")  # fmt: skip
    chrom = primary_chromosome(m.group(1), path, lineno, col, build)
    pos = int(m.group(2))
    # not checked against the chromosome's length: a fusion is matched by its genes, and a breakpoint
    # off its gene on the build (past the chromosome's end included) is noted on the row instead
    # (PCGR's own GRCh37 example puts MYB--NFIB's NFIB breakpoint at 9:143,000,000, past chr9's end)
    check_position(pos, chrom, path, lineno, col)
    return chrom, pos


def read_fusions(path: str | Path, *, build: str | None = None) -> list[FusionCall]:
    """The fusions of a PCGR-format file, checked cell by cell (a fix is named for each problem):
    each breakpoint on a primary chromosome (of ``build``, ``GRCh38`` or ``GRCh37``, when given), at a
    position from 1.

    A file with a header and no rows is no fusions found (a fusion caller lists only what it finds;
    PCGR refuses such a file, but here it is an assessed tumour without fusions)."""
    path = Path(path)
    if build is not None and build not in PRIMARY_LENGTHS:
        raise ValueError(f"build must be one of {sorted(PRIMARY_LENGTHS)}, got {build!r}")
    out = []
    for lineno, cells in read_rows(path, FUSION_COLUMNS, _FIX):
        five, three = _genes(cells["FusionGene"], path, lineno)
        left = _breakpoint(cells["LeftBreakpoint"], path, lineno, "LeftBreakpoint", build)
        right = _breakpoint(cells["RightBreakpoint"], path, lineno, "RightBreakpoint", build)
        text = cells["SplitReads"]
        if re.fullmatch(r"-[0-9]+", text):
            raise InputError(str(path), f"{text} split reads is negative", line=lineno, field="SplitReads",
                             hint="give the number of split reads supporting the fusion, 0 or more")  # fmt: skip
        if not text.isdigit():
            raise InputError(str(path), f"{text!r} is not a whole number of reads", line=lineno,
                             field="SplitReads", hint="the number of split reads supporting the fusion, 0 or more")  # fmt: skip
        out.append(FusionCall(five, three, left, right, int(text), f"PCGR fusions: {path.name}"))
    return out
