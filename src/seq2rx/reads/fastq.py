"""FASTQ pairs: read R1 and R2 (or one interleaved file) together, checking every record, the
pairing, the quality encoding and the bases, and giving both mates of a pair one read name.

What is accepted, and how it is read (BWA-MEM and cutadapt are the yardsticks):

- **Compression** is recognised by the file's first bytes, as htslib and zlib do, not by its name:
  a gzip file named ``.FASTQ.GZ`` is read, and so is a plain file named ``.gz`` (with a note, since
  the name is wrong). bzip2, xz and zstd files stop with advice: seq2rx reads gzip or plain text.
- **Read names** are the header up to the first space or tab; the rest is a comment (Casava 1.8's
  ``1:N:0:ACGT``, SRA's ``1 length=150``) and is dropped, as BWA drops it. A ``/1`` or ``/2`` at the
  end of a name is removed, as BWA does. When the mates still differ only by SRA's ``.1``/``.2``
  (``fastq-dump --readids``: ``SRR123.1.1`` and ``SRR123.1.2``), that suffix is removed too. Both mates
  then carry the same name, and that is the name the BAM gets.
- **Interleaved input** (one file, read 1 and read 2 of each pair one after the other) is read when
  no second file is given; the pairing is checked with the same name rules.
- **Quality encoding** is detected from the first reads of both files (:data:`PROBE_RECORDS` each):
  any quality below ``;`` (Q26 in Phred+33) means Phred+33; qualities all at or above ``;`` with
  some at or above ``L`` (Q43 in Phred+33, beyond Illumina 1.8+'s range) mean the old Phred+64
  (Illumina 1.3-1.7), which stops the run with advice unless ``phred64="convert"`` asks for a
  conversion to Phred+33. Solexa+64 (qualities below ``@``) always stops. Anything else is Phred+33.
- **Bases** are A, C, G, T and N in either case. Lower case is read as upper case, and the other
  IUPAC codes (R, Y, K, M, S, W, B, D, H, V) become N: BWA reads every base other than A, C, G, T as
  N, so this changes no alignment; the count is reported. Any other character (a digit, ``.``,
  ``-``, ``*``) stops the run: it is colour space, an alignment or damage, not a read.
- **fastq1 equal to fastq2** (the same file, or the same reads) stops the run.

Every problem is an :class:`~seq2rx.core.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from seq2rx.core.errors import InputError

#: how many records of each file decide its quality encoding
PROBE_RECORDS = 10_000
#: how many leading pairs are compared to tell fastq2 holding fastq1's reads again
SAME_READS_PROBE = 1_000
PHRED64_CHOICES = ("stop", "convert")
FASTQ_FIX = "R1 and R2 must hold the same reads in the same order: export both files again from the same run"

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_ACGTN = re.compile(r"[^ACGTN]")
_IUPAC = re.compile(r"[^ACGTNRYKMSWBDHV]")
_IUPAC_OTHER = re.compile(r"[RYKMSWBDHV]")
_NAME = re.compile(r"[!-~]+")
_NOT_QUAL = re.compile(r"[^!-~]")
_NOT_PHRED64 = re.compile(r"[^@-~]")
_MAX_NAME = 254  # SAM's limit on a read name
_TO_N = str.maketrans("RYKMSWBDHV", "NNNNNNNNNN")
_PHRED64_TO_33 = {k: k - 31 for k in range(64, 127)}
_CAT = {"bzip2": "bzcat", "xz": "xzcat", "zstd": "zstdcat"}


def compression(path: str | Path) -> str:
    """``gzip``, ``bzip2``, ``xz``, ``zstd`` or ``plain``, from the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})") from None
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), "plain")


def _open(path: str | Path, notes: list[str]):
    kind = compression(path)
    named_gz = str(path).lower().endswith(".gz")
    if kind in ("bzip2", "xz", "zstd"):
        raise InputError(
            str(path),
            f"is {kind}-compressed; seq2rx reads gzip-compressed or plain FASTQ",
            line=1,
            hint=f"decompress it and compress it with gzip (e.g. '{_CAT[kind]} FILE | gzip > OUT.fastq.gz')",
        )
    if kind == "plain" and named_gz:
        notes.append(f"{Path(path).name} is not gzip-compressed although its name ends in .gz: read as plain text")
    # latin-1 decodes every byte, so a stray one is reported by the checks below with its line;
    # lines end at '\n' only (a '\r' before it is stripped, a lone '\r' is no line end)
    raw = gzip.open(path, "rb") if kind == "gzip" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="latin-1", newline="\n")


