"""VCFs from elsewhere: check one against the reference and its build, keep one sample, normalise."""

from __future__ import annotations

import os
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, scratch_dir
from seq2rx.genome.builds import BUILD_LENGTHS
from seq2rx.variants.bcftools import clean_header, run_bcftools


def _other_naming(contig: str) -> str:
    return contig[3:] if contig.startswith("chr") else "chr" + contig


def _header_lines(path: str | Path, startswith: str | None = None) -> int | None:
    """Number of header lines of a plain or gzipped VCF (None for BCF or unreadable text), or
    with ``startswith``, the number of the first header line that starts so."""
    import gzip

    try:
        with open(path, "rb") as raw:
            magic = raw.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            n = 0
            for line in fh:
                if not line.startswith("#"):
                    break
                n += 1
                if startswith is not None and line.startswith(startswith):
                    return n
            return n if n and startswith is None else None
    except (OSError, EOFError):
        return None


def check_input_vcf(
    vcf: str | Path, fasta: str | Path, build: str | None = None, max_checked: int = 2000
) -> str | None:
    """Check a user VCF against the reference before using it; return the sample to keep.

    Raises :class:`InputError` for an unreadable or empty VCF, no genotypes, contig names that
    do not match the reference (``chr1`` vs ``1``), a header whose contig lengths are those of
    the other build, or reference alleles that disagree with the FASTA at more than 5% of up to
    ``max_checked`` SNV positions (a VCF from the other build). Messages give the line of the
    offending record in a plain or gzipped VCF.
    """
    where = str(vcf)
    other_build = {"GRCh38": "GRCh37", "GRCh37": "GRCh38"}.get(build or "")
    build_fix = f"lift the VCF over to {build}, or call it again against the configured {build} reference"
    try:
        fh = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputError(
            where, f"cannot be read as VCF/BCF ({exc})", hint="give a VCF (plain or bgzipped) or a BCF file"
        ) from None
    header_lines = _header_lines(vcf)

    def line_of(n: int) -> int | None:
        return header_lines + n if header_lines is not None else None

    with fh, pysam.FastaFile(str(fasta)) as fa:
        ref_contigs = set(fa.references)
        samples = list(fh.header.samples)
        if "GT" not in fh.header.formats or not samples:
            raise InputError(
                where,
                "has no genotypes (FORMAT/GT with at least one sample column); a sites-only VCF cannot be used",
                line=header_lines,
                field="FORMAT/GT",
                hint="give the VCF with its sample genotype columns, as the caller wrote it",
            )
        if other_build:
            known = BUILD_LENGTHS[other_build]
            for name, contig in fh.header.contigs.items():
                if contig.length and known.get(name.removeprefix("chr")) == contig.length:
                    raise InputError(
                        where,
                        f"##contig {name} has length {contig.length}, the {other_build} length, but the "
                        f"configured build is {build}",
                        line=_header_lines(vcf, f"##contig=<ID={name},"),
                        field="##contig",
                        hint=build_fix,
                    )
        n = checked = mismatched = 0
        example = ""
        try:
            for rec in fh:
                n += 1
                if rec.chrom not in ref_contigs:
                    if _other_naming(rec.chrom) in ref_contigs:
                        raise InputError(
                            where,
                            f"uses contig name {rec.chrom!r} where the reference has {_other_naming(rec.chrom)!r}",
                            line=line_of(n),
                            field="CHROM",
                            hint="rename the contigs to the reference's names (bcftools annotate --rename-chrs)",
                        )
                    raise InputError(
                        where,
                        f"contig {rec.chrom!r} is not in the reference {Path(fasta).name}",
                        line=line_of(n),
                        field="CHROM",
                        hint="use a VCF called against the configured reference, or drop that contig",
                    )
                if checked < max_checked and len(rec.ref) == 1 and rec.ref.upper() in "ACGT":
                    checked += 1
                    base = fa.fetch(rec.chrom, rec.pos - 1, rec.pos).upper()
                    if base != rec.ref.upper() and base != "N":
                        mismatched += 1
                        if not example:
                            at = f"line {line_of(n)}, " if line_of(n) else ""
                            example = f"{at}{rec.chrom}:{rec.pos} REF {rec.ref} but the reference has {base}"
        except (OSError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                where,
                f"is malformed after record {n} ({exc})",
                line=line_of(n + 1),
                hint="check that line, or write the VCF again with bcftools view",
            ) from None
        if n == 0:
            raise InputError(
                where,
                "holds no variant records (only a header)",
                line=line_of(0),
                hint="an empty VCF cannot be analysed: check that the caller finished, or leave the sample out",
            )
        if checked >= 5 and mismatched / checked > 0.05:
            raise InputError(
                where,
                f"REF disagrees with the reference at {mismatched} of {checked} positions (first: {example}); "
                f"the VCF is probably on another genome build than the configured {build or 'one'}",
                field="REF",
                hint=build_fix if build else "use the reference the VCF was called against",
            )
    return samples[0]


def normalise_input(
    vcf: str | Path, fasta: str | Path, out_vcf: str | Path, sample: str, build: str | None = None
) -> None:
    """Check a user-provided VCF, keep one sample (``sample`` or its only one), split and normalise."""
    first = check_input_vcf(vcf, fasta, build)
    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
    keep = sample if sample in samples else first
    if sample not in samples and len(samples) > 1:
        raise InputError(
            str(vcf),
            f"has sample columns {samples} but none is called {sample!r} as in the sample sheet",
            line=_header_lines(vcf),
            field="#CHROM",
            hint=f"rename the VCF's column to {sample!r}, or keep one sample with 'bcftools view -s'",
        )
    with scratch_dir(out_vcf) as td:
        sub = os.path.join(td, "sub.bcf")
        normed = os.path.join(td, "norm.vcf.gz")
        run_bcftools("view", "--no-version", "-s", keep, "-O", "b", "-o", sub, str(vcf))
        run_bcftools("norm", "--no-version", "-f", str(fasta), "-m", "-any", "-c", "w", "-O", "z", "-o", normed, sub)
        with atomic_output(out_vcf) as tmp:
            clean_header(normed, tmp)
            run_bcftools("index", "-t", "-o", str(tmp) + ".tbi", str(tmp))
            os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
