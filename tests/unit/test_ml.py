"""Treatment-response models (seq2rx.ml): pipelines, the T-learner, nested CV, intervals, effects, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sksurv", reason="scikit-survival is not installed")
pytest.importorskip("lifelines", reason="lifelines is not installed")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from seq2rx.cli import main  # noqa: E402
from seq2rx.core.errors import InputError  # noqa: E402
from seq2rx.ml import evaluate as E  # noqa: E402
from seq2rx.ml import models as M  # noqa: E402

REPS = 200  # bootstrap replicates: the minimum the CLI would accept as honest, and quick


def binary_cohort(n: int = 240, seed: int = 1, signal: bool = True) -> pd.DataFrame:
    """x1 and stage III raise the response; the drug raises it (log OR 1.2) when ``signal``."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    stage = rng.choice(["I", "II", "III"], size=n)
    arm = rng.choice(["drug", "control"], size=n)
    logit = 2.0 * x1 + 1.0 * (stage == "III") + 1.2 * (arm == "drug") - 0.5 if signal else np.zeros(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"x1": x1, "x2": x2, "stage": stage, "arm": arm, "response": y})
    df.loc[::17, "x2"] = np.nan  # imputed inside each fold
    return df


def survival_cohort(n: int = 240, seed: int = 2) -> pd.DataFrame:
    """Exponential times with hazard exp(1.2 x1 - 0.7 treated); uniform censoring (~30%)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    treated = rng.integers(0, 2, n)
    event_time = rng.exponential(1 / np.exp(1.2 * x1 - 0.7 * treated))
    censor = rng.uniform(0, 3, n)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "sex": rng.choice(["F", "M"], n),
            "treated": treated,
            "months": np.round(np.minimum(event_time, censor) * 12, 2) + 0.01,
            "died": (event_time <= censor).astype(int),
        }
    )


# ---------------------------------------------------------------------------------------------
# models


@parametrize_with_checks([M.TLearner(), M.LogSkewed()])
def test_sklearn_conventions(estimator, check):
    check(estimator)


def test_log_skewed_logs_only_long_right_tails():
    X = np.array([[0, -5, 1], [0, 1, 2], [0, 2, 3], [0, 3, 4], [100, 4, np.nan]], dtype=float)
    t = M.LogSkewed().fit(X)
    # column 0: non-negative, skewness 1.5 > 1; column 1 has a negative value; column 2 is symmetric
    assert t.log_columns_.tolist() == [True, False, False]
    out = t.transform(X)
    assert out[4, 0] == pytest.approx(math.log(101))
    assert out[0, 1] == -5 and np.isnan(out[4, 2])
    # a negative value unseen in training is clipped to 0 before the log
    assert t.transform(np.array([[-3.0, 0.0, 0.0]]))[0, 0] == 0.0


@pytest.mark.parametrize("name", M.MODELS)
def test_builders_fit_and_predict(name):
    df = binary_cohort(n=120)
    X = df[["x1", "x2", "stage", "arm"]]
    clf = M.build_binary(name, ["x1", "x2"], ["stage", "arm"], seed=0).fit(X, df["response"])
    p = clf.predict_proba(X.assign(stage="IV"))  # an unseen level encodes as zeros
    assert p.shape == (120, 2) and np.allclose(p.sum(axis=1), 1)
    s = survival_cohort(n=120)
    from sksurv.util import Surv

    y = Surv.from_arrays(s["died"].astype(bool), s["months"])
    surv = M.build_survival(name, ["x1", "x2", "treated"], ["sex"], seed=0).fit(s[["x1", "x2", "treated", "sex"]], y)
    risk = surv.predict(s[["x1", "x2", "treated", "sex"]])
    assert np.corrcoef(risk, s["x1"])[0, 1] > 0.5  # higher x1, higher hazard


def test_builders_refuse_unknown_names():
    with pytest.raises(ValueError, match=r"model must be one of \['forest', 'penalised'\], got 'svm'"):
        M.build_binary("svm", [], [], 0)
    with pytest.raises(ValueError, match="kind must be one of"):
        M.param_grid("ranking", "forest")
    assert M.param_grid("binary", "penalised") == {}  # LogisticRegressionCV tunes C itself
    assert M.param_grid("survival", "penalised") == {"model__alpha": list(M.COX_ALPHAS)}


def test_tlearner_recovers_a_planted_interaction():
    """The drug helps only patients with x > 0: predicted benefit is positive there, ~0 elsewhere."""
    rng = np.random.default_rng(0)
    n = 2000
    x, t = rng.normal(size=n), rng.integers(0, 2, n)
    logit = 0.5 * x + 2.0 * t * (x > 0) - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = np.column_stack([t, x, x > 0])
    learner = M.TLearner(treatment=0).fit(X, y)
    assert learner.cut_ == 0.5
    b = learner.predict_benefit(X)
    assert b[x > 0.5].mean() > 0.25 and abs(b[x < -0.5].mean()) < 0.05
    # factual probabilities come from each row's own arm
    treated_rows = X[t == 1]
    assert np.allclose(
        learner.predict_proba(treated_rows), learner.models_["treated"].predict_proba(treated_rows[:, 1:])
    )


def test_tlearner_on_a_data_frame_with_a_pipeline():
    df = binary_cohort(n=200).assign(drug=lambda d: (d["arm"] == "drug").astype(int)).drop(columns="arm")
    base = M.build_binary("penalised", ["x1", "x2"], ["stage"], seed=0)
    learner = M.TLearner(base, treatment="drug").fit(df.drop(columns="response"), df["response"])
    assert list(learner.feature_names_in_) == ["x1", "x2", "stage", "drug"]
    assert learner.predict_benefit(df.drop(columns="response")).mean() > 0  # planted log OR 1.2
    with pytest.raises(ValueError, match="constant"):
        M.TLearner(base, treatment="drug").fit(df.assign(drug=1).drop(columns="response"), df["response"])


# ---------------------------------------------------------------------------------------------
# metrics


def test_calibration_bins_match_sklearn():
    y = np.array([0, 1, 1, 1, 0, 1, 0, 1, 1, 0] * 3)
    p = np.array([0.05, 0.05, 0.15, 0.95, 0.95, 0.55, 0.15, 0.1, 0.5, 0.2] * 3)
    out = E.binary_metrics(y, p, replicates=50, seed=0)
    curve = out["calibration"]
    # sklearn's bins are closed on the right: 0.1 and 0.2 fall in the bins below them
    assert [c["bin"][0] for c in curve] == [0.0, 0.1, 0.4, 0.5, 0.9]
    assert [c["patients"] for c in curve] == [9, 9, 3, 3, 6]
    assert [c["observed"]["estimate"] for c in curve] == pytest.approx([2 / 3, 1 / 3, 1, 1, 0.5])
    assert [c["mean_predicted"] for c in curve] == pytest.approx([0.2 / 3, 0.5 / 3, 0.5, 0.55, 0.95])
    assert out["brier"]["estimate"] == pytest.approx(np.mean((p - y) ** 2))
    lo, hi = out["roc_auc"]["ci95"]
    assert lo <= out["roc_auc"]["estimate"] <= hi


def test_cv_binary_finds_a_strong_signal():
    res = E.cross_validate_binary(binary_cohort(), "response", ["x1", "x2", "stage", "arm"], seed=0, replicates=REPS)
    m = res["metrics"]
    assert res["patients"] == 240 and len(res["tuning"]) == 5 and "C" in res["tuning"][0]
    assert m["roc_auc"]["ci95"][0] > 0.6
    for name in ("roc_auc", "pr_auc", "brier"):
        lo, hi = m[name]["ci95"]
        assert lo < m[name]["estimate"] < hi
    assert m["bootstrap_replicates"] == REPS
    assert sum(c["patients"] for c in m["calibration"]) == 240


def test_cv_binary_finds_nothing_in_noise():
    df = binary_cohort(n=160, signal=False)
    res = E.cross_validate_binary(df, "response", ["x1", "x2", "stage", "arm"], model="forest", seed=0, replicates=REPS)
    lo, hi = res["metrics"]["roc_auc"]["ci95"]
    assert lo < 0.5 < hi
    assert {"min_samples_leaf", "fold"} <= set(res["tuning"][0])


def test_cv_survival_finds_the_planted_hazard():
    df = survival_cohort()
    res = E.cross_validate_survival(df, "months", "died", ["x1", "x2", "sex", "treated"], seed=0, replicates=REPS)
    m = res["metrics"]
    assert m["c_index"]["ci95"][0] > 0.6
    assert [a["quantile"] for a in m["time_auc"]] == [0.25, 0.5, 0.75]
    times = [a["time"] for a in m["time_auc"]]
    assert times == sorted(times) and times[1] == pytest.approx(np.median(df["months"][df["died"] == 1]))
    assert all(0.5 < a["estimate"] <= 1 for a in m["time_auc"])
    assert {t["alpha"] for t in res["tuning"]} <= set(M.COX_ALPHAS)


# ---------------------------------------------------------------------------------------------
# treatment effects


def test_odds_ratio_without_covariates_is_the_two_by_two_table():
    """30/50 respond on the drug, 15/50 on control: OR = 30·35 / (20·15) = 3.5, Woolf's interval."""
    y = np.array([1] * 30 + [0] * 20 + [1] * 15 + [0] * 35)
    treated = np.array([1] * 50 + [0] * 50)
    eff = E._adjusted_logistic(y, treated, pd.DataFrame(index=range(100)), "t.csv")
    se = math.sqrt(1 / 30 + 1 / 20 + 1 / 15 + 1 / 35)
    assert eff["estimate"] == pytest.approx(3.5, rel=1e-6)
    assert eff["ci95"] == pytest.approx([3.5 * math.exp(-1.959964 * se), 3.5 * math.exp(1.959964 * se)], rel=1e-5)
    assert eff["p_value"] == pytest.approx(2 * 0.5 * math.erfc(math.log(3.5) / se / math.sqrt(2)), rel=1e-5)


