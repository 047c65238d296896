"""Variant calls: germline calling (bcftools), VCFs from elsewhere, somatic calling, consequences
(bcftools csq and Biopython), truth comparison and confirmation primers.
"""

from seq2rx.variants.germline import (
    CallParams,
    bcftools_stats,
    call_variants,
    gather_calls,
    pileup_call,
    subset_sample,
)
from seq2rx.variants.inputs import check_input_vcf, check_sheet_vcfs, input_notes, normalise_input, scan_input_vcf
from seq2rx.variants.somatic import SomaticParams, call_somatic, gather_somatic, write_callable

__all__ = [
    "CallParams",
    "SomaticParams",
    "bcftools_stats",
    "call_somatic",
    "call_variants",
    "check_input_vcf",
    "check_sheet_vcfs",
    "gather_calls",
    "gather_somatic",
    "input_notes",
    "normalise_input",
    "pileup_call",
    "scan_input_vcf",
    "subset_sample",
    "write_callable",
]