@dataclass
class ReadsReport:
    """What reading a pair set found and did; ``changed`` says the reads differ from the input bytes."""

    layout: str = "two files"
    name_styles: list[str] = field(default_factory=list)
    quality_encoding: str = "Phred+33"
    pairs: int = 0
    lowercase_bases: int = 0
    iupac_bases_to_n: int = 0
    notes: list[str] = field(default_factory=list)
    crlf: bool = False
    plain_named_gz: bool = False

    @property
    def changed(self) -> bool:
        """True when a copy must be written for tools that read the files themselves (cutadapt)."""
        return (
            self.layout != "two files"
            or any(s != "identical" for s in self.name_styles)
            or self.quality_encoding != "Phred+33"
            or self.lowercase_bases > 0
            or self.iupac_bases_to_n > 0
            or self.crlf
            or self.plain_named_gz
        )

    def as_dict(self) -> dict:
        return {
            "layout": self.layout,
            "name_styles": sorted(self.name_styles),
            "quality_encoding": self.quality_encoding,
            "pairs": self.pairs,
            "lowercase_bases": self.lowercase_bases,
            "iupac_bases_to_n": self.iupac_bases_to_n,
            "notes": list(self.notes),
        }


Record = tuple[int, str, str, str]  # (line of the header, name, bases, qualities)


def _records(path: str | Path, report: ReadsReport) -> Iterator[Record]:
    """The records of one FASTQ file with their structure checked; names not yet paired."""
    lineno = 0  # the last line read completely
    notes: list[str] = []
    try:
        with _open(path, notes) as fh:
            if notes:
                report.plain_named_gz = True
                report.notes.extend(notes)
            while True:
                head = fh.readline()
                if not head:
                    return
                first = lineno + 1
                seq, plus, qual = fh.readline(), fh.readline(), fh.readline()
                if head.endswith("\r\n"):
                    report.crlf = True
                if not head.startswith("@"):
                    raise InputError(
                        str(path),
                        f"a FASTQ record must start with '@', found {head[:20].rstrip()!r}",
                        line=first,
                        hint="each record is 4 lines: @name, bases, +, qualities; check the file was not edited",
                    )
                if not qual:
                    raise InputError(
                        str(path),
                        "the file ends inside a FASTQ record (fewer than 4 lines)",
                        line=first,
                        hint="the file is cut short: copy or export it again",
                    )
                header = head[1:].rstrip("\r\n")
                name = header.split(None, 1)[0] if header[:1].strip() else ""
                if not name:
                    raise InputError(
                        str(path),
                        "the record has an empty read name ('@' followed by nothing or by a space)",
                        line=first,
                        hint="every read needs a name; export the file again, or name the reads (e.g. 'seqtk rename')",
                    )
                if not _NAME.fullmatch(name) or len(name) > _MAX_NAME:
                    bad = (
                        "is longer than 254 characters"
                        if len(name) > _MAX_NAME
                        else "holds a character that is not printable ASCII"
                    )
                    raise InputError(
                        str(path),
                        f"the read name {name[:40]!r} {bad}",
                        line=first,
                        hint="read names must be printable ASCII of at most 254 characters (the SAM limit); the file is damaged or not a FASTQ",
                    )
                plus = plus.rstrip("\r\n")
                if not plus.startswith("+"):
                    raise InputError(
                        str(path),
                        f"expected a '+' separator line, found {plus[:20]!r}",
                        line=first + 2,
                        hint="each record is 4 lines: @name, bases, +, qualities",
                    )
                if len(plus) > 1 and plus[1:] != header:
                    raise InputError(
                        str(path),
                        f"the '+' line repeats a different name ({plus[1:41]!r}, the header is {header[:40]!r})",
                        line=first + 2,
                        hint="the '+' line is '+' alone or repeats the header; the record is damaged",
                    )
                seq, qual = seq.rstrip("\r\n"), qual.rstrip("\r\n")
                if len(seq) != len(qual):
                    raise InputError(
                        str(path),
                        f"sequence has {len(seq)} bases but quality has {len(qual)}",
                        line=first + 1,
                        hint="every base needs one quality character; the record is damaged",
                    )
                if _ACGTN.search(seq):
                    seq = _bases(seq, path, first + 1, report)
                bad = _NOT_QUAL.search(qual)
                if bad:
                    bad = bad.group()
                    raise InputError(
                        str(path),
                        f"quality character {bad!r} is not a FASTQ quality (they run from '!' to '~')",
                        line=first + 3,
                        hint="the record is damaged; copy or export the file again",
                    )
                lineno += 4
                yield first, name, seq, qual
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            str(path),
            f"the gzip stream is truncated or corrupt from here on ({exc})",
            line=lineno + 1,
            hint="copy or download the file again; 'gzip -t FILE' confirms the repair",
        ) from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror or exc})", line=lineno + 1) from None


