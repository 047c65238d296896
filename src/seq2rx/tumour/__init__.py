"""Tumours beyond small variants, read from the same reads: copy number, structural variants and
gene fusions, microsatellite instability, and sample identity (sex, tumour/normal match).

Each module reads BAMs, the reference and the GFF3 (or another caller's file) and returns data;
the workflow wires them, and :mod:`seq2rx.actionability` tiers what they find.
"""

from seq2rx.tumour.copynumber import (
    CopyNumberParams,
    GeneEstimate,
    build_reference,
    copy_number,
    file_thresholds,
    gene_copy_numbers,
    read_genes,
    write_access,
)
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
from seq2rx.tumour.fusions import FusionCalls, FusionParams, call_fusions, read_kinase_domains, write_fusions
from seq2rx.tumour.fusions_io import FusionCall, read_fusions
from seq2rx.tumour.identity import (
    IdentityParams,
    check_sex,
    fingerprint,
    identity_qc,
    infer_sex,
    read_sites,
    sample_identity,
)
from seq2rx.tumour.msi import (
    BaselineSite,
    Microsatellite,
    MsiParams,
    build_baseline,
    find_microsatellites,
    msi_baseline,
    msi_from_vcf,
    msi_mode,
    msi_paired,
    msi_score,
    read_baseline,
    read_microsatellites,
    repeat_length_distribution,
    write_baseline,
    write_microsatellites,
)
from seq2rx.tumour.plan import not_assessed, steps_not_assessed, tumour_plan
from seq2rx.tumour.settings import check_sheet_files, check_tumour_config

__all__ = [
    "BaselineSite",
    "CALLS",
    "CopyNumberParams",
    "CopyNumberThresholds",
    "FusionCall",
    "FusionCalls",
    "FusionParams",
    "Gene",
    "GeneCopyNumber",
    "GeneEstimate",
    "IdentityParams",
    "Microsatellite",
    "MsiParams",
    "Segment",
    "build_baseline",
    "build_reference",
    "call_fusions",
    "call_genes",
    "check_sex",
    "check_sheet_files",
    "check_tumour_config",
    "copy_number",
    "find_microsatellites",
    "file_thresholds",
    "fingerprint",
    "gene_copy_numbers",
    "gene_calls",
    "identity_qc",
    "infer_sex",
    "msi_baseline",
    "msi_from_vcf",
    "msi_mode",
    "msi_paired",
    "msi_score",
    "not_assessed",
    "read_baseline",
    "read_fusions",
    "read_genes",
    "read_kinase_domains",
    "read_microsatellites",
    "read_segments",
    "read_sites",
    "repeat_length_distribution",
    "sample_identity",
    "steps_not_assessed",
    "tumour_plan",
    "write_access",
    "write_baseline",
    "write_fusions",
    "write_microsatellites",
]
