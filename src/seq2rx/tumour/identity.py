"""Sample identity: sex from X/Y read depth, and whether a tumour and its normal come from one person.

**Sex.** The mean depth of reads with mapping quality >= ``min_mapq`` (mapped, primary, not
duplicates, not QC-failed) on chrX and on chrY outside the pseudo-autosomal regions
(:data:`seq2rx.genome.builds.PSEUDOAUTOSOMAL`), each divided by the autosomes' mean depth over the
same kind of regions: the targets of a BED, or else windows spread along whole contigs with their
N gaps left out. This is somalier's ``x_depth_mean`` and ``y_depth_mean`` (``relate.nim``: X or Y
depth scaled by the autosomes' depth, there times two to read as copies) and PureCN's
``getSexFromCoverage``. Two X copies give an X ratio near 1 and one near 0.5; a Y gives a Y ratio
near 0.5, none near 0. The calls (:func:`call_sex`, cutoffs in :class:`IdentityParams`):

* female: X ratio >= 0.75 and Y ratio <= 0.1;
* male: X ratio <= 0.65 and Y ratio >= 0.2 (somalier 0.3.4 wants a Y signal of 0.4 copies, i.e.
  0.2 of the autosomes' depth; the Poseidon/Sex.DetERRmine ranges are XX: X 0.7-1.2, Y < 0.1 and
  XY: X 0.2-0.6, Y 0.3-0.6);
* ambiguous otherwise, with what the ratios suggest: one X without a Y is how a man's tumour looks
  after it lost chrY (common; PureCN warns of it), a woman's after it lost an X, or 45,X; two X with
  a Y is 47,XXY or two people's reads. Ambiguous is a QC warning, never a mismatch.

Sex is *not assessed*, with the reason, when the reference has no chrX or no chrY, when the regions
measured hold none of one of them, or when fewer than ``min_expected_reads`` reads would fall on one
copy of chrX or chrY at the autosomes' depth.

**Tumour/normal fingerprint.** Each site of a panel of common SNPs is piled up in both BAMs (reads as
above, bases of quality >= ``min_baseq``); the alternate allele is the panel's (or the non-reference
base seen most in the two samples together). With at least ``min_site_depth`` reference plus
alternate reads, the alternate fraction AF gives a genotype with tolerant cutoffs, since a tumour's
copy number moves a heterozygote anywhere between: AF <= 0.1 is 0 alternate copies, AF >= 0.9 is 2,
anything between is 1 (somalier genotypes < 0.07, > 0.88 and 0.2-0.8, and leaves the rest
unknown). Over the sites called in both samples and non-reference in at least one (*informative*):

* ``concordance``: the fraction with the same genotype;
* ``af_correlation``: the Pearson correlation of the two samples' allele fractions, NGSCheckMate's
  statistic (Lee et al. 2017, Nucleic Acids Res 45:e103; its model puts matched pairs near 0.87
  and unmatched ones near 0.31 at depth > 10);
* ``hom_concordance``, the verdict's score: over the informative sites where the normal is
  homozygous, the fraction where the tumour has the same genotype. Loss of heterozygosity turns a
  germline heterozygote homozygous, never a homozygote into the other homozygote or into a
  heterozygote, so for one person this stays near 1 whatever the tumour's copy number, and for two
  people it is low (somalier's tumour-normal concordance is built on homozygous sites for the same
  reason, ``cancer-concordance-contamination.md``).

``same_person`` is True when ``hom_concordance`` >= 0.6 and False when <= 0.4 (somalier: tumour-normal
pairs > 0.6, > 0.95 for good samples; other people < 0.4); between them it is None and the QC verdict
is a warning (a relative, or a contaminated sample); with fewer than ``min_fingerprint_sites`` such
sites it is None and not assessed. False is a QC ``fail``.

Results are JSON-serialisable dicts; :func:`identity_qc` folds the sex check and the fingerprint
into one verdict (pass / warn / fail / not assessed) with the reasons.
"""

from __future__ import annotations

import csv
import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import pysam

from seq2rx.core.bed import read_bed_named
from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json as _atomic_json
from seq2rx.genome.builds import PSEUDOAUTOSOMAL, SEX_CHROMOSOME_LENGTHS

