"""Figures: every text a figure shows lies inside its canvas (nothing ships cut off), for the check
itself and for each figure the workflow writes, and the bytes stay the same between runs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seq2rx.core import figures as G

SRC = Path(G.__file__).resolve().parents[2]


def _fits() -> G.Figure:
    fig = G.figure(4, 3)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set(xlabel="x", ylabel="y", title="short")
    ax.legend()
    return fig


# --- the check ----------------------------------------------------------------------------------


def test_a_figure_whose_text_fits_passes():
    fig = _fits()
    assert G.text_outside(fig) == []
    G.check_text_inside(fig)
    assert G.svg(fig, "t").startswith("<svg")


def test_a_title_wider_than_the_canvas_is_refused_and_named():
    fig = _fits()
    fig.axes[0].set_title("Progression by out-of-fold risk of a long name (log-rank p = 4.9e-05)" * 2)
    outside = G.text_outside(fig)
    assert len(outside) == 1 and "log-rank p = 4.9e-05" in outside[0] and "right" in outside[0]
    with pytest.raises(G.ClippedTextError, match="text outside the canvas would be cut off"):
        G.svg(fig, "t")


def test_a_figure_with_long_labels_is_widened_until_its_text_fits():
    import re

    fig = G.figure(4.6, 2.0)
    ax = fig.subplots()
    ax.barh(["PGx CYP2C9 phenotype = Intermediate Metabolizer", "eGFR (mL/min/1.73 m²) = 48"], [0.2, -0.1])
    ax.set(xlabel="contribution to log-odds of response", title="Why: P(response to targeted therapy)")
    with pytest.raises(G.ClippedTextError, match="contribution to log-odds"):
        G.check_text_inside(fig)
    text = G.svg(fig, "t")
    assert G.text_outside(fig) == []
    width = float(re.search(r'<svg[^>]* width="([0-9.]+)pt"', text).group(1))
    assert 4.6 * 72 < width <= G.MAX_GROWTH * 4.6 * 72
    assert float(re.search(r'<svg[^>]* height="([0-9.]+)pt"', text).group(1)) == pytest.approx(2.0 * 72)


def test_text_that_no_larger_canvas_would_hold_is_refused():
    fig = _fits()
    fig.text(1.2, 0.5, "placed outside the figure")  # in figure coordinates: outside at any size
    with pytest.raises(G.ClippedTextError, match="placed outside the figure"):
        G.svg(fig, "t")


@pytest.mark.parametrize(
    "place",
    [
        lambda fig: fig.text(0.98, 0.5, "past the right edge"),
        lambda fig: fig.text(-0.05, 0.5, "past the left edge"),
        lambda fig: fig.text(0.5, 1.0, "past the top edge"),
        lambda fig: fig.axes[0].annotate("an annotation", (1, 1), xytext=(400, 0), textcoords="offset points"),
        lambda fig: fig.axes[0].set_ylabel("a y label far taller than the figure is " * 3),
        lambda fig: fig.axes[0].legend(["a legend entry far wider than the figure can hold " * 2]),
    ],
)
def test_any_text_outside_is_caught(place):
    fig = _fits()
    place(fig)
    assert G.text_outside(fig), "a text outside the canvas went unnoticed"


def test_hidden_text_and_ticks_outside_the_view_are_not_counted():
    fig = _fits()
    ax = fig.axes[0]
    ax.set_ylim(0, 1.05)  # the locator offers 1.2 too, which is not drawn (it would lie above the axes)
    hidden = fig.text(1.5, 1.5, "not shown")
    hidden.set_visible(False)
    ax.get_legend().set_visible(False)
    fig.text(0.5, 0.5, "")
    assert G.text_outside(fig) == []


def test_wrap_keeps_line_breaks_and_breaks_long_words():
    assert G.wrap("one two three\nfour", 8) == "one two\nthree\nfour"
    assert G.wrap("x" * 10, 4) == "xxxx\nxxxx\nxx"


# --- each figure the workflow writes ------------------------------------------------------------


def _km_result(n_cohort: int, n_other: int, p: float | None, reason: str = "") -> dict:
    t = np.array([0.0, 3.0, 9.0, 20.0])
    s = np.array([1.0, 0.8, 0.5, 0.3])
    groups = {}
    for name, n in (("cohort", n_cohort), ("other patients", n_other)):
        groups[name] = {"patients": n, "events": 2, "hidden": False, "curve": (t, s), "censored": [5.0],
                        "median": 9.0}  # fmt: skip
    return {"groups": groups, "test": {"statistic": 16.4, "p_value": p} if p is not None else None,
            "reason": reason, "treated": [False] * (n_cohort + n_other)}  # fmt: skip


def test_cohort_kaplan_meier_with_a_long_name_and_log_rank_label_fits():
    from seq2rx.cohort.cohorts import _message_svg, survival_svg

    name = "Cohort cyp2c19_poor_and_intermediate_metabolizers_on_clopidogrel_after_pci: cohort vs other patients"
    svg = survival_svg(_km_result(120, 480, 4.9e-05), name)
    assert "log-rank p = 4.9e-05" in svg  # whole, not cut
    reason = "; ".join(["cohort: fewer than 5 patients with outcomes, not drawn"] * 3)
    assert "not drawn" in _message_svg(name, reason)


def test_ml_plots_fit_with_long_labels():
    from seq2rx.ml import outputs as O

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    p = np.clip(y * 0.6 + rng.random(60) * 0.4, 0, 1)
    auc = {"estimate": 0.812, "ci95": [0.701, 0.905]}
    assert O.roc_svg(y, p, auc).startswith("<svg")
    curve = [{"mean_predicted": m, "observed": {"estimate": m, "ci95": [max(m - 0.1, 0), min(m + 0.1, 1)]}}
             for m in (0.1, 0.5, 0.9)]  # fmt: skip
    assert O.calibration_svg(curve).startswith("<svg")
    labels = ["eGFR (mL/min/1.73 m²) = 48", "EGFR mutated = yes", "PGx CYP2C9 phenotype = Intermediate Metabolizer",
              "actionable tier I/II sensitising targets = 2", "age (years) = 71"]  # fmt: skip
    importance = [{"feature": f, "mean": 0.05 * (i + 1), "sd": 0.01} for i, f in enumerate(labels)]
    assert O.importance_svg(importance).startswith("<svg")
    time = rng.exponential(15, 90)
    event = rng.integers(0, 2, 90)
    risk = -time + rng.normal(0, 1, 90)  # a strong signal: a tiny p-value, the long label of the issue
    svg, pval = O.km_risk_svg(time, event, risk)
    assert pval < 1e-4 and "log-rank p = " in svg and "months from the start of treatment" in svg
    entry = {"contributions": {"treated": {"contributions": {f: (-1) ** i * 0.3 * (i + 1)
                                                             for i, f in enumerate(labels)}}}}  # fmt: skip
    assert O.contributions_svg(entry, "treated", "P(response to targeted therapy)").startswith("<svg")


def test_similarity_plots_fit():
    import pandas as pd

    from seq2rx.similarity import network as NW
    from seq2rx.similarity import plots as P

    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({"patient": [f"PATIENT-{i:04d}" for i in range(n)], "age": rng.integers(30, 80, n),
                       "sex": rng.choice(["female", "male"], n)})  # fmt: skip
    net = NW.build_network(df["patient"], NW.modality_distances(df, modalities=["clinical"],
                           clinical_columns=["age", "sex"]), K=8, n_clusters=4, seed=1)  # fmt: skip
    labels = net.clusters.labels
    assert "PATIENT-0003" in P.network_svg(net.fused, labels, net.patients, highlight="PATIENT-0003")
    assert P.heatmap_svg(net.fused, labels).startswith("<svg")
    time = np.where(labels == 1, 2.0, 30.0) + rng.random(n)  # cluster 1 progresses early: a tiny p
    svg = P.km_svg(time, np.ones(n, dtype=int), labels, time_label="months from the start of treatment",
                   title="Past patients: progression by similarity cluster")  # fmt: skip
    assert "log-rank p = " in svg and "months from the start of treatment" in svg


BYTES_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {src!r})
import numpy as np
from seq2rx.ml import outputs as O
from seq2rx.cohort.cohorts import survival_svg
rng = np.random.default_rng(2)
t = rng.exponential(15, 90)
svg, _ = O.km_risk_svg(t, rng.integers(0, 2, 90), -t)
curve = (np.array([0.0, 3.0, 9.0]), np.array([1.0, 0.7, 0.4]))
g = {{"patients": 9, "events": 3, "hidden": False, "curve": curve, "censored": [4.0], "median": 9.0}}
km = survival_svg({{"groups": {{"cohort": g, "other patients": g}}, "test": {{"statistic": 1.0, "p_value": 0.049}},
                   "reason": "", "treated": [True]}}, "Cohort c: cohort vs other patients")
print(hashlib.sha256(svg.encode()).hexdigest(), hashlib.sha256(km.encode()).hexdigest())
"""


def test_checked_figures_are_the_same_bytes_in_a_new_process():
    runs = [
        subprocess.run(
            [sys.executable, "-c", BYTES_SCRIPT.format(src=str(SRC))], capture_output=True, text=True, check=True
        ).stdout  # fmt: skip
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and len(runs[0].split()) == 2
    assert hashlib.sha256(b"").hexdigest() not in runs[0]
