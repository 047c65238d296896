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


def target_coverage(bam: str | Path, targets: str | Path, min_mapq: int = 20, min_baseq: int = 13) -> list[dict]:
    """Per target region: mean depth and fraction of bases at >= 10x, 20x and 30x.

    Depth counts reads that are mapped, primary, not duplicates and not QC-failed, at bases of
    quality >= ``min_baseq``, like ``samtools depth -Q min_mapq -q min_baseq``.
    """
    out = []
    with pysam.AlignmentFile(str(bam), "rb") as fh:
        contigs = set(fh.references)
        for chrom, start, end, name in read_bed_named(targets):
            if chrom not in contigs or end <= start:
                depth = np.zeros(max(0, end - start))
            else:
                acgt = fh.count_coverage(
                    chrom,
                    start,
                    end,
                    quality_threshold=min_baseq,
                    read_callback=lambda r: (
                        not r.is_unmapped
                        and not r.is_secondary
                        and not r.is_supplementary
                        and not r.is_duplicate
                        and not r.is_qcfail
                        and r.mapping_quality >= min_mapq
                    ),
                )
                depth = np.sum(np.array(acgt), axis=0)
            n = max(1, len(depth))
            out.append(
                {
                    "chrom": chrom,
                    "start": start,
                    "end": end,
                    "name": name,
                    "mean_depth": round(float(depth.mean()) if len(depth) else 0.0, 2),
                    "pct_10x": round(float((depth >= 10).sum()) / n, 4),
                    "pct_20x": round(float((depth >= 20).sum()) / n, 4),
                    "pct_30x": round(float((depth >= 30).sum()) / n, 4),
                }
            )
    return out


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


def summarise(
    sample: str, flagstat_text: str, coverage: list[dict], th: Thresholds, *, reads: dict | None = None
) -> dict:
    """One sample's QC metrics and a pass / warn / fail verdict with the reasons.

    ``reads`` is what reading the FASTQ files found (:meth:`seq2rx.reads.fastq.ReadsReport.as_dict`:
    layout, read-name styles, quality encoding, bases read as N, notes); it is kept as
    ``input_reads`` in the summary. A sample that started from a BAM has none.

    Properly paired reads are counted among the primary ones: a fraction below
    ``min_properly_paired_fraction`` fails the sample (a mate file from another sample or run,
    or read 1 given twice, pairs nothing). A BAM of single-end reads (none paired in sequencing)
    is not judged on it.
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
    return {
        "sample": sample,
        "reads": fs.get("total", 0),
        "mapped_fraction": round(mapped, 4),
        "properly_paired_fraction": round(paired, 4),
        "duplicate_fraction": round(dups, 4),
        "mean_target_coverage": round(mean_cov, 2),
        "target_fraction_20x": round(pct20_all, 4),
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
