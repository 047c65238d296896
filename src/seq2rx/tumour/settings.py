"""The tumour steps' config sections, and the sample sheet's files from other callers, checked as
the steps will read them, before any job starts.

The config schema checks each key alone; the steps' parameter classes also check keys against each
other (CNVkit's log2 cut-offs must increase, an amplification must lie above the ploidy, a
homozygous-reference cutoff below the homozygous-alternate one). :func:`check_tumour_config` builds
those classes from the validated config, so such a problem stops ``snakemake`` and ``seq2rx
validate`` with the config file, the key's line and the key, instead of failing a job later.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from seq2rx.core.errors import InputError
from seq2rx.inputs.config import yaml_line
from seq2rx.tumour.copynumber import CopyNumberParams, file_thresholds
from seq2rx.tumour.copynumber_io import read_segments
from seq2rx.tumour.fusions import FusionParams
from seq2rx.tumour.fusions_io import read_fusions
from seq2rx.tumour.identity import IdentityParams
from seq2rx.tumour.msi import MsiParams

#: section -> what builds its parameters, as the rules pass the section to the scripts
_SECTIONS: dict[str, Callable[[dict], object]] = {
    "copy_number": lambda s: (CopyNumberParams.from_config(s), file_thresholds(s)),
    "fusions": lambda s: FusionParams.from_config({k: v for k, v in s.items() if k != "cross_check"}),
    "msi": MsiParams.from_config,
    "identity": lambda s: IdentityParams.from_config({k: v for k, v in s.items() if k != "sites"}),
}
#: the names :class:`~seq2rx.tumour.copynumber_io.CopyNumberThresholds` gives the copy_number keys
_ALIASES = {"amplification_min_copies": "amplification_min_cn", "deletion_max_copies": "deletion_max_cn"}


def _key(section: dict, message: str) -> str | None:
    """The config key a parameter class's message is about: the first key of ``section`` it names."""
    names = {**{k: k for k in section}, **{a: k for a, k in _ALIASES.items() if k in section}}
    found = [(m.start(), names[m.group(1)]) for m in re.finditer(r"\b([a-z_0-9]+)\b", message) if m.group(1) in names]
    return min(found)[1] if found else None


def check_tumour_config(config: dict, source: str) -> None:
    """Raise an :class:`InputError` naming ``source``, the line and the key when the validated
    ``config``'s ``copy_number``, ``fusions``, ``msi`` or ``identity`` section holds values its step
    would refuse."""
    for name, build in _SECTIONS.items():
        section = config.get(name) or {}
        try:
            build(section)
        except ValueError as exc:
            message = str(exc).removeprefix(f"{name}.")
            key = _key(section, message)
            field = f"{name}.{key}" if key else name
            raise InputError(source, message, line=yaml_line(source, field.split(".")), field=field,
                             hint="keys named together are checked against each other: change one of them (ranges and "
                             f"defaults: config/schemas/config.schema.yaml, section {name})") from None  # fmt: skip


def check_sheet_files(rows: list[dict], build: str, will_exist: Callable[[str], bool] = lambda p: False) -> None:
    """Read every tumour row's ``cna`` and ``fusions`` file (PCGR's formats) on ``build``, so a bad
    one stops the run before any job with its line and field, not at the actionability step after
    the alignments. Files the workflow itself will write (``will_exist``) are left alone."""
    for row in rows:
        for column, read in (("cna", read_segments), ("fusions", read_fusions)):
            path = row.get(column)
            if path and not will_exist(path):
                read(path, build=build)
