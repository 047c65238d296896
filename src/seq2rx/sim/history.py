"""The demo's historical cohort: past patients with the same features, treatments and outcomes.

A hospital trains a response model on its past patients and applies it to new ones; the demo does
the same. Past patients' reads are not kept, so the simulator writes their feature matrix directly
(``features.tsv``, the encoding of :mod:`seq2rx.ml.features`) with their clinical table
(``clinical.tsv``, the columns of ``docs/data-model.md`` plus ``sex`` and ``tumor_type``).

Every effect is planted from the ``history:`` section of ``resources/demo/demo.yaml``, so tests can
check that the models find what was planted and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2rx.core.io import atomic_output
from seq2rx.ml import features as F

STAGES = ("I", "II", "III", "IV")
STAGE_WEIGHTS = (0.05, 0.15, 0.30, 0.50)
ECOG_WEIGHTS = (0.35, 0.45, 0.20)
CHEMOTHERAPY = "chemotherapy"
TARGETED = "targeted"
DECREASED_DPYD = ("Intermediate Metabolizer", "Poor Metabolizer")


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    names = list(table)
    p = np.array([table[k] for k in names], dtype=float)
    return np.array(names, dtype=object)[rng.choice(len(names), size=n, p=p / p.sum())]


def simulate_history(spec: dict, genes: Sequence[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(clinical, features, truth) for ``spec["history"]``; ``genes`` are the panel's genes.

    ``truth`` holds each patient's planted response probability under both treatments, so tests
    can compare the model's predicted benefit with the true one, and the planted hazards of
    progression per month as a responder and as a non-responder. The treatment acts on progression
    only through response, so the planted probability of being progression-free at t months under a
    treatment is p·exp(−h_r·t) + (1 − p)·exp(−h_n·t) (:func:`progression_free`), and the arm with the
    higher response probability is always the arm with the higher progression-free probability.
    """
    h = spec["history"]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    n = int(h["patients"])
    ids = [f"H{i:04d}" for i in range(1, n + 1)]
    tumour = _choice(rng, h["tumor_types"], n)
    sex = np.where(rng.random(n) < 0.5, "female", "male")
    age = np.clip(np.round(rng.normal(64, 10, n)), 25, 95)
    ecog = rng.choice(3, size=n, p=ECOG_WEIGHTS)
    stage = np.array(STAGES, dtype=object)[rng.choice(4, size=n, p=STAGE_WEIGHTS)]
    egfr = np.round(np.clip(rng.normal(105 - 0.6 * (age - 40), 15), 10, 140), 0)

    frame = pd.DataFrame({"patient": ids, "age": age, "ecog": ecog.astype(float), "egfr": egfr})
    frame["sex"], frame["stage"], frame["tumor_type"] = sex, stage, tumour
    for g in genes:
        frame[f"mut_{g}"] = 0
        frame[f"trunc_{g}"] = 0
    tier1 = np.zeros(n, dtype=int)
    tier2 = np.zeros(n, dtype=int)
    for code, rates in h["drivers"].items():
        rows = np.flatnonzero(tumour == code)
        for gene, rate in rates.items():
            hit = rows[rng.random(len(rows)) < rate]
            frame.loc[hit, f"mut_{gene}"] = 1
            if gene in h["tier1_genes"].get(code, []):
                tier1[hit] += 1
            else:
                tier2[hit] += 1
    pgx_genes = list(h["pgx_phenotypes"])
    for gene in pgx_genes:
        frame[f"pgx_{gene}"] = _choice(rng, h["pgx_phenotypes"][gene], n)
    frame["actionable_tier1"] = tier1
    frame["actionable_tier2"] = tier2
    frame["actionable_resistance"] = 0  # no past patient carries a resistance alteration
    frame["tmb"] = np.round(np.exp(rng.normal(h["tmb_log_mean"], h["tmb_log_sd"], n)), 2)
    frame = frame[F.columns(genes, pgx_genes)]

    actionable = tier1 > 0
    p_targeted = np.where(actionable, h["p_targeted"]["actionable"], h["p_targeted"]["otherwise"])
    targeted = rng.random(n) < p_targeted
    dpyd_low = np.isin(frame["pgx_DPYD"].to_numpy(), DECREASED_DPYD)
    r = h["response_logit"]
    base = r["intercept"] + r["per_ecog_point"] * ecog
    logit_chemo = base + r["chemotherapy_with_dpyd_decreased"] * dpyd_low
    logit_targeted = base + r["targeted"] + r["targeted_with_tier1_target"] * actionable
    p_chemo, p_targ = 1 / (1 + np.exp(-logit_chemo)), 1 / (1 + np.exp(-logit_targeted))
    response = (rng.random(n) < np.where(targeted, p_targ, p_chemo)).astype(int)

    hz = h["hazard"]
    log_hazard_non_responder = (
        hz["log_baseline_per_month"]
        + hz["per_ecog_point"] * ecog
        + hz["per_decade_over_60"] * np.clip(age - 60, 0, None) / 10
        + hz["stage_IV"] * (stage == "IV")
    )
    log_hazard = log_hazard_non_responder + hz["responder"] * response
    event_time = rng.exponential(1 / np.exp(log_hazard))
    # a response is seen at the first assessment, so a responder was progression-free up to it: the
    # exponential time given no progression before ``first`` is ``first`` plus the same exponential
    first = float(h["first_assessment_months"])
    event_time = np.where(response == 1, first + event_time, event_time)
    follow_up = rng.uniform(6, h["follow_up_months"], n)
    time = np.round(np.minimum(event_time, follow_up), 1)
    event = (event_time <= follow_up).astype(int)

    start = dt.date.fromisoformat(h["start_date"])
    days = rng.integers(0, h["accrual_days"], n)
    clinical = pd.DataFrame(
        {
            "patient": ids,
            "age": age.astype(int),
            "ecog": ecog,
            "stage": stage,
            "egfr": egfr.astype(int),
            "diagnosis_date": [(start + dt.timedelta(days=int(d))).isoformat() for d in days],
            "medications": np.where(targeted, "", np.where(tumour == "COAD", "capecitabine", "")),
            "treatment": np.where(targeted, TARGETED, CHEMOTHERAPY),
            "response": response,
            "time_months": time,
            "event": event,
            "notes": "",
            "sex": sex,
            "tumor_type": tumour,
        }
    )
    truth = pd.DataFrame(
        {
            "patient": ids,
            "p_response_chemotherapy": p_chemo,
            "p_response_targeted": p_targ,
            "benefit": p_targ - p_chemo,
            "hazard_non_responder": np.exp(log_hazard_non_responder),
            "hazard_responder": np.exp(log_hazard_non_responder + hz["responder"]),
        }
    )
    return clinical, frame, truth


