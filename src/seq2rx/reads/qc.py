"""Alignment QC: samtools stats/flagstat/idxstats, coverage over targets, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from seq2rx.core.bed import read_bed_named
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _atomic_json


def samtools_reports(
    bam: str | Path, fasta: str | Path, stats: str | Path, flagstat: str | Path, idxstats: str | Path
) -> None:
    """Write samtools stats, flagstat and idxstats; the stats file loses its path-bearing lines."""
    text = pysam.samtools.stats("-r", str(fasta), str(bam))
    lines = [ln for ln in text.splitlines() if not ln.startswith("# The command line")]
    with atomic_output(stats) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    with atomic_output(flagstat) as tmp:
        Path(tmp).write_text(pysam.samtools.flagstat(str(bam)))
    with atomic_output(idxstats) as tmp:
        Path(tmp).write_text(pysam.samtools.idxstats(str(bam)))


#: the longest stretch of target whose depth is held in memory at once (bases): with the depth
#: histogram (one counter per depth seen), this bounds the memory of the coverage pass whatever the
#: size of the genome or of the targets
WINDOW = 1_000_000
#: flags of the reads that do not count towards depth or on-target bases: unmapped (0x4), secondary
#: (0x100), QC-failed (0x200), duplicate (0x400), supplementary (0x800)
_SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800


@dataclass(frozen=True)
class TargetDepth:
    """Depth over the targets: each region's numbers, and the depth histogram of the target territory.

    ``histogram[d]`` is the number of target bases at depth ``d``; a base inside several
    (overlapping) regions counts once, as Picard counts its TARGET_TERRITORY.
    """

    regions: list[dict]
    histogram: np.ndarray


def _merge(rows: list[tuple[str, int, int, str]]) -> dict[str, list[tuple[int, int, list[int]]]]:
    """Each contig's target territory: sorted, merged (overlapping or touching) intervals, each with
    the indices of the regions inside it. Regions with ``end <= start`` hold no base and are left out."""
    by_contig: dict[str, list[tuple[int, int, int]]] = {}
    for i, (chrom, start, end, _) in enumerate(rows):
        if end > start:
            by_contig.setdefault(chrom, []).append((start, end, i))
    merged: dict[str, list[tuple[int, int, list[int]]]] = {}
    for chrom, items in by_contig.items():
        out: list[tuple[int, int, list[int]]] = []
        for start, end, i in sorted(items):
            if out and start <= out[-1][1]:
                s0, e0, idx = out[-1]
                out[-1] = (s0, max(e0, end), [*idx, i])
            else:
                out.append((start, end, [i]))
        merged[chrom] = out
    return merged


def target_depth(
    bam: str | Path, targets: str | Path, min_mapq: int = 20, min_baseq: int = 13, *, window: int = WINDOW
) -> TargetDepth:
    """Per target region: mean depth and fraction of bases at >= 10x, 20x and 30x; and the depth
    histogram of the target territory (for fold-80, :func:`fold_80_base_penalty`).

    Depth counts reads that are mapped, primary, not duplicates and not QC-failed, at bases of
    quality >= ``min_baseq``, like ``samtools depth -Q min_mapq -q min_baseq``. The territory is
    read in stretches of at most ``window`` bases, so memory does not grow with it.
    A region with ``end <= start`` has mean 0 and no bases at any depth.
    """
    rows = read_bed_named(targets)
    acc = np.zeros((len(rows), 4), dtype=np.int64)  # per region: depth sum, bases >= 10x, 20x, 30x
    hist = np.zeros(1, dtype=np.int64)

    def keep(r) -> bool:
        return not (r.flag & _SKIP_FLAGS) and r.mapping_quality >= min_mapq

    with pysam.AlignmentFile(str(bam), "rb") as fh:
        contigs = set(fh.references)
        for chrom, intervals in _merge(rows).items():
            for start, end, members in intervals:
                for ws in range(start, end, window):
                    we = min(end, ws + window)
                    if chrom in contigs:
                        acgt = fh.count_coverage(chrom, ws, we, quality_threshold=min_baseq, read_callback=keep)
                        depth = np.sum(np.array(acgt, dtype=np.int64), axis=0)
                    else:
                        depth = np.zeros(we - ws, dtype=np.int64)
                    counts = np.bincount(depth)
                    if len(counts) > len(hist):
                        hist = np.pad(hist, (0, len(counts) - len(hist)))
                    hist[: len(counts)] += counts
                    for i in members:
                        lo, hi = max(rows[i][1], ws), min(rows[i][2], we)
                        if lo < hi:
                            d = depth[lo - ws : hi - ws]
                            acc[i] += (int(d.sum()), int((d >= 10).sum()), int((d >= 20).sum()), int((d >= 30).sum()))
    out = []
    for (chrom, start, end, name), (total, n10, n20, n30) in zip(rows, acc.tolist(), strict=True):
        n = max(1, end - start)
        out.append(
            {
                "chrom": chrom,
                "start": start,
                "end": end,
                "name": name,
                "mean_depth": round(total / n if end > start else 0.0, 2),
                "pct_10x": round(n10 / n, 4),
                "pct_20x": round(n20 / n, 4),
                "pct_30x": round(n30 / n, 4),
            }
        )
    return TargetDepth(out, hist)


def target_coverage(bam: str | Path, targets: str | Path, min_mapq: int = 20, min_baseq: int = 13) -> list[dict]:
    """Per target region: mean depth and fraction of bases at >= 10x, 20x and 30x
    (:func:`target_depth`'s regions)."""
    return target_depth(bam, targets, min_mapq, min_baseq).regions


def fold_80_base_penalty(histogram: np.ndarray) -> float | None:
    """Picard's FOLD_80_BASE_PENALTY from a per-base depth histogram of the target territory.

    As CollectHsMetrics computes it: the mean depth over all target bases (zero-depth ones
    included) divided by the 20th percentile of that depth, the smallest depth ``d`` with at least
    20% of the target bases at depth <= ``d`` (htsjdk ``Histogram.getPercentile(0.2)``). Picard's
    documentation speaks of "non-zero-cvg targets", but its code (CollectHsMetrics 3.x) keeps the
    zero-depth bases in both numbers (picard issue 1971); so do we, so the numbers compare. Unlike
    Picard, depth is not capped (its COVERAGE_CAP of 200 makes the penalty of deep panels too high).

    ``None`` when there is no target base, or when the 20th percentile is 0 (more than a fifth of
    the territory uncovered; Picard writes ``?``): no finite penalty raises those bases to the mean.
    """
    h = np.asarray(histogram, dtype=np.int64)
    total = int(h.sum())
    if total == 0:
        return None
    mean = float((np.arange(len(h)) * h).sum()) / total
    # first depth at which the cumulative count reaches 20% of the bases, in whole numbers
    p20 = int(np.argmax(5 * np.cumsum(h) >= total))
    return mean / p20 if p20 else None


def on_target_bases(bam: str | Path, targets: str | Path) -> tuple[int, int]:
    """``(on_target, aligned)``: aligned bases of the reads that are mapped, primary, not duplicates and
    not QC-failed, and how many of them fall inside a target region.

    Aligned bases are those of the M, = and X CIGAR operations (no insertion, deletion or clip),
    as Picard counts PF_UQ_BASES_ALIGNED (its supplementary alignments aside); a base inside
    several overlapping regions counts once. The on-target rate ``on_target / aligned`` is
    Picard's ON_TARGET_BASES / PF_UQ_BASES_ALIGNED without the mapping-quality, base-quality and
    mate-overlap filters Picard applies to the numerator alone: the share of the unique
    sequencing that the capture put on target. It is not PCT_SELECTED_BASES, which counts
    duplicates and bases near the baits. One pass over the BAM; memory holds the targets only.
    """
    from bisect import bisect_right

    starts: dict[str, list[int]] = {}
    ends: dict[str, list[int]] = {}
    for chrom, intervals in _merge(read_bed_named(targets)).items():
        starts[chrom] = [s for s, _, _ in intervals]
        ends[chrom] = [e for _, e, _ in intervals]
    on = aligned = 0
    with pysam.AlignmentFile(str(bam), "rb") as fh:
        names = fh.references
        for r in fh.fetch(until_eof=True):
            if r.flag & _SKIP_FLAGS:
                continue
            blocks = r.get_blocks()
            aligned += sum(e - s for s, e in blocks)
            chrom = names[r.reference_id]
            if chrom not in starts:
                continue
            ts, te = starts[chrom], ends[chrom]
            for bs, be in blocks:
                i = bisect_right(te, bs)
                while i < len(ts) and ts[i] < be:
                    on += min(be, te[i]) - max(bs, ts[i])
                    i += 1
    return on, aligned


def parse_flagstat(text: str) -> dict[str, int]:
    """Totals (QC-passed) from samtools flagstat's default text output."""
    wanted = {
        "in total": "total",
        "primary mapped": "primary_mapped",
        "primary duplicates": "primary_duplicates",
        "properly paired": "properly_paired",
        "paired in sequencing": "paired",
        "primary": "primary",
    }
    out: dict[str, int] = {}
    for line in text.splitlines():
        head, _, rest = line.partition(" + ")
        label = rest.split(" ", 1)[1] if " " in rest else ""
        label = label.split(" (")[0].strip()
        if label in wanted and wanted[label] not in out:
            out[wanted[label]] = int(head)
    return out


@dataclass(frozen=True)
class Thresholds:
    min_mean_coverage: float
    warn_mean_coverage: float
    max_duplicate_fraction: float
    min_mapped_fraction: float
    min_properly_paired_fraction: float
    min_on_target_fraction: float
    max_fold_80_base_penalty: float


def summarise(
    sample: str,
    flagstat_text: str,
    coverage: list[dict],
    th: Thresholds,
    *,
    reads: dict | None = None,
    fold_80: float | None = None,
    on_target: tuple[int, int] | None = None,
) -> dict:
    """One sample's QC metrics and a pass / warn / fail verdict with the reasons.

    ``reads`` is what reading the FASTQ files found (:meth:`seq2rx.reads.fastq.ReadsReport.as_dict`:
    layout, read-name styles, quality encoding, bases read as N, notes); it is kept as
    ``input_reads`` in the summary. A sample that started from a BAM has none.

    Properly paired reads are counted among the primary ones: a fraction below
    ``min_properly_paired_fraction`` fails the sample (a mate file from another sample or run,
    or read 1 given twice, pairs nothing). A BAM of single-end reads (none paired in sequencing)
    is not judged on it.

    ``fold_80`` (:func:`fold_80_base_penalty`) above ``max_fold_80_base_penalty`` and the on-target
    rate (``on_target``: :func:`on_target_bases`, given for exomes and panels) below
    ``min_on_target_fraction`` make a passing sample warn. Either may be ``None`` (no finite
    penalty; no targets configured): it is then ``null`` in the summary and not judged.
    """
    fs = parse_flagstat(flagstat_text)
    primary = fs.get("primary", 0)
    mapped = fs.get("primary_mapped", 0) / primary if primary else 0.0
    paired = fs.get("properly_paired", 0) / primary if primary else 0.0
    dups = fs.get("primary_duplicates", 0) / primary if primary else 0.0
    lengths = np.array([c["end"] - c["start"] for c in coverage], dtype=float)
    means = np.array([c["mean_depth"] for c in coverage], dtype=float)
    pct20 = np.array([c["pct_20x"] for c in coverage], dtype=float)
    mean_cov = float((means * lengths).sum() / lengths.sum()) if lengths.sum() else 0.0
    pct20_all = float((pct20 * lengths).sum() / lengths.sum()) if lengths.sum() else 0.0
    reasons = []
    verdict = "pass"
    if mapped < th.min_mapped_fraction:
        verdict = "fail"
        reasons.append(f"mapped fraction {mapped:.3f} < {th.min_mapped_fraction}")
    if fs.get("paired", 0) and paired < th.min_properly_paired_fraction:
        verdict = "fail"
        reasons.append(f"properly paired fraction {paired:.3f} < {th.min_properly_paired_fraction}")
    if mean_cov < th.min_mean_coverage:
        verdict = "fail"
        reasons.append(f"mean target coverage {mean_cov:.1f} < {th.min_mean_coverage}")
    elif mean_cov < th.warn_mean_coverage and verdict == "pass":
        verdict = "warn"
        reasons.append(f"mean target coverage {mean_cov:.1f} < {th.warn_mean_coverage}")
    if dups > th.max_duplicate_fraction and verdict == "pass":
        verdict = "warn"
        reasons.append(f"duplicate fraction {dups:.3f} > {th.max_duplicate_fraction}")
    on_rate = None if on_target is None else (on_target[0] / on_target[1] if on_target[1] else 0.0)
    # the capture's quality: a warning, named even when another reason already decided the verdict
    if on_rate is not None and on_rate < th.min_on_target_fraction:
        verdict = "warn" if verdict == "pass" else verdict
        reasons.append(f"on-target fraction {on_rate:.3f} < {th.min_on_target_fraction}")
    if fold_80 is not None and fold_80 > th.max_fold_80_base_penalty:
        verdict = "warn" if verdict == "pass" else verdict
        reasons.append(f"fold-80 base penalty {fold_80:.2f} > {th.max_fold_80_base_penalty}")
    return {
        "sample": sample,
        "reads": fs.get("total", 0),
        "mapped_fraction": round(mapped, 4),
        "properly_paired_fraction": round(paired, 4),
        "duplicate_fraction": round(dups, 4),
        "mean_target_coverage": round(mean_cov, 2),
        "target_fraction_20x": round(pct20_all, 4),
        "on_target_fraction": None if on_rate is None else round(on_rate, 4),
        "fold_80_base_penalty": None if fold_80 is None else round(fold_80, 4),
        "verdict": verdict,
        "reasons": reasons,
        **({"input_reads": reads} if reads is not None else {}),
    }


def write_coverage(coverage: list[dict], path: str | Path) -> None:
    cols = ["chrom", "start", "end", "name", "mean_depth", "pct_10x", "pct_20x", "pct_30x"]
    with atomic_output(path) as tmp:
        Path(tmp).write_text(
            "\t".join(cols) + "\n" + "".join("\t".join(str(c[k]) for k in cols) + "\n" for c in coverage)
        )


def write_json(obj: dict, path: str | Path) -> None:
    _atomic_json(obj, path)


def write_targets(targets: str | Path | None, fasta: str | Path | None, out: str | Path, min_gap: int = 1000) -> None:
    """The regions coverage is measured over: the configured BED, or else the reference's islands
    (its runs of sequence between N gaps of at least ``min_gap``, named as the index names them)."""
    from seq2rx.genome.reference import find_islands, island_name

    if targets:
        rows = read_bed_named(targets)
    else:
        with pysam.FastaFile(str(fasta)) as fa:
            lengths = dict(zip(fa.references, fa.lengths, strict=True))
        rows = [(c, s, e, island_name(c, s, e, lengths[c])) for c, s, e in find_islands(fasta, min_gap=min_gap)]
    with atomic_output(out) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in rows))