#: the sample sheet's ``sex`` values
SHEET_SEXES = ("female", "male", "unknown")
#: QC verdicts, best first; "not assessed" ranks below all of them when verdicts are combined
VERDICTS = ("pass", "warn", "fail")
AUTOSOME = re.compile(r"^(chr)?([1-9]|1[0-9]|2[0-2])$")
BASES = "ACGT"


@dataclass(frozen=True)
class IdentityParams:
    """Options of sex inference and the tumour/normal fingerprint (config section ``identity``).

    Sex: ``min_mapq`` (reads counted), ``window`` and ``max_windows_per_contig`` (whole-contig mode:
    at most this many windows of this size, evenly spread, per contig), ``min_expected_reads`` (the
    reads one copy of chrX or chrY must be expected to give), and the ratio cutoffs of :func:`call_sex`.
    Fingerprint: ``min_baseq``, ``min_site_depth`` (reference + alternate reads for a genotype),
    ``hom_ref_max_af`` / ``hom_alt_min_af`` (genotype cutoffs), ``min_fingerprint_sites`` (homozygous
    informative sites for a verdict), ``min_concordance_same`` / ``max_concordance_different``.
    """

    min_mapq: int = 20
    min_baseq: int = 13
    window: int = 100_000
    max_windows_per_contig: int = 20
    min_expected_reads: int = 100
    female_min_x_ratio: float = 0.75
    female_max_y_ratio: float = 0.1
    male_max_x_ratio: float = 0.65
    male_min_y_ratio: float = 0.2
    min_site_depth: int = 10
    hom_ref_max_af: float = 0.1
    hom_alt_min_af: float = 0.9
    min_fingerprint_sites: int = 10
    min_concordance_same: float = 0.6
    max_concordance_different: float = 0.4

    def __post_init__(self) -> None:
        for name in ("min_mapq", "min_baseq", "min_expected_reads", "min_site_depth", "min_fingerprint_sites"):
            if getattr(self, name) < 0:
                raise ValueError(f"identity.{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("window", "max_windows_per_contig"):
            if getattr(self, name) < 1:
                raise ValueError(f"identity.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("hom_ref_max_af", "hom_alt_min_af", "min_concordance_same", "max_concordance_different"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"identity.{name} must be between 0 and 1, got {getattr(self, name)!r}")
        for low, high in (("hom_ref_max_af", "hom_alt_min_af"), ("male_max_x_ratio", "female_min_x_ratio"),
                          ("female_max_y_ratio", "male_min_y_ratio")):  # fmt: skip
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"identity.{low} ({getattr(self, low)}) must be below {high} ({getattr(self, high)})")
        if self.max_concordance_different > self.min_concordance_same:
            raise ValueError(
                f"identity.max_concordance_different ({self.max_concordance_different}) must not exceed "
                f"min_concordance_same ({self.min_concordance_same})"
            )

    @classmethod
    def from_config(cls, section: dict | None) -> IdentityParams:
        """The parameters of the config's ``identity`` section; a key it leaves out keeps the default
        above, an unknown key is an error that lists the allowed ones."""
        section = dict(section or {})
        allowed = sorted(f.name for f in fields(cls))
        unknown = sorted(set(section) - set(allowed))
        if unknown:
            raise ValueError(f"identity: unknown keys {unknown}; allowed: {allowed}")
        return cls(**section)


# ---------------------------------------------------------------------------------------------- sex


def sex_contigs(contigs: Iterable[str]) -> dict:
    """The autosomes and the X and Y contigs among ``contigs``, named either way (chrX or X).

    >>> sex_contigs(["chr1", "chr2", "chrX", "chrM", "chrUn_x"])
    {'autosomes': ['chr1', 'chr2'], 'X': 'chrX', 'Y': None}
    """
    names = list(contigs)
    pick = {kind: next((c for c in names if c in (kind, "chr" + kind)), None) for kind in ("X", "Y")}
    return {"autosomes": [c for c in names if AUTOSOME.match(c)], **pick}


def detect_build(lengths: dict[str, int]) -> str | None:
    """GRCh37 or GRCh38 from the length of chrX or chrY (either naming), else None.

    >>> detect_build({"chrX": 156040895}), detect_build({"X": 155270560}), detect_build({"chrX": 1000})
    ('GRCh38', 'GRCh37', None)
    """
    for build, sizes in SEX_CHROMOSOME_LENGTHS.items():
        for kind, size in sizes.items():
            if size in (lengths.get(kind), lengths.get("chr" + kind)):
                return build
    return None


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def without_par(kind: str, intervals: Iterable[tuple[int, int]], build: str | None) -> list[tuple[int, int]]:
    """``intervals`` (0-based, half-open) of chrX or chrY (``kind`` "X" or "Y"), merged, with the
    build's pseudo-autosomal regions cut out; an unknown build (None) cuts nothing.

    >>> without_par("Y", [(0, 3_000_000)], "GRCh38")
    [(0, 10000), (2781479, 3000000)]
    """
    out = _merge(intervals)
    for cut_start, cut_end in PSEUDOAUTOSOMAL.get(build or "", {}).get(kind, ()):
        kept = []
        for start, end in out:
            kept += [(s, e) for s, e in ((start, min(end, cut_start)), (max(start, cut_end), end)) if e > s]
        out = kept
    return out


def _windows(length: int, window: int, most: int) -> list[tuple[int, int]]:
    """The whole contig in windows when it fits in ``most`` of them, else ``most`` evenly spread."""
    if length <= window * most:
        return [(s, min(length, s + window)) for s in range(0, length, window)]
    step = (length - window) / most
    return [(int(step * (k + 0.5)), int(step * (k + 0.5)) + window) for k in range(most)]


def _resolve(name: str, contigs: Iterable[str]) -> str | None:
    """``name`` as the BAM or FASTA spells it (chr1 or 1), or None."""
    have = set(contigs)
    return next((c for c in (name, name.removeprefix("chr"), "chr" + name) if c in have), None)


def _usable(read: pysam.AlignedSegment, min_mapq: int) -> bool:
    return not (
        read.is_unmapped or read.is_secondary or read.is_supplementary or read.is_duplicate or read.is_qcfail
    ) and (read.mapping_quality >= min_mapq)


def _regions_by_kind(lengths: dict[str, int], names: dict, regions: str | Path | None, build: str | None,
                     params: IdentityParams) -> dict[str, list[tuple[str, int, int]]]:  # fmt: skip
    kind_of = {c: "autosomes" for c in names["autosomes"]} | {names[k]: k for k in ("X", "Y") if names[k]}
    per_contig: dict[str, list[tuple[int, int]]] = {}
    if regions:
        for chrom, start, end, _ in read_bed_named(regions):
            contig = _resolve(chrom, lengths)
            if contig in kind_of:
                per_contig.setdefault(contig, []).append((start, min(end, lengths[contig])))
    else:
        per_contig = {c: _windows(lengths[c], params.window, params.max_windows_per_contig) for c in kind_of}
    out: dict[str, list[tuple[str, int, int]]] = {"autosomes": [], "X": [], "Y": []}
    for contig, intervals in per_contig.items():
        kind = kind_of[contig]
        kept = _merge(intervals) if kind == "autosomes" else without_par(kind, intervals, build)
        out[kind] += [(contig, s, e) for s, e in kept]
    return out


def _callable_bases(regions: list[tuple[str, int, int]], fasta: pysam.FastaFile | None) -> int:
    """Bases in ``regions``; with the reference, its N gaps left out."""
    if fasta is None:
        return sum(e - s for _, s, e in regions)
    total = 0
    for contig, s, e in regions:
        name = _resolve(contig, fasta.references)
        seq = fasta.fetch(name, s, e).upper() if name else ""
        total += len(seq) - seq.count("N")
    return total


def _aligned_bases(bam: pysam.AlignmentFile, regions: list[tuple[str, int, int]], min_mapq: int) -> tuple[int, int]:
    """(reads, aligned bases inside ``regions``) of the usable reads overlapping them."""
    reads = bases = 0
    for contig, s, e in regions:
        for read in bam.fetch(contig, s, e):
            if _usable(read, min_mapq):
                reads += 1
                bases += read.get_overlap(s, e) or 0
    return reads, bases


def call_sex(x_ratio: float, y_ratio: float, params: IdentityParams) -> tuple[str, str | None]:
    """female / male / ambiguous from the X and Y depth ratios, with a reason when ambiguous.

    >>> p = IdentityParams()
    >>> call_sex(1.02, 0.0, p), call_sex(0.49, 0.51, p)
    (('female', None), ('male', None))
    >>> call_sex(0.5, 0.01, p)[0], call_sex(0.5, 0.01, p)[1].startswith("one X without a Y")
    ('ambiguous', True)
    """
    if x_ratio >= params.female_min_x_ratio and y_ratio <= params.female_max_y_ratio:
        return "female", None
    if x_ratio <= params.male_max_x_ratio and y_ratio >= params.male_min_y_ratio:
        return "male", None
    ratios = f"X ratio {x_ratio:.2f}, Y ratio {y_ratio:.2f}"
    if x_ratio <= params.male_max_x_ratio and y_ratio <= params.female_max_y_ratio:
        why = f"one X without a Y ({ratios}): a tumour that lost chrY (common in men's tumours) or an X, or 45,X"
    elif x_ratio >= params.female_min_x_ratio and y_ratio >= params.male_min_y_ratio:
        why = f"two X with a Y ({ratios}): 47,XXY, or reads of two people"
    else:
        why = (
            f"{ratios} fit neither female (X >= {params.female_min_x_ratio}, Y <= {params.female_max_y_ratio}) "
            f"nor male (X <= {params.male_max_x_ratio}, Y >= {params.male_min_y_ratio})"
        )
    return "ambiguous", why


def infer_sex(
    bam: str | Path,
    *,
    regions: str | Path | None = None,
    fasta: str | Path | None = None,
    build: str | None = None,
    params: IdentityParams | None = None,
) -> dict:
    """Sex from X/Y read depth over ``regions`` (a BED: the targets or callable regions), or else over
    windows along whole contigs, which needs ``fasta`` to leave out the N gaps (chrY is half N).

    ``build`` (GRCh37/GRCh38) picks the pseudo-autosomal regions to cut out; None reads it from the
    length of chrX/chrY in the BAM's header, and an unknown build cuts nothing (``par_excluded``
    false). Returns ``status`` ("assessed" / "not assessed"), ``sex`` (female / male / ambiguous,
    None when not assessed), ``reason``, the depths and ratios and the cutoffs used.
    """
    params = params or IdentityParams()
    if regions is None and fasta is None:
        raise ValueError("infer_sex over whole contigs needs the reference fasta, to leave out its N gaps")
    with pysam.AlignmentFile(str(bam)) as fh:
        lengths = dict(zip(fh.references, fh.lengths, strict=True))
        names = sex_contigs(lengths)
        build = build or detect_build(lengths)
        out = {
            "status": "not assessed", "sex": None, "reason": None, "build": build,
            "par_excluded": build in PSEUDOAUTOSOMAL, "contigs": {"X": names["X"], "Y": names["Y"]},
            "min_mapq": params.min_mapq,
            "cutoffs": {k: getattr(params, k) for k in ("female_min_x_ratio", "female_max_y_ratio",
                                                        "male_max_x_ratio", "male_min_y_ratio")},
        }  # fmt: skip
        missing = [f"chr{k}" for k in ("X", "Y") if names[k] is None] + ([] if names["autosomes"] else ["autosome"])
        if missing:
            out["reason"] = f"the reference has no {' and no '.join(missing)}"
            return out
        by_kind = _regions_by_kind(lengths, names, regions, build, params)
        fa = pysam.FastaFile(str(fasta)) if fasta else None
        try:
            counts = {}
            for kind, regs in by_kind.items():
                reads, bases = _aligned_bases(fh, regs, params.min_mapq)
                counts[kind] = {"bases": _callable_bases(regs, fa), "reads": reads, "aligned": bases}
        finally:
            if fa is not None:
                fa.close()
    label = {"autosomes": "the autosomes", "X": names["X"], "Y": names["Y"]}
    for kind in ("autosomes", "X", "Y"):
        out[f"{kind.lower()}_bases"] = counts[kind]["bases"]
        out[f"{kind.lower()}_reads"] = counts[kind]["reads"]
    empty = [label[k] for k in ("autosomes", "X", "Y") if counts[k]["bases"] == 0]
    if empty:
        where = "the regions given" if regions else "the reference"
        out["reason"] = f"no callable base on {' or '.join(empty)} in {where}"
        return out
    depth = {k: counts[k]["aligned"] / counts[k]["bases"] for k in counts}
    out.update({"autosomal_depth": round(depth["autosomes"], 3), "x_depth": round(depth["X"], 3),
                "y_depth": round(depth["Y"], 3)})  # fmt: skip
    # one copy of chrX or chrY holds half the autosomes' reads per base
    per_base = counts["autosomes"]["reads"] / counts["autosomes"]["bases"]
    for kind in ("X", "Y"):
        expected = per_base / 2 * counts[kind]["bases"]
        if expected < params.min_expected_reads:
            out["reason"] = (
                f"depth too low: autosomal depth {depth['autosomes']:.2f} over {counts[kind]['bases']} bases of "
                f"{label[kind]} gives {expected:.0f} reads from one copy (< {params.min_expected_reads})"
            )
            return out
    x_ratio, y_ratio = depth["X"] / depth["autosomes"], depth["Y"] / depth["autosomes"]
    sex, why = call_sex(x_ratio, y_ratio, params)
    out.update({"status": "assessed", "sex": sex, "reason": why,
                "x_ratio": round(x_ratio, 4), "y_ratio": round(y_ratio, 4)})  # fmt: skip
    return out


def check_sex(inferred: dict, sheet_sex: str) -> dict:
    """The sheet's sex against the inferred one: ``verdict`` pass / warn (ambiguous) / fail
    (mismatch) / "not assessed" (sex not inferred, or the sheet says unknown), with a ``reason``."""
    if sheet_sex not in SHEET_SEXES:
        raise ValueError(f"sheet sex must be one of {list(SHEET_SEXES)}, got {sheet_sex!r}")
    sex = inferred.get("sex")
    out = {"sheet_sex": sheet_sex, "inferred_sex": sex, "verdict": "pass", "reason": None}
    ratios = f"X ratio {inferred.get('x_ratio')}, Y ratio {inferred.get('y_ratio')}"
    if inferred.get("status") != "assessed":
        out.update(verdict="not assessed", reason=f"sex not assessed: {inferred.get('reason')}")
    elif sheet_sex == "unknown":
        out.update(verdict="not assessed", reason=f"the sheet's sex is unknown; X/Y depth says {sex} ({ratios})")
    elif sex == "ambiguous":
        out.update(verdict="warn", reason=f"sex ambiguous from X/Y depth, the sheet says {sheet_sex}: "
                                          f"{inferred.get('reason')}")  # fmt: skip
    elif sex != sheet_sex:
        out.update(verdict="fail", reason=f"sex mismatch: the sheet says {sheet_sex}, X/Y depth says {sex} ({ratios})")
    return out


# -------------------------------------------------------------------------------------- fingerprint


@dataclass(frozen=True)
class Site:
    """A SNP of the fingerprint panel: 1-based ``pos``; ``alts`` empty means any other base."""

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...] = ()


