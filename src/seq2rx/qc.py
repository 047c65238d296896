"""Alignment QC: samtools stats/flagstat/idxstats, coverage over targets, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from .io import atomic_output
from .io import write_json as _atomic_json


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


def read_bed_named(path: str | Path) -> list[tuple[str, int, int, str]]:
    rows = []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            rows.append((f[0], int(f[1]), int(f[2]), f[3] if len(f) > 3 else f"{f[0]}:{int(f[1]) + 1}-{f[2]}"))
    return rows


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


def summarise(sample: str, flagstat_text: str, coverage: list[dict], th: Thresholds) -> dict:
    """One sample's QC metrics and a pass / warn / fail verdict with the reasons."""
    fs = parse_flagstat(flagstat_text)
    primary = fs.get("primary", 0)
    mapped = fs.get("primary_mapped", 0) / primary if primary else 0.0
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
        "properly_paired_fraction": round(fs.get("properly_paired", 0) / primary, 4) if primary else 0.0,
        "duplicate_fraction": round(dups, 4),
        "mean_target_coverage": round(mean_cov, 2),
        "target_fraction_20x": round(pct20_all, 4),
        "verdict": verdict,
        "reasons": reasons,
    }


def write_coverage(coverage: list[dict], path: str | Path) -> None:
    cols = ["chrom", "start", "end", "name", "mean_depth", "pct_10x", "pct_20x", "pct_30x"]
    with atomic_output(path) as tmp:
        Path(tmp).write_text(
            "\t".join(cols) + "\n" + "".join("\t".join(str(c[k]) for k in cols) + "\n" for c in coverage)
        )


def write_json(obj: dict, path: str | Path) -> None:
    _atomic_json(obj, path)


def multiqc_table(summaries: list[dict], path: str | Path) -> None:
    """A MultiQC custom-content table of the seq2rx QC verdicts (one row per sample)."""
    cols = ["mean_target_coverage", "target_fraction_20x", "verdict"]
    lines = [
        "# id: 'seq2rx_qc'",
        "# section_name: 'seq2rx QC verdict'",
        "# description: 'Mean depth over the target regions, fraction at >= 20x, and the configured verdict.'",
        "# plot_type: 'table'",
        "Sample\t" + "\t".join(cols),
    ]
    for s in sorted(summaries, key=lambda x: x["sample"]):
        lines.append(s["sample"] + "\t" + "\t".join(str(s[c]) for c in cols))
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def findings_table(pgx_docs: list[dict], actionability_docs: list[dict], path: str | Path) -> None:
    """A MultiQC custom-content table of seq2rx's findings per sample: PGx calls and
    actionable biomarkers (tier I and II), so a core facility sees them beside the QC."""
    action = {d["sample"]: d for d in actionability_docs}
    cols = ["pgx_genes_called", "pgx_actionable_phenotypes", "pgx_recommendations", "tier_I", "tier_II",
            "top_biomarker"]  # fmt: skip
    lines = [
        "# id: 'seq2rx_findings'",
        "# section_name: 'seq2rx findings'",
        "# description: 'Pharmacogenes called, phenotypes other than normal, CPIC recommendations that apply, "
        "and tumour biomarkers at AMP/ASCO/CAP tiers I and II.'",
        "# plot_type: 'table'",
        "Sample\t" + "\t".join(cols),
    ]
    normal = {"Normal Metabolizer", "Normal Function", None, "Indeterminate"}
    for doc in sorted(pgx_docs, key=lambda d: d["sample"]):
        genes = doc["genes"].values()
        called = sum(g["status"] in ("called", "incomplete", "outside call") for g in genes)
        notable = sorted(f"{g['gene']} {g['phenotype']}" for g in genes if g["phenotype"] not in normal
                         and g["gene"] not in ("VKORC1", "IFNL3"))  # fmt: skip
        a = action.get(doc["sample"])
        rows = a["rows"] if a else []
        tier1 = [r for r in rows if r["tier"].startswith("I-")]
        tier2 = [r for r in rows if r["tier"].startswith("II-")]
        top = f"{tier1[0]['gene']} {tier1[0]['alteration']}" if tier1 else (
            f"{tier2[0]['gene']} {tier2[0]['alteration']}" if tier2 else "")  # fmt: skip
        values = [called, "; ".join(notable) or "none", len(doc["recommendations"]),
                  len(tier1) if a else "", len(tier2) if a else "", top]  # fmt: skip
        lines.append(doc["sample"] + "\t" + "\t".join(str(v).replace("\t", " ") for v in values))
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def write_targets(targets: str | Path | None, islands_map: str | Path, out: str | Path) -> None:
    """The regions coverage is measured over: the configured BED, or else the reference's islands."""
    from .reference import IslandMap

    if targets:
        rows = read_bed_named(targets)
    else:
        imap = IslandMap.read(islands_map)
        rows = _island_extents(imap, Path(islands_map).with_name("islands.fa"))
    with atomic_output(out) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in rows))


def _island_extents(imap, islands_fa: Path) -> list[tuple[str, int, int, str]]:
    fai = Path(str(islands_fa) + ".fai")
    if not fai.exists():
        pysam.faidx(str(islands_fa))
    rows = []
    with open(fai) as fh:
        for line in fh:
            name, length = line.split("\t")[:2]
            contig, offset = imap.islands[name]
            rows.append((contig, offset, offset + int(length), name))
    return rows


def run_multiqc(inputs: list[str | Path], config: str | Path, outdir: str | Path) -> None:
    """Run MultiQC on exactly these files (no directory search), offline."""
    import subprocess
    import sys
    import tempfile

    outdir = Path(outdir)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(str(p) for p in inputs) + "\n")
        listing = fh.name
    cmd = [
        sys.executable,
        "-m",
        "multiqc",
        "--force",
        "--no-ansi",
        "--config",
        str(config),
        "--outdir",
        str(outdir),
        "--filename",
        "multiqc_report.html",
        "--file-list",
        listing,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        Path(listing).unlink()
    sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"MultiQC failed with exit code {proc.returncode}")