def test_treatment_effect_binary_and_survival():
    df = binary_cohort(n=160)
    out = E.treatment_effect(df, "arm", ["x1", "x2", "stage"], outcome="response", seed=0)
    assert (out["treated"], out["reference"]) == ("drug", "control")
    assert out["effect"]["measure"] == "odds ratio" and out["effect"]["ci95"][0] > 1
    b = out["benefit"]
    assert b["patients"] == 160 and b["favouring_treatment"] > 0.7
    assert list(b["quantiles"]) == ["5%", "25%", "50%", "75%", "95%"]
    s = E.treatment_effect(survival_cohort(n=160), "treated", ["x1", "x2", "sex"], time="months", event="died", seed=0)
    assert (s["treated"], s["reference"]) == ("1", "0")
    assert s["effect"]["measure"] == "hazard ratio" and s["effect"]["ci95"][1] < 1  # planted HR exp(-0.7)
    assert s["benefit"]["mean"] > 0


def test_treatment_levels():
    df = pd.DataFrame({"a": ["test", "standard", "test"], "b": ["B", "A", "B"], "c": [True, False, True]})
    assert E.treatment_levels(df, "a", "t")[1:] == ("test", "standard")
    assert E.treatment_levels(df, "b", "t")[1:] == ("B", "A")  # no comparator name: sorted order
    codes, treated, ref = E.treatment_levels(df, "c", "t")
    assert codes.tolist() == [1, 0, 1] and (treated, ref) == ("True", "False")


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.fixture
def table(tmp_path):
    def write(df: pd.DataFrame, name: str = "cohort.csv"):
        path = tmp_path / name
        df.to_csv(path, index=False, sep="\t" if name.endswith(".tsv") else ",")
        return path

    return write


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d, {"time": "months", "event": "dead"}, r"cohort.csv, line 1: no column 'dead'"),
        (
            lambda d: d.astype({"months": object}).assign(months=lambda x: x["months"].where(x.index != 3, "soon")),
            {"time": "months", "event": "died"},
            r"cohort.csv, line 5, row 4, field 'months': must be a number .*got 'soon'",
        ),
        (
            lambda d: d.assign(died=lambda x: x["died"].where(x.index != 6, 2)),
            {"time": "months", "event": "died"},
            r"cohort.csv, line 8, row 7, field 'died': must be 0 or 1, got 2",
        ),
        (
            lambda d: d.assign(died=lambda x: (x.index < 4).astype(int)),
            {"time": "months", "event": "died"},
            r"cohort.csv, field 'died': too few events: 4 events; at least 10 are needed",
        ),
        (
            lambda d: d.assign(months=lambda x: x["months"].where(x.index != 0)),
            {"time": "months", "event": "died"},
            r"cohort.csv, line 2, row 1, field 'months': a value is required",
        ),
        (
            lambda d: d.assign(treated=lambda x: x.index % 3),
            {"time": "months", "event": "died", "treatment": "treated"},
            r"cohort.csv, field 'treated': a treatment column needs exactly two values, found 3",
        ),
        (
            lambda d: d.assign(response=lambda x: x["died"]),
            {"outcome": "response", "exclude": ["nope"]},
            r"no column 'nope'",
        ),
    ],
)
def test_bad_input_names_file_row_and_column(table, change, kwargs, message):
    path = table(change(survival_cohort(n=60)))
    with pytest.raises(InputError, match=message):
        E.run_cv(path, replicates=10, **kwargs)


