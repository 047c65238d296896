"""Train on past patients, predict for new ones, explain, and write a model card.

What a hospital does with its history: the past patients' feature matrix and outcomes train

* a **response** model: a T-learner (:class:`seq2rx.ml.models.TLearner`), one classifier per
  treatment, so every new patient gets P(response) under each treatment and the difference
  (the predicted **benefit** of the treated arm over the reference arm);
* a **survival** model (time to progression) with the treatment as a covariate and the treatment ×
  target interactions (:data:`INTERACTIONS`: the treatment times each count of targets and of
  resistance alterations), giving the progression-free probability at a horizon under each
  treatment. The response model's per-arm classifiers let a treatment work only for patients with
  a target; without the same interaction here the progression model moved every patient by the
  history's average effect, and the two disagreed (a likely responder to targeted therapy predicted
  to progress sooner on it).

Honesty: every performance number is out-of-fold (nested cross-validation, seed from the config),
with bootstrap intervals; permutation importance is measured on held-out folds; every prediction
carries a bootstrap interval (the whole model refitted on resampled history); and for the
penalised model each prediction is split exactly into per-feature contributions on the log-odds
scale. Models are saved with skops, never pickle.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from seq2rx.core.errors import InputError
from seq2rx.ml import evaluate as E
from seq2rx.ml import features as F
from seq2rx.ml import labels as L
from seq2rx.ml import models as M

TREATED_COLUMN = "treated"
# the features the treatment interacts with in the progression model: the targets and resistance
INTERACTIONS = F.ACTIONABLE
TOP_CONTRIBUTIONS = 8
IMPORTANCE_REPEATS = 5


# ---------------------------------------------------------------------------------------------
# the training table


def training_table(
    features: pd.DataFrame, clinical: pd.DataFrame, treated: str, reference: str, source: str
) -> pd.DataFrame:
    """History features joined to outcomes; every row needs a treatment and all outcomes.

    A past patient without outcomes cannot teach the model anything, and dropping one silently
    would bias it; the row is named instead.
    """
    need = ["patient", "treatment", "response", "time_months", "event"]
    E._require_columns(clinical, need, source)
    # the clinical table's own line numbers (the header is line 1), whatever order the features are in
    lines = {p: i + 2 for i, p in enumerate(clinical["patient"].astype(str))}
    missing = [p for p in features["patient"].astype(str) if p not in lines]
    if missing:
        raise InputError(source, f"past patient {missing[0]} of the feature table has no row here",
                         field="patient", hint="every past patient needs its treatment and outcomes")  # fmt: skip
    merged = features.merge(clinical[need], on="patient", how="left", validate="one_to_one")
    for row in merged.itertuples(index=False):
        line = lines[str(row.patient)]
        for column in need[1:]:
            if pd.isna(getattr(row, column)):
                raise InputError(source, f"patient {row.patient} has no {column}", line=line, field=column,
                                 hint="past patients need a treatment and all outcomes")  # fmt: skip
        if row.treatment not in (treated, reference):
            raise InputError(source, f"treatment {row.treatment!r} is neither {treated!r} nor {reference!r}",
                             line=line, field="treatment")  # fmt: skip
    merged[TREATED_COLUMN] = (merged["treatment"] == treated).astype(int)
    return merged


def design(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """Model input: the treatment indicator first, then the features as the pipelines expect them."""
    X = E._design(frame, list(numeric), list(categorical))
    X.insert(0, TREATED_COLUMN, frame[TREATED_COLUMN].to_numpy(dtype=float) if TREATED_COLUMN in frame else 0.0)
    return X


def aligned(current: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """``current`` with exactly the training ``columns``: (frame, columns it lacked, columns dropped)."""
    lacking = [c for c in columns if c not in current.columns]
    extra = [c for c in current.columns if c not in columns]
    out = current.reindex(columns=list(columns))
    return out, lacking, extra


# ---------------------------------------------------------------------------------------------
# the models


def response_model(name: str, numeric: list[str], categorical: list[str], seed: int) -> M.TLearner:
    """One classifier per arm; the arm is the ``treated`` column."""
    return M.TLearner(M.build_binary(name, numeric, categorical, seed), treatment=TREATED_COLUMN)


def survival_model(name: str, numeric: list[str], categorical: list[str], seed: int, strata: np.ndarray):
    """The survival pipeline with the treatment as a numeric covariate and its interactions with the
    targets (those of :data:`INTERACTIONS` among ``numeric``), tuned by inner CV."""
    targets = [c for c in INTERACTIONS if c in numeric]
    estimator = M.build_survival(name, numeric, categorical, seed, interactions=(TREATED_COLUMN, targets))
    return E._tuned(estimator, M.param_grid("survival", name), E._inner(strata, seed), None)


def _fixed(model):
    """The survival model with its tuned hyper-parameters frozen (for bootstrap refits)."""
    return model.best_estimator_ if isinstance(model, GridSearchCV) else model


def _surv(frame: pd.DataFrame):
    from sksurv.util import Surv

    return Surv.from_arrays(frame["event"].to_numpy(dtype=bool), frame["time_months"].to_numpy(dtype=float))


def progression_free(model, X: pd.DataFrame, horizon: float) -> np.ndarray:
    """P(no progression by ``horizon`` months) per row, under the arm of its ``treated`` value."""
    fns = _fixed(model).predict_survival_function(X)
    return np.array([float(fn(min(horizon, fn.x[-1]))) for fn in fns])


def both_arms(X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(X as if every patient got the reference arm, X as if every patient got the treated arm)."""
    ref, trt = X.copy(), X.copy()
    ref[TREATED_COLUMN] = 0.0
    trt[TREATED_COLUMN] = 1.0
    return ref, trt


