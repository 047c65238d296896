"""What the user hands in: the configuration and sample sheet (checked against their schemas)
and the clinical table.
"""

from seq2rx.inputs.clinical import read_clinical, time_axis_label
from seq2rx.inputs.config import (
    check_reference,
    id_constraint,
    load_yaml,
    oncotree_codes,
    read_sample_sheet,
    validate_config,
)

__all__ = [
    "check_reference",
    "id_constraint",
    "load_yaml",
    "oncotree_codes",
    "read_clinical",
    "read_sample_sheet",
    "time_axis_label",
    "validate_config",
]
