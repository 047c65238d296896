"""Large read pair sets split into chunks that align as separate jobs, and the chunks' BAMs
concatenated into one (as nf-core/sarek's ``split_fastq`` does), with the same records as one job.

Why the chunks end where they do: :func:`~seq2rx.reads.align.align_unsorted` hands BWA-MEM its reads
in batches of a fixed number of bases (BWA's ``-K``), and what BWA-MEM does depends on the batch:
it estimates the insert-size distribution from each batch (for mate rescue and pairing), breaks
ties between equally good hits with a hash of the read's index within the batch, and seq2rx sets
the proper-pair flag from each batch's insert sizes (:func:`~seq2rx.reads.align.set_pair_flags`).
A chunk is therefore a whole number of those batches, counted as ``align._batches`` counts them (a
batch ends once its read 1 and read 2 bases reach the batch size; reading a record never changes
its length): chunk ``k`` ends at the first batch boundary at which it holds at least
``pairs_per_chunk`` pairs. Aligned alone, each chunk then sees exactly the batches the unsplit run
saw, and its records are the same bytes. minimap2 keeps no state between reads (its tie-breaking
hash is seeded by the read's name and length), so the same chunks serve it too.

The input is the trimmed pair cutadapt wrote from reads seq2rx had checked, so the split copies
each four-line record's bytes as they are, checking only that both files end together after whole
records; the alignment job reads each chunk with :func:`~seq2rx.reads.fastq.read_pairs` as it would
read the whole pair. Chunks are gzip level 1 (scratch files; isal's threaded gzip when
installed). Memory holds one batch, whatever the input's size.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.reads.align import BATCH_BASES
from seq2rx.reads.fastq import compression

#: a chunk's files in its folder: ``0000_R1.fastq.gz``, ``0000_R2.fastq.gz``, ``0001_R1.fastq.gz``...
CHUNK_FILE = "{chunk}_R{mate}.fastq.gz"


def chunk_name(k: int) -> str:
    """The name of chunk ``k`` (0-based): four digits or more, so names sort as numbers up to 9,999."""
    return f"{k:04d}"


def _isal():
    """isal's threaded gzip (cutadapt's choice) when installed: decompression and compression run
    in their own threads at about three times zlib's speed; else None, and the standard library's
    gzip. The chunks' compressed bytes differ between the two, their records do not."""
    try:
        from isal import igzip_threaded

        return igzip_threaded
    except ImportError:  # pragma: no cover - isal comes with cutadapt
        return None


def _reader(path: str | Path):
    if compression(path) != "gzip":
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    isal = _isal()
    return isal.open(path, "rb", threads=1) if isal else gzip.open(path, "rb")


def _writer(path: Path):
    # level 1: the chunks live only until their alignment
    isal = _isal()
    if isal:
        return isal.open(path, "wb", compresslevel=1, threads=1)
    # no timestamp or name in the header: the same bytes each run
    return gzip.GzipFile(filename="", mode="wb", fileobj=open(path, "wb"), compresslevel=1, mtime=0)  # noqa: SIM115


def split_pairs(
    r1: str | Path,
    r2: str | Path,
    outdir: str | Path,
    *,
    pairs_per_chunk: int,
    batch_bases: int = BATCH_BASES,
) -> list[int]:
    """Split a read pair set into chunks of whole alignment batches; return the pairs per chunk.

    Chunk ``k`` is written as ``outdir/<chunk_name(k)>_R1.fastq.gz`` and ``..._R2.fastq.gz``; it
    ends at the first batch boundary (batches of ``batch_bases`` bases, as the aligner reads them)
    at which it holds ``pairs_per_chunk`` pairs or more, so a chunk is never smaller than one batch
    except the last. ``outdir`` appears complete or not at all (it must not exist yet, or be empty).

    Edge cases: an empty pair set gives one empty chunk (so a merge always has an input, and the
    aligned chunk is a header-only BAM like the unsplit run's); files with different numbers of
    records, or one ending inside a record, raise :class:`~seq2rx.core.errors.InputError`.
    """
    if pairs_per_chunk < 1:
        raise ValueError(f"pairs_per_chunk must be 1 or more, got {pairs_per_chunk!r}")
    if batch_bases < 1:
        raise ValueError(f"batch_bases must be 1 or more, got {batch_bases!r}")
    outdir = Path(outdir)
    if outdir.exists() and any(outdir.iterdir()):
        raise FileExistsError(f"{outdir} already holds files; the chunks go into a new folder")
    with atomic_output(outdir) as tmp:
        tmp.mkdir()
        try:
            counts = _write_chunks(r1, r2, tmp, pairs_per_chunk, batch_bases)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return counts


