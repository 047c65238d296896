"""Property tests of the VCF-header readers (issue 17): random damage to a VCF's header either
stops with a seq2rx message (an InputError naming the file) or leaves the result unchanged; it
never raises anything else. Checked for the sheet's VCF reader (``scan_input_vcf``) and the PGx
reader (``read_genotypes``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from conftest import write_reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2rx.core.errors import InputError
from seq2rx.pgx.vcf import read_genotypes
from seq2rx.variants.inputs import scan_input_vcf

SEQ = "GATTACAGTCCACACAGTTGCATGGACTTACGGATCCATGA" * 5
HEADER = [
    "##fileformat=VCFv4.2",
    f"##contig=<ID=chr1,length={len(SEQ)}>",
    '##FILTER=<ID=LowQual,Description="Low quality">',
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##INFO=<ID=MQ,Number=1,Type=Float,Description="Mapping quality">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
]
RECORDS = [
    f"chr1\t{p}\t.\t{SEQ[p - 1]}\t{'C' if SEQ[p - 1] != 'C' else 'G'}\t50\t{f}\tDP=30;MQ=60\tGT:AD\t0/1:15,15"
    for p, f in ((10, "PASS"), (30, "LowQual"), (50, "PASS"))
]
SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NUMBERS = ["1", "2", "A", "R", "G", ".", "0", "-1", "x", ""]
TYPES = ["Integer", "Float", "String", "Flag", "Character", "Int", ""]


@pytest.fixture(scope="module")
def work() -> Path:
    return Path(tempfile.mkdtemp(prefix="vcf-header-"))


@pytest.fixture(scope="module")
def ref(work) -> Path:
    return write_reference(work, "chr1", SEQ)


def _outcome(path: Path, ref: Path):
    """(kind, value): the readers' results, or the InputError; anything else propagates."""
    try:
        check = scan_input_vcf(path, ref)
        genotypes = read_genotypes(path, {})
    except InputError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        return "error", str(exc)
    return "result", (check.samples, check.is_sorted, check.records, sorted(genotypes))


def _write(path: Path, header: list[str] | bytes) -> Path:
    body = ("\n".join(RECORDS) + "\n").encode()
    head = header if isinstance(header, bytes) else ("\n".join(header) + "\n").encode()
    path.write_bytes(head + body)
    return path


@st.composite
def damaged_header(draw) -> list[str] | bytes:
    lines = list(HEADER)
    kind = draw(st.sampled_from(["drop", "number", "type", "truncate", "bytes", "duplicate"]))
    k = draw(st.integers(0, len(lines) - 1))
    if kind == "drop":  # a ##contig, an ##INFO, the #CHROM line, ...
        del lines[k]
    elif kind in ("number", "type"):
        k = draw(st.sampled_from([i for i, x in enumerate(lines) if x.startswith(("##INFO", "##FORMAT"))]))
        key, values = ("Number", NUMBERS) if kind == "number" else ("Type", TYPES)
        old = lines[k].split(f"{key}=", 1)[1].split(",", 1)[0]
        lines[k] = lines[k].replace(f"{key}={old}", f"{key}={draw(st.sampled_from(values))}", 1)
    elif kind == "truncate":  # a malformed line: cut anywhere (the sample's name is data, not damage)
        end = lines[k].index("\tFORMAT") if lines[k].startswith("#CHROM") else len(lines[k])
        lines[k] = lines[k][: draw(st.integers(0, end))]
    elif kind == "duplicate":
        lines.insert(k, lines[k])
    else:
        raw = ("\n".join(lines) + "\n").encode()
        at = draw(st.integers(0, len(raw) - len("\tS1\n")))  # bytes in the sample's name rename it
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    return lines


def test_the_undamaged_vcf_reads(work, ref):
    kind, value = _outcome(_write(work / "good.vcf", HEADER), ref)
    assert (kind, value) == ("result", (["S1"], True, 3, ["S1"]))


@SETTINGS
@given(header=damaged_header())
def test_header_damage_stops_with_a_message_or_changes_nothing(work, ref, header):
    baseline = _outcome(_write(work / "good.vcf", HEADER), ref)
    path = _write(work / "damaged.vcf", header)
    kind, value = _outcome(path, ref)
    if kind == "result":
        assert value == baseline[1]
