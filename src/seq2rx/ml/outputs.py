"""What the workflow's ML step writes: predictions, contributions, metrics, plots, model card, models.

The model card follows the TRIPOD checklist's headings in brief (source of data, participants,
outcome, predictors, missing data, model, performance with intervals, intended use, limitations).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from seq2rx.core import figures as G
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _atomic_json
from seq2rx.ml import labels as L
from seq2rx.ml.evaluate import _clean

DIGITS = 4
ARM_KEYS = {"response": ("response_reference", "response_treated"), "pfs": ("pfs_reference", "pfs_treated")}


def _r(x) -> str:
    return "NA" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{DIGITS}f}"


def prediction_rows(doc: dict) -> list[list[str]]:
    """Rows of ``predictions.tsv`` (columns in :data:`PREDICTION_COLUMNS`)."""
    t = doc["task"]
    rows = []
    for p in doc["patients"]:
        v = p["values"]
        for task, (ref_key, trt_key) in ARM_KEYS.items():
            for arm, key in ((t["reference"], ref_key), (t["treated"], trt_key)):
                rows.append(
                    [
                        p["patient"],
                        task,
                        arm,
                        doc["model"],
                        *(_r(v[key][k]) for k in ("estimate", "lower", "upper")),
                        "",
                    ]
                )
        for task, key in (("benefit", "benefit"), ("pfs_benefit", "pfs_benefit")):
            b = v[key]
            favours = t["treated"] if b["estimate"] > 0 else t["reference"]
            rows.append([p["patient"], task, f"{t['treated']} - {t['reference']}", doc["model"],
                         _r(b["estimate"]), _r(b["lower"]), _r(b["upper"]), favours])  # fmt: skip
    return rows


PREDICTION_COLUMNS = ["patient", "task", "treatment", "model", "estimate", "lower", "upper", "favours"]


def write_table(header: list[str], rows: list[list[str]], path: str | Path) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def contribution_rows(doc: dict) -> list[list[str]]:
    """Rows of ``contributions.tsv`` (:data:`CONTRIBUTION_COLUMNS`): patient, arm, feature, value,
    the feature as a reader sees it (label, unit and value), contribution (log-odds)."""
    t = doc["task"]
    rows = []
    for p in doc["patients"]:
        for arm, c in sorted(p.get("contributions", {}).items()):
            label = t["treated"] if arm == "treated" else t["reference"]
            rows.append([p["patient"], label, "(average past patient)", "", "average past patient", _r(c["baseline"])])
            for feature, value in sorted(c["contributions"].items(), key=lambda kv: (-abs(kv[1]), kv[0])):
                raw = p["features"].get(feature)
                rows.append([p["patient"], label, feature, "NA" if raw is None else str(raw),
                             L.shown(feature, raw), _r(value)])  # fmt: skip
    return rows


CONTRIBUTION_COLUMNS = ["patient", "treatment", "feature", "value", "shown", "log_odds"]


def metrics_doc(doc: dict) -> dict:
    """``metrics.json``: everything but the per-patient block and the out-of-fold arrays."""
    return _clean({k: v for k, v in doc.items() if k not in ("patients", "oof")})


def _ci(m: dict) -> str:
    lo, hi = m["ci95"]
    return f"{m['estimate']:.3f} (95% CI {lo:.3f}–{hi:.3f})"


def model_card(doc: dict, versions: dict[str, str], history_name: str) -> str:
    """A short model card in Markdown."""
    t, h, cv = doc["task"], doc["history"], doc["cross_validation"]
    r, s = cv["response"], cv["survival"]
    effect = doc["treatment_effect"]["effect"]
    top = [f"{L.label(i['feature'])} ({i['mean']:+.3f})" for i in doc["importance"][:8]]
    feats = doc["features"]
    interactions = feats.get("progression_interactions", [])
    used = ["treated", *feats["numeric"], *feats["categorical"], *interactions]
    lines = [
        "# Model card: treatment response and progression",
        "",
        "Research use only. Not for clinical decisions.",
        "",
        "## Intended use",
        f"Estimate, for a new patient with a tumour sample, the probability of objective response to "
        f"**{t['treated']}** and to **{t['reference']}**, the difference between them (predicted benefit) and the "
        f"probability of being progression-free at {t['horizon_months']:g} months under each, from patients "
        "previously treated at the same centre. It is a research aid for discussing a case, not a treatment decision.",
        "",
        "## Data",
        f"- Source: `{history_name}` ({h['patients']} past patients; {h['treated']} received {t['treated']}, "
        f"{h['patients'] - h['treated']} {t['reference']}; {h['responders']} responders; {h['events']} progression events).",
        f"- Predictors: {len(feats['numeric'])} numeric and {len(feats['categorical'])} categorical features "
        "besides the treatment (table below; encoding in `docs/data-model.md`).",
        "- Left out because they take one value in the whole history: "
        + (", ".join(L.label(c) for c in feats["constant_in_history"]) or "none")
        + ".",
        "- Missing values: numbers imputed with the training median, categories with the most frequent level, "
        "inside every training fold; a past patient without an outcome or treatment is an error, never dropped.",
        "",
        "## Predictors",
        "| feature | label | unit | what it is |",
        "|---|---|---|---|",
        *(_predictor_row(c) for c in used),
        "",
        "## Model",
        f"- `{doc['model']}`: a T-learner (one classifier per treatment) for response; for progression a survival "
        "model with the treatment as a covariate and its interactions with the targets ("
        + (", ".join(L.label(c) for c in interactions) or "none: no target varies in the history")
        + "), so that in both models targeted therapy can work differently for patients with a target.",
        f"- Nested {doc['folds']}-fold cross-validation (seed {doc['seed']}); the penalised model's penalties are "
        "chosen by inner cross-validation, the forest's settings are fixed (100 trees).",
        f"- Prediction intervals: {round(t['interval'] * 100)}% percentile intervals over {doc['bootstrap']['predictions']} "
        "bootstrap refits of the history, with the penalties chosen on the full history kept fixed.",
        "",
        "## Performance (out-of-fold, bootstrap 95% intervals)",
        "| outcome | metric | value |",
        "|---|---|---|",
        f"| response | ROC-AUC | {_ci(r['roc_auc'])} |",
        f"| response | PR-AUC | {_ci(r['pr_auc'])} |",
        f"| response | Brier score | {_ci(r['brier'])} |",
        f"| progression | C-index | {_ci(s['c_index'])} |",
        f"| progression | mean time-dependent AUC | {_ci(s['mean_time_auc'])} |",
        "",
        f"Adjusted odds ratio of response, {t['treated']} vs {t['reference']} "
        f"(adjusted for {', '.join(doc['treatment_effect']['adjusted_for'])}): "
        f"{effect['estimate']:.2f} (95% CI {effect['ci95'][0]:.2f}–{effect['ci95'][1]:.2f}, p = {effect['p_value']:.3g}). "
        "An average over all patients: benefit differs between patients, which is what the T-learner estimates.",
        "",
        "Permutation importance (mean drop in held-out ROC-AUC; each fold refitted with the penalties chosen "
        "on the full history, so the folds are held out from the fit but not from that choice): "
        + ", ".join(top)
        + ".",
        "",
        "## Limitations",
        "- Treatment was not randomised in the history: the per-arm models adjust only for measured features, "
        "so unmeasured confounding by indication can bias the predicted benefit.",
        "- A prediction for a patient unlike the history (a category it never saw, a number outside its range) is "
        "an extrapolation; such features are listed per patient (`extrapolation` in results/ml/patients.json "
        "and in the report).",
        "- Performance is internal (cross-validated on one centre's history); it has not been validated externally.",
        "- Response and progression are separate models; for a patient they can favour different treatments "
        "(progression also depends on stage, age and performance status). The report says so beside the "
        "numbers when they do (`agreement` in results/ml/patients.json).",
        "- A feature that takes one value in the whole history (above) is left out of the models: a new patient "
        "with another value (a resistance alteration the history never saw) is listed as an extrapolation.",
        "",
        "## Versions",
        *(f"- {k} {v}" for k, v in sorted(versions.items())),
        "",
    ]
    return "\n".join(lines)


def _predictor_row(feature: str) -> str:
    d = L.describe(feature)
    return f"| `{feature}` | {d['label']} | {d['unit']} | {d['about']} |"


def _canonical_skops(data: bytes) -> bytes:
    """The same skops archive with run-specific details made canonical, so that equal models give
    equal bytes: skops names objects by their memory address (``__id__`` and ``<id>.npy`` member
    names) and stamps each zip member with the current time. Addresses are renumbered in order of
    first appearance (consistently, so shared objects stay shared) and times fixed."""
    import io
    import json as _json
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    schema = _json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}

    def number(old: int) -> int:
        return ids.setdefault(old, len(ids) + 1)

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "__id__" and isinstance(v, int):
                    out[k] = number(v)
                elif k == "file" and isinstance(v, str) and re.fullmatch(r"[0-9]+\.npy", v):
                    out[k] = f"{number(int(v[:-4]))}.npy"
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    schema = walk(schema)
    members = {"schema.json": _json.dumps(schema, indent=2).encode()}
    for info in src.infolist():
        if info.filename != "schema.json":
            old = int(info.filename[:-4])
            if old not in ids:
                raise ValueError(f"skops member {info.filename} is not named in its schema")
            members[f"{ids[old]}.npy"] = src.read(info.filename)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, members[name])
    return buf.getvalue()


def save_models(models: dict, directory: str | Path) -> dict[str, Path]:
    """Each fitted model as ``{name}.skops`` (skops format: loading it runs no code)."""
    import skops.io as sio

    out = {}
    for name, model in sorted(models.items()):
        path = Path(directory) / f"{name}.skops"
        with atomic_output(path) as tmp:
            Path(tmp).write_bytes(_canonical_skops(sio.dumps(model)))
        out[name] = path
    return out


def load_model(path: str | Path, trusted: list[str]):
    """A model saved by :func:`save_models`; types outside ``trusted`` are refused by skops."""
    import skops.io as sio

    return sio.load(path, trusted=trusted)


# ---------------------------------------------------------------------------------------------
# plots


def roc_svg(y: np.ndarray, p: np.ndarray, auc: dict) -> str:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig = G.figure(3.6, 3.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="#999999", lw=1)
    ax.plot(fpr, tpr, lw=1.8, label=f"AUC {_ci(auc)}")
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", title="Response: out-of-fold ROC")
    ax.legend(loc="lower right", frameon=False, fontsize=7)
    return G.svg(fig)


def calibration_svg(curve: list[dict]) -> str:

    fig = G.figure(3.6, 3.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="#999999", lw=1)
    x = [c["mean_predicted"] for c in curve]
    y = [c["observed"]["estimate"] for c in curve]
    lo = [c["observed"]["estimate"] - c["observed"]["ci95"][0] for c in curve]
    hi = [c["observed"]["ci95"][1] - c["observed"]["estimate"] for c in curve]
    ax.errorbar(x, y, yerr=[lo, hi], fmt="o", ms=4, capsize=2)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted P(response)", ylabel="observed fraction",
           title="Calibration (95% CI)")  # fmt: skip
    return G.svg(fig)


def importance_svg(importance: list[dict], top: int = 12) -> str:

    rows = importance[:top][::-1]
    fig = G.figure(4.6, 0.25 * len(rows) + 1.0)
    ax = fig.subplots()
    ax.barh([L.label(r["feature"]) for r in rows], [r["mean"] for r in rows], xerr=[r["sd"] for r in rows],
            capsize=2)  # fmt: skip
    ax.axvline(0, color="#000000", lw=0.8)
    ax.set(xlabel="drop in held-out ROC-AUC when permuted", title="Permutation importance")
    return G.svg(fig)


def km_risk_svg(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> tuple[str, float]:
    """Kaplan–Meier curves by tertile of out-of-fold predicted risk, and the log-rank p-value."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test

    cuts = np.quantile(risk, [1 / 3, 2 / 3])
    group = np.searchsorted(cuts, risk, side="right")
    names = ("lowest third of predicted risk", "middle third", "highest third")
    fig = G.figure(4.6, 3.4)
    ax = fig.subplots()
    for g, name in enumerate(names):
        m = group == g
        KaplanMeierFitter(label=f"{name} (n={int(m.sum())})").fit(time[m], event[m]).plot_survival_function(
            ax=ax, ci_show=False, lw=1.6
        )
    p = float(multivariate_logrank_test(time, group, event).p_value)
    ax.set(xlabel="months from the start of treatment", ylabel="progression-free", ylim=(0, 1.02),
           title=f"Progression by out-of-fold risk\nlog-rank p = {p:.2g}")  # fmt: skip
    ax.legend(frameon=False, fontsize=7)
    return G.svg(fig, "Progression by predicted risk"), p