def predict_arms(response, survival, X: pd.DataFrame, horizon: float) -> dict[str, np.ndarray]:
    """Per row: P(response) and P(progression-free at horizon) under each arm, and the differences
    (treated − reference): ``benefit`` in response, ``pfs_benefit`` in progression-free survival."""
    ref, trt = both_arms(X)
    p_ref, p_trt = response.predict_proba(ref)[:, 1], response.predict_proba(trt)[:, 1]
    s_ref, s_trt = progression_free(survival, ref, horizon), progression_free(survival, trt, horizon)
    return {
        "response_reference": p_ref,
        "response_treated": p_trt,
        "benefit": p_trt - p_ref,
        "pfs_reference": s_ref,
        "pfs_treated": s_trt,
        "pfs_benefit": s_trt - s_ref,
    }


def frozen(response: M.TLearner) -> M.TLearner:
    """An unfitted T-learner whose arms keep the penalties the fitted ``response`` chose.

    Refitting the whole inner cross-validation for every bootstrap replicate and every held-out
    fold would cost 30 fits per arm each time; the hyper-parameters the full history chose are
    kept instead (the usual approximation; the model card says so). Forests have nothing tuned.
    """
    arms = {}
    for key, pipe in response.models_.items():
        model = pipe.named_steps["model"] if hasattr(pipe, "named_steps") else pipe
        if hasattr(model, "C_"):
            fixed = LogisticRegression(C=float(np.ravel(model.C_)[0]), max_iter=1000)
            pipe = clone(pipe).set_params(model=fixed)
        arms[key] = clone(pipe)
    return M.TLearner(treatment=TREATED_COLUMN, arm_estimators=arms)


# ---------------------------------------------------------------------------------------------
# explanations


def original_feature(name: str, numeric: Sequence[str], categorical: Sequence[str]) -> str:
    """The feature an encoded column came from (``pgx_DPYD_Poor Metabolizer`` -> ``pgx_DPYD``)."""
    if name in numeric or name == TREATED_COLUMN:
        return name
    owners = [c for c in categorical if name.startswith(f"{c}_")]
    return max(owners, key=len)


