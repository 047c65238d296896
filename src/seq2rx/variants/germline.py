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
    bams: list[str | Path],
    fasta: str | Path,
    out_vcf: str | Path,
    params: CallParams,
    regions: str | Path | None = None,
    threads: int = 1,
    samples: list[str] | None = None,
) -> None:
    """Call SNVs and indels in one or more BAMs jointly and write a bgzipped, indexed VCF.

    mpileup (FORMAT AD/DP/SP, INFO AD) -> call -m -v -> norm -m -any against the reference ->
    soft filters ``LowQual`` (QUAL < min_qual) and ``LowDepth`` (INFO/DP < min_depth).
    ``samples`` names the VCF columns, one per BAM, whatever the BAMs' read groups say (a BAM
    from elsewhere keeps its own SM tag).
    """
    del threads  # mpileup and call run side by side (2 cores); the other passes are single-threaded
    Path(out_vcf).parent.mkdir(parents=True, exist_ok=True)
    with scratch_dir(out_vcf) as td:
        called = os.path.join(td, "called.bcf")
        normed = os.path.join(td, "norm.bcf")
        filt = os.path.join(td, "filtered.vcf.gz")
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
        if regions:
            args += ["-R", str(regions)]
        if samples:
            if len(samples) != len(bams):
                raise ValueError(f"{len(bams)} BAMs but {len(samples)} sample names")
            groups = os.path.join(td, "read_groups.txt")
            with open(groups, "w") as fh:
                fh.writelines(f"* {bam} {name}\n" for bam, name in zip(map(str, bams), samples, strict=True))
            args += ["-G", groups]
        # mpileup writes a record for every covered position: piped, not compressed to disk; the
        # small intermediates after it are uncompressed BCF (only the final VCF is compressed)
        pipe_bcftools(
            ("mpileup", *args, *map(str, bams)),
            ("call", "--no-version", "-m", "-v", "-a", "GQ", "-O", "u", "-o", called, "-"),
        )
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
