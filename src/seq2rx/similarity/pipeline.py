"""The workflow's similarity step: this run's tumour patients placed in the network of past patients.

The network is built over the history and the new patients together from features only (never
outcomes); each new patient is then ranked against past patients only, and their treatments and
outcomes give the neighbour-based estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2rx.inputs import time_axis_label
from seq2rx.similarity import drivers as DR
from seq2rx.similarity import network as NW
from seq2rx.similarity import plots as PL

OUTCOME_COLUMNS = ("treatment", "response", "time_months", "event")
#: what each neighbour carries besides its outcome (:mod:`.drivers`)
DESCRIBE = ("tumor_type", "main_driver", "drivers")


def run(history_features: pd.DataFrame, history_clinical: pd.DataFrame, current: pd.DataFrame, cfg: dict) -> dict:
    """Network summary, per-patient neighbours and the plots (SVG text) for ``cfg``:
    modalities, weights, K, mu, iterations, neighbours, clusters {min, max, method}, seed."""
    overlap = sorted(set(history_features["patient"].astype(str)) & set(current["patient"].astype(str)))
    if overlap:
        from seq2rx.core.errors import InputError

        raise InputError("history/features.tsv", f"patient {overlap[0]} is both a past patient and one of this run's",
                         field="patient", hint="past patients need IDs of their own")  # fmt: skip
    drivers = DR.main_drivers(history_features, exclude=DR.pharmacogenes(history_features, current))
    columns = list(history_features.columns)
    current = current.reindex(columns=columns)
    both = pd.concat([history_features, current], ignore_index=True)
    modalities = [m for m in cfg["modalities"] if cfg["weights"].get(m, 1.0) > 0]
    distances = NW.modality_distances(both, modalities=modalities, source="features")
    net = NW.build_network(
        both["patient"].astype(str).tolist(),
        distances,
        K=cfg["K"],
        mu=cfg["mu"],
        iterations=cfg["iterations"],
        weights={m: cfg["weights"].get(m, 1.0) for m in distances},
        k_range=(cfg["clusters"]["min"], cfg["clusters"]["max"]),
        cluster_method=cfg["clusters"]["method"],
        seed=cfg["seed"],
    )
    outcomes = drivers.merge(
        history_clinical[["patient", *OUTCOME_COLUMNS]], on="patient", how="left", validate="one_to_one"
    )
    outcomes["treatment"] = outcomes["treatment"].astype(object)
    for c in ("response", "time_months", "event"):
        outcomes[c] = pd.to_numeric(outcomes[c]).astype(float)
    queries = current["patient"].astype(str).tolist()
    similar = NW.similar_patients(net, outcomes, queries, k=cfg["neighbours"], describe=DESCRIBE)
    summary = NW.network_summary(net)
    summary["history_patients"] = len(history_features)
    summary["parameters"] = {k: cfg[k] for k in ("K", "mu", "iterations", "neighbours", "seed")}
    labels = net.clusters.labels
    hist_labels = labels[: len(history_features)]
    plots = {
        "network": PL.network_svg(net.fused, labels, net.patients, title="Past and present patients by cluster"),
        "heatmap": PL.heatmap_svg(net.fused, labels),
        "km_clusters": PL.km_svg(
            outcomes["time_months"].to_numpy(float),
            outcomes["event"].to_numpy(float).astype(int),
            hist_labels,
            time_label=time_axis_label(outcomes["treatment"].notna()),
            title="Past patients: progression by similarity cluster",
        ),
    }
    per_patient = {}
    for entry in similar:
        pid = entry["patient"]
        per_patient[pid] = {
            **entry,
            "network_svg": PL.network_svg(net.fused, labels, net.patients, highlight=pid),
        }
    return {"summary": summary, "patients": per_patient, "plots": plots, "n_clusters": int(np.max(labels))}