def linear_contributions(pipeline, X_train: pd.DataFrame, X: pd.DataFrame, numeric, categorical) -> list[dict]:
    """Exact per-feature contributions of a fitted (preprocessing, logistic) pipeline.

    On the log-odds scale, logit(x) = logit(average training patient) + Σ_j coef_j (z_j(x) − mean z_j),
    where z is the encoded input. One-hot columns are summed back into their feature. Each entry
    holds ``baseline`` (the average patient's log-odds) and ``contributions`` {feature: value}.
    """
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    Z_train, Z = prep.transform(X_train), prep.transform(X)
    coef = model.coef_[0]
    centre = Z_train.mean(axis=0)
    owners = [original_feature(n, numeric, categorical) for n in prep.get_feature_names_out()]
    out = []
    for z in Z:
        parts = coef * (z - centre)
        by_feature: dict[str, float] = {}
        for owner, value in zip(owners, parts, strict=True):
            by_feature[owner] = by_feature.get(owner, 0.0) + float(value)
        out.append({"baseline": float(model.intercept_[0] + coef @ centre), "contributions": by_feature})
    return out


def held_out_importance(X: pd.DataFrame, y: np.ndarray, strata: np.ndarray, make, folds: int, seed: int) -> list[dict]:
    """Permutation importance (drop in ROC-AUC) on each outer fold's held-out patients, averaged."""
    drops = []
    for train, test in E._splits(strata, folds, seed):
        model = make().fit(X.iloc[train], y[train])
        result = permutation_importance(
            model, X.iloc[test], y[test], scoring="roc_auc", n_repeats=IMPORTANCE_REPEATS, random_state=seed
        )
        drops.append(result.importances)
    stacked = np.concatenate(drops, axis=1)  # features × (folds × repeats)
    rows = [
        {"feature": name, "mean": float(stacked[i].mean()), "sd": float(stacked[i].std(ddof=1))}
        for i, name in enumerate(X.columns)
    ]
    return sorted(rows, key=lambda r: (-r["mean"], r["feature"]))


# ---------------------------------------------------------------------------------------------
# cross-validation of the models as used


def cross_validate(train: pd.DataFrame, X: pd.DataFrame, numeric, categorical, cfg: dict) -> dict:
    """Out-of-fold response probabilities (of the arm each patient got) and survival risks, with
    bootstrap intervals on every metric, and the folds' predictions for the plots."""
    folds, seed, reps = cfg["folds"], cfg["seed"], cfg["metric_bootstrap"]
    y = train["response"].to_numpy(dtype=int)
    strata = y * 2 + train[TREATED_COLUMN].to_numpy()
    p_oof = np.full(len(y), np.nan)
    risk_oof = np.full(len(y), np.nan)
    ys = _surv(train)
    e = train["event"].to_numpy(dtype=int)
    for tr, te in E._splits(strata, folds, seed):
        p_oof[te] = (
            response_model(cfg["model"], numeric, categorical, seed)
            .fit(X.iloc[tr], y[tr])
            .predict_proba(X.iloc[te])[:, 1]
        )
        surv = survival_model(cfg["model"], numeric, categorical, seed, e[tr]).fit(X.iloc[tr], ys[tr])
        risk_oof[te] = surv.predict(X.iloc[te])
    return {
        "response": E.binary_metrics(y, p_oof, reps, seed),
        "survival": E.survival_metrics(train["time_months"].to_numpy(float), e, risk_oof, reps, seed),
        "oof": {
            "response": p_oof,
            "risk": risk_oof,
            "observed": y,
            "time": train["time_months"].to_numpy(float),
            "event": e,
        },
    }


