"""Treatment-response models on the real cohorts shipped with scikit-survival (issue 6).

Writes GBSG2, Desmedt 2007 and Veterans lung cancer as CSV tables (``time``, ``event`` and the
features), then runs what ``seq2rx ml cv`` runs on each, for both models, with the CLI's defaults
(5 outer folds, seed 0, 1000 bootstrap replicates), and prints one Markdown row per cohort and model.

    python benchmarks/bench_ml_cohorts.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from sksurv import datasets  # noqa: E402

from seq2rx.ml.evaluate import run_cv, write_json  # noqa: E402

COHORTS = {
    "gbsg2": (datasets.load_gbsg2, "horTh"),
    "desmedt2007": (datasets.load_breast_cancer, None),
    "veterans": (datasets.load_veterans_lung_cancer, "Treatment"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="keep the tables and JSON results here (default: a temporary folder)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="seq2rx-ml-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        "| cohort | model | patients / events | C-index (95% CI) | mean time-AUC (95% CI) | treatment HR (95% CI, p) | s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (load, treatment) in COHORTS.items():
        X, y = load()
        event, time_col = y.dtype.names
        table = out / f"{name}.csv"
        X.assign(time=y[time_col], event=y[event].astype(int)).to_csv(table, index=False)
        for model in ("penalised", "forest"):
            start = time.perf_counter()
            doc = run_cv(table, time="time", event="event", treatment=treatment, model=model)
            seconds = time.perf_counter() - start
            write_json(doc, out / f"{name}.{model}.json")
            cv = doc["cross_validation"]
            m = cv["metrics"]

            def fmt(d):
                return f"{d['estimate']:.3f} ({d['ci95'][0]:.3f}–{d['ci95'][1]:.3f})"

            hr = "—"
            if treatment:
                e = doc["treatment"]["effect"]
                hr = f"{fmt(e)}, p = {e['p_value']:.3f}"
            print(
                f"| {name} | {model} | {cv['patients']} / {cv['events']} | {fmt(m['c_index'])} | "
                f"{fmt(m['mean_time_auc'])} | {hr} | {seconds:.0f} |",
                flush=True,
            )
    print(f"\ntables and results in {out}")


if __name__ == "__main__":
    main()
