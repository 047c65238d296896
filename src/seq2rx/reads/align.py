"""Read alignment: BWA-MEM (pybwa) or minimap2 (pyminimap2), then samtools through pysam.

The aligners run in-process on the reference's islands (:mod:`seq2rx.genome.reference`); every record
is lifted back onto the real contigs before it is written. Duplicate marking follows the samtools
recipe (``fixmate -m`` on name-grouped records, ``sort``, ``markdup``).

Output does not depend on the thread count: reads go to BWA in batches of a fixed number of
bases (BWA's ``-K``), minimap2 keeps input order, and samtools sorting is stable.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, scratch_dir
from seq2rx.genome.reference import IslandMap
from seq2rx.reads.fastq import read_pairs, write_pairs
from seq2rx.reads.index import build_workflow_index, lift_map_of, load_bwa_index, resolve_lift_map

ALIGNERS = ("bwa", "minimap2")
BATCH_BASES = 10_000_000


def aligner_version(aligner: str) -> str:
    from importlib.metadata import version

    return {"bwa": f"pybwa {version('pybwa')}", "minimap2": f"pyminimap2 {version('pyminimap2')}"}[aligner]


def build_index(fasta: str | Path, outdir: str | Path, aligner: str, min_gap: int = 1000) -> Path:
    """Build the workflow's index under ``outdir`` (:func:`seq2rx.reads.index.build_workflow_index`:
    the islands of a mostly-N reference, else the whole FASTA) with its lift map.

    Returns what the aligner opens: the BWA prefix ``outdir/ref``, or ``outdir/ref.mmi``.
    """
    build_workflow_index(fasta, outdir, aligner, min_gap=min_gap)
    return Path(outdir) / ("ref.mmi" if aligner == "minimap2" else "ref")


def lifted_header(imap: IslandMap, sample: str, platform: str, program: str) -> pysam.AlignmentHeader:
    return pysam.AlignmentHeader.from_dict(
        {
            "HD": {"VN": "1.6", "SO": "unsorted"},
            "SQ": [{"SN": name, "LN": length} for name, length in imap.contigs.items()],
            "RG": [{"ID": sample, "SM": sample, "LB": sample, "PL": platform}],
            "PG": [{"ID": "seq2rx-align", "PN": "seq2rx", "VN": program}],
        }
    )


class _Lifter:
    """Move records from island coordinates onto the real contigs."""

    def __init__(self, imap: IslandMap, island_names: list[str]) -> None:
        tid = {name: k for k, name in enumerate(imap.contigs)}
        self.by_tid = [(tid[imap.islands[n][0]], imap.islands[n][1]) for n in island_names]
        self.names = {n: imap.islands[n] for n in island_names}
        self.identity = all(imap.islands[n] == (n, 0) for n in island_names) and list(imap.contigs) == island_names

    def _tag(self, value: str) -> str:
        # SA: "rname,pos,strand,CIGAR,mapQ,NM;"  XA: "rname,+-pos,CIGAR,NM;"
        out = []
        for item in value.split(";"):
            if not item:
                continue
            fields = item.split(",")
            contig, offset = self.names[fields[0]]
            fields[0] = contig
            if fields[1][0] in "+-":
                fields[1] = f"{fields[1][0]}{int(fields[1][1:]) + offset}"
            else:
                fields[1] = str(int(fields[1]) + offset)
            out.append(",".join(fields))
        return ";".join(out) + ";"

    def __call__(self, rec: pysam.AlignedSegment) -> None:
        if self.identity:
            return
        if rec.reference_id >= 0:
            tid, off = self.by_tid[rec.reference_id]
            pos = rec.reference_start
            rec.reference_id = tid
            rec.reference_start = pos + off
        if rec.next_reference_id >= 0:
            tid, off = self.by_tid[rec.next_reference_id]
            pos = rec.next_reference_start
            rec.next_reference_id = tid
            rec.next_reference_start = pos + off
        for tag in ("SA", "XA"):
            if rec.has_tag(tag):
                rec.set_tag(tag, self._tag(rec.get_tag(tag)), value_type="Z")


def proper_pair_bounds(tlens: list[int]) -> tuple[int, int]:
    """Insert sizes that count as proper, as BWA-MEM derives them: quartiles -/+ 3 IQR."""
    if len(tlens) < 10:
        return 1, 10_000
    q1, q3 = (float(x) for x in np.percentile(tlens, [25, 75]))
    iqr = q3 - q1
    return max(1, int(q1 - 3 * iqr + 0.499)), int(q3 + 3 * iqr + 0.499)


def set_pair_flags(results: list[list[pysam.AlignedSegment]]) -> None:
    """Set first/second-in-pair and proper-pair flags on interleaved pybwa results.

    pybwa 2.3 pairs the mates (mate position, strand and TLEN are set) but its records carry
    neither 0x40/0x80 nor 0x2, and downstream tools (fixmate, markdup, mpileup's anomalous-pair
    filter) rely on them. ``results[2i]`` holds read 1's records and ``results[2i + 1]`` read 2's.
    """

    def primary(recs: list[pysam.AlignedSegment]) -> pysam.AlignedSegment | None:
        return next((r for r in recs if not r.is_secondary and not r.is_supplementary), None)

    pairs = []
    tlens = []
    for k in range(0, len(results) - 1, 2):
        for rec in results[k]:
            rec.flag = (rec.flag | 0x41) & ~0x80
        for rec in results[k + 1]:
            rec.flag = (rec.flag | 0x81) & ~0x40
        a, b = primary(results[k]), primary(results[k + 1])
        pairs.append((a, b))
        if a is None or b is None or a.is_unmapped or b.is_unmapped:
            continue
        if a.reference_id == b.reference_id and a.is_reverse != b.is_reverse and a.template_length:
            fwd, rev = (a, b) if not a.is_reverse else (b, a)
            if fwd.reference_start <= rev.reference_end:
                tlens.append(abs(a.template_length))
    low, high = proper_pair_bounds(tlens)
    for a, b in pairs:
        if a is None or b is None or a.is_unmapped or b.is_unmapped:
            continue
        fwd, rev = (a, b) if not a.is_reverse else (b, a)
        proper = (
            a.reference_id == b.reference_id
            and a.is_reverse != b.is_reverse
            and fwd.reference_start <= rev.reference_end
            and low <= abs(a.template_length) <= high
        )
        for rec in (a, b):
            rec.is_proper_pair = proper


def _batches(r1: str | Path, r2: str | Path, batch_bases: int) -> Iterator[list[pysam.FastxRecord]]:
    batch: list[pysam.FastxRecord] = []
    bases = 0
    for a, b in read_pairs(r1, r2):
        batch.append(pysam.FastxRecord(name=a[0], sequence=a[1], quality=a[2]))
        batch.append(pysam.FastxRecord(name=b[0], sequence=b[1], quality=b[2]))
        bases += len(a[1]) + len(b[1])
        if bases >= batch_bases:
            yield batch
            batch, bases = [], 0
    if batch:
        yield batch


def align_unsorted(
    r1: str | Path,
    r2: str | Path,
    index_fasta: str | Path,
    out_bam: str | Path,
    sample: str,
    aligner: str = "bwa",
    threads: int = 1,
    platform: str = "ILLUMINA",
    batch_bases: int = BATCH_BASES,
    *,
    fasta: str | Path | None = None,
) -> int:
    """Align a read pair set; write name-grouped BAM on real contigs. Returns records written.

    ``index_fasta`` is what the aligner opens: a BWA prefix or a minimap2 ``.mmi``. An index the
    workflow built has its lift map beside it (``ref.lift.tsv``); any other index is used as it
    is, with the identity lift, after its contigs are checked against ``fasta``'s ``.fai``.
    """
    if aligner not in ALIGNERS:
        raise ValueError(f"aligner must be one of {sorted(ALIGNERS)}, got {aligner!r}")
    index_fasta = Path(index_fasta)
    imap = lift_map_of(index_fasta, aligner, resolve_lift_map(index_fasta), fasta)
    header = lifted_header(imap, sample, platform, aligner_version(aligner))
    n = 0
    with atomic_output(out_bam) as tmp, pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
        if aligner == "bwa":
            from pybwa import BwaMem, BwaMemOptions

            index = load_bwa_index(index_fasta)
            bwa = BwaMem(index=index)
            lift = _Lifter(imap, list(index.header.references))
            opt = BwaMemOptions(interleaved_paired_end=True, threads=threads, chunk_size=batch_bases)
            opt.finalize()
            for batch in _batches(r1, r2, batch_bases):
                results = bwa.align(batch, opt)
                set_pair_flags(results)
                for hits in results:
                    for rec in hits:
                        lift(rec)
                        rec.set_tag("RG", sample, value_type="Z")
                        out.write(rec)
                        n += 1
        else:
            n = _minimap2(r1, r2, index_fasta, imap, out, sample, threads)
    return n


def _minimap2(r1, r2, index_fasta, imap, out, sample, threads) -> int:
    import pyminimap2

    n = 0
    with tempfile.TemporaryDirectory() as td:
        # minimap2 reads the checked copy: it would quietly pair up mismatched files, and it gives
        # the mates of SRA's SRR1.5.1 / SRR1.5.2 different names
        fq1, fq2 = os.path.join(td, "R1.fastq"), os.path.join(td, "R2.fastq")
        write_pairs(r1, r2, fq1, fq2)
        sam = os.path.join(td, "out.sam")
        _stdout, stderr = pyminimap2.main(["-a", "-x", "sr", "-t", str(threads), "-o", sam, str(index_fasta), fq1, fq2])
        if not os.path.exists(sam) or os.path.getsize(sam) == 0:
            raise RuntimeError(f"minimap2 failed: {stderr[-2000:]}")
        with pysam.AlignmentFile(sam, "r") as inp:
            lift = _Lifter(imap, list(inp.references))
            for rec in inp:
                if rec.is_secondary:
                    continue
                lift(rec)
                rec.set_tag("RG", sample, value_type="Z")
                out.write(rec)
                n += 1
    return n


def sort_markdup(unsorted_bam: str | Path, out_bam: str | Path, stats: str | Path, threads: int = 1) -> None:
    """fixmate -m, coordinate sort, markdup (with stats), index: all through pysam's samtools."""
    t = str(max(1, threads))
    with scratch_dir(out_bam) as td:
        fixed = os.path.join(td, "fixmate.bam")
        srt = os.path.join(td, "sorted.bam")
        pysam.samtools.fixmate("--no-PG", "-@", t, "-m", str(unsorted_bam), fixed, catch_stdout=False)
        pysam.samtools.sort("--no-PG", "-@", t, "-T", os.path.join(td, "sort"), "-o", srt, fixed, catch_stdout=False)
        with atomic_output(out_bam) as tmp:
            pysam.samtools.markdup("--no-PG", "-@", t, "-s", "-f", str(stats), srt, str(tmp), catch_stdout=False)
            pysam.samtools.index("-@", t, str(tmp), str(tmp) + ".bai", catch_stdout=False)
            os.replace(str(tmp) + ".bai", str(out_bam) + ".bai")


