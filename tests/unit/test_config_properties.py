"""Property tests (Hypothesis) for the sample-sheet and config readers.

Random damage to a valid sample sheet or configuration either stops with an
:class:`~seq2rx.core.errors.InputError` (a ``seq2rx:`` message) or gives exactly the parse a
faithful reader must give: the unchanged one, or, for cells swapped between places, the rows the
damaged table really holds. Any other exception (a traceback) or a silently different result fails.
"""

from __future__ import annotations

import math
from pathlib import Path

import pysam
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from seq2rx.core.errors import InputError
from seq2rx.inputs.config import load_yaml, read_sample_sheet, validate_config
from seq2rx.tumour.settings import check_tumour_config

REPO = Path(__file__).resolve().parents[2]
SETTINGS = settings(
    max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: bytes that belong in no cell and no YAML value: C0 controls (not tab/newline), DEL, bytes that
#: are not UTF-8 on their own, and a byte-order mark
BAD_BYTES = st.one_of(
    st.sampled_from([bytes([b]) for b in [*range(0, 9), 11, 12, *range(14, 32), 127, *range(128, 256)]]),
    st.just(b"\xef\xbb\xbf"),
)
COLUMNS = ["sample", "patient", "type", "fastq1", "fastq2", "bam", "vcf", "sex", "tumor_type"]
TUMOR_TYPES = {"LUAD", "COAD", "BRCA"}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A valid sheet of 5 samples: reads, a BAM, a VCF, a tumour with its normal."""
    d = tmp_path_factory.mktemp("props")
    for name in ("a_R1.fq.gz", "a_R2.fq.gz", "b_R1.fq.gz", "b_R2.fq.gz", "x.vcf.gz"):
        (d / name).write_bytes(b"")
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}]}
    with pysam.AlignmentFile(str(d / "x.bam"), "wb", header=header):
        pass
    pysam.index(str(d / "x.bam"))
    rows = [
        ["N1", "P1", "normal", f"{d}/a_R1.fq.gz", f"{d}/a_R2.fq.gz", "", "", "female", "LUAD"],
        ["T1", "P1", "tumor", f"{d}/b_R1.fq.gz", f"{d}/b_R2.fq.gz", "", "", "female", "LUAD"],
        ["G2", "P2", "germline", "", "", f"{d}/x.bam", "", "male", "NA"],
        ["V3", "P3", "germline", "", "", "", f"{d}/x.vcf.gz", "unknown", "NA"],
        ["S4.b", "P4", "germline", f"{d}/a_R1.fq.gz", f"{d}/a_R2.fq.gz", "", "", "female", "NA"],
    ]
    (d / "table.yaml").write_text(yaml.safe_dump(rows))
    return d


def _table(project: Path) -> list[list[str]]:
    return [COLUMNS, *yaml.safe_load((project / "table.yaml").read_text())]


def _text(table: list[list[str]]) -> bytes:
    return ("# a comment line\n" + "".join("\t".join(r) + "\n" for r in table)).encode()


SHEET_SCHEMA = load_yaml(REPO / "config" / "schemas" / "samples.schema.yaml")
CONFIG_SCHEMA = load_yaml(REPO / "config" / "schemas" / "config.schema.yaml")


def _read(path: Path) -> list[dict]:
    return read_sample_sheet(path, SHEET_SCHEMA, tumor_types=TUMOR_TYPES)


def _faithful(table: list[list[str]]) -> list[dict]:
    """The rows a table holds, read the plain way: empty cells dropped, the starting stage."""
    rows = []
    for cells in table[1:]:
        row = {c: v.strip() for c, v in zip(table[0], cells, strict=True) if v.strip()}
        row["stage"] = "fastq" if "fastq1" in row else "bam" if "bam" in row else "vcf"
        rows.append(row)
    return rows


def _outcome(path: Path):
    """The parse, or the InputError; any other exception propagates and fails the test."""
    try:
        return _read(path)
    except InputError as exc:
        assert str(exc).startswith(str(path)), str(exc)  # the message names the file first
        return exc


def test_the_valid_sheet_reads_as_written(project):
    path = project / "good.tsv"
    path.write_bytes(_text(_table(project)))
    assert _read(path) == _faithful(_table(project))


@SETTINGS
@given(data=st.data())
def test_sheet_damage_is_refused_or_changes_nothing(project, data):
    table = _table(project)
    good = _faithful(table)
    kind = data.draw(st.sampled_from(["drop_column", "duplicate_column", "bytes", "swap", "duplicate_row"]))
    if kind == "drop_column":
        k = data.draw(st.integers(0, len(COLUMNS) - 1))
        damaged = [[c for j, c in enumerate(r) if j != k] for r in table]
        # without fastq2 each fastq1 is read as one interleaved file (README): a valid sheet whose
        # meaning is the damaged table's own, and the reads' job checks that the file is interleaved
        expected = {"refused", "faithful"} if COLUMNS[k] == "fastq2" else {"refused", "unchanged"}
    elif kind == "duplicate_column":
        k = data.draw(st.integers(0, len(COLUMNS) - 1))
        damaged = [[*r, r[k]] for r in table]
        expected = {"refused"}
    elif kind == "duplicate_row":
        k = data.draw(st.integers(1, len(table) - 1))
        damaged = [*table, table[k]]
        expected = {"refused"}
    else:
        damaged = [list(r) for r in table]
        expected = {"refused", "unchanged"}
    body = _text(damaged)
    if kind == "bytes":
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(0, len(body)))
            body = body[:at] + data.draw(BAD_BYTES) + body[at:]
    if kind == "swap":  # two body cells change places: the reader must read them where they now are
        (r1, c1), (r2, c2) = (data.draw(st.tuples(st.integers(1, len(damaged) - 1), st.integers(0, 8)))
                              for _ in range(2))  # fmt: skip
        damaged[r1][c1], damaged[r2][c2] = damaged[r2][c2], damaged[r1][c1]
        body = _text(damaged)
        expected = {"refused", "faithful"}
    path = project / "damaged.tsv"
    path.write_bytes(body)
    got = _outcome(path)
    event(f"{kind}: {'refused' if isinstance(got, InputError) else 'read'}")
    if isinstance(got, InputError):
        assert "refused" in expected, f"{kind}: {got}"
    elif "faithful" in expected:
        assert got == _faithful(damaged)
    else:
        assert "unchanged" in expected and got == good, f"{kind} changed the parse silently"


# --------------------------------------------------------------------------- the configuration

RANGES = "annotation:\n  primer_tm_min: 57\n  primer_tm_max: 63\n  amplicon_min: 300\n  amplicon_max: 600\n" \
    "qc:\n  min_mean_coverage: 20\n  warn_mean_coverage: 30\nsimilarity:\n  clusters:\n    min: 2\n    max: 8\n"  # fmt: skip
PAIRS = [("primer_tm_min", "primer_tm_max"), ("amplicon_min", "amplicon_max"),
         ("min_mean_coverage", "warn_mean_coverage"), ("min", "max")]  # fmt: skip


def _config_text() -> str:
    return (REPO / "config" / "config.yaml").read_text() + RANGES


def _config(path: Path):
    """The validated config as the workflow reads it, or the InputError."""
    try:
        cfg = validate_config(load_yaml(path), CONFIG_SCHEMA, str(path))
        check_tumour_config(cfg, str(path))
        return cfg
    except InputError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        return exc


def test_the_valid_config_reads(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(_config_text())
    cfg = _config(path)
    assert cfg["annotation"]["amplicon_max"] == 600 and cfg["similarity"]["clusters"]["min"] == 2


@SETTINGS
@given(data=st.data())
def test_config_damage_is_refused_or_changes_nothing(tmp_path, data):
    text = _config_text()
    path = tmp_path / "c.yaml"
    path.write_text(text)
    good = _config(path)
    lines = text.splitlines(keepends=True)
    keyed = [k for k, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    kind = data.draw(st.sampled_from(["duplicate_key", "bytes", "non_finite", "swap_range", "duplicate_section"]))
    if kind == "duplicate_key":  # a key line repeated in its own mapping: the first would be dropped
        k = data.draw(st.sampled_from([k for k in keyed if lines[k].startswith(" ") and lines[k].rstrip()[-1] != ":"]))
        damaged = "".join(lines[: k + 1] + [lines[k]] + lines[k + 1 :]).encode()
        expected = {"refused"}
    elif kind == "duplicate_section":  # a whole top-level block given again at the end
        k = data.draw(st.sampled_from([k for k in keyed if not lines[k].startswith(" ")]))
        block = [lines[k]] + [x for x in _block(lines, k)]
        damaged = (text + "".join(block)).encode()
        expected = {"refused"}
    elif kind == "non_finite":
        numeric = [k for k in keyed if _number(lines[k]) is not None]
        k = data.draw(st.sampled_from(numeric))
        value = data.draw(st.sampled_from([".nan", ".NaN", ".inf", ".Inf", "-.inf", "+.inf"]))
        damaged = "".join(lines[:k] + [lines[k].split(":")[0] + f": {value}\n"] + lines[k + 1 :]).encode()
        expected = {"refused"}
    elif kind == "swap_range":  # a min/max pair written the wrong way round
        low, high = data.draw(st.sampled_from(PAIRS))
        new = text.replace(f" {low}: ", " @LOW@: ").replace(f" {high}: ", f" {low}: ").replace(" @LOW@: ", f" {high}: ")
        damaged = new.encode()
        expected = {"refused"}
    else:
        damaged = text.encode()
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(0, len(damaged)))
            damaged = damaged[:at] + data.draw(BAD_BYTES) + damaged[at:]
        expected = {"refused", "unchanged"}
    path.write_bytes(damaged)
    got = _config(path)
    event(f"{kind}: {'refused' if isinstance(got, InputError) else 'read'}")
    if isinstance(got, InputError):
        assert "refused" in expected, f"{kind}: {got}"
    else:
        assert "unchanged" in expected and got == good, f"{kind} changed the config silently"


def _block(lines: list[str], k: int) -> list[str]:
    out = []
    for line in lines[k + 1 :]:
        if line.startswith(" ") or line.lstrip().startswith("#") or not line.strip():
            out.append(line)
        else:
            break
    return out


def _number(line: str) -> float | None:
    value = line.split(":", 1)[1].split("#")[0].strip()
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