def _snv(chrom: str, pos: int, ref: str, alts: Iterable[str]) -> Site | None:
    """The site when it is a SNV (one reference base, single-base alternates), else None."""
    ref = ref.upper()
    given = [a.upper() for a in alts if a and a != "."]
    single = tuple(a for a in given if len(a) == 1 and a in BASES and a != ref)
    if len(ref) != 1 or ref not in BASES or (given and not single):
        return None
    return Site(chrom, pos, ref, single)


def read_sites(path: str | Path, fasta: str | Path | None = None) -> list[Site]:
    """The SNVs of a sites file, in file order, each position once; indels and multi-base REFs are
    left out. Formats, by name: VCF (``.vcf``, ``.vcf.gz``, ``.bcf``); BED (``.bed``: one-base
    intervals, REF read from ``fasta``); else a TSV with a header naming ``chrom`` (or ``chr``,
    ``chromosome``), ``pos`` (1-based), ``ref`` (or read from ``fasta``) and optionally ``alt`` or
    ``alts`` (comma-separated), such as the knowledge base's ``pgx/positions.tsv``."""
    name = str(path).lower()
    rows: list[tuple[str, int, str, tuple[str, ...]]] = []
    if name.endswith((".vcf", ".vcf.gz", ".bcf")):
        with pysam.VariantFile(str(path)) as vcf:
            rows = [(r.chrom, r.pos, r.ref, tuple(r.alts or ())) for r in vcf]
    elif name.endswith(".bed"):
        if fasta is None:
            raise InputError(str(path), "a BED of sites needs the reference FASTA for the REF bases")
        for i, (chrom, start, end, _) in enumerate(read_bed_named(path), 1):
            if end - start != 1:
                raise InputError(str(path), f"a sites BED lists single bases (end = start + 1), got {start}-{end}",
                                 row=i)  # fmt: skip
            rows.append((chrom, end, "", ()))
    else:
        rows = _read_sites_tsv(path)
    if any(not ref for _, _, ref, _ in rows):
        rows = _fill_ref(rows, path, fasta)
    seen, out = set(), []
    for chrom, pos, ref, alts in rows:
        site = _snv(chrom, pos, ref, alts)
        if site and (chrom, pos) not in seen:
            seen.add((chrom, pos))
            out.append(site)
    return out