def progression_free(truth: pd.DataFrame, arm: str, months: float) -> np.ndarray:
    """The planted probability of being progression-free at ``months`` under ``arm`` (a treatment
    named in ``truth``'s ``p_response_<arm>`` columns)."""
    p = truth[f"p_response_{arm}"].to_numpy(float)
    responder = np.exp(-truth["hazard_responder"].to_numpy(float) * months)
    non_responder = np.exp(-truth["hazard_non_responder"].to_numpy(float) * months)
    return p * responder + (1 - p) * non_responder


def panel_genes(spec: dict, sites: Sequence[tuple[str, str, int, str]]) -> list[str]:
    """The genes of the demo panel: the cancer genes and the pharmacogenes (as in its targets)."""
    return sorted({g["gene"] for g in spec["cancer_genes"]} | {s[0] for s in sites})


def write_history(spec: dict, genes: Sequence[str], seed: int, outdir: str | Path) -> dict[str, Path]:
    """Write ``clinical.tsv``, ``features.tsv`` and ``truth.tsv`` under ``outdir``."""
    clinical, frame, truth = simulate_history(spec, genes, seed)
    out = Path(outdir)
    paths = {"clinical": out / "clinical.tsv", "features": out / "features.tsv", "truth": out / "truth.tsv"}
    F.write(frame, paths["features"])
    for key, table in (("clinical", clinical), ("truth", truth)):
        with atomic_output(paths[key]) as tmp:
            table.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g", lineterminator="\n")
    return paths
