"""Nested cross-validation, bootstrap intervals and treatment effects for a cohort table.

A cohort table has one row per patient: feature columns, an outcome (a 0/1 response, or a time and
a 0/1 event), optionally a two-valued treatment column. Numeric columns are features as they are;
text, boolean and categorical columns are one-hot encoded. Missing feature values are imputed
inside each training fold (median / most frequent); a missing outcome, time, event or treatment is
an error, never a silently dropped patient.

Every number is out-of-fold: the outer folds (stratified by the event, and by the treatment when
there is one) are never seen by the model that predicts them, and hyper-parameters are chosen by an
inner cross-validation inside each outer training fold. Intervals are percentile intervals over
bootstrap resamples of the out-of-fold predictions (Steyerberg, Clinical Prediction Models, 2019,
ch. 17). Outputs hold no paths, times or host names: the same table and seed give the same JSON.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json as _atomic_json
from seq2rx.ml import models as M

BOOTSTRAP = 1000
MIN_EVENTS = 10  # fewer events than this cannot support even one predictor (Peduzzi et al. 1996)
CALIBRATION_BINS = 10
TIME_QUANTILES = (0.25, 0.5, 0.75)
BENEFIT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# a treatment column's level that names the comparator; otherwise the first level in sorted order is
CONTROL_LEVELS = ("0", "false", "no", "none", "control", "placebo", "standard", "untreated", "observation")
DIGITS = 6
TOOLS = ("seq2rx", "scikit-learn", "scikit-survival", "lifelines", "scipy", "numpy", "pandas")


# ---------------------------------------------------------------------------------------------
# reading and checking


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (``.csv``) or tab-separated (``.tsv``, ``.txt``) table, optionally gzipped."""
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        sep = ","
    elif name.endswith((".tsv", ".txt")):
        sep = "\t"
    else:
        raise InputError(str(path), "the table must end in .csv, .tsv or .txt (optionally .gz)")
    if not path.is_file():
        raise InputError(str(path), "no such file")
    try:
        df = pd.read_csv(path, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot be read as a {'CSV' if sep == ',' else 'TSV'} table: {exc}") from None
    header = (
        [str(c) for c in pd.read_csv(path, sep=sep, nrows=1, header=None, dtype=str).iloc[0]] if len(df.columns) else []
    )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:  # pandas would rename the second 'x' to 'x.1'
        raise InputError(str(path), f"repeated column name(s): {dupes}", line=1)
    return df


def _require_columns(df: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            source, f"no column {', '.join(map(repr, missing))}", line=1, hint=f"the columns are {list(df.columns)}"
        )


def _bad_row(source: str, df: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> InputError:
    """An InputError for the first row where ``mask`` holds (rows count from 1 after the header)."""
    i = int(np.flatnonzero(mask)[0])
    value = df[column].iloc[i]
    value = value.item() if isinstance(value, np.generic) else value
    return InputError(source, f"{problem}, got {value!r}", line=i + 2, row=i + 1, field=column)


def _missing(df, column, source):
    miss = df[column].isna().to_numpy()
    if miss.any():
        raise _bad_row(source, df, miss, column, "a value is required")


def _zero_one(df: pd.DataFrame, column: str, source: str) -> np.ndarray:
    """A 0/1 (or True/False) column as an int array."""
    _missing(df, column, source)
    s = df[column]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=int)
    values = pd.to_numeric(s, errors="coerce")
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        raise _bad_row(source, df, bad, column, "must be 0 or 1")
    return values.to_numpy(dtype=int)


def _times(df: pd.DataFrame, column: str, source: str) -> np.ndarray:
    _missing(df, column, source)
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        raise _bad_row(source, df, bad, column, "must be a number (time to event or censoring)")
    bad = (values < 0).to_numpy() | ~np.isfinite(values.to_numpy(dtype=float))
    if bad.any():
        raise _bad_row(source, df, bad, column, "must be a finite number ≥ 0")
    return values.to_numpy(dtype=float)


def _enough(source: str, column: str, counts: dict[str, int], folds: int, what: str) -> None:
    need = max(MIN_EVENTS, folds)
    low = {k: v for k, v in counts.items() if v < need}
    if low:
        detail = ", ".join(f"{v} {k}" for k, v in low.items())
        raise InputError(source, f"too few {what}: {detail}; at least {need} are needed", field=column)


def split_features(df: pd.DataFrame, features: list[str]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) by dtype: numbers are numeric; text, booleans and categories are not."""
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    return numeric, [c for c in features if c not in numeric]


def _design(df: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """Features as the pipelines expect them: floats, and text with NaN for missing."""
    X = df[numeric + categorical].copy()
    for c in numeric:
        X[c] = X[c].astype(float)
    for c in categorical:
        X[c] = X[c].map(str).where(X[c].notna(), np.nan).astype(object)
    return X.reset_index(drop=True)


def treatment_levels(df: pd.DataFrame, column: str, source: str) -> tuple[np.ndarray, str, str]:
    """(1 = treated / 0 = reference per row, treated level, reference level).

    The reference is the level written as 0 / false / no / control / placebo / standard / ... when
    exactly one of the two is; otherwise the first in sorted order (for 0/1 coding: 0).
    """
    _missing(df, column, source)
    s = df[column]
    labels = s.astype(str) if not pd.api.types.is_numeric_dtype(s) else s
    levels = sorted(pd.unique(labels), key=lambda v: (str(type(v)), v))
    if len(levels) != 2:
        shown = [str(v) for v in levels[:5]]
        raise InputError(
            source, f"a treatment column needs exactly two values, found {len(levels)}: {shown}", field=column
        )
    control = [v for v in levels if str(v).strip().lower() in CONTROL_LEVELS]
    reference = control[0] if len(control) == 1 else levels[0]
    treated = levels[1] if reference == levels[0] else levels[0]
    return (labels == treated).to_numpy(dtype=int), str(treated), str(reference)


# ---------------------------------------------------------------------------------------------
# nested cross-validation


def _tuned(estimator, grid: dict, cv, scoring: str | None):
    """``estimator`` wrapped in the inner cross-validation over ``grid`` (as it is when ``grid`` is empty)."""
    if not grid:
        return estimator
    return GridSearchCV(estimator, grid, cv=cv, scoring=scoring, n_jobs=1, error_score=np.nan)


def _chosen(model) -> dict:
    """The hyper-parameters the inner cross-validation chose."""
    if isinstance(model, GridSearchCV):
        return {k.removeprefix("model__"): v for k, v in sorted(model.best_params_.items())}
    final = model.named_steps["model"]
    return {"C": float(final.C_)} if hasattr(final, "C_") else {}


def _splits(strata: np.ndarray, folds: int, seed: int) -> list:
    """Stratified folds (index arrays into ``strata``); a stratum smaller than ``folds`` is spread as
    far as it goes (scikit-learn's warning about it is not repeated)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(strata, strata))


def _inner(strata: np.ndarray, seed: int) -> list:
    """Inner folds over a training set, stratified like the outer ones."""
    return _splits(strata, M.INNER_FOLDS, seed)


def _nested(kind, name, estimator, X, y, strata, folds, seed, predict):
    """Out-of-fold predictions and each outer fold's chosen hyper-parameters."""
    grid = M.param_grid(kind, name)
    oof = np.full(len(X), np.nan)
    chosen = []
    scoring = "neg_log_loss" if kind == "binary" else None
    for k, (train, test) in enumerate(_splits(strata, folds, seed)):
        model = _tuned(clone(estimator), grid, _inner(strata[train], seed), scoring)
        model.fit(X.iloc[train], y[train])
        oof[test] = predict(model, X.iloc[test])
        chosen.append({"fold": k + 1, **_chosen(model)})
    return oof, chosen


# ---------------------------------------------------------------------------------------------
# metrics and the bootstrap


def _bootstrap(stat, n: int, replicates: int, seed: int, width: int) -> np.ndarray:
    """(valid replicates × width) values of ``stat(indices)``; a degenerate resample (one class only,
    times outside its follow-up, a NaN) is dropped."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(replicates):
        idx = rng.integers(0, n, n)
        try:
            rows.append(stat(idx))
        except ValueError:
            continue
    out = np.array(rows, dtype=float).reshape(len(rows), width)
    return out[~np.isnan(out).any(axis=1)]


def _interval(point: float, reps: np.ndarray) -> dict:
    lo, hi = np.percentile(reps, [2.5, 97.5]) if len(reps) else (np.nan, np.nan)
    return {"estimate": float(point), "ci95": [float(lo), float(hi)]}


def _bin_ids(p: np.ndarray, bins: int = CALIBRATION_BINS) -> np.ndarray:
    """Equal-width probability bins, as ``sklearn.calibration.calibration_curve`` draws them."""
    return np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], p)


def binary_metrics(y: np.ndarray, p: np.ndarray, replicates: int = BOOTSTRAP, seed: int = 0) -> dict:
    """ROC-AUC, PR-AUC (average precision), Brier score and a 10-bin calibration curve of predicted
    probabilities ``p`` for 0/1 outcomes ``y``, each with a bootstrap 95% interval.

    Calibration bins without predictions are left out (as ``calibration_curve`` does); a bin's
    interval comes from the resamples that put a prediction in it.
    """
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    names = ("roc_auc", "pr_auc", "brier")

    def scores(yy, pp):
        if len(np.unique(yy)) < 2:
            raise ValueError("one class")
        return [roc_auc_score(yy, pp), average_precision_score(yy, pp), brier_score_loss(yy, pp)]

    bins = _bin_ids(p)

    def stat(idx):
        b = np.bincount(bins[idx], weights=y[idx], minlength=CALIBRATION_BINS)
        n = np.bincount(bins[idx], minlength=CALIBRATION_BINS)
        with np.errstate(invalid="ignore", divide="ignore"):
            return scores(y[idx], p[idx]) + list(np.where(n > 0, b / n, np.inf))  # inf: bin empty here

    point = scores(y, p)
    reps = _bootstrap(stat, len(y), replicates, seed, len(names) + CALIBRATION_BINS)
    out = {name: _interval(point[i], reps[:, i]) for i, name in enumerate(names)}
    observed, predicted = calibration_curve(y, p, n_bins=CALIBRATION_BINS)
    curve = []
    for k, (obs, pred) in zip(np.unique(bins), zip(observed, predicted, strict=True), strict=True):
        col = reps[:, len(names) + k]
        col = col[np.isfinite(col)]
        curve.append(
            {
                "bin": [k / CALIBRATION_BINS, (k + 1) / CALIBRATION_BINS],
                "patients": int((bins == k).sum()),
                "mean_predicted": float(pred),
                "observed": _interval(obs, col),
            }
        )
    out["calibration"] = curve
    out["bootstrap_replicates"] = len(reps)
    return out


def survival_metrics(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, replicates: int = BOOTSTRAP, seed: int = 0
) -> dict:
    """Harrell's C-index and time-dependent (cumulative/dynamic) AUC at the 25/50/75% quantiles of
    the event times (Uno et al. 2007 censoring weights), for risk scores ``risk`` (higher = earlier
    event), each with a bootstrap 95% interval.
    """
    from sksurv.metrics import concordance_index_censored, cumulative_dynamic_auc
    from sksurv.util import Surv

    ev = event.astype(bool)
    times = np.quantile(time[ev], TIME_QUANTILES)
    y = Surv.from_arrays(ev, time)

    def stat(idx):
        yy = y[idx]
        c = concordance_index_censored(ev[idx], time[idx], risk[idx])[0]
        auc, mean_auc = cumulative_dynamic_auc(yy, yy, risk[idx], times)
        return [c, *auc, mean_auc]

    point = stat(np.arange(len(time)))
    reps = _bootstrap(stat, len(time), replicates, seed, len(point))
    return {
        "c_index": _interval(point[0], reps[:, 0]),
        "time_auc": [
            {"quantile": q, "time": float(t), **_interval(point[1 + i], reps[:, 1 + i])}
            for i, (q, t) in enumerate(zip(TIME_QUANTILES, times, strict=True))
        ],
        "mean_time_auc": _interval(point[-1], reps[:, -1]),
        "bootstrap_replicates": len(reps),
    }


# ---------------------------------------------------------------------------------------------
# the public entry points


def _check_folds(folds: int) -> None:
    if not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be an integer ≥ 2, got {folds!r}")


def check_binary(df: pd.DataFrame, outcome: str, features: list[str], folds: int, source: str) -> np.ndarray:
    """The outcome column as 0/1 ints, after checking the columns exist and both classes have enough
    patients (≥ max(10, folds))."""
    _check_folds(folds)
    _require_columns(df, [outcome, *features], source)
    if not features:
        raise InputError(source, "no feature columns are left besides the outcome")
    y = _zero_one(df, outcome, source)
    _enough(
        source, outcome, {"patients with 1": int(y.sum()), "patients with 0": int((1 - y).sum())}, folds, "outcomes"
    )
    return y


def check_survival(
    df: pd.DataFrame, time: str, event: str, features: list[str], folds: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """(times, 0/1 events), after checking the columns and that there are ≥ max(10, folds) events."""
    _check_folds(folds)
    _require_columns(df, [time, event, *features], source)
    if not features:
        raise InputError(source, "no feature columns are left besides the time and the event")
    t = _times(df, time, source)
    e = _zero_one(df, event, source)
    _enough(source, event, {"events": int(e.sum())}, folds, "events")
    return t, e


def cross_validate_binary(
    df: pd.DataFrame,
    outcome: str,
    features: list[str],
    model: str = "penalised",
    folds: int = 5,
    seed: int = 0,
    *,
    replicates: int = BOOTSTRAP,
    source: str = "table",
) -> dict:
    """Nested cross-validation of a 0/1 outcome: out-of-fold ROC-AUC, PR-AUC, Brier score and
    calibration, with bootstrap 95% intervals. ``source`` names the table in error messages."""
    y = check_binary(df, outcome, features, folds, source)
    numeric, categorical = split_features(df, features)
    X = _design(df, numeric, categorical)
    estimator = M.build_binary(model, numeric, categorical, seed)
    oof, chosen = _nested("binary", model, estimator, X, y, y, folds, seed, lambda m, x: m.predict_proba(x)[:, 1])
    return {
        "patients": len(y),
        "events": int(y.sum()),
        "metrics": binary_metrics(y, oof, replicates, seed),
        "tuning": chosen,
    }


def cross_validate_survival(
    df: pd.DataFrame,
    time: str,
    event: str,
    features: list[str],
    model: str = "penalised",
    folds: int = 5,
    seed: int = 0,
    *,
    replicates: int = BOOTSTRAP,
    source: str = "table",
) -> dict:
    """Nested cross-validation of a time to event: out-of-fold C-index and time-dependent AUC,
    with bootstrap 95% intervals. ``source`` names the table in error messages."""
    from sksurv.util import Surv

    t, e = check_survival(df, time, event, features, folds, source)
    numeric, categorical = split_features(df, features)
    X = _design(df, numeric, categorical)
    estimator = M.build_survival(model, numeric, categorical, seed)
    y = Surv.from_arrays(e.astype(bool), t)
    oof, chosen = _nested("survival", model, estimator, X, y, e, folds, seed, lambda m, x: m.predict(x))
    return {
        "patients": len(t),
        "events": int(e.sum()),
        "metrics": survival_metrics(t, e, oof, replicates, seed),
        "tuning": chosen,
    }


def _adjusted_design(X: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    """Covariates for an unpenalised model: imputed, transformed, first level of each category dropped."""
    prep = M.preprocessor(numeric, categorical, drop_first=True).set_output(transform="pandas")
    return prep.fit_transform(X).reset_index(drop=True)


def _adjusted_cox(time: np.ndarray, event: np.ndarray, treated: np.ndarray, Z: pd.DataFrame, source: str) -> dict:
    """Hazard ratio of treated vs reference from a Cox model adjusted for ``Z`` (lifelines; Wald interval)."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    data = Z.set_axis([f"z{i}" for i in range(Z.shape[1])], axis=1).assign(treated=treated, time=time, event=event)
    try:
        cph = CoxPHFitter().fit(data, duration_col="time", event_col="event")
    except ConvergenceError as exc:
        raise InputError(
            source,
            f"the adjusted Cox model did not converge ({str(exc).splitlines()[0]})",
            hint="drop collinear covariates",
        ) from None
    row = cph.summary.loc["treated"]
    return {
        "measure": "hazard ratio",
        "estimate": float(row["exp(coef)"]),
        "ci95": [float(row["exp(coef) lower 95%"]), float(row["exp(coef) upper 95%"])],
        "p_value": float(row["p"]),
    }


def _adjusted_logistic(y: np.ndarray, treated: np.ndarray, Z: pd.DataFrame, source: str) -> dict:
    """Odds ratio of treated vs reference from an unpenalised logistic model adjusted for ``Z``, with a
    Wald interval from the observed information (the Hessian of the log-likelihood at the MLE)."""
    from scipy.stats import norm
    from sklearn.linear_model import LogisticRegression

    D = np.column_stack([treated, Z.to_numpy(dtype=float)])
    fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=1000).fit(D, y)
    p = fit.predict_proba(D)[:, 1]
    D1 = np.column_stack([np.ones(len(y)), D])
    H = D1.T @ (D1 * (p * (1 - p))[:, None])
    if not np.isfinite(H).all() or np.linalg.cond(H) > 1e12:
        raise InputError(
            source,
            "the adjusted logistic model is singular: the treatment or a covariate separates the outcomes, "
            "or covariates are collinear",
        )
    b, se = float(fit.coef_[0, 0]), float(np.sqrt(np.linalg.inv(H)[1, 1]))
    z = norm.ppf(0.975)
    return {
        "measure": "odds ratio",
        "estimate": float(np.exp(b)),
        "ci95": [float(np.exp(b - z * se)), float(np.exp(b + z * se))],
        "p_value": float(2 * norm.sf(abs(b / se))),
    }


def _benefit_summary(benefit: np.ndarray) -> dict:
    qs = np.quantile(benefit, BENEFIT_QUANTILES)
    return {
        "patients": len(benefit),
        "mean": float(benefit.mean()),
        "quantiles": {f"{round(q * 100)}%": float(v) for q, v in zip(BENEFIT_QUANTILES, qs, strict=True)},
        "favouring_treatment": float((benefit > 0).mean()),
        "favouring_reference": float((benefit < 0).mean()),
    }


def _binary_benefit(X, y, treated, name, numeric, categorical, folds, seed) -> np.ndarray:
    """Out-of-fold T-learner benefit: P(y=1 | treated) − P(y=1 | reference) per patient."""
    base = M.build_binary(name, numeric, categorical, seed)
    inner = StratifiedKFold(M.INNER_FOLDS, shuffle=True, random_state=seed)
    learner = M.TLearner(_tuned(base, M.param_grid("binary", name), inner, "neg_log_loss"), treatment=_TREATED)
    Xt = X.assign(**{_TREATED: treated})
    benefit = np.full(len(y), np.nan)
    for train, test in _splits(2 * treated + y, folds, seed):
        fitted = clone(learner).fit(Xt.iloc[train], y[train])
        benefit[test] = fitted.predict_benefit(Xt.iloc[test])
    return benefit


def _survival_benefit(X, t, e, treated, name, numeric, categorical, folds, seed, horizon) -> np.ndarray:
    """Out-of-fold per-arm survival models: S(horizon | treated) − S(horizon | reference) per patient."""
    from sksurv.util import Surv

    y = Surv.from_arrays(e.astype(bool), t)
    base = M.build_survival(name, numeric, categorical, seed)
    grid = M.param_grid("survival", name)
    benefit = np.full(len(t), np.nan)
    for train, test in _splits(2 * treated + e, folds, seed):
        surv = {}
        for arm in (1, 0):
            rows = train[treated[train] == arm]
            model = _tuned(clone(base), grid, _inner(e[rows], seed), None)
            model.fit(X.iloc[rows], y[rows])
            model = model.best_estimator_ if grid else model
            surv[arm] = np.array([f(horizon) for f in model.predict_survival_function(X.iloc[test])])
        benefit[test] = surv[1] - surv[0]
    return benefit


_TREATED = "_seq2rx_treated"


def treatment_effect(
    df: pd.DataFrame,
    treatment: str,
    covariates: list[str],
    *,
    outcome: str | None = None,
    time: str | None = None,
    event: str | None = None,
    model: str = "penalised",
    folds: int = 5,
    seed: int = 0,
    source: str = "table",
    benefit: bool = True,
) -> dict:
    """The adjusted effect of a two-valued ``treatment`` and the distribution of per-patient benefit
    (left out with ``benefit=False``, for a caller that predicts benefit its own way).

    Give ``outcome`` (0/1; 1 = response) for an odds ratio from a logistic model, or ``time`` and
    ``event`` for a hazard ratio from a Cox model (lifelines); both adjusted for ``covariates``,
    with a Wald 95% interval and p-value. Benefit is out-of-fold: for a 0/1 outcome, a T-learner's
    P(response | treated) − P(response | reference); for survival, per-arm survival models'
    S(t | treated) − S(t | reference) at t = the median event time. Positive benefit favours the
    treatment. Each arm needs ≥ max(10, folds) events (and, for 0/1, non-events).
    """
    if (outcome is None) == (time is None and event is None) or (time is None) != (event is None):
        raise ValueError("give either outcome, or time and event")
    _require_columns(df, [treatment, *covariates], source)
    if treatment in covariates:
        raise ValueError(f"the treatment {treatment!r} must not be among the covariates")
    treated, level, reference = treatment_levels(df, treatment, source)
    numeric, categorical = split_features(df, covariates)
    X = _design(df, numeric, categorical)
    Z = _adjusted_design(X, numeric, categorical)
    arms = {"treated": treated == 1, "reference": treated == 0}
    out = {"column": treatment, "treated": level, "reference": reference, "adjusted_for": list(covariates)}
    if outcome is not None:
        y = check_binary(df, outcome, covariates, folds, source)
        counts = {f"{k} patients with {v}": int((m & (y == v)).sum()) for k, m in arms.items() for v in (1, 0)}
        _enough(source, treatment, counts, folds, "patients per arm")
        out["effect"] = _adjusted_logistic(y, treated, Z, source)
        if not benefit:
            return out
        benefit = _binary_benefit(X, y, treated, model, numeric, categorical, folds, seed)
        out["benefit"] = {"definition": "P(response | treated) - P(response | reference), out-of-fold T-learner"}
    else:
        t, e = check_survival(df, time, event, covariates, folds, source)
        _enough(
            source, treatment, {f"events in the {k} arm": int(e[m].sum()) for k, m in arms.items()}, folds, "events"
        )
        out["effect"] = _adjusted_cox(t, e, treated, Z, source)
        horizon = float(np.median(t[e == 1]))
        benefit = _survival_benefit(X, t, e, treated, model, numeric, categorical, folds, seed, horizon)
        out["benefit"] = {
            "definition": "S(t | treated) - S(t | reference) at t = the median event time, out-of-fold per-arm models",
            "time": horizon,
        }
    out["benefit"].update(_benefit_summary(benefit))
    return out


def _clean(value):
    """Floats rounded to DIGITS decimals, NaN as null: stable, valid JSON."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, DIGITS) if np.isfinite(value) else None
    return value


def run_cv(
    table: str | Path,
    *,
    outcome: str | None = None,
    time: str | None = None,
    event: str | None = None,
    treatment: str | None = None,
    model: str = "penalised",
    folds: int = 5,
    seed: int = 0,
    exclude: list[str] | tuple[str, ...] = (),
    replicates: int = BOOTSTRAP,
) -> dict:
    """What ``seq2rx ml cv`` reports for a cohort table: every column but the outcome (and
    ``exclude``) is a feature; with ``treatment``, also its adjusted effect and predicted benefit."""
    from seq2rx.provenance.versions import tool_version

    if (outcome is None) == (time is None and event is None) or (time is None) != (event is None):
        raise ValueError("give either outcome, or time and event")
    source = str(table)
    df = read_table(table)
    targets = [outcome] if outcome is not None else [time, event]
    _require_columns(df, [*targets, *([treatment] if treatment else []), *exclude], source)
    if treatment in (*targets, *exclude):
        raise InputError(source, "the treatment column is also the outcome or excluded", field=treatment)
    if treatment:
        treatment_levels(df, treatment, source)  # before the cross-validation: fail fast
    features = [str(c) for c in df.columns if c not in targets and c not in exclude]
    numeric, categorical = split_features(df, features)
    doc = {
        "table": Path(table).name,
        "task": "binary" if outcome is not None else "survival",
        "outcome": {"column": outcome} if outcome is not None else {"time": time, "event": event},
        "model": model,
        "folds": folds,
        "inner_folds": M.INNER_FOLDS,
        "seed": seed,
        "features": {"numeric": numeric, "categorical": categorical, "excluded": list(exclude)},
    }
    common = {"model": model, "folds": folds, "seed": seed, "source": source}
    if outcome is not None:
        doc["cross_validation"] = cross_validate_binary(df, outcome, features, replicates=replicates, **common)
    else:
        doc["cross_validation"] = cross_validate_survival(df, time, event, features, replicates=replicates, **common)
    if treatment:
        covariates = [c for c in features if c != treatment]
        doc["treatment"] = treatment_effect(
            df, treatment, covariates, outcome=outcome, time=time, event=event, **common
        )
    doc["versions"] = {name: tool_version(name) for name in TOOLS}
    return _clean(doc)


def write_json(doc: dict, path: str | Path) -> None:
    _atomic_json(doc, path, allow_nan=False)