def _read_sites_tsv(path: str | Path) -> list[tuple[str, int, str, tuple[str, ...]]]:
    """The rows of a sites TSV; a missing column, a short row or a position that is not a whole
    number >= 1 is an :class:`InputError` naming the line (the header is line 1) and the column."""
    aliases = {"chrom": ("chrom", "chr", "chromosome"), "pos": ("pos", "position"), "ref": ("ref",),
               "alt": ("alt", "alts")}  # fmt: skip
    fix = "a sites TSV is tab-separated with a header naming chrom and pos (1-based), optionally ref and alt"
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})",
                         hint="check identity.sites in the config") from None  # fmt: skip
    with fh:
        reader = csv.DictReader(fh, delimiter="\t")
        header = {h.lstrip("#").strip().lower(): h for h in reader.fieldnames or []}
        cols = {k: next((header[a] for a in names if a in header), None) for k, names in aliases.items()}
        for key in ("chrom", "pos"):
            if cols[key] is None:
                found = ", ".join(repr(h) for h in reader.fieldnames or []) or "nothing"
                raise InputError(str(path), f"the header has no {key} column (it has {found})", line=1, field=key,
                                 hint=f"{fix}; {key} may also be called {' or '.join(aliases[key][1:])}")  # fmt: skip
        rows = []
        for r in reader:
            line = reader.line_num
            if None in r.values() or None in r:
                cells = sum(v is not None for k, v in r.items() if k is not None) + len(r.get(None, []))
                raise InputError(str(path), f"has {cells} cells but the header has {len(reader.fieldnames)} columns",
                                 line=line, hint=fix)  # fmt: skip
            text = r[cols["pos"]].strip()
            if not text.isdigit() or int(text) < 1:
                raise InputError(str(path), f"{text!r} is not a position", line=line, field=cols["pos"],
                                 hint="positions are whole numbers from 1 (1-based, as in a VCF)")  # fmt: skip
            ref = (r[cols["ref"]] or "") if cols["ref"] else ""
            alts = tuple((r[cols["alt"]] or "").split(",")) if cols["alt"] else ()
            rows.append((r[cols["chrom"]], int(text), ref, alts))
    return rows