def contributions_svg(entry: dict, arm: str, label: str, top: int = 8) -> str:
    """One patient's largest contributions to the log-odds of response under ``arm``, each bar named
    by the feature's label, unit and the patient's value ("eGFR (mL/min/1.73 m²) = 48")."""

    c = entry["contributions"][arm]["contributions"]
    rows = sorted(c.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top][::-1]
    values = entry.get("features", {})
    fig = G.figure(5.6, 0.25 * len(rows) + 1.0)
    ax = fig.subplots()
    ax.barh([L.shown(k, values.get(k)) for k, _ in rows], [v for _, v in rows],
            color=[G.colour(4) if v > 0 else G.colour(5) for _, v in rows])  # fmt: skip
    ax.axvline(0, color="#000000", lw=0.8)
    ax.set(xlabel="contribution to log-odds of response", title=f"Why: {label}")
    return G.svg(fig)


def write_plots(doc: dict, directory: str | Path) -> dict:
    """The cohort-level plots as SVG files, from the history's out-of-fold predictions and observed
    outcomes in ``doc["oof"]``; returns {name: path} and the log-rank p-value."""
    oof = {k: np.asarray(v) for k, v in doc["oof"].items()}
    directory = Path(directory)
    km, p = km_risk_svg(oof["time"], oof["event"], oof["risk"])
    svgs = {
        "roc": roc_svg(oof["observed"], oof["response"], doc["cross_validation"]["response"]["roc_auc"]),
        "calibration": calibration_svg(doc["cross_validation"]["response"]["calibration"]),
        "importance": importance_svg(doc["importance"]),
        "km_risk": km,
    }
    for name, text in svgs.items():
        with atomic_output(directory / f"{name}.svg") as tmp:
            Path(tmp).write_text(text)
    return {"plots": {k: f"{k}.svg" for k in svgs}, "km_logrank_p": p}


