"""Validate the configuration and the sample sheet before any job starts.

Both are checked against JSON schemas (``config/schemas/``) that forbid unknown keys and carry
the defaults and a human sentence per field (``x-message``). Every problem becomes one
:class:`~seq2rx.core.errors.InputError` naming the file, the line and the field.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import re
import struct
import unicodedata
import zlib
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


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A mapping key given twice: YAML readers silently keep the last value, so it is refused."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (merge keys aside)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _DuplicateKey(
                        None, None, f"the key {key!r} is given twice (first on line {seen[key]})", key_node.start_mark
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _utf8_text(path: str | Path, data: bytes) -> str:
    """``data`` decoded as UTF-8, or an :class:`InputError` naming the line of the first bad byte
    or of the first invisible format character (a zero-width space or a byte-order mark inside the
    text would silently become part of a name or a path). A leading byte-order mark is left for
    the caller to judge."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            str(path),
            f"is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
            line=line,
            hint=f"save it as UTF-8 text, e.g. with 'iconv -f latin1 -t utf-8 {path} > fixed'",
        ) from None
    start = 1 if text.startswith("\ufeff") else 0
    bad = next((k for k in range(start, len(text)) if unicodedata.category(text[k]) == "Cf"), None)
    if bad is not None:
        raise InputError(
            str(path),
            f"holds an invisible character U+{ord(text[bad]):04X} ({unicodedata.name(text[bad], 'format character')})",
            line=text.count("\n", 0, bad) + 1,
            hint="delete it; it would silently become part of a name, a value or a path",
        )
    return text


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file, a syntax error, text that is not UTF-8 or a key given
    twice in one mapping (YAML readers keep only the last, silently) is an :class:`InputError`."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None
    text = _utf8_text(path, data)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise InputError(
            str(path),
            exc.problem,
            line=exc.problem_mark.line + 1,
            hint="a second block of the same key would silently replace the first: merge them into one",
        ) from None
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
    _check_finite(config, schema, source)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        field, problem = _describe(errors[0], schema)
        raise InputError(source, problem, line=yaml_line(source, field.split(".")), field=field)
    _check_ranges(config, schema, source)
    return config


def _check_finite(node: Any, schema: dict, source: str, path: tuple = ()) -> None:
    """Refuse NaN and infinity (YAML's ``.nan``, ``.inf``) anywhere in the config: a schema's
    ``minimum`` lets NaN through (every comparison with it is false), and a NaN threshold would
    silently pass or fail every value compared with it."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_finite(value, schema, source, (*path, key))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            _check_finite(value, schema, source, (*path, k))
    elif isinstance(node, float) and not math.isfinite(node):
        keys = [str(p) for p in path if isinstance(p, str)]
        field = ".".join(str(p) for p in path)
        message = _schema_at(schema, keys).get("x-message", "must be a number")
        raise InputError(
            source,
            f"{message} (got {node!r}: NaN and infinity are not numbers that can be compared)",
            line=yaml_line(source, keys),
            field=field,
            hint="write a finite number; the defaults are in config/schemas/config.schema.yaml",
        )


def _check_ranges(config: Any, schema: dict, source: str, path: tuple[str, ...] = ()) -> None:
    """Every key marked ``x-not-above: OTHER`` in the schema must not exceed its sibling ``OTHER``
    (an inverted min/max range passes the schema key by key, then fails or misleads a job)."""
    if not isinstance(config, dict) or schema.get("type") != "object":
        return
    props = schema.get("properties", {})
    for key, sub in props.items():
        high = sub.get("x-not-above")
        if high and isinstance(config.get(key), int | float) and isinstance(config.get(high), int | float):
            if config[key] > config[high]:
                field = ".".join((*path, key))
                raise InputError(
                    source,
                    f"{key} ({config[key]}) is above {high} ({config[high]}): the range is inverted",
                    line=yaml_line(source, [*path, key]) or yaml_line(source, [*path, high]),
                    field=field,
                    hint=f"{key} is the low end and {high} the high end: swap them or correct one",
                )
        if key in config:
            _check_ranges(config[key], sub, source, (*path, key))


def yaml_line(path: str | Path, keys: list[str]) -> int | None:
    """The line of the deepest of ``keys`` (a path of mapping keys) found in the YAML file ``path``.

    None when the file cannot be read or parsed, or not even the first key is in it (a default).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            node = yaml.compose(fh)
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: not UTF-8 text
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