def _fill_ref(rows, path, fasta):
    if fasta is None:
        raise InputError(str(path), "sites without REF bases need the reference FASTA")
    with pysam.FastaFile(str(fasta)) as fa:
        out = []
        for chrom, pos, ref, alts in rows:
            contig = _resolve(chrom, fa.references)
            if not ref and contig is not None and pos <= fa.get_reference_length(contig):
                ref = fa.fetch(contig, pos - 1, pos)
            out.append((chrom, pos, ref, alts))
    return out


def allele_counts(bam: str | Path, sites: list[Site], params: IdentityParams) -> list[dict[str, int] | None]:
    """Per site, the reads of each base (A, C, G, T) at it, counting usable reads (as for sex) at
    bases of quality >= ``min_baseq``; None for a site on a contig the BAM lacks."""
    out: list[dict[str, int] | None] = []
    with pysam.AlignmentFile(str(bam)) as fh:
        for site in sites:
            contig = _resolve(site.chrom, fh.references)
            if contig is None:
                out.append(None)
                continue
            acgt = fh.count_coverage(contig, site.pos - 1, site.pos, quality_threshold=params.min_baseq,
                                     read_callback=lambda r: _usable(r, params.min_mapq))  # fmt: skip
            out.append({b: int(n[0]) for b, n in zip(BASES, acgt, strict=True)})
    return out


