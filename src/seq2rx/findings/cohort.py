"""The cohort summary document (``results/cohort/summary.json``): what the cohort report shows,
assembled from the per-patient findings documents and the run-level outputs (model metrics, the
similarity network and its shipped validation table, the SQL cohorts' summaries). Figures are
SVG files of their own, named here by path; the report inlines them.

Numbers stay numbers: the report decides how to write them.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from seq2rx.core.io import write_json

SCHEMA_VERSION = 1

#: the cross-validated metrics the report lists: (outcome, metric, cross_validation keys)
MODEL_METRICS = (
    ("response", "ROC-AUC", ("response", "roc_auc")),
    ("response", "PR-AUC", ("response", "pr_auc")),
    ("response", "Brier score", ("response", "brier")),
    ("progression", "C-index", ("survival", "c_index")),
    ("progression", "mean time-dependent AUC", ("survival", "mean_time_auc")),
)


def _interval(m: dict) -> dict:
    return {"estimate": m["estimate"], "ci95": list(m["ci95"])}


def qc_section(docs: list[dict]) -> dict:
    """Every sample's QC verdict and headline numbers, and the count of each verdict."""
    rows = []
    for doc in docs:
        for s in doc["samples"]:
            q = s["qc"]
            row = {"patient": doc["patient"], "sample": s["sample"], "type": s["type"]}
            if q.get("status") == "not run":
                rows.append({**row, "verdict": "not run"})
                continue
            rows.append({**row, "verdict": q["verdict"], "reads": q["reads"], "mapped_fraction": q["mapped_fraction"],
                         "duplicate_fraction": q["duplicate_fraction"],
                         "mean_target_coverage": q["mean_target_coverage"]})  # fmt: skip
    counts = Counter(r["verdict"] for r in rows)
    return {"samples": rows, "verdicts": dict(sorted(counts.items()))}


def prevalence_section(docs: list[dict]) -> dict:
    """How many patients carry each actionable finding (by tier) and each PGx phenotype."""
    pheno: Counter = Counter()
    for doc in docs:
        genes = doc.get("pgx", {}).get("genes", []) if doc.get("pgx", {}).get("status") != "not run" else []
        for g in genes:
            if g.get("phenotype"):
                pheno[(g["gene"], g["phenotype"])] += 1
    found: dict[tuple[str, str, str], set[str]] = {}
    for doc in docs:
        act = doc.get("actionability", {})
        for sample in act.get("samples", []) if act.get("status") != "not run" else []:
            for row in sample.get("rows", []):
                tier = row["tier"].split("-")[0]
                found.setdefault((row["gene"], row["alteration"], tier), set()).add(doc["patient"])
    return {
        "patients": len(docs),
        "actionable": [
            {"gene": g, "alteration": a, "tier": t, "patients": sorted(ps)} for (g, a, t), ps in sorted(found.items())
        ],  # fmt: skip
        "pgx_phenotypes": [{"gene": g, "phenotype": p, "patients": c} for (g, p), c in sorted(pheno.items())],
    }


def model_section(metrics: dict | None, figures: dict[str, str]) -> dict | None:
    """The prediction model's cross-validated performance and treatment effect (``metrics.json``);
    ``figures`` names its plots' files. None without a model."""
    if not metrics:
        return None
    cv = metrics["cross_validation"]
    return {
        "model": metrics["model"],
        "folds": metrics["folds"],
        "seed": metrics["seed"],
        "history": {"patients": metrics["history"]["patients"], "treated": metrics["history"]["treated"]},
        "task": {"treated": metrics["task"]["treated"], "reference": metrics["task"]["reference"]},
        "metrics": [
            {"outcome": outcome, "metric": name, **_interval(cv[a][b])} for outcome, name, (a, b) in MODEL_METRICS
        ],  # fmt: skip
        "treatment_effect": _interval(metrics["treatment_effect"]["effect"]),
        "figures": dict(sorted(figures.items())),
    }


def similarity_section(network: dict | None, validation: list[list[str]], figures: dict[str, str]) -> dict | None:
    """The similarity network's size, modalities and clusters (``network.json``), the measured
    validation of neighbour-based estimates on real cohorts, and the network's plots' files."""
    if not network:
        return None
    c = network["clusters"]
    return {
        "patients": network["patients"],
        "history_patients": network["history_patients"],
        "modalities": dict(sorted(network["modalities"].items())),
        "clusters": {
            "n": c["n"],
            "method": c["method"],
            "sizes": dict(sorted(c["sizes"].items(), key=lambda kv: int(kv[0]))),
        },  # fmt: skip
        "validation": [list(row) for row in validation],
        "figures": dict(sorted(figures.items())),
    }


def read_cohort(summary_tsv: str | Path) -> dict:
    """One SQL cohort's summary rows (``results/cohorts/{name}/summary.tsv``, header left out) and
    its Kaplan-Meier plot's file beside it, if there is one."""
    path = Path(summary_tsv)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    km = path.parent / "km.svg"
    return {"name": path.parent.name, "summary": rows, "km": km.as_posix() if km.exists() else None}


def build(docs: list[dict], metrics: dict | None = None, network: dict | None = None,
          validation: list[list[str]] | None = None, cohorts: list[dict] | None = None,
          ml_figures: dict[str, str] | None = None, similarity_figures: dict[str, str] | None = None) -> dict:  # fmt: skip
    """The cohort summary of a run's findings ``docs`` and run-level outputs (each optional)."""
    docs = sorted(docs, key=lambda d: d["patient"])
    prov = docs[0]["provenance"] if docs else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "patients": len(docs),
        "samples": sum(len(d["samples"]) for d in docs),
        "genome_builds": sorted({d["genome_build"] for d in docs}),
        "analysis_date": prov.get("analysis_date"),
        "config_sha256": prov.get("config_sha256"),
        "qc": qc_section(docs),
        "prevalence": prevalence_section(docs),
        "model": model_section(metrics, ml_figures or {}),
        "similarity": similarity_section(network, validation or [], similarity_figures or {}),
        "cohorts": list(cohorts or []),
    }


def write(summary: dict, path: str | Path) -> None:
    write_json(summary, path, allow_nan=False)
