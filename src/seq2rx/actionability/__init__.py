"""Tumour actionability: somatic alterations matched to the biomarker knowledge base and tiered
(AMP/ASCO/CAP 2017) for the tumour type, with TMB. See :mod:`.tiers`.
"""

from seq2rx.actionability.tiers import (
    TABLE_COLUMNS,
    TIER_ORDER,
    Biomarker,
    Knowledge,
    SomaticVariant,
    add_consequences,
    load,
    match,
    read_variants,
    run,
    short_protein,
    tier,
    tmb,
    tumour_column,
    write_json,
    write_table,
)

__all__ = [
    "Biomarker",
    "Knowledge",
    "SomaticVariant",
    "TABLE_COLUMNS",
    "TIER_ORDER",
    "add_consequences",
    "load",
    "match",
    "read_variants",
    "run",
    "short_protein",
    "tier",
    "tmb",
    "tumour_column",
    "write_json",
    "write_table",
]