def genotype(ref_reads: int, alt_reads: int, params: IdentityParams) -> tuple[float | None, int | None]:
    """(alternate allele fraction, alternate copies 0/1/2) of a site; (AF, None) below
    ``min_site_depth`` reference + alternate reads, (None, None) without any.

    >>> p = IdentityParams()
    >>> genotype(30, 0, p), genotype(15, 15, p), genotype(3, 27, p), genotype(1, 29, p), genotype(2, 3, p)
    ((0.0, 0), (0.5, 1), (0.9, 2), (0.9667, 2), (0.6, None))
    """
    depth = ref_reads + alt_reads
    if depth == 0:
        return None, None
    af = alt_reads / depth
    if depth < params.min_site_depth:
        return round(af, 4), None
    gt = 0 if af <= params.hom_ref_max_af else 2 if af >= params.hom_alt_min_af else 1
    return round(af, 4), gt


def concordance(pairs: list[tuple[int, int]]) -> dict:
    """Agreement of (normal, tumour) genotypes over the sites called in both.

    ``n_informative``: pairs with a non-reference genotype in either; ``concordance``: the fraction
    of them that agree; ``n_hom`` and ``hom_concordance``: the same over the informative pairs whose
    normal is homozygous, which loss of heterozygosity cannot change. A fraction without sites is
    None.

    >>> concordance([(0, 0), (1, 1), (1, 2), (2, 2), (0, 1), (2, 2)])
    {'n_informative': 5, 'concordance': 0.6, 'n_hom': 3, 'hom_concordance': 0.6667}
    """
    informative = [(n, t) for n, t in pairs if n or t]
    hom = [(n, t) for n, t in informative if n != 1]

    def fraction(ps):
        return round(sum(n == t for n, t in ps) / len(ps), 4) if ps else None

    return {"n_informative": len(informative), "concordance": fraction(informative), "n_hom": len(hom),
            "hom_concordance": fraction(hom)}  # fmt: skip


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    try:
        r = statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # fewer than two points, or one side constant
        return None
    return None if math.isnan(r) else round(r, 4)


