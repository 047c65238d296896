"""FASTQ pairs: read R1 and R2 together, checking each record's structure and the pairing."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from seq2rx.core.errors import InputError


def _open_text(path: str | Path):
    return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)


FASTQ_FIX = "R1 and R2 must hold the same reads in the same order: export both files again from the same run"


def read_pairs(r1: str | Path, r2: str | Path) -> Iterator[tuple[tuple[str, str, str], tuple[str, str, str]]]:
    """Yield ((name, seq, qual), (name, seq, qual)) pairs, checking FASTQ structure and pairing.

    Raises :class:`InputError` naming the file and line for a malformed record, a record cut
    short at the end of the file, a truncated gzip stream, mates whose names differ, or files
    with different numbers of reads.
    """

    def records(path: str | Path) -> Iterator[tuple[int, str, str, str]]:
        lineno = 0  # the last line read completely
        try:
            with _open_text(path) as fh:
                while True:
                    head = fh.readline()
                    if not head:
                        return
                    first = lineno + 1
                    seq, plus, qual = fh.readline(), fh.readline(), fh.readline()
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
                    if not plus.startswith("+"):
                        raise InputError(
                            str(path),
                            f"expected a '+' separator line, found {plus[:20].rstrip()!r}",
                            line=first + 2,
                            hint="each record is 4 lines: @name, bases, +, qualities",
                        )
                    seq, qual = seq.rstrip("\r\n"), qual.rstrip("\r\n")
                    if len(seq) != len(qual):
                        raise InputError(
                            str(path),
                            f"sequence has {len(seq)} bases but quality has {len(qual)}",
                            line=first + 1,
                            hint="every base needs one quality character; the record is damaged",
                        )
                    lineno += 4
                    yield first, head[1:].split()[0], seq, qual
        except (EOFError, gzip.BadGzipFile, OSError, UnicodeDecodeError, zlib.error) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                str(path),
                f"the gzip stream is truncated or corrupt from here on ({exc})",
                line=lineno + 1,
                hint="copy or download the file again; 'gzip -t FILE' confirms the repair",
            ) from None

    def base(name: str) -> str:
        return name[:-2] if name.endswith(("/1", "/2")) else name

    it1, it2 = records(r1), records(r2)
    n = 0
    while True:
        a = next(it1, None)
        b = next(it2, None)
        if a is None and b is None:
            return
        if a is None or b is None:
            short, other = (r1, r2) if a is None else (r2, r1)
            raise InputError(
                str(short),
                f"ends after {n} reads while its mate file {other} has more",
                line=4 * n + 1,
                hint=FASTQ_FIX,
            )
        n += 1
        if base(a[1]) != base(b[1]):
            raise InputError(
                str(r2),
                f"read {b[1]!r} does not match its mate {a[1]!r} in {r1} (read pair {n})",
                line=b[0],
                hint=FASTQ_FIX,
            )
        yield (a[1], a[2], a[3]), (b[1], b[2], b[3])