def bootstrap_predictions(
    train: pd.DataFrame,
    X: pd.DataFrame,
    X_new: pd.DataFrame,
    fixed_arms: M.TLearner,
    fitted_survival,
    cfg: dict,
) -> dict[str, np.ndarray]:
    """Each prediction refitted on ``cfg["bootstrap"]`` resamples of the history (arms resampled
    separately, so both stay present): replicates × patients per quantity."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg["seed"], 11]))
    y = train["response"].to_numpy(dtype=int)
    ys = _surv(train)
    arms = [np.flatnonzero(train[TREATED_COLUMN].to_numpy() == a) for a in (0, 1)]
    frozen = _fixed(fitted_survival)
    out: dict[str, list] = {}
    for _ in range(cfg["bootstrap"]):
        idx = np.concatenate([rng.choice(a, size=len(a), replace=True) for a in arms])
        split = len(arms[0])
        if min(min(np.bincount(y[part], minlength=2)) for part in (idx[:split], idx[split:])) == 0:
            continue  # an arm without both outcomes cannot be refitted
        resp = clone(fixed_arms).fit(X.iloc[idx], y[idx])
        surv = clone(frozen).fit(X.iloc[idx], ys[idx])
        for key, value in predict_arms(resp, surv, X_new, cfg["horizon_months"]).items():
            out.setdefault(key, []).append(value)
    if not out:
        raise InputError("history", "no bootstrap resample kept both outcomes in both treatment arms",
                         hint="an arm with very few responders or non-responders cannot give intervals")  # fmt: skip
    return {k: np.vstack(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# the whole step


def run(
    history_features: pd.DataFrame,
    history_clinical: pd.DataFrame,
    current: pd.DataFrame,
    cfg: dict,
    *,
    source: str = "history/clinical.tsv",
) -> tuple[dict, dict]:
    """(everything the workflow's ML step reports, as plain data; the fitted models by name).

    ``cfg``: model, folds, seed, bootstrap, metric_bootstrap, interval, horizon_months,
    treated, reference, adjust_for (the covariates of the adjusted treatment effect).
    """
    treated, reference = cfg["treated"], cfg["reference"]
    train = training_table(history_features, history_clinical, treated, reference, source)
    # a feature with one value in the whole history (a gene never mutated there) teaches nothing
    constant = [c for c in history_features.columns if c != "patient" and history_features[c].nunique(dropna=False) < 2]
    usable = history_features.drop(columns=constant)
    feature_columns = [c for c in usable.columns if c != "patient"]
    numeric, categorical = F.feature_kinds(usable)
    X = design(train, numeric, categorical)
    y = train["response"].to_numpy(dtype=int)
    strata = y * 2 + train[TREATED_COLUMN].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # sparse arms: sklearn's fold warnings
        response = response_model(cfg["model"], numeric, categorical, cfg["seed"]).fit(X, y)
        survival = survival_model(cfg["model"], numeric, categorical, cfg["seed"], train["event"].to_numpy(int))
        survival.fit(X, _surv(train))
        cv = cross_validate(train, X, numeric, categorical, cfg)
        importance = held_out_importance(
            X, y, strata, lambda: clone(frozen(response)), cfg["folds"], cfg["seed"],
        )  # fmt: skip
        effect = E.treatment_effect(
            train, TREATED_COLUMN, list(cfg["adjust_for"]),
            outcome="response", model=cfg["model"], folds=cfg["folds"], seed=cfg["seed"], source=source,
            benefit=False,
        )  # fmt: skip
        new, lacking, extra = aligned(current, ["patient", *feature_columns])
        X_new = design(new, numeric, categorical)
        point = predict_arms(response, survival, X_new, cfg["horizon_months"])
        boots = bootstrap_predictions(train, X, X_new, frozen(response), survival, cfg)

    alpha = (1 - cfg["interval"]) / 2
    task = {"treated": treated, "reference": reference, "horizon_months": cfg["horizon_months"],
            "interval": cfg["interval"]}  # fmt: skip
    patients = []
    ref_X, trt_X = both_arms(X_new)
    contributions = {}
    if cfg["model"] == "penalised":
        for arm, key, Xa in (("reference", "control", ref_X), ("treated", "treated", trt_X)):
            rows = X[TREATED_COLUMN] == (1 if arm == "treated" else 0)
            pipe = response.models_[key]
            contributions[arm] = linear_contributions(
                pipe, X.loc[rows].drop(columns=TREATED_COLUMN), Xa.drop(columns=TREATED_COLUMN), numeric, categorical
            )
    for i, pid in enumerate(new["patient"]):
        entry = {"patient": pid, "values": {}}
        for key, values in point.items():
            lo, hi = np.quantile(boots[key][:, i], [alpha, 1 - alpha]) if key in boots else (np.nan, np.nan)
            entry["values"][key] = {"estimate": float(values[i]), "lower": float(lo), "upper": float(hi)}
        entry["favours"] = treated if point["benefit"][i] > 0 else reference
        entry["benefit_interval_excludes_zero"] = bool(
            entry["values"]["benefit"]["lower"] > 0 or entry["values"]["benefit"]["upper"] < 0
        )
        if contributions:
            entry["contributions"] = {arm: c[i] for arm, c in contributions.items()}
        entry["features"] = {c: _plain(new.iloc[i][c]) for c in feature_columns}
        entry["feature_labels"] = L.feature_labels(entry["features"])
        entry["extrapolation"] = extrapolation(
            usable, new.iloc[i], numeric, categorical, constant=history_features[constant], current=current.iloc[i]
        )
        entry["summary"] = L.benefit_sentence(entry["values"], task)
        entry["agreement"] = L.agreement_sentence(entry["values"], task)
        patients.append(entry)

    doc = {
        "task": task,
        "model": cfg["model"],
        "folds": cfg["folds"],
        "seed": cfg["seed"],
        "bootstrap": {"predictions": int(len(next(iter(boots.values())))), "metrics": cfg["metric_bootstrap"]},
        "history": {
            "patients": len(train),
            "treated": int(train[TREATED_COLUMN].sum()),
            "responders": int(y.sum()),
            "events": int(train["event"].sum()),
        },
        "features": {
            "numeric": numeric,
            "categorical": categorical,
            "constant_in_history": constant,
            "progression_interactions": [f"{TREATED_COLUMN}_x_{c}" for c in INTERACTIONS if c in numeric],
            "lacking": lacking,
            "dropped": extra,
        },
        "cross_validation": {"response": cv["response"], "survival": cv["survival"]},
        "oof": {k: v.tolist() for k, v in cv["oof"].items()},
        "importance": importance,
        "treatment_effect": effect,
        "patients": patients,
    }
    return doc, {"response": response, "survival": _fixed(survival)}


def extrapolation(
    history: pd.DataFrame,
    patient: pd.Series,
    numeric,
    categorical,
    *,
    constant: pd.DataFrame | None = None,
    current: pd.Series | None = None,
) -> list[str]:
    """The patient's features the history never saw, labelled (:mod:`seq2rx.ml.labels`): a category
    absent from it, or a number outside its range (a prediction there extrapolates); and with
    ``constant`` (the history's columns with one value, which the models leave out) and ``current``
    (the patient's full row), a value other than that one (the models cannot weigh it)."""
    out = []
    for c in categorical:
        value = patient[c]
        if not pd.isna(value) and value not in set(history[c].dropna()):
            out.append(f"{L.shown(c, value)} (not among the past patients)")
    for c in numeric:
        value, col = patient[c], history[c].dropna()
        if not pd.isna(value) and len(col) and not col.min() <= value <= col.max():
            low, high = L.value_text(c, float(col.min())), L.value_text(c, float(col.max()))
            out.append(f"{L.shown(c, _plain(value))} (past patients: {low} to {high})")
    if constant is not None and current is not None:
        for c in constant.columns:
            seen = constant[c].dropna()
            value = current.get(c)
            if value is None or pd.isna(value) or not len(seen) or value == seen.iloc[0]:
                continue
            out.append(
                f"{L.shown(c, _plain(value))} (every past patient: {L.value_text(c, _plain(seen.iloc[0]))}; "
                "the models cannot weigh it)"
            )
    return out


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value