def fingerprint(
    normal_bam: str | Path,
    tumour_bam: str | Path,
    sites: list[Site],
    *,
    params: IdentityParams | None = None,
    normal: str = "normal",
    tumour: str = "tumour",
) -> dict:
    """Whether ``tumour_bam`` and ``normal_bam`` come from one person, over ``sites`` (see the module's
    docstring for the method and cutoffs). ``normal`` and ``tumour`` name the samples in the reasons.

    Returns ``status``, ``same_person`` (True / False / None), ``verdict`` (pass / warn / fail / not
    assessed), ``reason``, the counts and scores of :func:`concordance`, ``af_correlation``, the
    cutoffs, and ``sites``: every site called in both, with depths, allele fractions and genotypes.
    """
    params = params or IdentityParams()
    counts_n = allele_counts(normal_bam, sites, params)
    counts_t = allele_counts(tumour_bam, sites, params)
    rows, pairs, afs = [], [], []
    for site, cn, ct in zip(sites, counts_n, counts_t, strict=True):
        if cn is None or ct is None:
            continue
        candidates = site.alts or tuple(b for b in BASES if b != site.ref)
        alt = max(candidates, key=lambda b: (cn[b] + ct[b], -candidates.index(b)))
        af_n, gt_n = genotype(cn[site.ref], cn[alt], params)
        af_t, gt_t = genotype(ct[site.ref], ct[alt], params)
        if gt_n is None or gt_t is None:
            continue
        pairs.append((gt_n, gt_t))
        if gt_n or gt_t:
            afs.append((af_n, af_t))
        rows.append({"chrom": site.chrom, "pos": site.pos, "ref": site.ref, "alt": alt,
                     "normal_depth": cn[site.ref] + cn[alt], "normal_af": af_n, "normal_gt": gt_n,
                     "tumour_depth": ct[site.ref] + ct[alt], "tumour_af": af_t, "tumour_gt": gt_t})  # fmt: skip
    scores = concordance(pairs)
    out = {
        "normal": normal, "tumour": tumour, "status": "not assessed", "same_person": None, "verdict": "not assessed",
        "reason": None, "n_sites": len(sites), "n_called_both": len(pairs), **scores,
        "af_correlation": _correlation([a for a, _ in afs], [b for _, b in afs]),
        "cutoffs": {k: getattr(params, k) for k in ("min_site_depth", "hom_ref_max_af", "hom_alt_min_af",
                    "min_fingerprint_sites", "min_concordance_same", "max_concordance_different")},
        "sites": rows,
    }  # fmt: skip
    hom, n_hom = scores["hom_concordance"], scores["n_hom"]
    if n_hom < params.min_fingerprint_sites:
        out["reason"] = (
            f"too few sites to compare {tumour} with {normal}: {n_hom} called in both with the normal "
            f"homozygous and one sample non-reference (< {params.min_fingerprint_sites}; {len(pairs)} of "
            f"{len(sites)} sites have >= {params.min_site_depth} reads in both)"
        )
        return out
    out["status"] = "assessed"
    score = f"homozygous-site concordance {hom:.2f} over {n_hom} sites"
    if hom >= params.min_concordance_same:
        out.update(same_person=True, verdict="pass")
    elif hom <= params.max_concordance_different:
        out.update(same_person=False, verdict="fail", reason=(
            f"{tumour} and {normal} are not from the same person: {score} "
            f"(<= {params.max_concordance_different}); a swapped sample?"))  # fmt: skip
    else:
        out.update(verdict="warn", reason=(
            f"{tumour} and {normal} may not be from the same person: {score} is between "
            f"{params.max_concordance_different} and {params.min_concordance_same} (a relative, or contamination?)"))  # fmt: skip
    return out