def _bases(seq: str, path: str | Path, line: int, report: ReadsReport) -> str:
    upper = seq.upper()
    if upper != seq:
        report.lowercase_bases += sum(c.islower() for c in seq)
    bad = _IUPAC.search(upper)
    if bad:
        raise InputError(
            str(path),
            f"base {bad.group()!r} (column {bad.start() + 1}) is not a nucleotide: bases are A, C, G, T, N "
            "(other IUPAC codes are read as N)",
            line=line,
            hint="colour-space reads, alignments ('-', '*') and '.' for an unknown base are not FASTQ reads; "
            "write N for an unknown base, or export the reads again",
        )
    n = len(_IUPAC_OTHER.findall(upper))
    if n:
        report.iupac_bases_to_n += n
        return upper.translate(_TO_N)
    return upper


def _encoding(probes: list[tuple[str | Path, list[Record]]], phred64: str, notes: list[str]) -> str:
    """``Phred+33`` or ``Phred+64`` (to convert) from the first records of every file of the pair.

    Both mates come from one run, so the files are judged together: a quality below ';' in
    either makes both Phred+33. Phred+64 not to be converted and Solexa+64 raise here.
    """
    quals = [r[3] for _path, probe in probes for r in probe if r[3]]
    if not quals:
        return "Phred+33"
    low, high = min(min(q) for q in quals), max(max(q) for q in quals)
    if low < ";" or high < "L":
        if low >= "@":
            notes.append(
                f"every quality in the first {len(quals)} records lies between '@' and 'K': read as Phred+33 "
                "(Q31-Q42); as Phred+64 they would be Q0-Q11"
            )
        return "Phred+33"
    path, witness = next((path, r) for path, probe in probes for r in probe if r[3] and max(r[3]) >= "L")
    kind = "Phred+64" if low >= "@" else "Solexa+64"
    if kind == "Phred+64" and phred64 == "convert":
        return kind
    if kind == "Phred+64":
        what = "the qualities are Phred+64 (Illumina 1.3-1.7), not Phred+33"
        todo = (
            "set 'reads: {phred64: convert}' in the config to convert them to Phred+33, or convert the file "
            "('seqtk seq -Q64 -V FILE')"
        )
    else:
        what = "the qualities are Solexa+64 (Illumina pipeline before 1.3), not Phred+33"
        todo = "convert the file to Phred+33 (Biopython: SeqIO.convert(FILE, 'fastq-solexa', OUT, 'fastq'))"
    raise InputError(
        str(path),
        f"{what}: no quality in the first {len(quals)} records is below ';' and this record's quality line "
        f"{witness[3][:30]!r} reaches {max(witness[3])!r}; read as Phred+33 they would be wrong",
        line=witness[0] + 3,
        hint=todo,
    )


