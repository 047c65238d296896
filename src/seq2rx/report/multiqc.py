"""MultiQC: seq2rx's own custom-content tables (QC verdicts, findings per sample) and the run of
MultiQC over exactly the files the workflow names.

MultiQC puts a custom-content table's cells into its page as HTML, unescaped, so every cell we
write is HTML-escaped here (an outside call's HLA phenotype is free text). Each table carries its
column headers in its YAML comment header: a short title that fits the page, and the full
description as the header's tooltip.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping
from pathlib import Path

from seq2rx.core.io import atomic_output

#: (column, short title, tooltip) of the QC table
QC_COLUMNS = (
    ("mean_target_coverage", "Depth", "Mean read depth over the target regions"),
    ("target_fraction_20x", "≥20x", "Fraction of the target regions covered by at least 20 reads"),
    ("on_target_fraction", "On target",
     "Exomes and panels: share of the unique aligned bases (mapped, primary, not duplicates) inside the "
     "targets (Picard's ON_TARGET_BASES / PF_UQ_BASES_ALIGNED, before its quality filters); empty "
     "without a targets BED"),
    ("fold_80_base_penalty", "Fold-80",
     "Fold-80 base penalty as Picard's CollectHsMetrics computes it: mean target depth over the 20th "
     "percentile of per-base target depth (1 is perfectly even; empty when over a fifth is uncovered)"),
    ("verdict", "Verdict", "seq2rx QC verdict under the configured thresholds (pass, warn or fail)"),
)  # fmt: skip
#: QC columns a summary may leave null or lack
OPTIONAL_QC = ("on_target_fraction", "fold_80_base_penalty")
#: (column, short title, tooltip) of the findings table
FINDINGS_COLUMNS = (
    ("pgx_genes", "PGx genes", "Pharmacogenes with a call (from the reads or an outside call)"),
    ("pgx_results", "PGx other than normal",
     "Each called pharmacogene whose phenotype differs from the gene's normal one (in its own words: "
     "Normal Metabolizer, Normal Function, NAT2 Rapid Metabolizer, VKORC1 -1639 GG), and each risk "
     "allele carried that a drug guideline turns on (HLA-B *57:01 carrier)"),
    ("pgx_drugs", "PGx drugs", "Drugs whose CPIC recommendation for this genotype changes the usual prescription"),
    ("tier_I", "Tier I", "Biomarkers (distinct tumour alterations) whose best AMP/ASCO/CAP tier is I"),
    ("tier_II", "Tier II", "Biomarkers (distinct tumour alterations) whose best AMP/ASCO/CAP tier is II"),
    ("biomarkers", "Biomarkers", "The tier I and II biomarkers, tier I first"),
)  # fmt: skip
#: a called gene's statuses (its phenotype can be read)
CALLED = ("called", "incomplete", "ambiguous", "outside call")
#: phenotypes that are no finding: none given, or the alleles' functions unknown
NO_PHENOTYPE = (None, "", "Indeterminate")


def _cell(value) -> str:
    """A table cell: HTML-escaped (MultiQC renders cells as HTML), on one line, no tabs."""
    return html.escape(" ".join(str(value).split()), quote=True)


def _lines(cells: list[str]) -> str:
    """Several escaped cells in one, one per line (keeps the column narrow)."""
    return "<br>".join(_cell(c) for c in cells)


def _header(table_id: str, name: str, description: str, columns: tuple) -> list[str]:
    import yaml

    config = {
        "id": table_id,
        "section_name": name,
        "description": description,
        "plot_type": "table",
        "pconfig": {"id": f"{table_id}_table", "col1_header": "Sample", "no_violin": True},
        "headers": {col: {"title": title, "description": tip} for col, title, tip in columns},
    }
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)
    return ["# " + line for line in text.splitlines()] + ["Sample\t" + "\t".join(c for c, _, _ in columns)]


def _write(lines: list[str], path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")


def multiqc_table(summaries: list[dict], path: str | Path) -> None:
    """A MultiQC custom-content table of the seq2rx QC verdicts (one row per sample)."""
    lines = _header("seq2rx_qc", "seq2rx QC verdict",
                    "Mean depth over the target regions, fraction at 20x or more, on-target rate and "
                    "fold-80 base penalty, and the configured verdict.",
                    QC_COLUMNS)  # fmt: skip
    for s in sorted(summaries, key=lambda x: x["sample"]):
        # on-target rate and fold-80: null (no targets BED; no finite penalty) or absent (an older
        # summary) leave the cell empty
        values = [s.get(c) if c in OPTIONAL_QC else s[c] for c, _, _ in QC_COLUMNS]
        lines.append("\t".join(_cell("" if v is None else v) for v in [s["sample"], *values]))
    _write(lines, path)


def pgx_results(gene: Mapping, normal: Mapping[str, str], risk_alleles: Mapping[str, Collection[str]]) -> list[str]:
    """What a called pharmacogene shows that is not normal for it, as ``GENE phenotype`` texts.

    - A gene with a normal phenotype (``normal``: gene -> the phenotype of its reference
      diplotype, from the knowledge base): its phenotype when it differs from that one and is
      known (not ``Indeterminate``).
    - A gene whose guidance turns on carrying an allele (``risk_alleles``, e.g. HLA-B *57:01):
      each such allele the diplotype carries (``HLA-B *57:01 carrier``); failing that, a
      phenotype given as text by an outside call unless it is negative (``*57:01 negative``).
    - Otherwise (no vocabulary to judge by) nothing. A gene not called shows nothing.
    """
    if gene.get("status") not in CALLED:
        return []
    name, phenotype = gene["gene"], gene.get("phenotype")
    if name in normal:
        return [] if phenotype in NO_PHENOTYPE or phenotype == normal[name] else [f"{name} {phenotype}"]
    if name in risk_alleles:
        alleles = {a for d in gene.get("diplotypes") or [] for a in d.split("/")}
        carried = [f"{name} {a} carrier" for a in sorted(risk_alleles[name]) if a in alleles]
        if carried:
            return carried
        if phenotype not in NO_PHENOTYPE and not str(phenotype).strip().lower().endswith("negative"):
            return [f"{name} {phenotype}"]
    return []


def biomarkers(rows: list[dict]) -> dict[str, list[str]]:
    """Distinct alterations (``GENE alteration``, or the alteration alone when it names its gene:
    ``MSI-H``) by their best tier, ``I`` and ``II``: one biomarker with six therapies counts once,
    at the highest tier any of its rows reaches."""
    rank = {"I": 1, "II": 2}
    best: dict[str, int] = {}
    for r in rows:
        level = rank.get(r["tier"].split("-")[0])
        if level is not None:
            gene, alteration = r["gene"], r["alteration"]
            key = alteration if alteration.startswith(gene) else f"{gene} {alteration}"  # MSI-H, not MSI MSI-H
            best[key] = min(best.get(key, level), level)
    return {tier: [k for k, v in best.items() if v == level] for tier, level in rank.items()}


def findings_table(
    pgx_docs: list[dict],
    actionability_docs: list[dict],
    path: str | Path,
    *,
    normal: Mapping[str, str],
    risk_alleles: Mapping[str, Collection[str]],
) -> None:
    """A MultiQC custom-content table of seq2rx's findings per sample, beside the QC: pharmacogenes
    called, results other than each gene's normal (:func:`pgx_results`), drugs whose CPIC advice
    changes, and tumour biomarkers at tiers I and II (:func:`biomarkers`; empty for a sample
    without a tumour analysis). ``normal`` and ``risk_alleles`` come from the PGx knowledge base
    (``PgxKnowledge.reference_phenotypes`` and ``risk_alleles``)."""
    action = {d["sample"]: d for d in actionability_docs}
    lines = _header("seq2rx_findings", "seq2rx findings",
                    "Pharmacogenomic results other than normal and tumour biomarkers at AMP/ASCO/CAP tiers I and II, "
                    "per sample; hover over a column header for what it counts.", FINDINGS_COLUMNS)  # fmt: skip
    for doc in sorted(pgx_docs, key=lambda d: d["sample"]):
        genes = sorted(doc["genes"].values(), key=lambda g: g["gene"])
        called = sum(g["status"] in CALLED for g in genes)
        results = [t for g in genes for t in pgx_results(g, normal, risk_alleles)]
        drugs = len({r["drug"] for r in doc["recommendations"] if r.get("actionable")})
        a = action.get(doc["sample"])
        found = biomarkers(a["rows"]) if a else {"I": [], "II": []}
        tiers = [len(found["I"]), len(found["II"])] if a else ["", ""]
        cells = [_cell(doc["sample"]), _cell(called), _lines(results) or "none", _cell(drugs),
                 *(_cell(t) for t in tiers), _lines(found["I"] + found["II"])]  # fmt: skip
        lines.append("\t".join(cells))
    _write(lines, path)


def run_multiqc(inputs: list[str | Path], config: str | Path, outdir: str | Path) -> None:
    """Run MultiQC on exactly these files (no directory search), offline, then make its data
    folder portable (:func:`portable_data`): no absolute path, no date."""
    import subprocess
    import sys
    import tempfile

    outdir = Path(outdir)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(str(p) for p in inputs) + "\n")
        listing = fh.name
    args = ["--force", "--no-ansi", "--config", str(config), "--outdir", str(outdir),
            "--filename", "multiqc_report.html", "--file-list"]  # fmt: skip
    try:
        proc = subprocess.run([sys.executable, "-m", "multiqc", *args, listing], capture_output=True, text=True)
    finally:
        Path(listing).unlink()
    sys.stderr.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"MultiQC failed with exit code {proc.returncode}")
    command = ["multiqc", *args[:3], Path(config).name, *args[4:], "INPUTS.txt"]
    portable_data(outdir / "multiqc_report_data", Path.cwd(), " ".join(command))


#: what MultiQC writes into its data folder that records how and where it ran, not what it found
RUN_ONLY_KEYS = ("report_creation_date", "config_script_path")
#: MultiQC's own files that hold the run's date and absolute paths only: its debug log (its
#: output is in the rule's log already) and its Parquet store for merging runs
RUN_ONLY_FILES = ("multiqc.log", "multiqc.parquet")


def portable_data(data_dir: str | Path, workdir: str | Path, command: str) -> None:
    """Make MultiQC's data folder the same bytes in any run folder on any day: paths under
    ``workdir`` become relative to it, the recorded command line is ``command`` (relative paths,
    no temporary file), and the creation date, MultiQC's install path, its debug log and its
    Parquet store (the date and the paths, again) are left out."""
    import json

    data_dir, workdir = Path(data_dir), Path(workdir)
    prefixes = sorted({str(workdir) + "/", str(workdir.resolve()) + "/"}, key=len, reverse=True)

    def relative(value):
        if isinstance(value, str):
            for prefix in prefixes:
                value = value.replace(prefix, "")
            return value
        if isinstance(value, list):
            return [relative(v) for v in value]
        if isinstance(value, dict):
            return {relative(k): relative(v) for k, v in value.items()}
        return value

    for name in RUN_ONLY_FILES:
        (data_dir / name).unlink(missing_ok=True)
    path = data_dir / "multiqc_data.json"
    if path.exists():
        doc = {
            k: relative(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items() if k not in RUN_ONLY_KEYS
        }
        doc["report_multiqc_command"] = command
        for key in ("config_analysis_dir", "config_analysis_dir_abs"):
            if key in doc:
                doc[key] = ["INPUTS.txt"]
        with atomic_output(path) as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in sorted(data_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        portable = relative(text)
        if portable != text:
            with atomic_output(path) as tmp:
                Path(tmp).write_text(portable, encoding="utf-8")
