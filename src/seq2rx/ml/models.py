"""Model builders (scikit-learn pipelines) and the T-learner for per-patient treatment benefit.

Every model is one ``Pipeline``: a ``ColumnTransformer`` that imputes, transforms and encodes the
columns, then the learner. Numeric columns: median imputation, ``log1p`` of non-negative
right-skewed columns (:class:`LogSkewed`), standardisation. Categorical columns: most-frequent
imputation, one-hot encoding (a level unseen in training encodes as all zeros).

The learners:

==========  ===============================================  ===============================================
name        binary outcome                                   survival outcome
==========  ===============================================  ===============================================
penalised   L2 logistic regression, C by inner CV             Cox model with a ridge penalty (scikit-survival
            (``LogisticRegressionCV``, log loss)              ``CoxPHSurvivalAnalysis``), alpha by inner CV
forest      random forest, leaf size by inner CV              random survival forest, leaf size by inner CV
==========  ===============================================  ===============================================

:func:`param_grid` holds the hyper-parameters that the inner cross-validation chooses from.
:class:`TreatmentInteractions` adds treatment × feature columns in front of a survival pipeline
(``build_survival(..., interactions=...)``), so that a treatment may work differently for patients
with a target, as the per-arm response models (:class:`TLearner`) allow.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import skew
from sklearn.base import BaseEstimator, ClassifierMixin, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

MODELS = ("penalised", "forest")
INNER_FOLDS = 3
FOREST_TREES = 100
# alpha is the ridge penalty on the Cox partial log-likelihood summed over patients (features are
# standardised): 0.1 is nearly unpenalised at a few hundred patients, 100 shrinks hard.
COX_ALPHAS = (0.1, 1.0, 10.0, 100.0)
LEAF_SIZES = (5, 20)
SKEWNESS = 1.0


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {name!r}")


class LogSkewed(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """``log1p`` of the columns that are non-negative and right-skewed (sample skewness > ``skewness``)
    in the training data; other columns pass unchanged.

    Counts and concentrations (positive lymph nodes, receptor levels) have long right tails that a
    linear model otherwise fits to a handful of patients. NaN passes through (impute first or after);
    a column that is all NaN or constant is left alone.
    """

    def __init__(self, skewness: float = SKEWNESS):
        self.skewness = skewness

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        with warnings.catch_warnings():  # an all-NaN column warns; it is left alone
            warnings.simplefilter("ignore", RuntimeWarning)
            low = np.nanmin(X, axis=0) if X.shape[0] else np.zeros(X.shape[1])
            sk = skew(X, axis=0, nan_policy="omit")
        self.log_columns_ = np.asarray((low >= 0) & (np.nan_to_num(sk, nan=0.0) > self.skewness))
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False, copy=True)
        # a value below zero that training never saw cannot be logged: it is clipped to zero first
        X[:, self.log_columns_] = np.log1p(np.clip(X[:, self.log_columns_], 0, None))
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def preprocessor(numeric: list[str], categorical: list[str], *, drop_first: bool = False) -> ColumnTransformer:
    """Impute, transform and encode ``numeric`` and ``categorical`` columns (by name).

    ``drop_first`` drops each categorical column's first level, for unpenalised models with an
    intercept or a baseline hazard (the adjusted treatment effect), where all levels would be collinear.
    """
    num = Pipeline([("impute", SimpleImputer(strategy="median")), ("log", LogSkewed()), ("scale", StandardScaler())])
    cat = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            (
                "onehot",
                OneHotEncoder(handle_unknown="ignore", drop="first" if drop_first else None, sparse_output=False),
            ),
        ]
    )
    return ColumnTransformer(
        [("numeric", num, list(numeric)), ("categorical", cat, list(categorical))],
        verbose_feature_names_out=False,
    )


def build_binary(name: str, numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    """Pipeline(preprocessing, classifier) for a 0/1 outcome; ``name`` is "penalised" or "forest"."""
    _check_name(name)
    if name == "penalised":
        model = LogisticRegressionCV(
            Cs=10,
            l1_ratios=(0.0,),
            cv=StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed),
            scoring="neg_log_loss",
            max_iter=1000,
            use_legacy_attributes=False,
        )
    else:
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed, n_jobs=1)
    return Pipeline([("prep", preprocessor(numeric, categorical)), ("model", model)])


def build_survival(
    name: str,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    *,
    interactions: tuple[str, list[str]] | None = None,
) -> Pipeline:
    """Pipeline(preprocessing, survival model) for (event, time); ``name`` is "penalised" or "forest".

    The model's ``predict`` is a risk score (higher = earlier event); y is a scikit-survival
    structured array (``sksurv.util.Surv``). ``interactions`` = (treatment column, numeric columns)
    puts :class:`TreatmentInteractions` first; the treatment and its products join ``numeric``.
    """
    _check_name(name)
    if name == "penalised":
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        model = CoxPHSurvivalAnalysis(alpha=COX_ALPHAS[1])
    else:
        from sksurv.ensemble import RandomSurvivalForest

        model = RandomSurvivalForest(n_estimators=FOREST_TREES, max_features="sqrt", random_state=seed, n_jobs=1)
    if interactions is None:
        return Pipeline([("prep", preprocessor(numeric, categorical)), ("model", model)])
    step = TreatmentInteractions(*interactions)
    columns = [step.treatment, *(c for c in numeric if c != step.treatment), *step.names()]
    return Pipeline([("interact", step), ("prep", preprocessor(columns, categorical)), ("model", model)])


def param_grid(kind: str, name: str) -> dict[str, list]:
    """Hyper-parameters the inner cross-validation chooses from; empty when the model tunes itself
    (``LogisticRegressionCV``)."""
    _check_name(name)
    if kind not in ("binary", "survival"):
        raise ValueError(f"kind must be one of ['binary', 'survival'], got {kind!r}")
    if name == "forest":
        return {"model__min_samples_leaf": list(LEAF_SIZES)}
    if kind == "survival":
        return {"model__alpha": list(COX_ALPHAS)}
    return {}


class TreatmentInteractions(TransformerMixin, BaseEstimator):
    """Appends to a DataFrame one column per name in ``columns``: the ``treatment`` column times it,
    named ``<treatment>_x_<column>`` (``treated_x_actionable_tier1``). A missing value stays missing
    in the product (the imputer after this step fills it). Stateless: ``fit`` learns nothing.

    In a survival model with the treatment as a covariate, these terms let the treatment's effect on
    progression differ with the patient's targets, as the response model's per-arm classifiers do.
    """

    def __init__(self, treatment: str = "treated", columns=()):
        self.treatment = treatment
        self.columns = columns

    def names(self) -> list[str]:
        return [f"{self.treatment}_x_{c}" for c in self.columns]

    def fit(self, X, y=None):
        missing = [c for c in [self.treatment, *self.columns] if c not in X.columns]
        if missing:
            raise ValueError(f"TreatmentInteractions needs the columns {missing}")
        return self

    def transform(self, X):
        X = X.copy()
        t = X[self.treatment].astype(float)
        for c, name in zip(self.columns, self.names(), strict=True):
            X[name] = t * X[c].astype(float)
        return X


class TLearner(ClassifierMixin, BaseEstimator):
    """T-learner: one classifier per treatment arm (Künzel et al. 2019, PNAS 116:4156).

    The treatment is the column ``treatment`` of X (an index, or a name when X is a DataFrame),
    coded with two values (1/0, True/False, 2/1): rows with the larger value form the treated arm.
    Training sets the cut at the midpoint of the column's range (``cut_``), so a column with more
    values is split there. The remaining columns go to a clone of ``estimator`` per arm (default:
    ``LogisticRegression()``).

    ``predict_proba`` answers for the arm each row is in; :meth:`predict_benefit` answers the
    counterfactual question for every row: P(class 1 | treated) − P(class 1 | control), for a
    two-class outcome. A constant treatment column is an error; an arm that saw a single class
    predicts that class with probability 1, and a class one arm never saw gets probability 0 there.

    ``arm_estimators`` ({"treated": ..., "control": ...}) gives each arm its own unfitted model
    instead of a clone of ``estimator``: e.g. each arm's penalty, chosen once, kept fixed for
    bootstrap refits.
    """

    def __init__(self, estimator=None, treatment=0, arm_estimators=None):
        self.estimator = estimator
        self.treatment = treatment
        self.arm_estimators = arm_estimators

    def _column(self, X):
        """(treatment values as floats, X without the treatment column)."""
        if hasattr(X, "iloc"):
            col = X.columns[self.treatment] if isinstance(self.treatment, int | np.integer) else self.treatment
            return np.asarray(X[col], dtype=float), X.drop(columns=[col])
        idx = self.treatment
        if not isinstance(idx, int | np.integer) or not -X.shape[1] <= idx < X.shape[1]:
            raise ValueError(f"treatment must be a column index below {X.shape[1]} for an array, got {idx!r}")
        return np.asarray(X[:, idx], dtype=float), np.delete(X, idx, axis=1)

    def _base(self):
        return self.estimator if self.estimator is not None else LogisticRegression()

    def _validate(self, X, y=None, reset: bool = False):
        """DataFrames pass as they are (the per-arm pipelines select and encode their own columns);
        arrays are checked here."""
        if hasattr(X, "iloc"):
            validate_data(self, X, skip_check_array=True, reset=reset)
            if y is None:
                return X
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            return X, y
        finite = "allow-nan" if get_tags(self._base()).input_tags.allow_nan else True
        if y is None:
            return validate_data(self, X, reset=reset, ensure_all_finite=finite)
        # the treatment column plus at least one feature for the arms' models
        return validate_data(self, X, y, reset=reset, ensure_all_finite=finite, ensure_min_features=2)

    def fit(self, X, y=None):
        if y is None:
            raise ValueError("TLearner requires y to be passed, but the target y is None")
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"TLearner needs samples of at least 2 classes, but y holds one class: {self.classes_[0]!r}"
            )
        t, Xa = self._column(X)
        low, high = np.nanmin(t), np.nanmax(t)
        if not low < high:
            raise ValueError(f"the treatment column {self.treatment!r} is constant ({low}): both arms are needed")
        self.cut_ = (low + high) / 2
        arm = t > self.cut_
        self.models_ = {}
        for key, mask in (("treated", arm), ("control", ~arm)):
            rows = np.flatnonzero(mask)
            base = self.arm_estimators[key] if self.arm_estimators else self._base()
            # an arm that saw one class only predicts it (DummyClassifier): no learner fits one class
            model = clone(base) if len(np.unique(y[rows])) > 1 else DummyClassifier(strategy="prior")
            self.models_[key] = model.fit(Xa.iloc[rows] if hasattr(Xa, "iloc") else Xa[rows], y[rows])
        return self

    def _arm_proba(self, key: str, Xa) -> np.ndarray:
        """P(each of classes_) from one arm's model, columns aligned to ``classes_``."""
        model = self.models_[key]
        proba = np.zeros((Xa.shape[0], len(self.classes_)))
        proba[:, np.searchsorted(self.classes_, model.classes_)] = model.predict_proba(Xa)
        return proba

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self)
        t, Xa = self._column(self._validate(X))
        arm = (t > self.cut_)[:, None]
        return np.where(arm, self._arm_proba("treated", Xa), self._arm_proba("control", Xa))

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_benefit(self, X) -> np.ndarray:
        """P(class 1 | treated) − P(class 1 | control) per row, whatever arm the row is in."""
        check_is_fitted(self)
        if len(self.classes_) != 2:
            raise ValueError(f"benefit needs a two-class outcome, got {len(self.classes_)} classes")
        _, Xa = self._column(self._validate(X))
        return self._arm_proba("treated", Xa)[:, 1] - self._arm_proba("control", Xa)[:, 1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self._base()).input_tags.allow_nan
        return tags
