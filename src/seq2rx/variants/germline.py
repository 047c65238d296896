"""Variant calling with bcftools (through pysam): mpileup | call, norm, soft filters, index.

Headers carry no absolute paths and no tool command lines (``--no-version``), so the same
inputs give the same bytes wherever the workflow runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

from seq2rx.core.io import atomic_output, scratch_dir
from seq2rx.variants.bcftools import clean_header, pipe_bcftools, run_bcftools

#: how far before an interval mpileup starts reading when the interval is a tile of a whole genome
#: cut inside sequence: mpileup's partial BAQ and indel calling at a position depend on the columns
#: before it that the position's reads cover, so it must start at least a read's length earlier
#: to see them as the unscattered caller does (bases; reads longer than this are not short reads)
READ_REACH = 1000


def widened_regions(regions: str | Path, margin: int, out_bed: str | Path) -> None:
    """``regions`` (a BED) with each region started ``margin`` bases earlier (not before 0)."""
    rows = []
    with open(regions) as fh:
        for line in fh:
            c, s, e = line.split("\t")[:3]
            rows.append(f"{c}\t{max(0, int(s) - margin)}\t{int(e)}\n")
    Path(out_bed).write_text("".join(rows))


@dataclass(frozen=True)
class CallParams:
    min_mapq: int = 20
    min_baseq: int = 13
    max_depth: int = 10000
    min_qual: float = 20
    min_depth: int = 8

    @classmethod
    def from_config(cls, calling: dict) -> CallParams:
        """The parameters of the config's ``calling`` section (its other keys are not the caller's)."""
        return cls(**{f.name: calling[f.name] for f in fields(cls)})


def call_variants(
    bams: list[str | Path], fasta: str | Path, out_vcf: str | Path, params: CallParams, **options
) -> None:
    """Call SNVs and indels in one or more BAMs jointly and write a bgzipped, indexed VCF.

    mpileup (FORMAT AD/DP/SP, INFO AD) -> call -m -v -> norm -m -any against the reference ->
    soft filters ``LowQual`` (QUAL < min_qual) and ``LowDepth`` (INFO/DP < min_depth).
    ``options`` are :func:`pileup_call`'s: ``samples`` names the VCF columns, one per BAM,
    whatever the BAMs' read groups say (a BAM from elsewhere keeps its own SM tag); ``regions``
    (a BED) restricts calling to its regions; ``threads``. The same as :func:`pileup_call` over
    each interval then :func:`gather_calls` of the parts.
    """
    with scratch_dir(f"{out_vcf}.called") as td:
        called = os.path.join(td, "called.bcf")
        pileup_call(bams, fasta, called, params, **options)
        gather_calls([called], fasta, out_vcf, params, threads=options.get("threads", 1))


def pileup_call(
    bams: list[str | Path],
    fasta: str | Path,
    out_bcf: str | Path,
    params: CallParams,
    regions: str | Path | None = None,
    threads: int = 1,
    samples: list[str] | None = None,
    margin: int = 0,
) -> None:
    """mpileup | call -m -v of one interval (``regions``, a BED; the whole genome without it) into
    a BCF that :func:`gather_calls` joins with the other intervals' in order.

    mpileup reports only the positions inside the regions, from every read that overlaps them (a
    read across two intervals is read by both), and an indel at the position before it (VCF's
    anchor base), so the intervals of a tiling together report each position exactly once.
    Left-alignment, which may move an indel across an interval's edge, is left to the gather.
    With ``margin`` (a tile of the genome cut inside sequence: :data:`READ_REACH`), mpileup starts
    that many bases before each region and the records before it are dropped, so that the
    records kept are those of the unscattered caller; the regions of exomes and panels are the
    unscattered caller's own and need none.
    """
    del threads  # mpileup and call run side by side (2 cores)
    Path(out_bcf).parent.mkdir(parents=True, exist_ok=True)
    with scratch_dir(out_bcf) as td:
        args = [
            "--no-version",
            "-f",
            str(fasta),
            "-a",
            "FORMAT/AD,FORMAT/DP,FORMAT/SP,INFO/AD",
            "-q",
            str(params.min_mapq),
            "-Q",
            str(params.min_baseq),
            "-d",
            str(params.max_depth),
            "-O",
            "u",
        ]
        if regions and margin:
            wide = os.path.join(td, "wide.bed")
            widened_regions(regions, margin, wide)
            args += ["-R", wide]
        elif regions:
            args += ["-R", str(regions)]
        if samples:
            if len(samples) != len(bams):
                raise ValueError(f"{len(bams)} BAMs but {len(samples)} sample names")
            groups = os.path.join(td, "read_groups.txt")
            with open(groups, "w") as fh:
                fh.writelines(f"* {bam} {name}\n" for bam, name in zip(map(str, bams), samples, strict=True))
            args += ["-G", groups]
        # mpileup writes a record for every covered position: piped into call, never written; the
        # interval's calls are small, uncompressed BCF (only the gathered VCF is compressed)
        with atomic_output(out_bcf) as tmp:
            called = os.path.join(td, "called.bcf") if regions and margin else str(tmp)
            pipe_bcftools(
                ("mpileup", *args, *map(str, bams)),
                ("call", "--no-version", "-m", "-v", "-a", "GQ", "-O", "u", "-o", called, "-"),
            )
            if called != str(tmp):  # only the records of the interval itself (-T: by POS)
                run_bcftools("view", "--no-version", "-T", str(regions), "-O", "u", "-o", str(tmp), called)


def gather_calls(
    parts: list[str | Path], fasta: str | Path, out_vcf: str | Path, params: CallParams, threads: int = 1
) -> None:
    """Join the intervals' calls (:func:`pileup_call`, in interval order), then norm -m -any against
    the reference, the soft filters and the index: one VCF, the same bytes however many parts.

    Normalising after the join sees every record in genome order, as the unscattered caller
    does, so an indel left-aligned across an interval's edge lands where it would have.
    """
    t = str(max(1, threads))
    Path(out_vcf).parent.mkdir(parents=True, exist_ok=True)
    with scratch_dir(out_vcf) as td:
        if len(parts) == 1:
            called = str(parts[0])
        else:
            called = os.path.join(td, "called.bcf")
            run_bcftools("concat", "--no-version", "--threads", t, "-O", "u", "-o", called, *map(str, parts))
        normed = os.path.join(td, "norm.bcf")
        filt = os.path.join(td, "filtered.vcf.gz")
        run_bcftools("norm", "--no-version", "-f", str(fasta), "-m", "-any", "-O", "u", "-o", normed, called)
        run_bcftools(
            "filter",
            "--no-version",
            "-s",
            "LowQual",
            "-m",
            "+",
            "-e",
            f"QUAL<{params.min_qual:g}",
            "-O",
            "u",
            "-o",
            filt + ".q.bcf",
            normed,
        )
        run_bcftools(
            "filter",
            "--no-version",
            "-s",
            "LowDepth",
            "-m",
            "+",
            "-e",
            f"INFO/DP<{params.min_depth}",
            "-O",
            "z",
            "-o",
            filt,
            filt + ".q.bcf",
        )
        with atomic_output(out_vcf) as tmp:
            clean_header(filt, tmp)
            run_bcftools("index", "-t", "-o", str(tmp) + ".tbi", str(tmp))
            os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")


def subset_sample(joint_vcf: str | Path, sample: str, out_vcf: str | Path) -> None:
    """One sample's non-reference genotypes from a joint VCF, bgzipped and indexed."""
    with atomic_output(out_vcf) as tmp:
        run_bcftools("view", "--no-version", "-s", sample, "-c", "1", "-O", "z", "-o", str(tmp), str(joint_vcf))
        run_bcftools("index", "-t", "-o", str(tmp) + ".tbi", str(tmp))
        os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")


def bcftools_stats(vcf: str | Path, fasta: str | Path, out: str | Path) -> None:
    with atomic_output(out) as tmp:
        text = pysam.bcftools.stats("-F", str(fasta), "-s", "-", str(vcf))
        # the command line and file paths make the output differ between machines
        lines = [line for line in text.splitlines() if not line.startswith("# The command")]
        Path(tmp).write_text("\n".join(lines) + "\n")