def check_bam_reference(bam: str | Path, fasta_contigs: dict[str, int], fasta: str | Path = "the reference") -> None:
    """Fail clearly when a BAM was aligned to a different reference (names or lengths differ).

    The message names the BAM header's ``@SQ`` line (line 1 is the first header line).
    """
    fix = f"align the reads again to {fasta}, or configure the reference the BAM was aligned to"
    with pysam.AlignmentFile(str(bam), "rb") as fh:
        header_lines = str(fh.header).splitlines()
        sq_lines = [k for k, text in enumerate(header_lines, 1) if text.startswith("@SQ")]
        for k, (name, length) in enumerate(zip(fh.references, fh.lengths, strict=True)):
            line = sq_lines[k] if k < len(sq_lines) else None
            if name not in fasta_contigs:
                other = name[3:] if name.startswith("chr") else "chr" + name
                naming = f" (the reference names it {other!r}: chr1 vs 1 naming)" if other in fasta_contigs else ""
                raise InputError(
                    str(bam),
                    f"header contig {name!r} is not in the configured reference {fasta}{naming}",
                    line=line,
                    field="@SQ SN",
                    hint=fix,
                )
            if fasta_contigs[name] != length and length != 0:
                raise InputError(
                    str(bam),
                    f"header contig {name!r} has length {length} but {fasta} says {fasta_contigs[name]}: "
                    "the BAM was aligned to a different reference or build",
                    line=line,
                    field="@SQ LN",
                    hint=fix,
                )
