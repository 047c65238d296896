"""Tumours beyond small variants, read from the same reads: copy number, structural variants and
gene fusions, microsatellite instability, and sample identity (sex, tumour/normal match).

Each module reads BAMs, the reference and the GFF3 (or another caller's file) and returns data;
the workflow wires them, and :mod:`seq2rx.actionability` tiers what they find.
"""

from seq2rx.tumour.copynumber import (
    CopyNumberParams,
    GeneCopyNumber,
    build_reference,
    copy_number,
    read_genes,
    write_access,
)

__all__ = ["CopyNumberParams", "GeneCopyNumber", "build_reference", "copy_number", "read_genes", "write_access"]
