"""Small sequence helpers shared by the simulator and the aligner."""

from __future__ import annotations

_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def revcomp(seq: str) -> str:
    """Reverse complement of a DNA string (IUPAC N kept as N)."""
    return seq.translate(_COMP)[::-1]
