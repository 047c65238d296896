"""Cross-validated C-index of the neighbour-based risk estimate, beside a plain Cox model.

Each outer fold's patients are queries scored against the other folds (the history): their risk
is :func:`seq2rx.similarity.neighbours.neighbour_risk` over their similarity to the history
patients only. The network itself is built once over all patients: distances, affinities and
fusion read features, never outcomes, so no outcome crosses a fold (the same transductive setup
as scoring new patients together with the history). The Cox model is fitted on each training
fold and predicts its test fold, on the same folds. C-index intervals are bootstrap percentile
intervals over the out-of-fold predictions (:func:`seq2rx.ml.evaluate.survival_metrics`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from seq2rx.core.data import data_path
from seq2rx.similarity import neighbours as N

FOLDS = 5


def folds(event: np.ndarray, n_folds: int = FOLDS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled folds stratified by the event indicator."""
    e = np.asarray(event).astype(int)
    return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(e, e))


def neighbour_oof_risk(
    similarity: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    k: int = 40,
    n_folds: int = FOLDS,
    seed: int = 0,
    horizon_quantile: float = N.HORIZON_QUANTILE,
) -> np.ndarray:
    """Out-of-fold neighbour risk per patient from an (N, N) similarity matrix; each fold's
    horizon is the ``horizon_quantile`` of its training follow-up times."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    oof = np.full(len(time), np.nan)
    for train, test in folds(event, n_folds, seed):
        horizon = float(np.quantile(time[train], horizon_quantile))
        S = similarity[np.ix_(test, train)]
        oof[test] = N.neighbour_risk(S, time[train], event[train], k=k, horizon=horizon)
    return oof


def cox_oof_risk(
    features: pd.DataFrame, time: np.ndarray, event: np.ndarray, *, n_folds: int = FOLDS, seed: int = 0
) -> np.ndarray:
    """Out-of-fold risk of an unpenalised Cox model (the project's preprocessing: imputation,
    log of skewed columns, standardisation, one-hot categories without their first level)."""
    from sklearn.pipeline import Pipeline
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    from seq2rx.ml import evaluate as E
    from seq2rx.ml import models as M

    numeric, categorical = E.split_features(features, list(features.columns))
    X = features[numeric + categorical]
    y = Surv.from_arrays(np.asarray(event).astype(bool), np.asarray(time, dtype=float))
    oof = np.full(len(X), np.nan)
    for train, test in folds(event, n_folds, seed):
        model = Pipeline(
            [("prep", M.preprocessor(numeric, categorical, drop_first=True)), ("cox", CoxPHSurvivalAnalysis())]
        )
        model.fit(X.iloc[train], y[train])
        oof[test] = model.predict(X.iloc[test])
    return oof


def c_index(time: np.ndarray, event: np.ndarray, risk: np.ndarray, *, replicates: int = 1000, seed: int = 0) -> dict:
    """Harrell's C-index with its bootstrap 95% interval: ``{"estimate": c, "ci95": [lo, hi]}``."""
    from seq2rx.ml.evaluate import survival_metrics

    m = survival_metrics(np.asarray(time, dtype=float), np.asarray(event).astype(int), risk, replicates, seed)
    return m["c_index"]


# ---------------------------------------------------------------------------------------------
# the real cohorts shipped with scikit-survival

#: GBSG2 (Schumacher et al. 1994): tumour grade is ordered
GBSG2_ORDINAL = {"tgrade": ("I", "II", "III")}
#: Desmedt et al. 2007: the four clinical columns beside 76 expression features; grade is ordered,
#: and the data set spells a missing grade "unkown"
DESMEDT_CLINICAL = ("age", "er", "grade", "size")
DESMEDT_ORDINAL = {"grade": ("well differentiated", "intermediate", "poorly differentiated")}


def cohort(name: str) -> tuple[dict[str, np.ndarray], pd.DataFrame, np.ndarray, np.ndarray]:
    """(distances per data type, features, time, event) of "gbsg2" (clinical only, recurrence-free
    survival) or "desmedt2007" (expression and clinical, time to distant metastasis)."""
    from sksurv import datasets

    from seq2rx.similarity.distances import expression_distance, gower_distance

    if name == "gbsg2":
        X, y = datasets.load_gbsg2()
        dists = {"clinical": gower_distance(X, ordinal=GBSG2_ORDINAL, source="GBSG2")}
        return dists, X, y["time"].astype(float), y["cens"].astype(int)
    if name == "desmedt2007":
        X, y = datasets.load_breast_cancer()
        grade = X["grade"].astype(object)
        X = X.assign(grade=grade.where(grade != "unkown"))
        expression = [c for c in X.columns if c not in DESMEDT_CLINICAL]
        dists = {
            "expression": expression_distance(X, expression, source="Desmedt 2007"),
            "clinical": gower_distance(X, DESMEDT_CLINICAL, ordinal=DESMEDT_ORDINAL, source="Desmedt 2007"),
        }
        return dists, X, y["t.tdm"].astype(float), y["e.tdm"].astype(int)
    raise ValueError(f"cohort must be one of ['gbsg2', 'desmedt2007'], got {name!r}")


def simulated_features(n: int, seed: int = 0) -> pd.DataFrame:
    """A random feature matrix shaped like docs/data-model.md (6 clinical columns, 20 genes as
    ``mut_``/``trunc_`` pairs, 5 PGx genes), for tests and timing; no planted structure."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "patient": [f"H{i:05d}" for i in range(1, n + 1)],
            "age": rng.integers(25, 90, n),
            "ecog": rng.integers(0, 4, n),
            "egfr": np.where(rng.random(n) < 0.1, np.nan, rng.normal(80, 20, n).round(1)),
            "sex": rng.choice(["female", "male"], n),
            "stage": rng.choice(["I", "II", "III", "IV"], n),
            "tumor_type": rng.choice(["COAD", "LUAD", "BRCA", "MEL", "PAAD"], n),
        }
    )
    for g in range(20):
        df[f"mut_G{g:02d}"] = (rng.random(n) < 0.15).astype(int)
        df[f"trunc_G{g:02d}"] = df[f"mut_G{g:02d}"] * (rng.random(n) < 0.3)
    for g in range(5):
        df[f"pgx_P{g}"] = rng.choice(["Normal Metabolizer", "Intermediate Metabolizer", "Poor Metabolizer",
                                      "not called"], n, p=[0.6, 0.25, 0.1, 0.05])  # fmt: skip
    return df


VALIDATION_TABLE = data_path("validation", "similarity_real.tsv")


def shipped_validation(path: str | Path = VALIDATION_TABLE) -> list[list[str]]:
    """Rows of the measured real-data validation table (comment lines and header left out)."""
    lines = [line for line in Path(path).read_text().splitlines() if line and not line.startswith("#")]
    return [line.split("\t") for line in lines[1:]]
