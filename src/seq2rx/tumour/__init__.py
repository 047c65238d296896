"""Tumours beyond small variants, read from the same reads: copy number, structural variants and
gene fusions, microsatellite instability, and sample identity (sex, tumour/normal match).

Each module reads BAMs, the reference and the GFF3 (or another caller's file) and returns data;
the workflow wires them, and :mod:`seq2rx.actionability` tiers what they find.
"""

from seq2rx.tumour.copynumber_io import (
    CALLS,
    CopyNumberThresholds,
    Gene,
    GeneCopyNumber,
    Segment,
    call_genes,
    gene_calls,
    read_segments,
)
from seq2rx.tumour.fusions_io import FusionCall, read_fusions

__all__ = [
    "CALLS",
    "CopyNumberThresholds",
    "FusionCall",
    "Gene",
    "GeneCopyNumber",
    "Segment",
    "call_genes",
    "gene_calls",
    "read_fusions",
    "read_segments",
]
