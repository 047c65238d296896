"""Patient similarity networks (issue 9): validation on real cohorts and the cost of fusion.

1. GBSG2: cross-validated C-index of the neighbour-based risk (clinical network) beside a plain
   Cox model on the same folds.
2. Desmedt 2007: the neighbour-based C-index of the expression network, the clinical network and
   their fusion (equal weights, and expression weighted 4:1), with bootstrap 95% intervals, the
   sensitivity to k, and whether each network's spectral clusters separate survival (log-rank).
3. Time to build a network (distances, affinities, fusion, clusters) for N = 400 and 2,000
   simulated patients with the feature matrix of docs/data-model.md, against snfpy's fusion of
   the same affinities in the same run when snfpy is installed.

All runs use 5 folds, seed 0, K = 20, mu = 0.5, 20 iterations, k = 40 neighbours (the library's
defaults), 1000 bootstrap replicates.

    python benchmarks/bench_similarity.py [--replicates 1000] [--parts gbsg2 desmedt timing]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from seq2rx.similarity import fusion as F  # noqa: E402
from seq2rx.similarity import network as NW  # noqa: E402
from seq2rx.similarity import validate as V  # noqa: E402

K, MU, NEIGHBOURS, SEED = 20, 0.5, 40, 0
PARTS = ["gbsg2", "desmedt", "timing"]


def fmt(c: dict) -> str:
    return f"{c['estimate']:.3f} ({c['ci95'][0]:.3f}–{c['ci95'][1]:.3f})"


def logrank(t, e, labels) -> float:
    from lifelines.statistics import multivariate_logrank_test

    return float(multivariate_logrank_test(t, labels, e).p_value)


def gbsg2(reps: int) -> None:
    dists, X, t, e = V.cohort("gbsg2")
    net = NW.build_network([str(i) for i in range(len(t))], dists, K=K, mu=MU, seed=SEED)
    nb = V.c_index(t, e, V.neighbour_oof_risk(net.fused, t, e, k=NEIGHBOURS, seed=SEED), replicates=reps)
    cox = V.c_index(t, e, V.cox_oof_risk(X, t, e, seed=SEED), replicates=reps)
    print(f"\nGBSG2 ({len(t)} patients, {e.sum()} events), 5-fold C-index (95% CI):\n")
    print("| estimate | C-index |\n|---|---|")
    print(f"| neighbour-based risk, clinical network (k = {NEIGHBOURS}) | {fmt(nb)} |")
    print(f"| plain Cox model, same folds | {fmt(cox)} |")
    print(f"\nspectral clusters of the clinical network: k = {net.clusters.n_clusters} (eigengap), "
          f"log-rank p = {logrank(t, e, net.clusters.labels):.2g}")  # fmt: skip


def desmedt(reps: int) -> None:
    dists, X, t, e = V.cohort("desmedt2007")
    ids = [str(i) for i in range(len(t))]
    networks = {
        "expression": NW.build_network(ids, {"expression": dists["expression"]}, K=K, mu=MU, seed=SEED),
        "clinical": NW.build_network(ids, {"clinical": dists["clinical"]}, K=K, mu=MU, seed=SEED),
        "fused, equal weights": NW.build_network(ids, dists, K=K, mu=MU, seed=SEED),
        "fused, expression 4 : clinical 1": NW.build_network(
            ids, dists, K=K, mu=MU, weights={"expression": 4, "clinical": 1}, seed=SEED
        ),
    }
    cox = V.c_index(t, e, V.cox_oof_risk(X[list(V.DESMEDT_CLINICAL)], t, e, seed=SEED), replicates=reps)
    print(f"\nDesmedt 2007 ({len(t)} patients, {e.sum()} distant metastases), 5-fold C-index:\n")
    print(f"| network | C-index, k = {NEIGHBOURS} (95% CI) | k = 10 | k = 20 | clusters (eigengap) | log-rank p |")
    print("|---|---|---|---|---|---|")
    for name, net in networks.items():
        c = V.c_index(t, e, V.neighbour_oof_risk(net.fused, t, e, k=NEIGHBOURS, seed=SEED), replicates=reps)
        small = [
            V.c_index(t, e, V.neighbour_oof_risk(net.fused, t, e, k=k, seed=SEED), replicates=0)["estimate"]
            for k in (10, 20)
        ]
        p = logrank(t, e, net.clusters.labels)
        print(f"| {name} | {fmt(c)} | {small[0]:.3f} | {small[1]:.3f} | {net.clusters.n_clusters} | {p:.2g} |")
    print(f"| (plain Cox model on the 4 clinical columns) | {fmt(cox)} | | | | |")


def timing() -> None:
    try:
        from sklearn.utils.validation import check_array
        from snf import compute as snfpy

        snfpy.check_array = lambda *a, force_all_finite=True, **k: check_array(
            *a, ensure_all_finite=force_all_finite, **k
        )
    except ImportError:
        snfpy = None
    print("\nTime to build a network (2 modalities: genomic + clinical), seconds, best of 3:\n")
    print(
        "| patients | distances | affinities + fusion | snfpy fusion of the same affinities | ratio | clusters (eigengap) |"
    )
    print("|---|---|---|---|---|---|")
    for n in (400, 2000):
        df = V.simulated_features(n)

        def best(fn, times=3):
            out, spent = None, []
            for _ in range(times):
                t0 = time.perf_counter()
                out = fn()
                spent.append(time.perf_counter() - t0)
            return out, min(spent)

        dists, t_dist = best(lambda df=df: NW.modality_distances(df))
        affs = [F.affinity(d, K=K, mu=MU) for d in dists.values()]
        fused, t_fuse = best(lambda dists=dists: F.fuse([F.affinity(d, K=K, mu=MU) for d in dists.values()], K=K))
        if snfpy is not None:
            ref, t_ref = best(lambda affs=affs: snfpy.snf([a.copy() for a in affs], K=K, t=20))
            agree = np.abs(ref - fused).max()
            ref_cell, ratio = f"{t_ref:.2f} (max difference {agree:.1e})", f"{t_fuse / t_ref:.2f}"
        else:
            ref_cell, ratio = "snfpy not installed", ""
        from seq2rx.similarity.clusters import spectral_clusters

        cl, t_cl = best(lambda fused=fused: spectral_clusters(fused, seed=SEED), times=1)
        print(f"| {n:,} | {t_dist:.2f} | {t_fuse:.2f} | {ref_cell} | {ratio} | {t_cl:.2f} (k = {cl.n_clusters}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates per interval")
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS, help="which parts to run (default: all)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if "gbsg2" in args.parts:
        gbsg2(args.replicates)
    if "desmedt" in args.parts:
        desmedt(args.replicates)
    if "timing" in args.parts:
        timing()
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