def _decoded(path: str | Path, records: Iterator[Record], kind: str) -> Iterator[Record]:
    """The records with Phred+64 qualities checked and converted (Phred+33 pass through)."""
    if kind == "Phred+33":
        yield from records
        return
    for first, name, seq, qual in records:
        low = _NOT_PHRED64.search(qual)
        if low:
            raise InputError(
                str(path),
                f"quality character {low.group()!r} is below the Phred+64 range that the first reads showed",
                line=first + 3,
                hint="the file mixes quality encodings; export it again",
            )
        yield first, name, seq, qual.translate(_PHRED64_TO_33)


def _strip_slash(name: str) -> str:
    return name[:-2] if len(name) > 2 and name[-2] == "/" and name[-1] in "12" else name


def pair_name(n1: str, n2: str) -> tuple[str, str] | None:
    """The name both mates get and the naming style, or None when they are not mates.

    >>> pair_name("r7", "r7"), pair_name("r7/1", "r7/2"), pair_name("SRR1.5.1", "SRR1.5.2")
    (('r7', 'identical'), ('r7', '/1 /2 suffixes'), ('SRR1.5', '.1 .2 suffixes (SRA)'))
    >>> pair_name("a", "b") is None
    True
    """
    s1, s2 = _strip_slash(n1), _strip_slash(n2)
    if s1 == s2:
        return s1, ("identical" if n1 == n2 else "/1 /2 suffixes")
    if n1.endswith(".1") and n2.endswith(".2") and n1[:-2] == n2[:-2] and len(n1) > 2:
        return n1[:-2], ".1 .2 suffixes (SRA)"
    return None


def _same_file(r1: str | Path, r2: str | Path) -> bool:
    try:
        return os.path.samefile(r1, r2)
    except OSError:
        return False


class FastqPairs:
    """Iterate the read pairs of ``r1`` and ``r2`` (or of one interleaved ``r1``), checked.

    Yields ``((name, seq, qual), (name, seq, qual))`` with one name for both mates, bases in
    upper case with other IUPAC codes as N, and Phred+33 qualities. ``phred64`` is ``"stop"``
    (the default) or ``"convert"``. After the iteration, :attr:`report` says what was found.

    Edge cases: two empty files give no pairs; an interleaved file with an odd number of records
    is an error; the names' comments are dropped.
    """

    def __init__(self, r1: str | Path, r2: str | Path | None = None, *, phred64: str = "stop") -> None:
        if phred64 not in PHRED64_CHOICES:
            raise ValueError(f"phred64 must be one of {sorted(PHRED64_CHOICES)}, got {phred64!r}")
        self.r1, self.r2, self.phred64 = r1, r2, phred64
        self.report = ReadsReport(layout="two files" if r2 is not None else "interleaved")
        if r2 is None:
            self.report.notes.append(
                f"{Path(r1).name} is read as one interleaved file (read 1, read 2, read 1, ...): the sheet gives no fastq2"
            )

    def _files(self) -> Iterator[tuple[Record, Record]]:
        rep = self.report
        paths = [self.r1] if self.r2 is None else [self.r1, self.r2]
        probed = []
        for path in paths:
            records = _records(path, rep)
            probe = list(islice(records, PROBE_RECORDS))
            probed.append((path, probe, chain(probe, records)))
        kind = _encoding([(path, probe) for path, probe, _ in probed], self.phred64, rep.notes)
        if kind == "Phred+64":
            rep.quality_encoding = "Phred+64, converted to Phred+33"
        it1, *rest = (_decoded(path, records, kind) for path, _, records in probed)
        if self.r2 is None:
            while True:
                a = next(it1, None)
                if a is None:
                    return
                b = next(it1, None)
                if b is None:
                    raise InputError(
                        str(self.r1),
                        f"an interleaved file must hold pairs, but record {rep.pairs * 2 + 1} (the last) has no mate",
                        line=a[0],
                        hint="give read 2 in its own file (fastq2), or export the interleaved file again",
                    )
                yield a, b
        it2 = rest[0]
        while True:
            a, b = next(it1, None), next(it2, None)
            if a is None and b is None:
                return
            if a is None or b is None:
                short, other = (self.r1, self.r2) if a is None else (self.r2, self.r1)
                raise InputError(
                    str(short),
                    f"ends after {rep.pairs} reads while its mate file {other} has more",
                    line=4 * rep.pairs + 1,
                    hint=FASTQ_FIX,
                )
            yield a, b

    def __iter__(self) -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str]]]:
        rep = self.report
        rep.pairs = 0
        if self.r2 is not None and _same_file(self.r1, self.r2):
            raise InputError(
                str(self.r2),
                f"fastq2 is the same file as fastq1 ({self.r1})",
                hint="fastq2 must be the read-2 file of the pair; for interleaved reads give fastq1 alone",
            )
        styles: set[str] = set()
        same = 0
        for a, b in self._files():
            rep.pairs += 1
            named = pair_name(a[1], b[1])
            if named is None:
                if self.r2 is None:
                    raise InputError(
                        str(self.r1),
                        f"records {2 * rep.pairs - 1} and {2 * rep.pairs} ({a[1]!r}, {b[1]!r}) are not mates: "
                        "a sample sheet row without fastq2 must name one interleaved file (read 1, read 2, read 1, ...)",
                        line=b[0],
                        hint="give read 2 in its own file (fastq2); seq2rx needs paired-end reads",
                    )
                raise InputError(
                    str(self.r2),
                    f"read {b[1]!r} does not match its mate {a[1]!r} in {self.r1} (read pair {rep.pairs})",
                    line=b[0],
                    hint=FASTQ_FIX,
                )
            name, style = named
            styles.add(style)
            if rep.pairs <= SAME_READS_PROBE and a[2:] == b[2:]:
                same += 1
            if rep.pairs == SAME_READS_PROBE and same == rep.pairs:
                self._same_reads()
            yield (name, a[2], a[3]), (name, b[2], b[3])
        rep.name_styles = sorted(styles)
        if rep.quality_encoding != "Phred+33":
            rep.notes.append(f"qualities were {rep.quality_encoding} (reads.phred64: convert)")
        if rep.iupac_bases_to_n:
            rep.notes.append(
                f"{rep.iupac_bases_to_n} bases with IUPAC codes other than N were read as N, as BWA reads them"
            )
        if 0 < rep.pairs < SAME_READS_PROBE and same == rep.pairs:
            self._same_reads()

    def _same_reads(self) -> None:
        n = min(self.report.pairs, SAME_READS_PROBE)
        where = self.r2 if self.r2 is not None else self.r1
        mates = "fastq2 holds the same reads as fastq1" if self.r2 is not None else "each read's mate is a copy of it"
        raise InputError(
            str(where),
            f"{mates} (the first {n} pairs have identical bases and qualities)",
            hint="give the read-2 file as fastq2; the same file twice aligns as 0 properly paired reads",
        )


