"""Validate the configuration and the sample sheet before any job starts.

Both are checked against JSON schemas (``config/schemas/``) that forbid unknown keys and carry
the defaults and a human sentence per field (``x-message``). Every problem becomes one
:class:`~seq2rx.core.errors.InputError` naming the file, the line and the field.
"""

from __future__ import annotations

import copy
import csv
import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from seq2rx.core.errors import InputError

STAGE_COLUMNS = ("fastq1", "fastq2", "bam", "vcf")
#: a tumour's results from another caller, in PCGR's formats: used instead of calling them here
TUMOUR_FILE_COLUMNS = ("cna", "fusions")
#: the sheet's other file columns, checked like the stage columns
OTHER_FILE_COLUMNS = ("outside_calls", *TUMOUR_FILE_COLUMNS)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error is an :class:`InputError`."""
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            str(path), f"is not valid YAML: {getattr(exc, 'problem', exc)}", line=mark.line + 1 if mark else None
        ) from None


def _fill_defaults(instance: Any, schema: dict) -> None:
    """Insert schema defaults into ``instance`` in place, depth first."""
    if not isinstance(instance, dict) or schema.get("type") != "object":
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)


def _schema_at(schema: dict, path: Iterable[Any]) -> dict:
    node = schema
    for part in path:
        props = node.get("properties", {})
        if isinstance(part, str) and part in props:
            node = props[part]
        else:
            break
    return node


def _describe(error: jsonschema.ValidationError, schema: dict) -> tuple[str, str]:
    """(dotted field, human problem) for a schema violation."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        field = ".".join(str(p) for p in path + [extra[0]]) if extra else ".".join(map(str, path))
        return field, f"unknown key {extra[0]!r}; allowed here: {allowed}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = ".".join(str(p) for p in path + [missing])
        node = _schema_at(schema, path + [missing])
        return field, f"is required: {node.get('x-message', 'this key must be given')}"
    node = _schema_at(schema, path)
    message = node.get("x-message", error.message)
    return ".".join(str(p) for p in path) or "(top level)", f"{message} (got {error.instance!r})"


def validate_config(config: dict, schema: dict, source: str) -> dict:
    """Return a copy of ``config`` with defaults filled in, or raise :class:`InputError`.

    >>> schema = {"type": "object", "additionalProperties": False,
    ...           "properties": {"n": {"type": "integer", "default": 3}}}
    >>> validate_config({}, schema, "c.yaml")
    {'n': 3}
    """
    if not isinstance(config, dict):
        raise InputError(source, "the configuration must be a YAML mapping of keys to values")
    config = copy.deepcopy(config)
    _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        field, problem = _describe(errors[0], schema)
        raise InputError(source, problem, line=yaml_line(source, field.split(".")), field=field)
    return config


def yaml_line(path: str | Path, keys: list[str]) -> int | None:
    """The line of the deepest of ``keys`` (a path of mapping keys) found in the YAML file ``path``.

    None when the file cannot be read or parsed, or not even the first key is in it (a default).
    """
    try:
        with open(path) as fh:
            node = yaml.compose(fh)
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
        if match is None:
            break
        line = match[0].start_mark.line + 1
        node = match[1]
    return line