def _sheet_lines(path: str) -> list[str]:
    """The sample sheet's lines, line ends kept. Not UTF-8, or starting with a byte-order mark
    (Excel's "UTF-8 CSV", which would make the first column '\\ufeffsample'), is an :class:`InputError`:
    a BOM is refused rather than stripped, so the file that runs is the file that was checked by eye."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError(
            path,
            "starts with a UTF-8 byte-order mark (as Excel's 'CSV UTF-8' writes), which would become part of the "
            "first column's name",
            line=1,
            hint=f"save it as plain tab-separated text, or remove the mark: sed -i '1s/^\\xEF\\xBB\\xBF//' {path}",
        )
    return list(io.StringIO(_utf8_text(path, data), newline=""))


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
    lines = _sheet_lines(path)
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
        _check_vcf_sample(row, path, lineno)
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
    check_sheet_rules(path, rows, seen)
    return rows


#: IDs that the workflow's own file names take, by kind (from the output paths of rules/*.smk, where
#: a fixed file sits in a folder of per-ID files: results/reports/cohort.html beside
#: results/reports/{patient}.html; results/cnv/reference.cnn, reference.cnn.json and access.bed
#: beside the folders results/cnv/{sample}). tests/unit/test_bad_input.py derives it from the rules.
RESERVED_IDS = {"patient": ("cohort",), "sample": ("access.bed", "reference.cnn", "reference.cnn.json")}
#: what a cohort definition's file name (without .sql) may be: it names a results folder
COHORT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_sheet_rules(path: str, rows: list[dict[str, str]], lines: dict[str, int]) -> None:
    """The sample sheet's rules across rows, checked by ``seq2rx validate`` and the workflow alike
    (``lines``: sample -> line). Raises an :class:`InputError` for:

    - a BAM indexed only as ``.csi``: the workflow's rules take ``BAM.bai``;
    - a patient whose tumour starts from reads or a BAM with more than one such normal or
      germline sample: which one is the matched normal would be a guess;
    - an ID that a file name of the workflow already takes (:data:`RESERVED_IDS`): patient
      ``cohort`` would be the cohort report;
    - an ID that is another ID of its kind followed by '.' (``A`` and ``A.unsorted``): their
      file names meet (``results/align/A.unsorted.bam`` is both A's unsorted BAM and
      A.unsorted's BAM).
    """
    for row in rows:
        bam = row.get("bam")
        if bam and not _readable(bam + ".bai") and _readable(bam + ".csi"):
            raise InputError(
                path,
                f"the BAM {bam!r} has a .csi index but no .bai; the workflow reads {bam}.bai",
                line=lines[row["sample"]],
                field="bam",
                hint=f"make a .bai beside it: 'samtools index -b {bam}', or pysam.index('{bam}') in Python",
            )
    aligned: dict[str, list[dict[str, str]]] = {}  # patient -> its rows from reads or a BAM
    for r in rows:
        if r["stage"] in ("fastq", "bam"):
            aligned.setdefault(r["patient"], []).append(r)
    for patient, mine in aligned.items():
        normals = [r["sample"] for r in mine if r["type"] in ("normal", "germline")]
        if len(normals) > 1 and any(r["type"] == "tumor" for r in mine):
            raise InputError(
                path,
                f"patient {patient!r} has a tumour and {len(normals)} normal or germline samples from reads or BAMs "
                f"({', '.join(normals)}): the matched normal would be a guess",
                line=lines[normals[1]],
                field="type",
                hint="keep one normal for the patient; start the others from their VCF, or give them another patient ID",
            )
    for kind, field in (("sample", "sample"), ("patient", "patient")):
        first: dict[str, int] = {}
        for row in rows:
            first.setdefault(row[field], lines[row["sample"]])
        for name, line in first.items():
            if name.lower() in RESERVED_IDS[kind]:
                raise InputError(
                    path,
                    f"{kind} ID {name!r} is taken by a file of the workflow's own",
                    line=line,
                    field=field,
                    hint=f"rename it; reserved {kind} IDs: {', '.join(RESERVED_IDS[kind])}",
                )
            for k, char in enumerate(name):
                if char == "." and name[:k] in first:
                    raise InputError(
                        path,
                        f"{kind} ID {name!r} is {kind} {name[:k]!r} followed by '.': their file names would meet "
                        f"(results/…/{name}.* is also a file of {name[:k]!r})",
                        line=line,
                        field=field,
                        hint=f"rename one, e.g. {name[:k]}_{name[k + 1 :]}",
                    )


def check_cohort_names(config: dict, source: str) -> None:
    """Every cohort definition (``cohorts.sql_dir``/NAME.sql) must have an ID as its NAME, which
    names its results folder and its Snakemake wildcard."""
    folder = config["cohorts"]["sql_dir"]
    if not os.path.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name.endswith(".sql") and not COHORT_NAME.fullmatch(name[:-4]):
            raise InputError(
                os.path.join(folder, name),
                f"the cohort name {name[:-4]!r} (the file name without .sql) is not an ID",
                field="cohorts.sql_dir",
                hint="name the file with 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                "e.g. kras_colorectal.sql",
            )


def _check_vcf_sample(row: dict[str, str], path: str, lineno: int) -> None:
    """``vcf_sample`` names a column of the row's VCF, so it needs one (whether the VCF has
    that column is checked with the VCF's header: ``seq2rx.variants.inputs.check_sheet_vcfs``)."""
    if "vcf_sample" in row and "vcf" not in row:
        raise InputError(
            path,
            "vcf_sample names a column of the row's VCF, but this row has no vcf",
            line=lineno,
            field="vcf_sample",
            hint="leave vcf_sample empty on rows that start from reads or a BAM",
        )


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
    if _readable(fasta):
        check_fasta(fasta, source)


def _bgzf_reader(fh, gzi: str) -> Callable[[int, int], bytes]:
    """``read(start, n)``: ``n`` uncompressed bytes of the BGZF file ``fh`` from ``start``, through
    its ``.gzi`` block index (so only the blocks needed are inflated)."""
    import bisect

    with open(gzi, "rb") as g:
        raw = g.read()
    (count,) = struct.unpack_from("<Q", raw)
    pairs = [(0, 0), *(struct.unpack_from("<QQ", raw, 8 + 16 * k) for k in range(count))]
    starts = [u for _, u in pairs]

    cache: dict[int, tuple[bytes, int]] = {}  # block offset -> (its bytes, the next block's offset)

    def block(offset: int) -> tuple[bytes, int]:
        if offset not in cache:
            if len(cache) > 8:
                cache.clear()
            fh.seek(offset)
            head = fh.read(18)
            if len(head) < 18:
                return b"", offset
            size = struct.unpack_from("<H", head, 16)[0] + 1  # BSIZE: the whole block's size - 1
            cache[offset] = (zlib.decompress(head + fh.read(size - 18), 31), offset + size)
        return cache[offset]

    def read(start: int, n: int) -> bytes:
        k = bisect.bisect_right(starts, start) - 1
        offset, out, skip = pairs[k][0], bytearray(), start - pairs[k][1]
        while len(out) < skip + n:
            data, following = block(offset)
            if not data:
                break
            out += data
            offset = following
        return bytes(out[skip : skip + n])

    return read


def _fasta_error(source: str, problem: str, hint: str) -> InputError:
    """An :class:`InputError` about the configured ``reference.fasta``, at its line of ``source``."""
    return InputError(
        source, problem, line=yaml_line(source, ["reference", "fasta"]), field="reference.fasta", hint=hint
    )


def check_fasta(fasta: str, source: str) -> None:
    """The reference FASTA as htslib will read it: a ``.gz`` must be bgzip (BGZF), not plain
    gzip, and every record of the file must be in its ``.fai`` (``samtools faidx`` skips a second
    record of the same name with only a warning, so the later sequence would be silently lost).

    Reads only the bytes between the records the ``.fai`` lists (one header line each), so it is
    fast on a whole genome.
    """
    with open(fasta, "rb") as fh:
        head = fh.read(18)
    compressed = head[:2] == b"\x1f\x8b"
    # a BGZF block is a gzip member with the 'BC' extra subfield (SAM/BAM specification, 4.1)
    if compressed and not (len(head) >= 18 and head[3] & 4 and head[12:14] == b"BC"):
        plain = fasta[:-3] if fasta.endswith(".gz") else fasta + ".plain"
        raise _fasta_error(
            source,
            f"the FASTA {fasta!r} is compressed with plain gzip; htslib (samtools, pysam) reads only bgzip",
            f"recompress it with htslib's bgzip: 'gunzip -c {fasta} > {plain} && bgzip {plain} && samtools faidx "
            f"{plain}.gz', or configure the uncompressed FASTA",
        )
    if compressed and not _readable(fasta + ".gzi"):
        return  # htslib writes the .gzi with the .fai; without it the bytes cannot be reached cheaply
    entries = []
    with open(fasta + ".fai", encoding="utf-8", errors="replace") as fai:
        for row in fai:
            f = row.rstrip("\n").split("\t")
            if len(f) >= 5 and all(x.isdigit() for x in f[1:5]):
                entries.append((int(f[2]), f[0], int(f[1]), int(f[3]), int(f[4])))
    entries.sort()
    try:
        _check_fai_covers(fasta, source, entries, compressed)
    except (OSError, EOFError, ValueError, struct.error, zlib.error) as exc:  # a damaged BGZF block or .gzi
        raise _fasta_error(
            source,
            f"the FASTA {fasta!r} or its index cannot be read: {exc}",
            "compress it again with bgzip and run 'samtools faidx' on it",
        ) from None


def _check_fai_covers(fasta: str, source: str, entries: list, compressed: bool) -> None:
    """Each gap between the records of the ``.fai`` is one header line; else raise InputError."""
    names = {e[1] for e in entries}
    with open(fasta, "rb") as fh:
        if compressed:
            read = _bgzf_reader(fh, fasta + ".gzi")
        else:

            def read(start: int, n: int) -> bytes:
                fh.seek(start)
                return fh.read(n)

        end = 0
        for offset, name, length, bases, width in [*entries, (None, None, 0, 1, 1)]:
            gap = read(end, min(offset - end, 1 << 20) if offset is not None else 1 << 20)
            lines = [x for x in gap.split(b"\n") if x.strip()]
            extra = lines[:-1] if offset is not None else lines
            headers = [
                x[1:].split()[0].decode("utf-8", "replace") for x in extra if x.startswith(b">") and x[1:].split()
            ]
            if headers or (offset is not None and offset - end > 1 << 20):
                other = headers[0] if headers else "?"
                where = f"before the record of {name!r}" if offset is not None else "after its last indexed record"
                if other in names:
                    what = f"holds a second record named {other!r} ({where}); samtools faidx keeps only the first"
                else:
                    what = f"holds a record {other!r} that its .fai does not list ({where}): empty, or added since indexing"
                raise _fasta_error(
                    source,
                    f"the FASTA {fasta!r} {what}",
                    "give each contig one record, as a second sequence under one name would be silently lost; "
                    "if the file changed since it was indexed, run 'samtools faidx' again",
                )
            if offset is None:
                break
            full, rest = divmod(length, bases) if bases else (0, 0)
            end = offset + full * width + (rest + width - bases if rest else 0)


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
