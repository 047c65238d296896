"""Patient similarity: distances on hand-checked examples, SNF against snfpy, planted clusters,
nearest past patients and their outcome estimates, determinism of numbers and figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from seq2rx.core.errors import InputError
from seq2rx.inputs.clinical import MIN_RESPONDER_MONTHS, read_clinical
from seq2rx.sim import load_pgx_sites, load_spec
from seq2rx.sim.history import panel_genes, simulate_history, write_history
from seq2rx.similarity import clusters as C
from seq2rx.similarity import distances as D
from seq2rx.similarity import drivers as DR
from seq2rx.similarity import fusion as F
from seq2rx.similarity import neighbours as N
from seq2rx.similarity import network as NW
from seq2rx.similarity import plots as P
from seq2rx.similarity import validate as V
from seq2rx.similarity.pipeline import run as similarity_step

REPO = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------------------------
# distances, by hand


def test_jaccard_by_hand():
    # A = {TP53, KRAS}, B = {TP53}, C = {}, E = {}
    d = D.jaccard_distance(np.array([[1, 1], [1, 0], [0, 0], [0, 0]]))
    assert d[0, 1] == pytest.approx(0.5)  # 1 - 1/2
    assert d[0, 2] == 1.0 and d[1, 2] == 1.0
    assert d[2, 3] == 0.0  # two empty profiles do not differ
    assert (np.diag(d) == 0).all() and (d == d.T).all()


def test_pgx_mismatch_skips_genes_not_called():
    pgx = pd.DataFrame(
        {
            "pgx_CYP2C19": ["Poor Metabolizer", "Poor Metabolizer", "not called"],
            "pgx_CYP2D6": ["Normal Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer"],
        }
    )
    d = D.mismatch_distance(pgx)
    assert d[0, 1] == pytest.approx(0.5)  # same CYP2C19, different CYP2D6
    assert d[0, 2] == 0.0  # only CYP2D6 is comparable, and equal
    assert d[1, 2] == 1.0


def test_genomic_distance_mixes_variants_and_pgx():
    df = pd.DataFrame(
        {
            "mut_TP53": [1, 1, 0],
            "mut_KRAS": [1, 0, 0],
            "trunc_TP53": [0, 0, 0],
            "pgx_CYP2C19": ["Poor Metabolizer", "Normal Metabolizer", "not called"],
        }
    )
    d = D.genomic_distance(df, pgx_weight=0.25)
    assert d[0, 1] == pytest.approx(0.75 * 0.5 + 0.25 * 1.0)
    assert d[0, 2] == pytest.approx(1.0)  # no PGx gene called in both: Jaccard alone
    assert D.genomic_distance(df, pgx_weight=0.0)[0, 1] == pytest.approx(0.5)


def test_genomic_distance_names_a_bad_cell():
    df = pd.DataFrame({"mut_TP53": [1, 0, 2], "mut_KRAS": [0, 0, 0]})
    with pytest.raises(InputError, match=r"features, row 3, field 'mut_TP53': .*0 or 1, got 2"):
        D.genomic_distance(df)
    with pytest.raises(InputError, match="no genomic column"):
        D.genomic_distance(pd.DataFrame({"age": [1, 2]}))


def test_gower_mixed_types_with_missing_values():
    df = pd.DataFrame({"age": [50.0, 60.0, 70.0], "sex": ["female", "male", "female"], "stage": ["I", "III", None]})
    d = D.gower_distance(df, ordinal={"stage": ["I", "II", "III", "IV"]})
    # age range 20; stage ranks 0 and 2, observed range 2
    assert d[0, 1] == pytest.approx((10 / 20 + 1 + 2 / 2) / 3)
    assert d[0, 2] == pytest.approx((20 / 20 + 0) / 2)  # stage unknown for patient 3
    assert d[1, 2] == pytest.approx((10 / 20 + 1) / 2)
    assert (d == d.T).all()


def test_gower_names_an_unknown_level_and_a_missing_column():
    df = pd.DataFrame({"age": [50, 60], "stage": ["I", "V"]})
    with pytest.raises(InputError, match=r"clinical, row 2, field 'stage': must be one of .* got 'V'"):
        D.gower_distance(df, ordinal={"stage": ["I", "II", "III", "IV"]})
    with pytest.raises(InputError, match="no column 'ecog'"):
        D.gower_distance(df, ["age", "ecog"])


def test_gower_pair_with_nothing_in_common_is_maximally_distant():
    df = pd.DataFrame({"age": [50.0, np.nan], "egfr": [np.nan, 80.0]})
    assert D.gower_distance(df)[0, 1] == 1.0


def test_expression_distance_is_on_standardised_values():
    df = pd.DataFrame({"g1": [0.0, 1.0, 2.0], "g2": [0.0, 100.0, 200.0]})
    d = D.expression_distance(df, metric="euclidean")
    # both columns standardise to (-1, 0, 1): equal weight despite the scale
    assert d[0, 1] == pytest.approx(np.sqrt(2.0))
    assert D.expression_distance(df)[0, 2] == pytest.approx(8.0)  # squared: 2 × 2²
    with pytest.raises(InputError, match=r"row 2, field 'g1'"):
        D.expression_distance(pd.DataFrame({"g1": ["1", "high", "3"]}))


# ---------------------------------------------------------------------------------------------
# affinity and fusion


def _blobs(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(40, p)) for p in (5, 8, 3)]


def _snfpy():
    """snfpy 0.2.2, with its ``force_all_finite`` argument passed to scikit-learn ≥ 1.8 under the new
    name ``ensure_all_finite`` (same meaning; only the name changed in scikit-learn 1.6)."""
    compute = pytest.importorskip("snf.compute", reason="snfpy is not installed (pip install snfpy==0.2.2)")
    import inspect

    from sklearn.utils.validation import check_array

    if "force_all_finite" not in inspect.signature(check_array).parameters:

        def check(*args, force_all_finite=True, **kwargs):
            return check_array(*args, ensure_all_finite=force_all_finite, **kwargs)

        compute.check_array = check
    return compute


def test_affinity_and_fusion_equal_snfpy():
    snf = _snfpy()
    data = _blobs()
    ref_aff = snf.make_affinity(data, metric="sqeuclidean", K=7, mu=0.5)
    ours = [F.affinity(D.expression_distance(pd.DataFrame(x)), K=7, mu=0.5) for x in data]
    for a, b in zip(ref_aff, ours, strict=True):
        assert np.abs(a - b).max() < 1e-6 * np.abs(a).max()
    ref = snf.snf(ref_aff, K=7, t=15)
    fused = F.fuse(ours, K=7, iterations=15)
    assert np.abs(ref - fused).max() < 1e-6
    # and on distances that are not Euclidean: Gower and Jaccard
    rng = np.random.default_rng(1)
    clin = pd.DataFrame({"age": rng.integers(30, 80, 40), "sex": rng.choice(["f", "m"], 40)})
    gen = pd.DataFrame({f"mut_G{i}": rng.integers(0, 2, 40) for i in range(12)})
    dists = [D.gower_distance(clin), D.genomic_distance(gen)]
    ref = snf.snf([snf.affinity_matrix(d.copy(), K=9, mu=0.4) for d in dists], K=9, t=20)
    assert np.abs(ref - F.fuse([F.affinity(d, K=9, mu=0.4) for d in dists], K=9)).max() < 1e-6


def test_affinity_by_hand_for_three_points():
    # points at 0, 1, 3 on a line (distances 1, 3, 2); K = 1: each point's nearest-neighbour distance
    dist = np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 2.0], [3.0, 2.0, 0.0]])
    W = F.affinity(dist, K=1, mu=0.5)
    local = np.array([1.0, 1.0, 2.0]) + F.EPS
    scale = 0.5 * (local[0] + local[2] + 3.0) / 3.0 + 0.5 * F.EPS
    assert W[0, 2] == pytest.approx(np.exp(-0.5 * (3.0 / scale) ** 2) / (np.sqrt(2 * np.pi) * scale))
    assert W[0, 1] > W[1, 2] > W[0, 2]


def test_fusion_weights():
    affs = [F.affinity(D.expression_distance(pd.DataFrame(x)), K=7) for x in _blobs()]
    equal = F.fuse(affs, K=7)
    assert np.allclose(F.fuse(affs, K=7, weights=[2, 2, 2]), equal, atol=1e-12)  # only ratios matter
    assert np.allclose(F.fuse(affs, K=7, weights=[1, 0, 1]), F.fuse([affs[0], affs[2]], K=7), atol=1e-12)
    assert not np.allclose(F.fuse(affs, K=7, weights=[3, 1, 1]), equal, atol=1e-6)
    single = F.fuse([affs[0]], K=7)
    P0 = affs[0] / affs[0].sum(axis=1, keepdims=True)
    P0 = (P0 + P0.T) / 2
    P0 = P0 / P0.sum(axis=1, keepdims=True)
    assert np.allclose(single, (P0 + P0.T + np.eye(40)) / 2)
    with pytest.raises(ValueError, match="weights must be 3 non-negative numbers"):
        F.fuse(affs, weights=[1, -1, 1])
    with pytest.raises(ValueError, match="K must be an integer from 1 to 39"):
        F.fuse(affs, K=40)


def _planted(seed: int = 0, per: int = 30, shift: float = 3.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Three planted groups of ``per`` patients, group g shifted by ``shift`` along axis g, seen
    through two modalities with independent unit noise (squared Euclidean distances)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat([0, 1, 2], per)
    centres = np.zeros((3, 4))
    centres[[0, 1, 2], [0, 1, 2]] = shift
    a = rng.normal(size=(3 * per, 4)) + centres[truth]
    b = rng.normal(size=(3 * per, 4)) + centres[truth]
    return [cdist(a, a, "sqeuclidean"), cdist(b, b, "sqeuclidean")], truth


def test_spectral_clusters_recover_planted_groups():
    dists, truth = _planted()
    ids = [f"P{i:03d}" for i in range(len(truth))]
    net = NW.build_network(ids, {"a": dists[0], "b": dists[1]}, K=10, mu=0.5, k_range=(2, 6))
    assert net.clusters.n_clusters == 3 and net.clusters.method == "eigengap"
    assert max(net.clusters.scores, key=net.clusters.scores.get) == 3
    fused_ari = adjusted_rand_score(truth, net.clusters.labels)
    assert fused_ari >= 0.9
    # one modality alone, forced to three clusters, recovers less (0.90 vs 0.97 on this seed)
    alone = NW.build_network(ids, {"a": dists[0], "b": dists[1]}, weights={"b": 0}, K=10, n_clusters=3)
    assert set(alone.affinities) == {"a"} and adjusted_rand_score(truth, alone.clusters.labels) < fused_ari
    by_silhouette = C.spectral_clusters(net.fused, k_range=(2, 6), method="silhouette")
    assert by_silhouette.n_clusters == 3 and set(by_silhouette.scores) == {2, 3, 4, 5, 6}
    # labels: 1 is the largest cluster
    sizes = np.bincount(net.clusters.labels)[1:]
    assert sizes[0] == sizes.max()


def test_cluster_options_are_checked():
    dists, _ = _planted()
    W = F.fuse([F.affinity(d, K=10) for d in dists], K=10)
    with pytest.raises(ValueError, match="method must be one of"):
        C.spectral_clusters(W, method="gap")
    with pytest.raises(ValueError, match="cluster range"):
        C.spectral_clusters(W, k_range=(1, 4))


# ---------------------------------------------------------------------------------------------
# neighbours and outcome estimates


def test_weighted_km_by_hand_and_against_lifelines():
    times, surv = N.weighted_km(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]))
    assert times.tolist() == [1.0, 3.0] and surv == pytest.approx([2 / 3, 0.0])
    times, surv = N.weighted_km(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.array([2.0, 1.0, 1.0]))
    assert surv == pytest.approx([0.5, 0.0])  # 1 - 2/4, then the last one at risk dies
    assert N.restricted_mean(np.array([1.0, 3.0]), np.array([0.5, 0.0]), 4.0) == pytest.approx(2.0)
    assert N.median_survival(np.array([1.0, 3.0]), np.array([0.5, 0.0])) == 1.0
    assert N.median_survival(np.array([1.0]), np.array([0.8])) is None
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    t, e = rng.exponential(10, 60).round(1), rng.integers(0, 2, 60)
    times, surv = N.weighted_km(t, e)
    ref = KaplanMeierFitter().fit(t, e).predict(times).to_numpy()
    assert surv == pytest.approx(ref)


def test_jeffreys_interval():
    assert N.jeffreys_interval(0, 10)[0] == 0.0
    lo, hi = N.jeffreys_interval(7, 10)
    # Beta(7.5, 3.5) 5% and 95% quantiles, checked by numerical integration of its density
    assert lo == pytest.approx(0.44187, abs=1e-4) and hi == pytest.approx(0.88267, abs=1e-4)


def _history_fixture():
    """Twelve past patients in two clear groups by age, and two new patients, one near each group.

    Group young (ages 30-35): targeted → responders 1,1,0; chemotherapy → 0,0,0.
    Group old (ages 70-75): targeted → 0,0,0; chemotherapy → 1,1,1.
    """
    ages = [30, 31, 32, 33, 34, 35, 70, 71, 72, 73, 74, 75]
    history = pd.DataFrame(
        {
            "patient": [f"H{i:02d}" for i in range(1, 13)],
            "age": ages,
            "treatment": ["targeted", "targeted", "targeted", "chemotherapy", "chemotherapy", "chemotherapy"] * 2,
            "response": [1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
            "time_months": [30.0, 28, 6, 5, 4, 7, 3, 4, 5, 26, 32, 29],
            "event": [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
        }
    )
    queries = pd.DataFrame({"patient": ["Q1", "Q2"], "age": [32.5, 72.5]})
    features = pd.concat([history[["patient", "age"]], queries], ignore_index=True)
    return history, queries, features


def test_similar_patients_counts_responders_among_nearest_per_treatment():
    history, queries, features = _history_fixture()
    dists = NW.modality_distances(features, modalities=["clinical"], clinical_columns=["age"])
    net = NW.build_network(features["patient"], dists, K=4, n_clusters=2)
    out = NW.similar_patients(net, history, ["Q1", "Q2"], k=3, horizon=24.0)
    q1, q2 = out
    assert [n["patient"] for n in q1["neighbours"]][:2] in (["H03", "H04"], ["H04", "H03"])
    assert {n["patient"] for n in q1["neighbours"]} <= {"H01", "H02", "H03", "H04", "H05", "H06"}
    resp = {r["treatment"]: r for r in q1["response"]}
    assert resp["targeted"]["text"] == "of the 3 most similar patients who received targeted, 2 responded"
    assert resp["chemotherapy"]["responders"] == 0
    resp2 = {r["treatment"]: r for r in q2["response"]}
    assert (resp2["targeted"]["responders"], resp2["chemotherapy"]["responders"]) == (0, 3)
    surv = {g["group"]: g for g in q2["survival"]["groups"]}
    assert surv["chemotherapy"]["events"] == 0 and surv["chemotherapy"]["survival_at_horizon"] == 1.0
    assert surv["targeted"]["median"] is not None and surv["targeted"]["median"] <= 5
    assert q1["cluster"] != q2["cluster"]
    assert set(surv["targeted"]["patients"]) == {"H07", "H08", "H09"}


def test_similar_patients_rejects_bad_queries_and_tables():
    history, _, features = _history_fixture()
    dists = NW.modality_distances(features, modalities=["clinical"], clinical_columns=["age"])
    net = NW.build_network(features["patient"], dists, K=4, n_clusters=2)
    with pytest.raises(ValueError, match="also in the history"):
        NW.similar_patients(net, history, ["H01"])
    with pytest.raises(InputError, match="no column 'response'"):
        NW.similar_patients(net, history.drop(columns="response"), ["Q1"])
    twice = pd.concat([history, history.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match=r"history, row 13, field 'patient': patient 'H01' appears twice"):
        NW.similar_patients(net, twice, ["Q1"])
    with pytest.raises(ValueError, match="modalities must be among"):
        NW.modality_distances(features, modalities=["imaging"])
    with pytest.raises(ValueError, match="weights name modalities"):
        NW.build_network(features["patient"], dists, K=4, weights={"genomic": 1})


def test_neighbour_risk_orders_patients_by_their_neighbours_outcomes():
    history, _, features = _history_fixture()
    dists = NW.modality_distances(features, modalities=["clinical"], clinical_columns=["age"])
    net = NW.build_network(features["patient"], dists, K=4, n_clusters=2)
    S = net.block(["Q1", "Q2"], history["patient"])
    risk = N.neighbour_risk(S, history["time_months"], history["event"], k=6, horizon=24.0)
    # Q1's six neighbours: 2 of 6 event-free; Q2's: 3 of 6
    assert risk[0] > risk[1]


# ---------------------------------------------------------------------------------------------
# what a report shows of the neighbours: percentile, tumour type, main driver, statements


def test_percentiles_by_hand():
    # four past patients; the two at 0.3 tie for the most similar
    assert N.percentiles(np.array([0.1, 0.3, 0.2, 0.3])).tolist() == [25.0, 100.0, 50.0, 100.0]
    assert N.percentiles(np.array([0.004, 0.009, 0.001])).tolist() == pytest.approx([200 / 3, 100.0, 100 / 3])
    assert N.percentiles(np.array([])).size == 0
    with pytest.raises(ValueError, match="one query's row"):
        N.percentiles(np.ones((2, 2)))


def _row(treatment, response, time, event):
    return {"treatment": treatment, "response": response, "time_months": time, "event": event}


def test_table_statements_count_exactly_the_rows_given():
    rows = [
        _row("targeted", 1, 8.0, 1),
        _row("targeted", 0, 2.0, 1),
        _row("chemotherapy", 0, 4.0, 1),
        _row("targeted", 1, 12.0, 0),
        _row("targeted", None, 5.0, 1),
        _row(None, None, None, None),
        _row("chemotherapy", 1, float("nan"), None),
    ]
    st = N.table_statements(rows)
    assert st["neighbours"] == 7 and st["no_treatment"] == 1
    g = {x["treatment"]: x for x in st["groups"]}
    assert [x["treatment"] for x in st["groups"]] == ["targeted", "chemotherapy"]  # first seen first
    assert sum(x["patients"] for x in st["groups"]) + st["no_treatment"] == len(rows)
    t = g["targeted"]
    assert (t["patients"], t["responders"], t["non_responders"], t["response_unknown"]) == (4, 2, 1, 1)
    assert (t["progressed"], t["censored"], t["follow_up_unknown"]) == (3, 1, 0)
    # Kaplan–Meier by hand: times 2, 5, 8 (events) and 12 (censored): S = 3/4, 2/4 -> median 5
    assert t["median_months"] == 5.0
    c = g["chemotherapy"]
    assert (c["patients"], c["responders"], c["non_responders"], c["follow_up_unknown"]) == (2, 1, 1, 1)
    assert c["median_months"] == 4.0  # the one timed patient progressed at 4
    texts = st["texts"]
    assert texts[0] == ("Of these 7 past patients, 4 received targeted therapy: 2 of them responded (1 without a "
                        "recorded response); median progression-free time 5.0 months (3 progressed, 1 censored)")  # fmt: skip
    assert texts[1].startswith("2 received chemotherapy: 1 of them responded; median progression-free time 4.0")
    assert texts[2] == "1 has no recorded treatment"
    # all censored: the median is not reached
    none = N.table_statements([_row("targeted", 1, 9.0, 0), _row("targeted", 1, 3.0, 0)])
    assert none["groups"][0]["median_months"] is None and "median progression-free time not reached" in none["texts"][0]
    assert N.table_statements([]) == {"neighbours": 0, "groups": [], "no_treatment": 0, "texts": []}


def test_main_driver_prefers_the_tier1_target_then_the_commonest_driver_of_the_tumour_type():
    f = pd.DataFrame(
        {
            "patient": ["L1", "L2", "L3", "L4", "L5", "C1", "C2", "C3"],
            "tumor_type": ["LUAD"] * 5 + ["COAD"] * 3,
            "mut_EGFR": [1, 1, 0, 0, 1, 0, 0, 0],
            "mut_KRAS": [1, 0, 1, 1, 0, 1, 0, 0],
            "mut_CYP2C9": [1, 0, 0, 0, 0, 0, 0, 0],  # a germline PGx allele, no driver
            "mut_other": [0, 0, 0, 0, 0, 0, 0, 1],
            "mut_BRAF": [0, 0, 0, 0, 0, 1, 0, 0],
            "pgx_CYP2C9": ["Intermediate Metabolizer"] + ["Normal Metabolizer"] * 7,
            "actionable_tier1": [1, 1, 0, 0, 1, 1, 0, 0],
        }
    )
    d = DR.main_drivers(f, exclude=DR.pharmacogenes(f)).set_index("patient")
    # LUAD: EGFR carriers all have a tier I finding, KRAS carriers 1 of 3 (each gene in 3 patients)
    assert d.loc["L1", "main_driver"] == "EGFR" and d.loc["L1", "drivers"] == ["EGFR", "KRAS"]
    assert d.loc["L3", "main_driver"] == "KRAS" and d.loc["L3", "tumor_type"] == "LUAD"
    # COAD, C1 has a tier I finding: BRAF and KRAS carriers (1 each) both have one, equally common: by name
    assert d.loc["C1", "drivers"] == ["BRAF", "KRAS"]
    assert d.loc["C2", "main_driver"] is None and d.loc["C2", "drivers"] == []
    assert d.loc["C3", "main_driver"] is None  # mut_other is a catch-all, not a gene
    assert "CYP2C9" not in d.loc["L1", "drivers"]
    # without a tier I finding the commonest driver of the tumour type comes first
    f2 = f.assign(actionable_tier1=0)
    f2.loc[f2["patient"] == "L5", "mut_KRAS"] = 1  # LUAD: KRAS in 4, EGFR in 3
    d2 = DR.main_drivers(f2, exclude={"CYP2C9"}).set_index("patient")
    assert d2.loc["L1", "main_driver"] == "KRAS" and d2.loc["L1", "drivers"] == ["KRAS", "EGFR"]


def test_similar_patients_table_and_statements_agree():
    history, _, features = _history_fixture()
    history = history.assign(tumor_type=["LUAD"] * 6 + ["COAD"] * 6,
                             main_driver=["EGFR", None, "KRAS", "EGFR", None, "EGFR"] * 2,
                             drivers=[["EGFR"], [], ["KRAS"], ["EGFR", "KRAS"], [], ["EGFR"]] * 2)  # fmt: skip
    dists = NW.modality_distances(features, modalities=["clinical"], clinical_columns=["age"])
    net = NW.build_network(features["patient"], dists, K=4, n_clusters=2)
    out = NW.similar_patients(net, history, ["Q1", "Q2"], k=5, horizon=24.0,
                              describe=("tumor_type", "main_driver", "drivers"))  # fmt: skip
    for q in out:
        table = q["neighbours"]
        assert q["history_patients"] == 12 and len(table) == 5
        assert table[0]["percentile"] == 100.0  # the nearest
        pct = [n["percentile"] for n in table]
        assert pct == sorted(pct, reverse=True) and min(pct) >= 100 * 8 / 12  # the 5 nearest of 12
        st = q["statements"]
        assert st["neighbours"] == len(table)
        assert sum(g["patients"] for g in st["groups"]) + st["no_treatment"] == len(table)
        for g in st["groups"]:
            mine = [n for n in table if n["treatment"] == g["treatment"]]
            assert g["patients"] == len(mine)
            assert g["responders"] == sum(n["response"] == 1 for n in mine)
            assert g["progressed"] == sum(n["event"] == 1 for n in mine)
            assert g["responders"] + g["non_responders"] + g["response_unknown"] == g["patients"]
    q1 = {n["patient"]: n for n in out[0]["neighbours"]}
    assert q1["H04"]["tumor_type"] == "LUAD" and q1["H04"]["drivers"] == ["EGFR", "KRAS"]
    assert q1["H04"]["main_driver"] == "EGFR" and q1["H02"]["main_driver"] is None
    assert out[0]["statements"]["texts"][0].startswith("Of these 5 past patients, ")


def test_simulated_history_responders_were_progression_free_until_the_first_assessment(tmp_path):
    spec = load_spec(REPO / "resources" / "demo" / "demo.yaml")
    genes = panel_genes(spec, load_pgx_sites(REPO / "resources" / "kb" / "pgx" / "positions.tsv"))
    paths = write_history(spec, genes, 20261125, tmp_path)  # the demo's seed
    clinical = read_clinical(paths["clinical"])  # refuses a responder with under a month
    first = spec["history"]["first_assessment_months"]
    assert first >= MIN_RESPONDER_MONTHS
    responders = clinical[clinical["response"] == 1]
    assert len(responders) > 100 and responders["time_months"].min() >= first
    # the non-responders keep early progression: it is the responders' times that moved
    assert (clinical.loc[clinical["response"] == 0, "time_months"] < first).sum() > 10


def test_similarity_step_describes_each_neighbour_on_a_simulated_history():
    spec = load_spec(REPO / "resources" / "demo" / "demo.yaml")
    spec["history"]["patients"] = 90
    genes = panel_genes(spec, load_pgx_sites(REPO / "resources" / "kb" / "pgx" / "positions.tsv"))
    clinical, history, _ = simulate_history(spec, genes, 3)
    _, new, _ = simulate_history(spec, genes, 4)
    new = new.iloc[:2].assign(patient=["N1", "N2"])
    cfg = {"modalities": ["genomic", "clinical"], "weights": {"genomic": 1.0, "clinical": 1.0}, "K": 10,
           "mu": 0.5, "iterations": 10, "neighbours": 8, "clusters": {"min": 2, "max": 4, "method": "eigengap"},
           "seed": 1}  # fmt: skip
    out = similarity_step(history, clinical, new, cfg)["patients"]
    hist = history.set_index("patient")
    for q in ("N1", "N2"):
        table = out[q]["neighbours"]
        assert len(table) == 8 and table[0]["percentile"] == 100.0 and out[q]["history_patients"] == 90
        for n in table:
            assert n["tumor_type"] == hist.loc[n["patient"], "tumor_type"]
            if n["main_driver"] is not None:
                assert hist.loc[n["patient"], f"mut_{n['main_driver']}"] == 1
                assert n["main_driver"] in {"EGFR", "KRAS", "BRAF", "PIK3CA"}  # the planted drivers only
            if n["response"] == 1:
                assert n["time_months"] >= spec["history"]["first_assessment_months"]
        st = out[q]["statements"]
        assert sum(g["patients"] for g in st["groups"]) + st["no_treatment"] == 8


# ---------------------------------------------------------------------------------------------
# a feature matrix as docs/data-model.md defines it, and determinism


def test_feature_matrix_network_is_deterministic():
    df = V.simulated_features(60)
    nets = [NW.build_network(df["patient"], NW.modality_distances(df), K=8, k_range=(2, 5), seed=7) for _ in range(2)]
    assert set(nets[0].affinities) == {"genomic", "clinical"}  # no expression columns given
    assert nets[0].fused.tobytes() == nets[1].fused.tobytes()
    assert (nets[0].clusters.labels == nets[1].clusters.labels).all()
    summary = NW.network_summary(nets[0])
    assert summary["patients"] == 60 and summary["modalities"] == {"genomic": 1.0, "clinical": 1.0}
    assert sum(summary["clusters"]["sizes"].values()) == 60


PLOT_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {src!r})
import numpy as np, pandas as pd
from seq2rx.similarity import network as NW, plots as P
rng = np.random.default_rng(0)
df = pd.DataFrame({{"patient": [f"P{{i}}" for i in range(50)], "age": rng.integers(30, 80, 50),
                   "sex": rng.choice(["female", "male"], 50)}})
net = NW.build_network(df["patient"], NW.modality_distances(df, modalities=["clinical"],
                       clinical_columns=["age", "sex"]), K=8, n_clusters=3, seed=1)
t, e = rng.exponential(20, 50).round(1), rng.integers(0, 2, 50)
for svg in (P.network_svg(net.fused, net.clusters.labels, net.patients, highlight="P3"),
            P.heatmap_svg(net.fused, net.clusters.labels), P.km_svg(t, e, net.clusters.labels)):
    print(hashlib.sha256(svg.encode()).hexdigest(), svg.startswith("<svg"), "P3" in svg)
"""


def test_plots_are_the_same_bytes_in_a_new_process():
    src = str(Path(P.__file__).resolve().parents[2])
    runs = [
        subprocess.run([sys.executable, "-c", PLOT_SCRIPT.format(src=src)], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout
    lines = runs[0].stdout.split("\n")
    assert len([x for x in lines if x]) == 3
    assert lines[0].endswith("True True")  # the network names the highlighted patient


def test_plot_content():
    history, _, features = _history_fixture()
    dists = NW.modality_distances(features, modalities=["clinical"], clinical_columns=["age"])
    net = NW.build_network(features["patient"], dists, K=4, n_clusters=2)
    svg = P.network_svg(net.fused, net.clusters.labels, net.patients, highlight="Q1")
    assert "cluster 1 (7)" in svg and "cluster 2 (7)" in svg and "Q1" in svg
    assert "Date" not in svg and "<dc:date>" not in svg
    km = P.km_svg(history["time_months"], history["event"], net.clusters.labels[:12])
    assert "log-rank p = " in km and "cluster 1 (n=6, events=" in km
    with pytest.raises(ValueError, match="not in the network"):
        P.network_svg(net.fused, net.clusters.labels, net.patients, highlight="Z9")
    assert P.layout(net.fused).shape == (14, 2)
