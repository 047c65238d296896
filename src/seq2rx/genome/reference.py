"""Reference genome helpers: sequence islands for indexing, and contig checks.

A reference that keeps real coordinates by padding contigs with ``N`` (the demo genome, or any
masked or targeted reference) is mostly ambiguous bases. BWA stores ``N`` as random bases and
would index the whole padded length; minimap2 skips them but still scans them. Both aligners
here therefore index the *islands*: the runs of non-``N`` sequence, separated by at least
``min_gap`` ``N`` bases, each written as its own contig. Alignments are lifted back onto the
real contigs afterwards (:mod:`seq2rx.reads.align`), so coordinates never change. A reference without
long ``N`` runs has one island per contig at offset 0, and the lift is the identity.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output

_NON_N = re.compile(r"[^Nn]+")


@dataclass(frozen=True)
class IslandMap:
    """Island contig name -> (real contig, 0-based offset) plus the real contigs' lengths."""

    islands: dict[str, tuple[str, int]]
    contigs: dict[str, int]  # real contig -> length, in reference order

    def write(self, path: str | Path) -> None:
        with atomic_output(path) as tmp, open(tmp, "w") as fh:
            fh.write("#kind\tname\tcontig\toffset_or_length\n")
            for name, length in self.contigs.items():
                fh.write(f"contig\t{name}\t{name}\t{length}\n")
            for name, (contig, offset) in self.islands.items():
                fh.write(f"island\t{name}\t{contig}\t{offset}\n")

    @classmethod
    def read(cls, path: str | Path) -> IslandMap:
        islands: dict[str, tuple[str, int]] = {}
        contigs: dict[str, int] = {}
        with open(path) as fh:
            for row in csv.reader((x for x in fh if not x.startswith("#")), delimiter="\t"):
                kind, name, contig, value = row
                if kind == "contig":
                    contigs[name] = int(value)
                else:
                    islands[name] = (contig, int(value))
        return cls(islands, contigs)


def find_islands(fasta: str | Path, min_gap: int = 1000, chunk: int = 4_000_000) -> list[tuple[str, int, int]]:
    """Runs of non-N sequence, as (contig, 0-based start, end), merged across gaps < ``min_gap``.

    Reads the FASTA (plain or bgzipped, with a ``.fai``) in chunks, so memory stays flat.
    """
    return scan_islands(fasta, min_gap, chunk)[0]


def scan_islands(
    fasta: str | Path, min_gap: int = 1000, chunk: int = 4_000_000
) -> tuple[list[tuple[str, int, int]], int]:
    """:func:`find_islands`' runs and the number of bases that are not ``N``/``n``, in one pass."""
    runs: list[tuple[str, int, int]] = []
    bases = 0
    with pysam.FastaFile(str(fasta)) as fa:
        for contig, length in zip(fa.references, fa.lengths, strict=True):
            cur: list[int] | None = None
            for c0 in range(0, length, chunk):
                seq = fa.fetch(contig, c0, min(length, c0 + chunk))
                # skip all-N blocks quickly, in C
                n = seq.count("N") + seq.count("n")
                if n == len(seq):
                    continue
                bases += len(seq) - n
                for m in _NON_N.finditer(seq):
                    s, e = c0 + m.start(), c0 + m.end()
                    if cur is not None and s - cur[1] < min_gap:
                        cur[1] = e
                    else:
                        if cur is not None:
                            runs.append((contig, cur[0], cur[1]))
                        cur = [s, e]
            if cur is not None:
                runs.append((contig, cur[0], cur[1]))
    return runs, bases


def island_name(contig: str, start: int, end: int, length: int) -> str:
    """An island's contig name in the index: the contig's own when it spans the whole contig,
    else ``contig__start`` (0-based)."""
    return contig if start == 0 and end == length else f"{contig}__{start}"


def write_islands(fasta: str | Path, out_fasta: str | Path, out_map: str | Path, min_gap: int = 1000,
                  runs: list[tuple[str, int, int]] | None = None) -> IslandMap:  # fmt: skip
    """Write the islands of ``fasta`` as a plain FASTA and their map; returns the map. ``runs``:
    :func:`find_islands`' result when already at hand (the FASTA is not scanned again)."""
    if runs is None:
        runs = find_islands(fasta, min_gap=min_gap)
    islands: dict[str, tuple[str, int]] = {}
    with pysam.FastaFile(str(fasta)) as fa:
        contigs = dict(zip(fa.references, fa.lengths, strict=True))
        with atomic_output(out_fasta) as tmp, open(tmp, "w") as out:
            for contig, s, e in runs:
                name = island_name(contig, s, e, contigs[contig])
                islands[name] = (contig, 0 if name == contig else s)
                out.write(f">{name}\n")
                seq = fa.fetch(contig, s, e)
                for k in range(0, len(seq), 60):
                    out.write(seq[k : k + 60] + "\n")
    if not runs:
        raise InputError(str(fasta), "the reference holds no A, C, G or T bases", hint="check the FASTA file")
    imap = IslandMap(islands, contigs)
    imap.write(out_map)
    return imap


def fasta_contigs(fasta: str | Path) -> dict[str, int]:
    with pysam.FastaFile(str(fasta)) as fa:
        return dict(zip(fa.references, fa.lengths, strict=True))
