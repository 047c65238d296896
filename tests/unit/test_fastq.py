"""The FASTQ pair reader: read names as real data writes them, encodings, bases, and random damage."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seq2rx.core.errors import InputError
from seq2rx.reads.fastq import FastqPairs, compression, pair_name, read_pairs, write_pairs
from seq2rx.reads.trim import trim_pairs

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

#: a small valid pair: distinct names and lengths, every quality line holds a '#' (Q2, so the
#: encoding is plainly Phred+33) and a character that is not a letter (so no quality line reads
#: as bases); read 2 is not read 1. Damage to it can then only be caught or harmless.
R1 = [
    ("read1 1:N:0:ACGT", "ACGTACGTAC", "#IIIIIIII5"),
    ("read2 1:N:0:ACGT", "GGATCCAATTG", "II#II5IIIII"),
    ("read3", "TTGACCAGTACA", "IIIII5III#II"),
    ("read4", "CAGTNACGTTAGC", "5IIIIIIII#III"),
]
R2 = [
    ("read1 2:N:0:ACGT", "TTGCATTGCAT", "#IIIII5IIII"),
    ("read2 2:N:0:ACGT", "ACCAGTTGCA", "I#II5IIIII"),
    ("read3", "GATTACAGATTAC", "III5IIII#IIII"),
    ("read4", "CCGGTTAAC", "II#I5IIII"),
]


def text(records) -> str:
    return "".join(f"@{h}\n{s}\n+\n{q}\n" for h, s, q in records)


def write(path: Path, body: bytes) -> Path:
    path.write_bytes(gzip.compress(body, mtime=0) if path.name.endswith(".gz") else body)
    return path


EXPECTED = [((h.split()[0], s1, q1), (h.split()[0], s2, q2)) for (h, s1, q1), (_, s2, q2) in zip(R1, R2, strict=True)]


def pairs_of(tmp_path: Path, a: str, b: str | None, **kw):
    r1 = write(tmp_path / "a_R1.fq", a.encode())
    r2 = write(tmp_path / "a_R2.fq", b.encode()) if b is not None else None
    reader = FastqPairs(r1, r2, **kw)
    return list(reader), reader.report


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("n1", "n2", "name", "style"),
    [
        ("r1", "r1", "r1", "identical"),  # Casava 1.8: the difference is in the comment, already dropped
        ("r1/1", "r1/2", "r1", "/1 /2 suffixes"),
        ("SRR123.7.1", "SRR123.7.2", "SRR123.7", ".1 .2 suffixes (SRA)"),
        ("SRR123.7", "SRR123.7", "SRR123.7", "identical"),  # fastq-dump without --readids
        ("r1/1", "r1", "r1", "/1 /2 suffixes"),  # as BWA: the suffix goes wherever it is
        ("x:1:2/1", "x:1:2/2", "x:1:2", "/1 /2 suffixes"),
    ],
)
def test_pair_names(n1, n2, name, style):
    assert pair_name(n1, n2) == (name, style)


@pytest.mark.parametrize(("n1", "n2"), [("a", "b"), ("r.2", "r.1"), ("r/2x", "r/1x"), ("r.1", "r"), ("a.1", "b.2")])
def test_names_that_are_not_mates(n1, n2):
    assert pair_name(n1, n2) is None


@pytest.mark.parametrize(
    ("h1", "h2"),
    [
        ("{n}/1", "{n}/2"),
        ("{n} 1:N:0:ACGTACGT", "{n} 2:N:0:ACGTACGT"),
        ("{n}/1 1:N:0:1", "{n}/2\t2:N:0:1"),
        ("SRR9.{k}.1 {k} length=10", "SRR9.{k}.2 {k} length=10"),
    ],
)
def test_every_naming_gives_one_name_per_pair(tmp_path, h1, h2):
    recs = [(f"q{k}", "ACGTACGTAC", "#IIIIIIIII") for k in range(1, 4)]
    a = text([(h1.format(n=n, k=k), s, q) for k, (n, s, q) in enumerate(recs, 1)])
    b = text([(h2.format(n=n, k=k), s[::-1], q) for k, (n, s, q) in enumerate(recs, 1)])
    got, report = pairs_of(tmp_path, a, b)
    names = [p[0][0] for p in got]
    assert all(p[0][0] == p[1][0] for p in got)
    assert names == (["SRR9.1", "SRR9.2", "SRR9.3"] if h1.startswith("SRR") else ["q1", "q2", "q3"])
    assert report.changed == (not h1.startswith("{n} "))  # Casava comments alone need no copy


def test_interleaved_file_is_read_as_pairs(tmp_path):
    got, report = pairs_of(tmp_path, text([r for pair in zip(R1, R2, strict=True) for r in pair]), None)
    assert got == EXPECTED
    assert report.layout == "interleaved" and report.changed
    assert "read as one interleaved file" in report.notes[0]


def test_interleaved_file_with_an_odd_record(tmp_path):
    with pytest.raises(InputError, match=r"a_R1.fq, line 9: an interleaved file must hold pairs, but record 3"):
        pairs_of(tmp_path, text([R1[0], R2[0], R1[1]]), None)


def test_write_pairs_writes_the_names_bwa_would(tmp_path):
    r1 = write(tmp_path / "x_R1.fq", text([("a/1 c", "acgtr", "#IIII")]).encode())
    r2 = write(tmp_path / "x_R2.fq", text([("a/2 c", "TTTTT", "#IIII")]).encode())
    report = write_pairs(r1, r2, tmp_path / "o1.fq", tmp_path / "o2.fq")
    assert (tmp_path / "o1.fq").read_text() == "@a\nACGTN\n+\n#IIII\n"
    assert (tmp_path / "o2.fq").read_text() == "@a\nTTTTT\n+\n#IIII\n"
    assert (report.lowercase_bases, report.iupac_bases_to_n) == (5, 1)


# --------------------------------------------------------------------------- encodings and bases


def test_phred64_is_detected_and_converted_on_request(tmp_path):
    a = text([("r1", "ACGT", "hhhB"), ("r2", "ACGT", "Thhh")])
    b = text([("r1", "TTTT", "hhhh"), ("r2", "GGGG", "hBhh")])
    with pytest.raises(InputError, match=r"a_R1.fq, line 4: the qualities are Phred\+64 .* reaches 'h'"):
        pairs_of(tmp_path, a, b)
    got, report = pairs_of(tmp_path, a, b, phred64="convert")
    # Phred+64 'h' is Q40 ('I' in Phred+33), 'B' is Q2 ('#'), 'T' is Q20 ('5')
    assert [p[0][2] for p in got] == ["III#", "5III"]
    assert report.quality_encoding == "Phred+64, converted to Phred+33"


def test_solexa_qualities_stop_even_when_converting(tmp_path):
    a = text([("r1", "ACGT", "hh;h")])
    with pytest.raises(InputError, match=r"Solexa\+64 .*SeqIO.convert"):
        pairs_of(tmp_path, a, text([("r1", "TTTT", "hhhh")]), phred64="convert")


def test_high_phred33_qualities_are_not_taken_for_phred64(tmp_path):
    # NovaSeq-binned Phred+33 ('F' = Q37, ':' = Q25, ',' = Q11) reaches ':' and stays Phred+33
    got, report = pairs_of(tmp_path, text([("r1", "ACGT", "FF:,")]), text([("r1", "TTTT", "FFFF")]))
    assert report.quality_encoding == "Phred+33" and got[0][0][2] == "FF:,"
    # all between '@' and 'K': ambiguous, read as Phred+33 and said so
    _, report = pairs_of(tmp_path, text([("r1", "ACGT", "IIII")]), text([("r1", "TTTT", "IIII")]))
    assert report.quality_encoding == "Phred+33" and any("between '@' and 'K'" in n for n in report.notes)


def test_mates_are_judged_together(tmp_path):
    a = text([("r1", "ACGT", "hhhh"), ("r2", "ACGT", "hh#h")])
    b = text([("r1", "TTTT", "hhhh"), ("r2", "GGGG", "hhhh")])
    # '#' is below ';' in read 1's file: both mates, from one run, read as Phred+33
    got, report = pairs_of(tmp_path, a, b, phred64="convert")
    assert report.quality_encoding == "Phred+33" and got[0][1][2] == "hhhh"


def test_mixed_encodings_stop_when_converting(tmp_path, monkeypatch):
    monkeypatch.setattr("seq2rx.reads.fastq.PROBE_RECORDS", 1)
    a = text([("r1", "ACGT", "hhhh"), ("r2", "ACGT", "hh#h")])
    b = text([("r1", "TTTT", "hhhh"), ("r2", "GGGG", "hhhh")])
    with pytest.raises(InputError, match=r"a_R1.fq, line 8: quality character '#' is below the Phred\+64 range"):
        pairs_of(tmp_path, a, b, phred64="convert")


def test_compression_is_read_from_the_bytes(tmp_path):
    gz = write(tmp_path / "r.fq.gz", b"@a\nACGT\n+\nIIII\n").rename(tmp_path / "R.FASTQ.GZ")
    plain = tmp_path / "p.fastq.gz"
    plain.write_text("@a\nTTTT\n+\nIIII\n")
    assert (compression(gz), compression(plain)) == ("gzip", "plain")
    reader = FastqPairs(gz, plain)
    assert list(reader) == [(("a", "ACGT", "IIII"), ("a", "TTTT", "IIII"))]
    assert reader.report.changed and any("p.fastq.gz is not gzip-compressed" in n for n in reader.report.notes)


def test_windows_line_ends_are_read(tmp_path):
    got, report = pairs_of(tmp_path, text(R1).replace("\n", "\r\n"), text(R2))
    assert got == EXPECTED and report.crlf and report.changed  # cutadapt gets a copy with '\n' line ends


def test_same_file_and_same_reads_stop(tmp_path):
    r1 = write(tmp_path / "a_R1.fq", text(R1).encode())
    with pytest.raises(InputError, match="fastq2 is the same file as fastq1"):
        list(read_pairs(r1, r1))
    copy = write(tmp_path / "copy.fq.gz", text(R1).encode())
    with pytest.raises(InputError, match=r"copy.fq.gz: fastq2 holds the same reads as fastq1 \(the first 4 pairs"):
        list(read_pairs(r1, copy))


def test_trim_pairs_normalises_names_for_cutadapt(tmp_path):
    a = text([(f"r{k}/1", "ACGTACGTACGTACGTACGTACGTACGTACGTAC", "#" + "I" * 33) for k in range(3)])
    b = text([(f"r{k}/2", "TTGCATTGCATTGCATTGCATTGCATTGCATTGC", "#" + "I" * 33) for k in range(3)])
    r1, r2 = write(tmp_path / "in_R1.fq.gz", a.encode()), write(tmp_path / "in_R2.fq.gz", b.encode())
    out = [tmp_path / n for n in ("o1.fq.gz", "o2.fq.gz", "c.json", "c.txt")]
    reads = trim_pairs(r1, r2, *out, "AGATCGGAAGAGC", "AGATCGGAAGAGC", min_length=5, reads_report=tmp_path / "r.json")
    assert reads["name_styles"] == ["/1 /2 suffixes"] and reads["pairs"] == 3
    with gzip.open(out[0], "rt") as fh:
        assert [line for line in fh.read().splitlines() if line.startswith("@")] == ["@r0", "@r1", "@r2"]
    # cutadapt's reports name the user's files, not the normalised copies
    assert str(r1) in out[3].read_text() and ".tmp." not in out[3].read_text()


# --------------------------------------------------------------------------- random damage (Hypothesis)


def _read(r1: Path, r2: Path):
    """The pairs and the report, or the InputError; anything else fails the test."""
    reader = FastqPairs(r1, r2)
    try:
        return list(reader), reader.report
    except InputError as exc:
        assert str(exc).startswith(str(r1)) or str(exc).startswith(str(r2)), str(exc)
        return exc, None


def _valid(pairs) -> bool:
    return all(
        a[0] == b[0] and len(a[1]) == len(a[2]) and set(a[1] + b[1]) <= set("ACGTN") and set(a[2] + b[2]) <= set(map(chr, range(33, 127)))
        for a, b in pairs
    )  # fmt: skip


@st.composite
def damaged(draw):
    """(which mate, gzip or not, the damaged bytes, the kind of damage)."""
    mate = draw(st.sampled_from([0, 1]))
    gz = draw(st.booleans())
    body = text([R1, R2][mate]).encode()
    lines = body.decode().splitlines(keepends=True)
    kind = draw(st.sampled_from(["truncate", "flip", "swap", "remove", "rename"]))
    if kind == "truncate":
        data = gzip.compress(body, mtime=0) if gz else body
        return mate, gz, data[: draw(st.integers(0, len(data) - 1))], kind
    if kind == "flip":
        data = bytearray(gzip.compress(body, mtime=0) if gz else body)
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255).filter(lambda b: b != data[at]))
        return mate, gz, bytes(data), kind
    if kind == "swap":
        i, j = draw(st.lists(st.integers(0, len(lines) - 1), min_size=2, max_size=2, unique=True))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "remove":
        del lines[draw(st.integers(0, len(lines) - 1))]
    else:
        k = draw(st.integers(0, len(lines) // 4 - 1))
        name = draw(st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=12))
        lines[4 * k] = f"@{name}\n"
    out = "".join(lines).encode("latin-1")
    return mate, gz, gzip.compress(out, mtime=0) if gz else out, kind


@PROPERTY
@given(damaged())
def test_random_damage_is_caught_or_harmless(tmp_path_factory, case):
    mate, gz, data, kind = case
    folder = tmp_path_factory.mktemp("damage")
    suffix = ".fq.gz" if gz else ".fq"
    files = [write(folder / f"d_R1{suffix}", text(R1).encode()), write(folder / f"d_R2{suffix}", text(R2).encode())]
    files[mate].write_bytes(data)
    got, report = _read(*files)
    if isinstance(got, InputError):
        return
    assert _valid(got)
    if kind == "flip":
        # a flipped byte may change its own record's bases or qualities, never the names or the count
        assert [(a[0], len(a[1])) for a, _ in got] == [(a[0], len(a[1])) for a, _ in EXPECTED]
        assert sum(g != e for g, e in zip(got, EXPECTED, strict=True)) <= 1
    else:
        # truncation, swapped or removed lines and renamed reads are caught, or change nothing
        assert got == EXPECTED


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(text(R1)) - 1), st.one_of(st.integers(0, 255), st.sampled_from(b"ACGTNacgtnRY#I5 @+\t\r")))
def test_what_the_reader_accepts_cutadapt_accepts(tmp_path_factory, at, byte):
    folder = tmp_path_factory.mktemp("cutadapt")
    data = bytearray(text(R1).encode())
    data[at] = byte
    r1, r2 = write(folder / "c_R1.fq", bytes(data)), write(folder / "c_R2.fq", text(R2).encode())
    out = [folder / n for n in ("o1.fq.gz", "o2.fq.gz", "c.json", "c.txt")]
    try:
        trim_pairs(r1, r2, *out, "AGATCGGAAGAGC", "AGATCGGAAGAGC", min_length=1)
    except InputError:
        assert not out[0].exists()
        return
    # cutadapt ran on what the reader let through, and kept every pair (a flipped byte shortens no read)
    with gzip.open(out[0], "rt") as fh:
        assert len(fh.read().splitlines()) == 4 * len(R1)