def write_metrics(doc: dict, path: str | Path) -> None:
    _atomic_json(metrics_doc(doc), path, allow_nan=False)


def patient_entries(doc: dict) -> dict:
    """{patient: what the findings document shows}, with the model's summary (``patients.json``)."""
    cv = doc["cross_validation"]
    summary = {
        "model": doc["model"],
        "task": doc["task"],
        "history_patients": doc["history"]["patients"],
        "roc_auc": cv["response"]["roc_auc"],
        "brier": cv["response"]["brier"],
        "c_index": cv["survival"]["c_index"],
        "method": method_sentence(doc),
    }
    return _clean({p["patient"]: {**p, "model_summary": summary} for p in doc["patients"]})


def method_sentence(doc: dict) -> str:
    """How the two models treat the treatment, in one sentence for the report."""
    interactions = doc["features"].get("progression_interactions", [])
    progression = (
        "one model with the treatment and its interaction with the counts of "
        + " and ".join(L.describe(c.removeprefix(L.INTERACTION_PREFIX))["label"] for c in interactions)
        + ", so both can say that a treatment works only for patients with a target"
        if interactions
        else "one model with the treatment as an average effect for everyone (no target varies among the past "
        "patients), so only the response model can tell patients apart"
    )
    return f"Response comes from one model per treatment; progression from {progression}."


def write_patients(doc: dict, path: str | Path) -> None:
    """``patients.json``: :func:`patient_entries`."""
    _atomic_json(patient_entries(doc), path, allow_nan=False)


def contribution_plot(entry: dict | None) -> str:
    """The patient report's plot of what moves the patient's response to the treatment the model
    favours, from the patient's entry of ``patients.json`` (values as the findings document holds
    them); empty when the model gave no contributions (only the penalised model does)."""
    if not entry or not entry.get("contributions"):
        return ""
    arm = "treated" if entry["favours"] == entry["model_summary"]["task"]["treated"] else "reference"
    return contributions_svg(entry, arm, f"P(response to {entry['favours']})")


def write_contribution_plots(doc: dict, paths: dict[str, str | Path]) -> None:
    """{patient: path}: each patient's :func:`contribution_plot` as an SVG file (empty without one)."""
    entries = patient_entries(doc)
    for patient, path in sorted(paths.items()):
        with atomic_output(path) as tmp:
            Path(tmp).write_text(contribution_plot(entries.get(patient)))