def test_unknown_extension_and_repeated_columns(tmp_path):
    (tmp_path / "t.xlsx").write_text("a\n1\n")
    with pytest.raises(InputError, match=r"t.xlsx: the table must end in .csv, .tsv"):
        E.read_table(tmp_path / "t.xlsx")
    (tmp_path / "t.csv").write_text("a,b,a\n1,2,3\n")
    with pytest.raises(InputError, match=r"t.csv, line 1: repeated column name\(s\): \['a'\]"):
        E.read_table(tmp_path / "t.csv")


# ---------------------------------------------------------------------------------------------
# the command line


def test_cli_binary_with_treatment_is_deterministic(table, tmp_path, capsys):
    path = table(binary_cohort(n=120).assign(id=lambda d: [f"P{i}" for i in range(len(d))]), "cohort.tsv")
    args = ["ml", "cv", "--table", str(path), "--outcome", "response", "--treatment", "arm", "--exclude", "id"]
    args += ["--bootstrap", str(REPS), "--folds", "4"]
    assert main([*args, "--json", str(tmp_path / "a.json")]) == 0
    assert main([*args, "--json", str(tmp_path / "b.json")]) == 0
    a = (tmp_path / "a.json").read_text()
    assert a == (tmp_path / "b.json").read_text()
    doc = json.loads(a)
    assert doc["table"] == "cohort.tsv" and str(tmp_path) not in a  # no absolute paths
    assert doc["features"] == {"numeric": ["x1", "x2"], "categorical": ["stage", "arm"], "excluded": ["id"]}
    assert doc["task"] == "binary" and doc["folds"] == 4 and len(doc["cross_validation"]["tuning"]) == 4
    assert doc["treatment"]["effect"]["measure"] == "odds ratio"
    assert doc["versions"]["scikit-learn"] != "not installed"
    out = capsys.readouterr().out
    assert "roc_auc\t" in out and "arm drug vs control\todds ratio" in out


def test_cli_survival_and_errors(table, tmp_path, capsys):
    path = table(survival_cohort(n=100))
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "ml",
                "cv",
                "--table",
                str(path),
                "--time",
                "months",
                "--event",
                "died",
                "--bootstrap",
                str(REPS),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["cross_validation"]["metrics"]["c_index"]["estimate"] > 0.6
    assert main(["ml", "cv", "--table", str(path), "--time", "months", "--json", str(out)]) == 2
    assert "give either --outcome COL, or --time COL and --event COL" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    assert main(["ml", "cv", "--table", str(path), "--outcome", "x1", "--json", str(bad)]) == 2
    assert "field 'x1': must be 0 or 1" in capsys.readouterr().err
    assert not bad.exists()
    for option in (["--folds", "1"], ["--bootstrap", "199"]):
        with pytest.raises(SystemExit):
            main(["ml", "cv", "--table", str(path), "--outcome", "died", *option, "--json", str(bad)])
    assert "--bootstrap: must be at least 200, got 199" in capsys.readouterr().err