def _readable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def read_sample_sheet(
    path: str | Path,
    schema: dict,
    will_exist: Callable[[str], bool] = lambda p: False,
    tumor_types: Collection[str] | None = None,
) -> list[dict[str, str]]:
    """Read and validate the sample sheet; return its rows (empty cells dropped).

    ``will_exist(path)`` says whether a missing input will be produced by the workflow itself
    (the demo simulator); any other missing or unreadable file is an error. ``tumor_types``,
    when given, are the OncoTree codes a tumour sample's ``tumor_type`` must be one of.
    Line numbers in messages count the header as line 1.
    """
    path = str(path)
    if not _readable(path):
        raise InputError(path, "the sample sheet does not exist or cannot be read")
    with open(path, newline="") as fh:
        lines = [line for line in fh]
    body = [(k + 1, line) for k, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    if not body:
        raise InputError(path, "the sample sheet is empty; it needs a header line and one row per sample")
    header_line, header = body[0]
    if "\t" not in header and len(header.split()) > 1:
        raise InputError(path, "the header has no tabs: the sample sheet must be tab-separated", line=header_line)
    columns = next(csv.reader([header.rstrip("\r\n")], delimiter="\t"))
    known = set(schema["properties"])
    for col in columns:
        if col not in known:
            raise InputError(path, f"unknown column {col!r}; allowed: {', '.join(sorted(known))}", line=header_line)
    if len(set(columns)) != len(columns):
        raise InputError(path, "a column name appears twice in the header", line=header_line)
    validator = jsonschema.Draft202012Validator(schema)
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for lineno, line in body[1:]:
        cells = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
        if len(cells) != len(columns):
            raise InputError(path, f"has {len(cells)} cells but the header has {len(columns)} columns", line=lineno)
        row = {c: v.strip() for c, v in zip(columns, cells, strict=True) if v.strip() != ""}
        for error in validator.iter_errors(row):
            field, problem = _describe(error, schema)
            raise InputError(path, problem, line=lineno, field=field)
        sample = row["sample"]
        if sample in seen:
            raise InputError(
                path,
                f"sample {sample!r} appears twice (first on line {seen[sample]})",
                line=lineno,
                field="sample",
                hint="give each sample its own ID; several samples of one patient share the patient column",
            )
        seen[sample] = lineno
        has_fq = [c for c in ("fastq1", "fastq2") if c in row]
        starts = (["fastq"] if has_fq else []) + [c for c in ("bam", "vcf") if c in row]
        if len(starts) != 1:
            raise InputError(
                path,
                "give exactly one starting point: fastq1+fastq2, or bam, or vcf",
                line=lineno,
                field="/".join(c for c in STAGE_COLUMNS if c in row) or "fastq1",
            )
        if has_fq and "fastq1" not in row:
            # fastq1 alone is one interleaved file; fastq2 alone is not a sample
            raise InputError(
                path,
                "paired-end reads need fastq1 (and fastq2, unless fastq1 is interleaved)",
                line=lineno,
                field="fastq1",
            )
        for col in (*STAGE_COLUMNS, *OTHER_FILE_COLUMNS):
            if col in row and not _readable(row[col]) and not will_exist(row[col]):
                raise InputError(
                    path,
                    f"file {row[col]!r} does not exist or cannot be read",
                    line=lineno,
                    field=col,
                    hint="relative paths are taken from the directory snakemake runs in",
                )
        check_read_files(row, path, lineno)
        if "bam" in row and not any(_readable(row["bam"] + ext) for ext in (".bai", ".csi")):
            raise InputError(
                path,
                f"the BAM {row['bam']!r} has no index ({row['bam']}.bai)",
                line=lineno,
                field="bam",
                hint="run 'samtools index' on it",
            )
        for col in TUMOUR_FILE_COLUMNS:
            if col in row and row["type"] != "tumor":
                raise InputError(
                    path,
                    f"{col} is another caller's result for a tumour sample; this row is {row['type']}",
                    line=lineno,
                    field=col,
                    hint="leave the cell empty for normal and germline samples",
                )
        if tumor_types is not None and row["type"] == "tumor" and row["tumor_type"] not in tumor_types:
            raise InputError(
                path,
                f"{row['tumor_type']!r} is not an OncoTree code of the knowledge base",
                line=lineno,
                field="tumor_type",
                hint="a tumour sample needs one, e.g. LUAD, COAD, BRCA (resources/kb/actionability/oncotree.tsv)",
            )
        row["stage"] = starts[0]
        rows.append(row)
    if not rows:
        raise InputError(path, "the sample sheet has a header but no samples")
    patients: dict[str, dict[str, str]] = {}
    for row in rows:
        first = patients.setdefault(row["patient"], row)
        for col in ("sex", "tumor_type"):
            if first[col] != row[col]:
                raise InputError(
                    path,
                    f"patient {row['patient']!r} has {col} {row[col]!r} here but {first[col]!r} on line {seen[first['sample']]}",
                    line=seen[row["sample"]],
                    field=col,
                )
    return rows


#: how much of two FASTQ files is compared to tell the same reads given twice
_SAME_PREFIX = 1 << 20


def check_read_files(row: dict[str, str], path: str, lineno: int) -> None:
    """fastq1 and fastq2 must be two files with different content (not one file twice).

    The same path (or two links to one file) stops; so do two files of the same size that agree
    in their first MiB (the same export copied), which would align as 0 properly paired reads. A
    missing file is left to the existence check, and two empty files to the reads' own check.
    """
    r1, r2 = row.get("fastq1"), row.get("fastq2")
    if not r1 or not r2 or not (_readable(r1) and _readable(r2)):
        return
    if os.path.samefile(r1, r2):
        same = "the same file as fastq1"
    else:
        if os.path.getsize(r1) != os.path.getsize(r2) or os.path.getsize(r1) == 0:
            return
        with open(r1, "rb") as a, open(r2, "rb") as b:
            if a.read(_SAME_PREFIX) != b.read(_SAME_PREFIX):
                return
        same = "a copy of fastq1 (same size, same first MiB)"
    raise InputError(
        path,
        f"fastq2 {r2!r} is {same} {r1!r}: read 1 given twice aligns as 0 properly paired reads",
        line=lineno,
        field="fastq2",
        hint="name the read-2 file in fastq2; for one interleaved file give fastq1 alone",
    )


def check_reference(config: dict, source: str, will_exist: Callable[[str], bool] = lambda p: False) -> None:
    """The reference FASTA (and its index), GFF3, targets and the identity SNP panel must exist
    unless the demo makes them."""
    ref = config["reference"]
    for field, value in (
        ("reference.fasta", ref["fasta"]),
        ("reference.gff3", ref["gff3"]),
        ("targets", config["targets"]),
        ("identity.sites", config.get("identity", {}).get("sites")),
    ):
        if value and not _readable(value) and not will_exist(value):
            raise InputError(
                source,
                f"file {value!r} does not exist or cannot be read",
                line=yaml_line(source, field.split(".")),
                field=field,
                hint="relative paths are taken from the directory snakemake runs in",
            )
    fasta = ref["fasta"]
    if _readable(fasta) and not _readable(fasta + ".fai"):
        raise InputError(
            source,
            f"the FASTA {fasta!r} has no .fai index",
            line=yaml_line(source, ["reference", "fasta"]),
            field="reference.fasta",
            hint="run 'samtools faidx' on it (for a bgzipped FASTA it must be bgzip, not gzip)",
        )


def oncotree_codes(path: str | Path) -> set[str]:
    """The codes (first column) of the knowledge base's ``oncotree.tsv``."""
    with open(path, encoding="utf-8") as fh:
        return {line.split("\t")[0] for line in list(fh)[1:] if line.strip()}


#: what one ID may hold when no ID of the sheet has a '.' (the schema allows letters, digits, '.', '_', '-')
_ID_NO_DOT = "[A-Za-z0-9_-]+"


def id_constraint(members: Iterable[str], universe: Iterable[str]) -> str:
    """A Snakemake wildcard constraint that matches exactly the IDs in ``members`` among the
    sheet's IDs ``universe``, as a short regex where it can be.

    Snakemake writes a rule's constraint into every output path of every job, so a constraint
    listing all the sheet's IDs makes planning grow with the square of the sheet. When no ID
    holds a '.', an ID always ends at a '.' or '/', and the pattern is the ID character class,
    narrowed by the shorter of the two lists: the members (``P1|P2``) or, as a negative
    lookahead, the IDs left out. With a '.' in some ID (``S1.a`` could be the ``S1`` of
    ``S1.a.bam``) only the full list of members is exact, and that is what is returned. No
    member at all gives a pattern that matches nothing.

    >>> id_constraint(["P1", "P2"], ["P1", "P2"])
    '[A-Za-z0-9_-]+'
    >>> id_constraint(["P1", "P2"], ["P1", "P2", "V1"])
    '(?!(?:V1)(?![A-Za-z0-9_-]))[A-Za-z0-9_-]+'
    """
    import re

    members, universe = sorted(set(members)), sorted(set(universe))
    unknown = set(members) - set(universe)
    if unknown:
        raise ValueError(f"members not in the universe: {sorted(unknown)}")
    if not members:
        return "(?!x)x"
    if any("." in name for name in universe):
        return "|".join(map(re.escape, members))
    others = sorted(set(universe) - set(members))
    if not others:
        return _ID_NO_DOT
    # a name counts only as a whole ID: not followed by another ID character
    if len(members) <= len(others):
        return f"(?:{'|'.join(map(re.escape, members))})(?![A-Za-z0-9_-])"
    return f"(?!(?:{'|'.join(map(re.escape, others))})(?![A-Za-z0-9_-])){_ID_NO_DOT}"
