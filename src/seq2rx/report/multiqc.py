"""MultiQC: seq2rx's own custom-content tables (QC verdicts, findings per sample) and the run of
MultiQC over exactly the files the workflow names."""

from __future__ import annotations

from pathlib import Path

from seq2rx.core.io import atomic_output


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