def read_pairs(
    r1: str | Path, r2: str | Path | None = None, *, phred64: str = "stop"
) -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str]]]:
    """Yield ((name, seq, qual), (name, seq, qual)) pairs, checked (see :class:`FastqPairs`).

    Raises :class:`InputError` naming the file and line for a malformed record, a record cut
    short at the end of the file, a truncated gzip stream, mates whose names differ, files with
    different numbers of reads, Phred+64 qualities (unless converted), bases that are not
    nucleotides, and fastq2 repeating fastq1.
    """
    return iter(FastqPairs(r1, r2, phred64=phred64))


def inspect_pairs(r1: str | Path, r2: str | Path | None = None, *, phred64: str = "stop") -> ReadsReport:
    """Read the whole pair set once, checking it; return what was found."""
    pairs = FastqPairs(r1, r2, phred64=phred64)
    for _ in pairs:
        pass
    return pairs.report


def write_pairs(
    r1: str | Path, r2: str | Path | None, out1: str | Path, out2: str | Path, *, phred64: str = "stop"
) -> ReadsReport:
    """Write the checked pairs as two plain FASTQ files: one name per pair, no comments,
    upper-case bases (other IUPAC codes as N), Phred+33 qualities."""
    pairs = FastqPairs(r1, r2, phred64=phred64)
    with open(out1, "w") as f1, open(out2, "w") as f2:
        for (name, s1, q1), (_, s2, q2) in pairs:
            f1.write(f"@{name}\n{s1}\n+\n{q1}\n")
            f2.write(f"@{name}\n{s2}\n+\n{q2}\n")
    return pairs.report