def _records(fh) -> Iterator[tuple[bytes, bytes, bytes, bytes]]:
    # strict: a file that ends inside a record raises ValueError
    return zip(fh, fh, fh, fh, strict=True)


def _write_chunks(r1, r2, folder: Path, pairs_per_chunk: int, batch_bases: int) -> list[int]:
    """Copy the records, four lines each, into chunks; a batch ends where ``align._batches`` ends
    one: once its bases (read 1's and read 2's, line ends not counted) reach ``batch_bases``."""
    counts: list[int] = []
    out: list = []
    batch1: list[bytes] = []
    batch2: list[bytes] = []
    pairs = bases = 0

    def flush() -> None:
        nonlocal pairs, bases
        if counts and counts[-1] >= pairs_per_chunk and pairs:
            _close(out)
        if not out:
            name = chunk_name(len(counts))
            counts.append(0)
            out.extend(_writer(folder / CHUNK_FILE.format(chunk=name, mate=m)) for m in (1, 2))
        out[0].write(b"".join(batch1))
        out[1].write(b"".join(batch2))
        counts[-1] += pairs
        batch1.clear()
        batch2.clear()
        pairs = bases = 0

    with _reader(r1) as f1, _reader(r2) as f2:
        try:
            for a, b in zip(_records(f1), _records(f2), strict=True):
                batch1.extend(a)
                batch2.extend(b)
                pairs += 1
                bases += len(a[1].rstrip(b"\r\n")) + len(b[1].rstrip(b"\r\n"))
                if bases >= batch_bases:
                    flush()
            flush()
        except ValueError:
            raise InputError(
                str(r2),
                f"does not hold as many reads as {r1}, or one of them ends inside a record "
                f"(after {sum(counts) + pairs} read pairs)",
                hint="R1 and R2 must hold the same reads in the same order, 4 lines each: trim them again",
            ) from None
        finally:
            _close(out)
    return counts


def _close(out: list) -> None:
    while out:
        fh = out.pop(0)
        raw = getattr(fh, "fileobj", None)  # the standard library's GzipFile leaves its file open
        fh.close()
        if raw is not None:
            raw.close()


def chunk_bam_headers_agree(bams: Sequence[str | Path]) -> None:
    """Raise ValueError unless every chunk BAM has the first one's header (the same contigs,
    read group and program line): concatenating them must give the unsplit run's header."""
    first = None
    for bam in bams:
        with pysam.AlignmentFile(str(bam), "rb", check_sq=False) as fh:
            header = str(fh.header)
        if first is None:
            first = header
        elif header != first:
            raise ValueError(
                f"{bam} has another header than {bams[0]}: the chunks of one sample were aligned with "
                "different settings (aligner, index, platform); align them again"
            )


def merge_chunk_bams(bams: Sequence[str | Path], out_bam: str | Path) -> None:
    """Concatenate chunk BAMs, in the order given, into ``out_bam`` (``samtools cat``: the
    compressed blocks are copied, not recompressed; no @PG line is added). The records and the
    header are those of one job aligning all the chunks' reads; the BGZF block boundaries differ.
    """
    if not bams:
        raise ValueError("no chunk BAMs to merge")
    chunk_bam_headers_agree(bams)
    with atomic_output(out_bam) as tmp:
        pysam.samtools.cat("--no-PG", "-o", str(tmp), *map(str, bams), catch_stdout=False)
        if not os.path.exists(tmp):
            raise RuntimeError(f"samtools cat wrote no {out_bam}")
