"""A first look at every input file, before any reader opens it: the problems a file system hands
over by mistake (a missing file, a folder, an empty file, binary bytes in a text file, a gzip that
is not one, a VCF that is not bgzipped, a file of another format) stop here with one ``seq2rx:``
line naming the file, what is wrong and what to do, instead of as a library's traceback.

What is looked at follows the file's name, as htslib and the readers go by it too:

* ``.gz`` / ``.bgz``: gzip's magic bytes; ``.vcf.gz``, ``.bcf``, ``.bam`` and a gzipped FASTA must
  be bgzip (BGZF, as htslib needs to index and seek: ``samtools faidx`` refuses plain gzip too) and
  start like their format (``##fileformat=VCF``, ``BCF``, ``BAM\\1``, ``>``); a plain ``.vcf`` or
  FASTA starts like its format too;
* text (``.json``, ``.tsv``, ``.txt``, ``.bed``, ``.yaml``, ``.vcf``, ``.gff3``, FASTA, ``.sql``,
  ...): UTF-8 in its first MiB (a reader sees any later byte), and ``.json`` parses;
* formats that cannot be empty (``.json``, ``.yaml``, VCF, BCF, BAM, FASTA) are not.

Everything deeper (records, fields, values) is each reader's own check.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterable
from pathlib import Path

from seq2rx.core.errors import InputError, file_problem

#: how much of a text file is checked for UTF-8 (a reader sees the rest)
TEXT_PREFIX = 1 << 20
TEXT_SUFFIXES = (".json", ".tsv", ".txt", ".csv", ".bed", ".yaml", ".yml", ".vcf", ".gff3", ".gff", ".gtf",
                 ".fa", ".fasta", ".fna", ".fai", ".sql", ".tab", ".list")  # fmt: skip
NOT_EMPTY = (".json", ".yaml", ".yml", ".vcf", ".vcf.gz", ".bcf", ".bam", ".fa", ".fasta", ".fa.gz", ".fasta.gz")
#: (suffix, what the decompressed data starts with, the format's name)
BGZF_FORMATS = ((".vcf.gz", b"##fileformat=VCF", "VCF"), (".bcf", b"BCF", "BCF"), (".bam", b"BAM\x01", "BAM"),
                (".fa.gz", b">", "FASTA"), (".fasta.gz", b">", "FASTA"), (".fna.gz", b">", "FASTA"))  # fmt: skip
#: (suffix, what the file starts with, the format's name) of plain text formats
TEXT_FORMATS = ((".vcf", "##fileformat=VCF", "VCF"), (".fa", ">", "FASTA"), (".fasta", ">", "FASTA"),
                (".fna", ">", "FASTA"))  # fmt: skip
GZIP_MAGIC = b"\x1f\x8b"


#: FASTQ names: compression, encoding and records are the FASTQ reader's to check
FASTQ_SUFFIXES = tuple(f"{stem}{ext}" for stem in (".fq", ".fastq") for ext in ("", ".gz", ".bz2", ".xz", ".zst"))


def _is_bgzf(head: bytes) -> bool:
    """bgzip's block header: gzip with FEXTRA and a ``BC`` subfield (SAM/BAM specification 4.1)."""
    return len(head) >= 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"


def _first_block(path: Path) -> bytes:
    """The first bytes of a gzip file's content ('' when it cannot be read that far)."""
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(64)
    except (OSError, EOFError, zlib.error):
        return b""


def check_input(path: str | os.PathLike, *, plain_gzip_vcf: bool = False) -> None:
    """Raise :class:`InputError` for the problems listed in the module's docstring; return
    quietly for a file that passes (or a name this check knows nothing about). With
    ``plain_gzip_vcf`` a ``.vcf.gz`` may be plain gzip (for readers that do not use htslib)."""
    path = Path(path)
    name = path.name.lower()
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        if path.exists() and not path.is_file():
            return  # a pipe or a device: reading ahead would take data from its reader
        with open(path, "rb") as fh:
            head = fh.read(TEXT_PREFIX)
    except OSError as exc:
        raise (file_problem(exc) or InputError(str(path), f"cannot be read: {exc.strerror or exc}")) from None
    if name.endswith(FASTQ_SUFFIXES):
        return  # the FASTQ reader reads compression from the bytes and says more (seq2rx.reads.fastq)
    if not head:
        if name.endswith(NOT_EMPTY):
            raise InputError(str(path), "is empty", hint="the step that wrote it failed, or the path is wrong")
        return
    for suffix, start, fmt in BGZF_FORMATS:
        if name.endswith(suffix):
            if not _is_bgzf(head) and not (plain_gzip_vcf and fmt == "VCF" and head.startswith(GZIP_MAGIC)):
                if head.startswith(GZIP_MAGIC):
                    raise InputError(str(path), f"is plain gzip, not bgzip, which a compressed {fmt} must be",
                                     hint="decompress it and compress it again with bgzip")  # fmt: skip
                raise InputError(str(path), f"is not bgzip-compressed, which a {fmt} file named so must be",
                                 hint=f"is it a {fmt} file? compress one with bgzip")  # fmt: skip
            if not _first_block(path).startswith(start):
                raise InputError(str(path), f"does not start like a {fmt} file", hint=f"is it a {fmt} file?")
            return
    if name.endswith((".gz", ".bgz")):
        if not head.startswith(GZIP_MAGIC):
            raise InputError(str(path), "is named .gz but is not gzip-compressed",
                             hint="compress it with gzip or bgzip, or drop the .gz from its name")  # fmt: skip
        return
    if name.endswith(TEXT_SUFFIXES):
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if len(head) == TEXT_PREFIX and exc.start >= TEXT_PREFIX - 4:  # a character cut at the prefix's end
                return
            line = head[: exc.start].count(b"\n") + 1
            what = "binary data" if b"\0" in head[:4096] or head.startswith(GZIP_MAGIC) else "text that is not UTF-8"
            raise InputError(str(path), f"holds {what} (byte 0x{head[exc.start]:02x} at offset {exc.start})", line=line,
                             hint="save it as UTF-8 text") from None  # fmt: skip
        for suffix, start, fmt in TEXT_FORMATS:
            if name.endswith(suffix) and not text.startswith(start):
                raise InputError(str(path), f"does not start like a {fmt} file ({start!r})", line=1,
                                 hint=f"is it a {fmt} file?")  # fmt: skip
        if name.endswith(".json") and len(head) < TEXT_PREFIX:
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                hint = "the step that wrote it failed, or it is another kind of file"
                problem = f"is not valid JSON: {exc.msg} (column {exc.colno})"
                raise InputError(str(path), problem, line=exc.lineno, hint=hint) from None


def check_inputs(paths: Iterable) -> None:
    """:func:`check_input` on every path in ``paths`` (strings, paths, or lists of them, as
    Snakemake's ``input`` holds them)."""
    for item in paths:
        if isinstance(item, (list, tuple)):
            check_inputs(item)
        elif item:
            check_input(item)
