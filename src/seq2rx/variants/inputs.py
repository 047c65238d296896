"""VCFs from elsewhere: check one against the reference and its build, keep one sample, normalise."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
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


#: with fewer REF-checkable records than this, every REF must match the FASTA (5% of 20 is one)
FEW_RECORDS = 20
#: the note written into a normalised VCF's header (and shown in the findings) when seq2rx changed it
NOTE_KEY = "seq2rx_input_note"


@dataclass
class InputCheck:
    """What :func:`scan_input_vcf` learnt about a VCF from elsewhere."""

    samples: list[str]
    #: False when a record comes before the one above it (another contig block, or a lower POS)
    is_sorted: bool = True
    #: line of the first record out of order (for the note)
    unsorted_line: int | None = None
    records: int = 0


def check_header_text(path: str | Path) -> None:
    """Raise :class:`InputError` when the header of a plain or gzipped VCF is not UTF-8 text, or
    holds a control character (htslib takes any bytes: a tag ID with a stray byte then breaks every
    reader after it, and a sample name with one reaches the reports).
    A BCF or an unreadable file is left to the VCF reader."""
    import gzip

    try:
        with open(path, "rb") as raw:
            magic = raw.read(4)
        if magic[:3] == b"BCF":
            return
        opener = gzip.open if magic[:2] == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.startswith(b"#"):
                    return
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(
                        str(path),
                        f"the header is not UTF-8 text (byte 0x{line[exc.start]:02x} at column {exc.start + 1})",
                        line=n,
                        hint="the file is damaged or in another encoding: write it again as UTF-8",
                    ) from None
                text = line.rstrip(b"\r\n")
                bad = next((k for k, b in enumerate(text) if (b < 0x20 and b != 0x09) or b == 0x7F), None)
                if bad is not None:
                    raise InputError(
                        str(path),
                        f"the header holds a control character (0x{text[bad]:02x} at column {bad + 1})",
                        line=n,
                        hint="the file is damaged: write it again with the tool that made it",
                    )
    except (OSError, EOFError):
        return


def check_input_vcf(
    vcf: str | Path, fasta: str | Path, build: str | None = None, max_checked: int = 2000
) -> str | None:
    """Check a user VCF against the reference before using it; return its first sample.

    See :func:`scan_input_vcf` for the checks.
    """
    return scan_input_vcf(vcf, fasta, build, max_checked).samples[0]


def _declared(header: pysam.VariantHeader) -> tuple[set[str], set[str]]:
    return set(header.info), set(header.formats)


def scan_input_vcf(vcf: str | Path, fasta: str | Path, build: str | None = None, max_checked: int = 2000) -> InputCheck:
    """Check a user VCF against the reference before using it.

    Raises :class:`InputError` for an unreadable or empty VCF, no genotypes, contig names that
    do not match the reference (``chr1`` vs ``1``), a record past its contig's end, an INFO or
    FORMAT tag the header does not declare (htslib would read it as text, so an undeclared
    ``AD`` or ``AF`` silently changes meaning), a header whose contig lengths are those of the
    other build, or reference alleles that disagree with the FASTA: at any record when fewer than
    :data:`FEW_RECORDS` are checked, else at more than 5% of up to ``max_checked`` records (a VCF
    from the other build). Messages give the line of the offending record in a plain or gzipped
    VCF. Records out of order are not an error: the result says so, and
    :func:`normalise_input` sorts them.
    """
    where = str(vcf)
    other_build = {"GRCh38": "GRCh37", "GRCh37": "GRCh38"}.get(build or "")
    build_fix = f"lift the VCF over to {build}, or call it again against the configured {build} reference"
    check_header_text(vcf)
    verbosity = pysam.set_verbosity(0)  # undeclared tags are reported below, as seq2rx errors
    try:
        fh = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        pysam.set_verbosity(verbosity)
        raise InputError(
            where, f"cannot be read as VCF/BCF ({exc})", hint="give a VCF (plain or bgzipped) or a BCF file"
        ) from None
    header_lines = _header_lines(vcf)

    def line_of(n: int) -> int | None:
        return header_lines + n if header_lines is not None else None

    result = InputCheck(samples=[])
    try:
        with fh, pysam.FastaFile(str(fasta)) as fa:
            ref_contigs = set(fa.references)
            samples = list(fh.header.samples)
            result.samples = samples
            info_tags, format_tags = _declared(fh.header)
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
            order: dict[str, int] = {}
            last: tuple[int, int] = (-1, 0)
            try:
                for rec in fh:
                    n += 1
                    _check_record(rec, fa, ref_contigs, fasta, where, line_of(n), info_tags, format_tags)
                    key = (order.setdefault(rec.chrom, len(order)), rec.pos)
                    if key < last and result.is_sorted:
                        result.is_sorted, result.unsorted_line = False, line_of(n)
                    last = max(last, key)
                    ref = rec.ref.upper()
                    if checked < max_checked and ref and set(ref) <= set("ACGTN"):
                        base = fa.fetch(rec.chrom, rec.pos - 1, rec.pos - 1 + len(ref)).upper()
                        if "N" in base or "N" in ref:
                            continue
                        checked += 1
                        if base != ref:
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
                    hint="check that line, or write the VCF again with the caller that made it",
                ) from None
    finally:
        pysam.set_verbosity(verbosity)
    if n == 0:
        raise InputError(
            where,
            "holds no variant records (only a header)",
            line=line_of(0),
            hint="an empty VCF cannot be analysed: check that the caller finished, or leave the sample out",
        )
    if mismatched and (checked < FEW_RECORDS or mismatched / checked > 0.05):
        few = f"; with fewer than {FEW_RECORDS} records every REF must match" if checked < FEW_RECORDS else ""
        raise InputError(
            where,
            f"REF disagrees with the reference at {mismatched} of {checked} positions (first: {example}){few}; "
            f"the VCF is probably on another genome build than the configured {build or 'one'}",
            field="REF",
            hint=build_fix if build else "use the reference the VCF was called against",
        )
    result.records = n
    return result


def _check_record(rec, fa, ref_contigs, fasta, where: str, line: int | None, info_tags, format_tags) -> None:
    """One record: a reference contig, within it, and only INFO/FORMAT tags the header declares."""
    if rec.chrom not in ref_contigs:
        if _other_naming(rec.chrom) in ref_contigs:
            raise InputError(
                where,
                f"uses contig name {rec.chrom!r} where the reference has {_other_naming(rec.chrom)!r}",
                line=line,
                field="CHROM",
                hint="rename the contigs to the reference's names (bcftools annotate --rename-chrs)",
            )
        raise InputError(
            where,
            f"contig {rec.chrom!r} is not in the reference {Path(fasta).name}",
            line=line,
            field="CHROM",
            hint="use a VCF called against the configured reference, or drop that contig",
        )
    length = fa.get_reference_length(rec.chrom)
    end = rec.pos + max(len(rec.ref), 1) - 1
    if rec.pos > length or end > length:
        raise InputError(
            where,
            f"{rec.chrom}:{rec.pos} (REF {rec.ref[:20]}) ends at {end}, past the end of {rec.chrom} "
            f"({length} bp in {Path(fasta).name})",
            line=line,
            field="POS",
            hint="the VCF was made against another reference or build, or the record is damaged: "
            "call it again against the configured reference",
        )
    check_declared(rec, info_tags, format_tags, where, line)


#: the tags whose numbers seq2rx reads (genotype, depths, allele fractions, extents): undeclared, htslib
#: would read them as text and change what they mean, so seq2rx stops; any other undeclared tag (a
#: caller's flag such as PharmCAT's test files' ``assume-default``) is warned about once and ignored,
#: as htslib does
NUMERIC_TAGS = {
    "INFO": frozenset({"DP", "AF", "AD", "AC", "AN", "END", "SVTYPE", "SVLEN", "TVAF", "TDP"}),
    "FORMAT": frozenset({"GT", "AD", "DP", "AF", "VAF", "FREQ", "ADT", "TAR", "TIR", "GQ", "PL", "GL"}),
}
_WARNED: set[tuple[str, str, str]] = set()


def check_declared(
    rec, info_tags: set[str], format_tags: set[str], where: str, line: int | None = None, numeric: dict | None = None
) -> None:
    """Raise :class:`InputError` for an INFO or FORMAT tag of ``rec`` that the header (as it was
    before the first record: ``info_tags``, ``format_tags``) does not declare and whose numbers
    seq2rx reads (:data:`NUMERIC_TAGS`): htslib would read it as text, so an undeclared AD or AF
    would change what the numbers mean. Any other undeclared tag gets one warning per file and tag
    on standard error (the job's log) and is ignored, as htslib does. ``numeric`` narrows
    :data:`NUMERIC_TAGS` to what the caller reads."""
    numeric = NUMERIC_TAGS if numeric is None else numeric
    for kind, tags, declared in (("INFO", rec.info.keys(), info_tags), ("FORMAT", rec.format.keys(), format_tags)):
        for tag in (t for t in tags if t not in declared):
            if tag not in numeric[kind]:
                if (where, kind, tag) not in _WARNED:
                    _WARNED.add((where, kind, tag))
                    print(f"seq2rx: warning: {where}: {kind} tag {tag!r} is not declared in the header; "
                          "seq2rx does not read it", file=sys.stderr)  # fmt: skip
                continue
            raise InputError(
                where,
                f"{kind} tag {tag!r} at {rec.chrom}:{rec.pos} is not declared in the header; htslib would read it "
                "as text, which changes the meaning of its numbers",
                line=line,
                field=f"{kind}/{tag}",
                hint=f"add a header line above #CHROM, e.g. ##{kind}=<ID={tag},Number=.,Type=String,"
                'Description="..."> with the Number and Type the caller documents',
            )


def vcf_column(vcf: str | Path, sample: str, vcf_sample: str | None, samples: list[str]) -> str:
    """The VCF column that holds ``sample``'s genotypes: the sheet's ``vcf_sample``, else the
    column named like the sample, else the only column; anything else is an :class:`InputError`."""
    if vcf_sample:
        if vcf_sample in samples:
            return vcf_sample
        raise InputError(
            str(vcf),
            f"has no sample column {vcf_sample!r} (the sample sheet's vcf_sample for {sample!r}); "
            f"its columns are {', '.join(samples[:20])}",
            line=_header_lines(vcf),
            field="#CHROM",
            hint="set the sheet's vcf_sample cell to one of those column names",
        )
    if sample in samples:
        return sample
    if len(samples) == 1:
        return samples[0]
    raise InputError(
        str(vcf),
        f"has sample columns {samples[:20]} but none is called {sample!r} as in the sample sheet",
        line=_header_lines(vcf),
        field="#CHROM",
        hint=f"add a vcf_sample column to the sample sheet naming this row's column, e.g. {samples[0]}",
    )


def check_sheet_vcfs(rows: list[dict], sheet: str | Path, will_exist=lambda p: False) -> None:
    """Every ``vcf`` row of the sample sheet: its VCF's header can be read and has the column the
    row asks for (``vcf_sample``, the sample's name, or the only column), so ``seq2rx validate``
    and the workflow stop before any job on a multi-sample VCF whose columns do not match."""
    for row in rows:
        path = row.get("vcf")
        if not path or will_exist(path):
            continue
        verbosity = pysam.set_verbosity(0)
        try:
            with pysam.VariantFile(str(path)) as fh:
                samples = list(fh.header.samples)
        except (OSError, ValueError) as exc:
            raise InputError(
                str(sheet), f"the VCF {path!r} of sample {row['sample']!r} cannot be read ({exc})", field="vcf",
                hint="give a VCF (plain or bgzipped) or a BCF file",
            ) from None  # fmt: skip
        finally:
            pysam.set_verbosity(verbosity)
        try:
            vcf_column(path, row["sample"], row.get("vcf_sample"), samples)
        except InputError as exc:
            raise InputError(
                str(sheet),
                f"sample {row['sample']!r}: {exc}",
                line=_sheet_line(sheet, row["sample"]),
                field="vcf_sample" if row.get("vcf_sample") else "vcf",
            ) from None


def _sheet_line(sheet: str | Path, sample: str) -> int | None:
    """The line of ``sample``'s row in a tab-separated sheet (the header is line 1)."""
    try:
        lines = Path(sheet).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    column = None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if column is None:
            column = cells.index("sample") if "sample" in cells else 0
        elif len(cells) > column and cells[column].strip() == sample:
            return n
    return None


def normalise_input(
    vcf: str | Path,
    fasta: str | Path,
    out_vcf: str | Path,
    sample: str,
    build: str | None = None,
    vcf_sample: str | None = None,
) -> list[str]:
    """Check a user-provided VCF, keep one sample (``vcf_sample``, ``sample`` or the only one),
    sort it if its records are out of order, split and normalise. Returns the notes written into
    the output's header (``##seq2rx_input_note``), e.g. that the input was sorted."""
    check = scan_input_vcf(vcf, fasta, build)
    keep = vcf_column(vcf, sample, vcf_sample, check.samples)
    notes = []
    if not check.is_sorted:
        at = f" (first out of order: line {check.unsorted_line})" if check.unsorted_line else ""
        notes.append(f"the supplied VCF {Path(vcf).name} was not sorted by position{at}; seq2rx sorted it")
    for note in notes:
        print(f"seq2rx: warning: {note}", file=sys.stderr)
    with scratch_dir(out_vcf) as td:
        source = str(vcf)
        if not check.is_sorted:
            source = os.path.join(td, "sorted.bcf")
            run_bcftools("sort", "-T", os.path.join(td, "sort"), "-O", "b", "-o", source, str(vcf))
        sub = os.path.join(td, "sub.bcf")
        normed = os.path.join(td, "norm.vcf.gz")
        run_bcftools("view", "--no-version", "-s", keep, "-O", "b", "-o", sub, source)
        run_bcftools("norm", "--no-version", "-f", str(fasta), "-m", "-any", "-c", "w", "-O", "z", "-o", normed, sub)
        with atomic_output(out_vcf) as tmp:
            clean_header(normed, tmp, extra=[f"##{NOTE_KEY}={n}" for n in notes])
            run_bcftools("index", "-t", "-o", str(tmp) + ".tbi", str(tmp))
            os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
    return notes


def input_notes(vcf: str | Path) -> list[str]:
    """The notes :func:`normalise_input` wrote into a VCF's header (none for other VCFs)."""
    try:
        text = _header_text(vcf)
    except (OSError, EOFError):
        return []
    prefix = f"##{NOTE_KEY}="
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def _header_text(path: str | Path) -> str:
    import gzip

    with open(path, "rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    lines = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            lines.append(line)
    return "".join(lines)