# ----------------------------------------------------------------------------------------------- QC


def identity_qc(sample: str, *, sex: dict | None = None, fingerprint: dict | None = None) -> dict:
    """One sample's identity verdict from :func:`check_sex` and :func:`fingerprint` results (either
    may be absent): the worst of their verdicts (fail > warn > pass; "not assessed" when neither was
    assessed), with their reasons in that order."""
    parts = [p for p in (sex, fingerprint) if p is not None]
    ranked = [p["verdict"] for p in parts if p["verdict"] in VERDICTS]
    verdict = max(ranked, key=VERDICTS.index) if ranked else "not assessed"
    return {"sample": sample, "verdict": verdict, "reasons": [p["reason"] for p in parts if p.get("reason")],
            "sex": sex, "fingerprint": fingerprint}  # fmt: skip


def sample_identity(
    sample: str,
    bam: str | Path,
    *,
    sheet_sex: str,
    fasta: str | Path,
    regions: str | Path | None = None,
    build: str | None = None,
    normal_bam: str | Path | None = None,
    normal: str = "normal",
    sites: str | Path | None = None,
    params: IdentityParams | None = None,
) -> dict:
    """One sample's identity QC (:func:`identity_qc`): its sex against the sheet's, and, for a tumour
    with ``normal_bam`` and a ``sites`` file, the fingerprint against its normal. The sex part keeps
    the inference (depths, ratios) under ``inference``."""
    params = params or IdentityParams()
    # a bad sites file stops the step before any BAM is read
    panel = read_sites(sites, fasta) if normal_bam is not None and sites is not None else None
    inferred = infer_sex(bam, regions=regions, fasta=fasta, build=build, params=params)
    sex = {**check_sex(inferred, sheet_sex), "inference": inferred}
    pair = None
    if panel is not None:
        pair = fingerprint(normal_bam, bam, panel, params=params, normal=normal, tumour=sample)
    return identity_qc(sample, sex=sex, fingerprint=pair)


def write_json(obj: dict, path: str | Path) -> None:
    """Write a result as indented JSON, atomically."""
    _atomic_json(obj, path)
