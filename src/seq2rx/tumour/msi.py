"""Microsatellite instability (MSI) from the reads, in the MSIsensor way, with a VCF fallback.

Three steps, each usable alone:

1. **Sites** (:func:`find_microsatellites`, once per reference): homopolymers of at least
   ``min_homopolymer`` bases and repeats of a 2-5 base unit of at least ``min_repeat_units`` units,
   with ``flank`` bases of non-repeat, non-N sequence on both sides (MSIsensor's ``scan``: 5 bp of
   context; homopolymers of >= 10 and microsatellites of >= 5 repeats enter its distribution
   analysis, ``msi -p 10 -s 5``). Written once as a TSV (:func:`write_microsatellites`).
2. **Length per read** (:func:`repeat_length_distribution`): a read counts at a site when it is
   primary, not a duplicate, of MAPQ >= ``min_mapq``, and covers the whole tract plus ``flank``
   bases of both sides that match the reference; its repeat length is the number of read bases
   between the two flanks, from the CIGAR, so that an insertion or deletion inside the tract (the
   signal) changes it.
3. **Status**:

   * ``msisensor-paired`` (:func:`msi_paired`): per site with >= ``min_depth`` reads in tumour and
     normal, Pearson's chi-square test of the two length distributions (MSIsensor: "compares them
     using Pearson's Chi-Squared Test"); p-values corrected by Benjamini-Hochberg over the
     evaluable sites; a site is unstable when q < ``fdr`` (MSIsensor's ``-f``, default 0.05; its
     ``-c`` depth default for exomes is 20). Score = % unstable of evaluable sites; **MSI-H when
     score >= 3.5** (``msi_h_score``), the cutoff published with MSIsensor: Niu et al.,
     MSIsensor: microsatellite instability detection using paired tumor-normal sequence data,
     Bioinformatics 30:1015-1016 (2014), PMID 24371154 (MSIsensor's README, github.com/ding-lab/
     msisensor, documents the test and the defaults above but states no cutoff). Clinical
     pipelines differ: MSK-IMPACT reads MSIsensor >= 10 as MSI-H and 3-10 as indeterminate
     (Middha et al., JCO Precis Oncol 2017); the cutoff is in the config for that reason.
   * ``msisensor-baseline`` (:func:`build_baseline`, :func:`msi_baseline`): tumour-only, against a
     baseline from the run's normal samples, in the spirit of MSIsensor2 and MSIsensor-pro. The
     baseline keeps, per site, the lengths that make up >= ``baseline_allele_fraction`` of the
     pooled normal reads (the germline alleles and common stutter). A tumour site is unstable when
     >= ``baseline_novel_fraction`` of its reads show a length absent from the baseline. This
     per-site rule is seq2rx's own (MSIsensor2 uses trained per-site models, MSIsensor-pro a
     multinomial slippage model), chosen to be explainable. **MSI-H when score >= 20**
     (``baseline_msi_h_score``): the cutoff MSIsensor2's README recommends for tumour-only data
     ("msi high: msi score >= 20%", github.com/niu-lab/msisensor2), the same as Illumina
     TruSight Oncology 500's; MSIsensor-pro itself publishes no cutoff ("the cut-off will be
     different for different sequencing panel", its wiki's FAQ) and asks for >= 20 normals in a
     baseline, so the number of normals used is reported.
   * ``vcf-indel-profile`` (:func:`msi_from_vcf`): when only a VCF is given, the fraction of PASS
     somatic indels that lie in microsatellites (PCGR's idea: MSI-H tumours carry many indels in
     repeats). PCGR classifies with a statistical model trained on TCGA exomes
     (colon, rectum, stomach, endometrium) and publishes no single-number rule, and seq2rx does not
     ship that model; so by default this method returns ``not assessed`` with the measured profile,
     and applies a cutoff only when the config sets one (``vcf_msi_h_fraction``), saying so. It is
     weaker than the read-based methods in either case.

Every result says how it was reached (``method``, ``criterion``) and, when fewer than ``min_sites``
sites could be evaluated, is ``not assessed`` with the reason: a missing answer is never MSS. The
default ``min_sites`` (30) follows MSIsensor-ct's README (at least 30 valid microsatellites); with
few sites a score moves in coarse steps (1 of 30 sites is 3.3%).
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _write_json

#: result statuses; "not assessed" always comes with a reason
MSI_H, MSS, NOT_ASSESSED = "MSI-H", "MSS", "not assessed"

SITE_COLUMNS = ("chrom", "start", "end", "unit", "repeat_count", "left_flank", "right_flank")


@dataclass(frozen=True)
class MsiParams:
    """Parameters of site finding, read counting and the three criteria (see the module's text).

    ``from_config`` reads the config's ``msi`` section; a key left out keeps the default here.
    """

    #: sites: shortest homopolymer (bases), fewest units of a 2-5 base unit, longest unit, longest tract
    min_homopolymer: int = 10
    min_repeat_units: int = 5
    max_unit: int = 5
    max_repeat_bases: int = 50
    #: bases of non-repeat sequence recorded and required on each side; a read must match them
    flank: int = 5
    #: reads: the lowest mapping quality counted
    min_mapq: int = 20
    #: sites: reads needed in each sample (tumour, normal, each baseline normal) to evaluate a site
    min_depth: int = 20
    #: paired: Benjamini-Hochberg q below which a site is unstable; the MSI-H score (%)
    fdr: float = 0.05
    msi_h_score: float = 3.5
    #: baseline: lengths kept per site, unstable fraction of novel lengths, the MSI-H score (%)
    baseline_allele_fraction: float = 0.05
    baseline_novel_fraction: float = 0.15
    baseline_msi_h_score: float = 20.0
    #: the fewest evaluable sites for a status
    min_sites: int = 30
    #: VCF fallback: the fewest PASS indels, and the in-repeat fraction for MSI-H (None: no rule)
    vcf_min_indels: int = 10
    vcf_msi_h_fraction: float | None = None

    def __post_init__(self) -> None:
        positive = ("min_homopolymer", "min_repeat_units", "max_unit", "max_repeat_bases", "flank", "min_depth",
                    "min_sites", "vcf_min_indels")  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"msi.{name} must be a whole number >= 1, got {value!r}")
        if self.min_repeat_units < 2:
            raise ValueError(f"msi.min_repeat_units must be >= 2, got {self.min_repeat_units!r}")
        if not isinstance(self.min_mapq, int) or not 0 <= self.min_mapq <= 255:
            raise ValueError(f"msi.min_mapq must be a whole number from 0 to 255, got {self.min_mapq!r}")
        for name in ("fdr", "baseline_allele_fraction", "baseline_novel_fraction", "vcf_msi_h_fraction"):
            value = getattr(self, name)
            if value is None and name == "vcf_msi_h_fraction":
                continue
            if not isinstance(value, int | float) or not 0 < value < 1:
                raise ValueError(f"msi.{name} must be a fraction between 0 and 1 (exclusive), got {value!r}")
        for name in ("msi_h_score", "baseline_msi_h_score"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 100:
                raise ValueError(f"msi.{name} must be a percentage in (0, 100], got {value!r}")

    @classmethod
    def from_config(cls, section: dict) -> MsiParams:
        """The parameters of the config's ``msi`` section; an unknown key is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"msi: unknown keys {unknown}; allowed: {sorted(known)}")
        return cls(**section)


@dataclass(frozen=True, order=True)
class Microsatellite:
    """One tract: 0-based half-open ``[start, end)`` on ``chrom``, ``repeat_count`` copies of ``unit``."""

    chrom: str
    start: int
    end: int
    unit: str
    repeat_count: int
    left_flank: str
    right_flank: str


# ---------------------------------------------------------------------------------------------
# inputs


def _open_fasta(fasta: str | Path) -> pysam.FastaFile:
    path = str(fasta)
    if not os.path.exists(path):
        raise InputError(path, "does not exist", hint="give the reference FASTA the reads were aligned to")
    if not os.path.exists(path + ".fai"):
        raise InputError(path, "has no index (.fai)", hint=f"run: samtools faidx {path}")
    try:
        return pysam.FastaFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot be read as an indexed FASTA ({exc})", hint="a bgzipped FASTA needs its .gzi too") from None  # fmt: skip


def _open_bam(bam: str | Path, sites: Sequence[Microsatellite]) -> pysam.AlignmentFile:
    """An indexed BAM/CRAM whose header names every contig of ``sites``, or an error naming it."""
    path = str(bam)
    if not os.path.exists(path):
        raise InputError(path, "does not exist")
    if not any(os.path.exists(path + ext) for ext in (".bai", ".csi", ".crai")) and not os.path.exists(
        os.path.splitext(path)[0] + ".bai"
    ):
        raise InputError(path, "has no index (.bai or .csi)", hint=f"run: samtools index {path}")
    try:
        fh = pysam.AlignmentFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot be read as a BAM ({exc})") from None
    missing = sorted({s.chrom for s in sites} - set(fh.references))
    if missing:
        fh.close()
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(path, f"has no contig {shown} of the microsatellite list",
                         hint="align to the reference the sites were found in (same contig names, e.g. chr1 vs 1)")  # fmt: skip
    return fh


#: sites are sought in windows of this many bases, so that memory stays flat on a whole genome
WINDOW = 1_000_000


def _regions(regions, fasta: pysam.FastaFile) -> list[tuple[str, int, int]]:
    """The regions to scan, cut into windows of :data:`WINDOW`; by default the reference's runs of
    non-N sequence (a genome padded with N, as the demo's, is not read base by base)."""
    if regions is None:
        from seq2rx.genome.reference import find_islands

        regions = find_islands(fasta.filename.decode())
    elif isinstance(regions, str | Path):
        from seq2rx.core.bed import read_bed_named

        regions = [(c, s, e) for c, s, e, _ in read_bed_named(regions)]
    lengths = dict(zip(fasta.references, fasta.lengths, strict=True))
    out = []
    for chrom, start, end in regions:
        if chrom not in lengths:
            raise InputError(fasta.filename.decode(), f"has no contig {chrom!r} named by the regions",
                             hint="use regions on the same reference")  # fmt: skip
        start, end = max(0, int(start)), min(int(end), lengths[chrom])
        out += [(chrom, w, min(w + WINDOW, end)) for w in range(start, end, WINDOW)]
    return sorted(set(out))


# ---------------------------------------------------------------------------------------------
# 1. sites


def _primitive(unit: str) -> bool:
    """True when ``unit`` is not itself a repeat of a shorter unit ('AT' yes, 'ATAT' and 'AA' no)."""
    return (unit + unit).find(unit, 1) == len(unit)


def _candidates(seq: str, offset: int, params: MsiParams) -> list[tuple[int, int, str]]:
    """``(start, end, unit)`` of every maximal tandem run in ``seq`` long enough to be a site."""
    found = []
    for k in range(1, params.max_unit + 1):
        least = params.min_homopolymer if k == 1 else params.min_repeat_units
        pattern = re.compile(rf"([ACGT]{{{k}}})\1{{{least - 1},}}")
        for m in pattern.finditer(seq):
            unit = m.group(1)
            if _primitive(unit):
                found.append((offset + m.start(), offset + m.end(), unit))
    return found


def find_microsatellites(fasta: str | Path, regions=None, *, params: MsiParams | None = None) -> list[Microsatellite]:
    """The microsatellites of the reference (or of ``regions``: a BED file or ``(chrom, start, end)``
    triples, 0-based), sorted by contig order of the FASTA index, then position.

    A site is a homopolymer of >= ``min_homopolymer`` bases or a 2..``max_unit`` base unit repeated
    >= ``min_repeat_units`` times, at most ``max_repeat_bases`` long, with ``flank`` bases of A/C/G/T
    on each side that belong to no other such tract (a compound repeat gives no clean flanks and is
    left out). A shorter run (a 9-base homopolymer, four CA units) is not a site.
    """
    params = params or MsiParams()
    fa = _open_fasta(fasta)
    order = {c: i for i, c in enumerate(fa.references)}
    sites = []
    with fa:
        for chrom, start, end in _regions(regions, fa):
            # read a little beyond the region so that a tract at its edge is seen whole, with flanks
            lo = max(0, start - params.max_repeat_bases - params.flank)
            hi = min(fa.get_reference_length(chrom), end + params.max_repeat_bases + params.flank)
            seq = fa.fetch(chrom, lo, hi).upper()
            runs = sorted(_candidates(seq, lo, params))
            for i, (s, e, unit) in enumerate(runs):
                if not start <= s < end or e - s > params.max_repeat_bases:
                    continue
                left, right = s - params.flank, e + params.flank
                if left < lo or right > hi:
                    continue
                neighbours = runs[max(0, i - 8) : i] + runs[i + 1 : i + 9]
                if any(ns < right and ne > left for ns, ne, _ in neighbours):
                    continue
                lf, rf = seq[left - lo : s - lo], seq[e - lo : right - lo]
                if not re.fullmatch("[ACGT]+", lf + rf):
                    continue
                sites.append(Microsatellite(chrom, s, e, unit, (e - s) // len(unit), lf, rf))
    return sorted(set(sites), key=lambda m: (order[m.chrom], m.start, m.end, m.unit))


def _write_tsv(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    lines = ["\t".join(columns)] + ["\t".join(str(c) for c in row) for row in rows]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def _read_tsv(path: str | Path, columns: Sequence[str], writer: str) -> Iterable[tuple[int, list[str]]]:
    """``(line number, fields)`` of each row of a TSV that must start with ``columns``."""
    with open(path) as fh:
        if fh.readline().rstrip("\n").split("\t") != list(columns):
            raise InputError(str(path), f"header must be {'/'.join(columns)}", line=1,
                             hint=f"write it with seq2rx.tumour.msi.{writer}")  # fmt: skip
        for n, line in enumerate(fh, start=2):
            yield n, line.rstrip("\n").split("\t")


def _site_cells(site: Microsatellite) -> list:
    return [getattr(site, c) for c in SITE_COLUMNS]


def _parse_site(f: list[str]) -> Microsatellite:
    chrom, start, end, unit, count, lf, rf = f[:7]
    return Microsatellite(chrom, int(start), int(end), unit, int(count), lf, rf)


def write_microsatellites(sites: Iterable[Microsatellite], path: str | Path) -> None:
    """The site list as a TSV (:data:`SITE_COLUMNS`, 0-based start), atomically."""
    _write_tsv(path, SITE_COLUMNS, (_site_cells(s) for s in sites))


def read_microsatellites(path: str | Path) -> list[Microsatellite]:
    """The sites that :func:`write_microsatellites` wrote; a malformed row is an error naming it."""
    sites = []
    for n, f in _read_tsv(path, SITE_COLUMNS, "write_microsatellites"):
        if len(f) != len(SITE_COLUMNS):
            raise InputError(str(path), f"has {len(f)} columns, not {len(SITE_COLUMNS)}", line=n)
        try:
            sites.append(_parse_site(f))
        except ValueError:
            raise InputError(str(path), "start, end and repeat_count must be whole numbers", line=n) from None
    return sites


# ---------------------------------------------------------------------------------------------
# 2. lengths per read


def _query_positions(read: pysam.AlignedSegment, targets: tuple[int, int]) -> tuple[int | None, int | None]:
    """The read positions aligned to the two reference positions (None where deleted or uncovered)."""
    found: list[int | None] = [None, None]
    qpos, rpos = 0, read.reference_start
    for op, length in read.cigartuples:
        if op in (0, 7, 8):  # M, =, X
            for i, t in enumerate(targets):
                if rpos <= t < rpos + length:
                    found[i] = qpos + t - rpos
            qpos += length
            rpos += length
        elif op in (1, 4):  # I, S
            qpos += length
        elif op in (2, 3):  # D, N
            rpos += length
    return found[0], found[1]


def repeat_length_distribution(bam: str | Path | pysam.AlignmentFile, site: Microsatellite, *,
                               min_mapq: int = 20, flank: int = 5) -> Counter:  # fmt: skip
    """Reads per observed tract length (bases) at ``site``.

    A read counts when it is mapped, primary (not secondary or supplementary), not a duplicate, not
    QC-failed, of MAPQ >= ``min_mapq``, and its bases aligned to the ``flank`` reference bases on
    each side of the tract equal them. Its tract length is the number of read bases between the
    last left-flank base and the first right-flank base, so that insertions and deletions inside
    the tract (however the aligner placed them) count. A read soft-clipped into a flank, or ending
    inside the tract, does not count. ``flank`` may not exceed the flanks recorded with the site.
    """
    flank = min(flank, len(site.left_flank), len(site.right_flank))
    left_flank, right_flank = site.left_flank[len(site.left_flank) - flank :], site.right_flank[:flank]
    own = not isinstance(bam, pysam.AlignmentFile)
    fh = _open_bam(bam, [site]) if own else bam
    counts: Counter = Counter()
    try:
        for read in fh.fetch(site.chrom, site.start, site.end):
            if (read.is_unmapped or read.is_secondary or read.is_supplementary or read.is_duplicate
                    or read.is_qcfail or read.mapping_quality < min_mapq):  # fmt: skip
                continue
            if read.reference_start > site.start - flank or read.reference_end < site.end + flank:
                continue
            q_left, q_right = _query_positions(read, (site.start - 1, site.end))
            if q_left is None or q_right is None or q_left + 1 < flank:
                continue
            seq = read.query_sequence
            if (seq[q_left - flank + 1 : q_left + 1].upper() != left_flank
                    or seq[q_right : q_right + flank].upper() != right_flank):  # fmt: skip
                continue
            counts[q_right - q_left - 1] += 1
    finally:
        if own:
            fh.close()
    return counts


# ---------------------------------------------------------------------------------------------
# 3. statistics


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q), in the order given; an empty list gives [].

    >>> [round(q, 4) for q in benjamini_hochberg([0.01, 0.04, 0.03, 0.5])]
    [0.04, 0.0533, 0.0533, 0.5]
    """
    n = len(pvalues)
    order = sorted(range(n), key=lambda i: pvalues[i])
    q = [0.0] * n
    running = 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * n / rank)
        q[i] = running
    return q


def chi_square_p(a: Counter, b: Counter) -> float:
    """Pearson's chi-square p of two length distributions (a 2 x k table, no continuity
    correction, as MSIsensor); 1.0 when both show one and the same length.

    >>> chi_square_p(Counter({10: 30}), Counter({10: 30}))
    1.0
    >>> chi_square_p(Counter({10: 30}), Counter({9: 30})) < 1e-12
    True
    """
    from scipy.stats import chi2

    lengths = sorted(set(a) | set(b))
    if len(lengths) < 2:
        return 1.0
    na, nb = sum(a.values()), sum(b.values())
    total = na + nb
    stat = 0.0
    for length in lengths:
        col = a[length] + b[length]
        for observed, row in ((a[length], na), (b[length], nb)):
            expected = row * col / total
            stat += (observed - expected) ** 2 / expected
    return float(chi2.sf(stat, len(lengths) - 1))


def _fmt(counts: Counter | None) -> str:
    return ",".join(f"{k}:{counts[k]}" for k in sorted(counts)) if counts else ""


def _status(method: str, criterion: str, unstable: int, evaluable: int, threshold: float, params: MsiParams,
            **extra) -> dict:  # fmt: skip
    result = {"method": method, "criterion": criterion, "unstable_sites": unstable, "evaluable_sites": evaluable,
              "min_sites": params.min_sites, **extra}  # fmt: skip
    if evaluable < params.min_sites:
        result |= {"status": NOT_ASSESSED, "score": None,
                   "reason": f"{evaluable} microsatellites with >= {params.min_depth} reads; {params.min_sites} needed"}  # fmt: skip
        return result
    score = round(100.0 * unstable / evaluable, 2)
    result |= {"status": MSI_H if score >= threshold else MSS, "score": score, "reason": None}
    return result


def _site_row(site: Microsatellite) -> dict:
    return {"chrom": site.chrom, "start": site.start, "end": site.end, "unit": site.unit,
            "repeat_count": site.repeat_count}  # fmt: skip


def paired_criterion(params: MsiParams) -> str:
    return (f"MSIsensor paired: chi-square of tumour vs normal tract lengths per site (>= {params.min_depth} reads "
            f"each), Benjamini-Hochberg q < {params.fdr} is unstable; MSI-H when >= {params.msi_h_score:g}% of "
            "evaluable sites are unstable (Niu et al., Bioinformatics 2014, PMID 24371154)")  # fmt: skip


def msi_paired(tumour_bam: str | Path, normal_bam: str | Path, sites: Sequence[Microsatellite], *,
               params: MsiParams | None = None) -> tuple[dict, list[dict]]:  # fmt: skip
    """MSI of a tumour against its matched normal (``msisensor-paired``).

    Returns ``(result, rows)``: the result dict (``status`` MSI-H / MSS / not assessed, ``score`` in
    %, ``unstable_sites``, ``evaluable_sites``, ``method``, ``criterion``, ``min_sites``, ``reason``)
    and one row per site for :func:`write_sites`. A site below ``min_depth`` in either sample is
    ``low depth`` and does not count.
    """
    params = params or MsiParams()
    rows, pvalues = [], []
    with _open_bam(tumour_bam, sites) as t_fh, _open_bam(normal_bam, sites) as n_fh:
        for site in sites:
            t = repeat_length_distribution(t_fh, site, min_mapq=params.min_mapq, flank=params.flank)
            n = repeat_length_distribution(n_fh, site, min_mapq=params.min_mapq, flank=params.flank)
            row = _site_row(site) | {"tumour_reads": sum(t.values()), "normal_reads": sum(n.values()),
                                     "tumour_lengths": _fmt(t), "normal_lengths": _fmt(n),
                                     "p_value": None, "q_value": None, "state": "low depth"}  # fmt: skip
            if row["tumour_reads"] >= params.min_depth and row["normal_reads"] >= params.min_depth:
                row["p_value"] = chi_square_p(t, n)
                pvalues.append(row["p_value"])
            rows.append(row)
    evaluable = [r for r in rows if r["p_value"] is not None]
    for row, q in zip(evaluable, benjamini_hochberg(pvalues), strict=True):
        row["q_value"] = q
        row["state"] = "unstable" if q < params.fdr else "stable"
    unstable = sum(r["state"] == "unstable" for r in evaluable)
    result = _status("msisensor-paired", paired_criterion(params), unstable, len(evaluable), params.msi_h_score, params)
    return result, rows


# ---------------------------------------------------------------------------------------------
# tumour-only against a baseline of normals


@dataclass(frozen=True)
class BaselineSite:
    """What the run's normals show at one site: how many normals had depth, their pooled reads per
    length, and the lengths kept as expected (germline alleles and common stutter)."""

    site: Microsatellite
    samples: int
    counts: Counter
    allowed: frozenset[int]


def build_baseline(normal_bams: Sequence[str | Path], sites: Sequence[Microsatellite], *,
                   params: MsiParams | None = None) -> list[BaselineSite]:  # fmt: skip
    """Per site, the pooled lengths of the normals that have >= ``min_depth`` reads there and the
    lengths that make up >= ``baseline_allele_fraction`` of them. A site no normal covers is left
    out (a tumour cannot be judged there). MSIsensor-pro asks for >= 20 normals from the same
    sequencer; fewer work but give a noisier baseline."""
    params = params or MsiParams()
    if not normal_bams:
        raise ValueError("a baseline needs at least one normal BAM")
    pooled: dict[Microsatellite, Counter] = {s: Counter() for s in sites}
    samples: Counter = Counter()
    for bam in normal_bams:
        with _open_bam(bam, sites) as fh:
            for site in sites:
                c = repeat_length_distribution(fh, site, min_mapq=params.min_mapq, flank=params.flank)
                if sum(c.values()) >= params.min_depth:
                    pooled[site].update(c)
                    samples[site] += 1
    baseline = []
    for site in sites:
        total = sum(pooled[site].values())
        if not total:
            continue
        allowed = frozenset(k for k, v in pooled[site].items() if v / total >= params.baseline_allele_fraction)
        baseline.append(BaselineSite(site, samples[site], pooled[site], allowed))
    return baseline


BASELINE_COLUMNS = (*SITE_COLUMNS, "samples", "lengths", "allowed")


def write_baseline(baseline: Iterable[BaselineSite], path: str | Path) -> None:
    """The baseline as a TSV: the site's columns, normals used, pooled ``length:reads`` and the
    allowed lengths; atomically."""
    rows = ([*_site_cells(b.site), b.samples, _fmt(b.counts), ",".join(map(str, sorted(b.allowed)))] for b in baseline)
    _write_tsv(path, BASELINE_COLUMNS, rows)


def read_baseline(path: str | Path) -> list[BaselineSite]:
    """The baseline :func:`write_baseline` wrote; a malformed row is an error naming it."""
    out = []
    for n, f in _read_tsv(path, BASELINE_COLUMNS, "write_baseline"):
        try:
            counts = Counter({int(k): int(v) for k, v in (kv.split(":") for kv in f[8].split(",") if kv)})
            allowed = frozenset(int(k) for k in f[9].split(",") if k)
            out.append(BaselineSite(_parse_site(f), int(f[7]), counts, allowed))
        except (ValueError, IndexError):
            raise InputError(str(path), f"needs {len(BASELINE_COLUMNS)} well-formed columns", line=n) from None
    return out


def baseline_criterion(params: MsiParams, normals: int) -> str:
    return (f"tumour-only against a baseline of {normals} normal sample(s): a site (>= {params.min_depth} reads) is "
            f"unstable when >= {params.baseline_novel_fraction:.0%} of its reads show a length that is under "
            f"{params.baseline_allele_fraction:.0%} of the baseline's reads (seq2rx rule, after MSIsensor2 and "
            f"MSIsensor-pro); MSI-H when >= {params.baseline_msi_h_score:g}% of evaluable sites are unstable "
            "(MSIsensor2 README's tumour-only cutoff, as TruSight Oncology 500)")  # fmt: skip


def msi_baseline(tumour_bam: str | Path, baseline: Sequence[BaselineSite], *,
                 params: MsiParams | None = None) -> tuple[dict, list[dict]]:  # fmt: skip
    """Tumour-only MSI against a baseline of normals (``msisensor-baseline``); returns
    ``(result, rows)`` as :func:`msi_paired`, with ``baseline_samples`` (the most normals behind
    any site) in the result."""
    params = params or MsiParams()
    rows = []
    normals = max((b.samples for b in baseline), default=0)
    with _open_bam(tumour_bam, [b.site for b in baseline]) as fh:
        for b in baseline:
            t = repeat_length_distribution(fh, b.site, min_mapq=params.min_mapq, flank=params.flank)
            depth = sum(t.values())
            novel = sum(v for k, v in t.items() if k not in b.allowed)
            row = _site_row(b.site) | {"tumour_reads": depth, "baseline_reads": sum(b.counts.values()),
                                       "tumour_lengths": _fmt(t), "baseline_lengths": _fmt(b.counts),
                                       "allowed": ",".join(map(str, sorted(b.allowed))),
                                       "novel_fraction": None, "state": "low depth"}  # fmt: skip
            if depth >= params.min_depth:
                row["novel_fraction"] = round(novel / depth, 4)
                row["state"] = "unstable" if novel / depth >= params.baseline_novel_fraction else "stable"
            rows.append(row)
    evaluable = [r for r in rows if r["novel_fraction"] is not None]
    unstable = sum(r["state"] == "unstable" for r in evaluable)
    result = _status("msisensor-baseline", baseline_criterion(params, normals), unstable, len(evaluable),
                     params.baseline_msi_h_score, params, baseline_samples=normals)  # fmt: skip
    return result, rows


# ---------------------------------------------------------------------------------------------
# 4. VCF fallback


def _in_local_repeat(fa: pysam.FastaFile, chrom: str, pos0: int, changed: str, params: MsiParams) -> bool:
    """Whether the inserted or deleted bases ``changed``, placed after 0-based ``pos0``, sit in a
    tract of their own unit that is a site by the thresholds of :func:`find_microsatellites`."""
    unit = changed
    for k in range(1, len(changed) + 1):
        if len(changed) % k == 0 and changed[:k] * (len(changed) // k) == changed:
            unit = changed[:k]
            break
    if len(unit) > params.max_unit:
        return False
    k = len(unit)
    span = params.max_repeat_bases + len(changed)
    lo = max(0, pos0 + 1 - span)
    seq = fa.fetch(chrom, lo, pos0 + 1 + span).upper()
    here = pos0 + 1 - lo
    left = here  # extend the unit's tract to both sides of the indel's place
    while left - k >= 0 and seq[left - k : left] == unit:
        left -= k
    right = here
    while seq[right : right + k] == unit:
        right += k
    copies = (right - left) // k
    return right - left >= params.min_homopolymer if k == 1 else copies >= params.min_repeat_units


def _near_site(tracts: list[tuple[int, int]], pos0: int) -> bool:
    """Whether 0-based ``pos0`` lies in one of the sorted, disjoint ``[start, end)`` tracts or on
    the base either side of it (where a caller puts an indel it aligned left or right)."""
    i = bisect.bisect_right(tracts, (pos0 + 1, math.inf)) - 1
    return i >= 0 and pos0 <= tracts[i][1]


def vcf_criterion(params: MsiParams) -> str:
    base = ("PCGR-style somatic indel profile: the fraction of PASS indels in microsatellites (weaker than read "
            "length distributions; PCGR itself uses a classifier trained on TCGA exomes)")  # fmt: skip
    if params.vcf_msi_h_fraction is None:
        return base + "; no cutoff is set (msi.vcf_msi_h_fraction), so no status is given"
    return base + (f"; MSI-H when >= {params.vcf_msi_h_fraction:.0%} of >= {params.vcf_min_indels} indels are in "
                   "repeats (a cutoff set in the config, not a published one)")  # fmt: skip


def msi_from_vcf(vcf: str | Path, *, sites: Sequence[Microsatellite] | None = None, fasta: str | Path | None = None,
                 sample: str | None = None, params: MsiParams | None = None) -> dict:  # fmt: skip
    """The somatic indel profile of a tumour VCF (``vcf-indel-profile``).

    Counts PASS (or unfiltered) records with an allele whose length differs from REF; an indel is
    in a repeat when it falls in or at the edge of one of ``sites``, or (with ``fasta``) when its
    changed bases extend a reference tract of their own unit to a site's size. Without
    ``vcf_msi_h_fraction`` the status is ``not assessed`` and the profile is reported
    (``indels``, ``indels_in_repeats``, ``repeat_fraction``): see the module's text for why.
    ``sample``, when given, keeps records whose genotype in that sample carries an alternate allele.
    """
    params = params or MsiParams()
    if sites is None and fasta is None:
        raise ValueError("msi_from_vcf needs the microsatellite sites or the reference FASTA")
    try:
        vf = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputError(str(vcf), f"cannot be read as a VCF ({exc})") from None
    fa = _open_fasta(fasta) if fasta is not None else None
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for s in sorted(sites or ()):
        by_chrom.setdefault(s.chrom, []).append((s.start, s.end))
    indels = in_repeat = 0
    try:
        if sample is not None and sample not in vf.header.samples:
            raise InputError(str(vcf), f"has no sample {sample!r}", hint=f"samples: {list(vf.header.samples)}")
        for rec in vf:
            if set(rec.filter.keys()) - {"PASS"}:
                continue
            alts = [a for a in rec.alts or () if not a.startswith("<") and a != "*" and len(a) != len(rec.ref)]
            if sample is not None:
                gt = rec.samples[sample].get("GT") or ()
                alts = [a for a in alts if rec.alleles.index(a) in gt]
            if not alts:
                continue
            alt = alts[0]
            indels += 1
            changed = (rec.ref[1:] if len(rec.ref) > len(alt) else alt[1:]).upper()
            hit = _near_site(by_chrom.get(rec.chrom, []), rec.start + 1)
            if not hit and fa is not None and rec.chrom in fa.references and changed:
                hit = _in_local_repeat(fa, rec.chrom, rec.start, changed, params)
            in_repeat += hit
    finally:
        vf.close()
        if fa is not None:
            fa.close()
    fraction = round(in_repeat / indels, 4) if indels else None
    result = {"method": "vcf-indel-profile", "criterion": vcf_criterion(params), "indels": indels,
              "indels_in_repeats": in_repeat, "repeat_fraction": fraction, "unstable_sites": None,
              "evaluable_sites": None, "min_sites": None, "score": fraction}  # fmt: skip
    if params.vcf_msi_h_fraction is None:
        return result | {"status": NOT_ASSESSED, "reason": "only a VCF was given, and no validated indel-profile "
                         "cutoff is set; the profile is reported without a status"}  # fmt: skip
    if indels < params.vcf_min_indels:
        return result | {"status": NOT_ASSESSED, "reason": f"{indels} PASS indels; {params.vcf_min_indels} needed"}
    status = MSI_H if fraction >= params.vcf_msi_h_fraction else MSS
    return result | {"status": status, "reason": None}


# ---------------------------------------------------------------------------------------------
# 5. outputs


def write_json(result: dict, path: str | Path) -> None:
    """The result dict as JSON, atomically."""
    _write_json(result, path)


def write_sites(rows: Sequence[dict], path: str | Path) -> None:
    """One row per site (the ``rows`` of :func:`msi_paired` or :func:`msi_baseline`) as a TSV,
    atomically; an empty value is written as ``.``; no rows give a header-only file of the site
    columns."""
    columns = list(rows[0]) if rows else [*SITE_COLUMNS[:5], "state"]

    def cell(v) -> str:
        if v is None or v == "":
            return "."
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    _write_tsv(path, columns, ([cell(r.get(c)) for c in columns] for r in rows))


# ---------------------------------------------------------------------------------------------
# 6. which criterion a tumour gets


#: the three ways a tumour's MSI is read, best first
MODES = ("msisensor-paired", "msisensor-baseline", "vcf-indel-profile")


def msi_mode(*, aligned: bool, matched_normal: bool) -> str:
    """How a tumour's MSI is read: against its matched normal when it has reads and one
    (``msisensor-paired``), tumour-only against the run's baseline of normals when it has reads
    and none (``msisensor-baseline``), and from its somatic indels when it started from a VCF
    (``vcf-indel-profile``; a matched normal does not help there).

    >>> [msi_mode(aligned=a, matched_normal=m) for a, m in ((True, True), (True, False), (False, True))]
    ['msisensor-paired', 'msisensor-baseline', 'vcf-indel-profile']
    """
    if not aligned:
        return "vcf-indel-profile"
    return "msisensor-paired" if matched_normal else "msisensor-baseline"


def msi_score(mode: str, *, sites: str | Path, tumour_bam: str | Path | None = None,
              normal_bam: str | Path | None = None, baseline: str | Path | None = None,
              vcf: str | Path | None = None, fasta: str | Path | None = None, sample: str | None = None,
              params: MsiParams | None = None) -> tuple[dict, list[dict]]:  # fmt: skip
    """One tumour's MSI by ``mode`` (:func:`msi_mode`), from the files each mode reads (the sites
    TSV of :func:`write_microsatellites`, the baseline TSV of :func:`write_baseline`): returns
    ``(result, rows)`` as :func:`msi_paired`; the VCF profile has no per-site rows. A file the mode
    needs and was not given is an error naming it."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    needs = {"msisensor-paired": ("tumour_bam", "normal_bam"), "msisensor-baseline": ("tumour_bam", "baseline"),
             "vcf-indel-profile": ("vcf",)}[mode]  # fmt: skip
    given = {"tumour_bam": tumour_bam, "normal_bam": normal_bam, "baseline": baseline, "vcf": vcf}
    missing = [n for n in needs if given[n] is None]
    if missing:
        raise ValueError(f"MSI mode {mode} needs {', '.join(missing)}")
    params = params or MsiParams()
    microsatellites = read_microsatellites(sites)
    if mode == "msisensor-paired":
        return msi_paired(tumour_bam, normal_bam, microsatellites, params=params)
    if mode == "msisensor-baseline":
        return msi_baseline(tumour_bam, read_baseline(baseline), params=params)
    return msi_from_vcf(vcf, sites=microsatellites, fasta=fasta, sample=sample, params=params), []
