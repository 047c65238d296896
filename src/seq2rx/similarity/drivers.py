"""Each past patient's main driver, read from the feature matrix (``docs/data-model.md``).

The feature matrix records, per gene, whether a patient carries a protein-altering call
(``mut_<GENE>``), not which alteration, so a driver here is a gene. The rule:

1. The patient's *driver genes* are the genes with ``mut_<GENE>`` = 1, leaving out pharmacogenes
   (a gene with a ``pgx_<GENE>`` column in any of the tables given: a germline CYP2C9 missense
   allele is no tumour driver) and the catch-all ``other``.
2. The *main* driver, for a patient with a tier I finding (``actionable_tier1`` > 0), is the
   driver gene most likely to be its target: the one whose carriers among the past patients of the
   same tumour type most often have a tier I finding (in the demo's history EGFR in lung
   adenocarcinoma, BRAF in colorectal cancer, so an EGFR + KRAS lung tumour is "EGFR"). Otherwise,
   and between genes equal on that, the one most often mutated among the past patients of the same
   tumour type (the commonest driver of that tumour type); then the gene name, alphabetically.
3. A patient without a driver gene has none (shown as "none known").
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

#: ``mut_other``: calls in genes outside the panel's list, not one gene
CATCH_ALL = "other"


def pharmacogenes(*tables: pd.DataFrame) -> set[str]:
    """The genes with a ``pgx_<GENE>`` column in any of ``tables``."""
    return {c[4:] for t in tables for c in t.columns if c.startswith("pgx_")}


def driver_genes(features: pd.DataFrame, exclude: Collection[str] = ()) -> list[str]:
    """The genes of the ``mut_<GENE>`` columns that can be drivers: not ``exclude``, not ``other``."""
    skip = {*exclude, CATCH_ALL}
    return [c[4:] for c in features.columns if c.startswith("mut_") and c[4:] not in skip]


def main_drivers(features: pd.DataFrame, *, exclude: Collection[str] = ()) -> pd.DataFrame:
    """Per row of ``features`` (in order): ``patient``, ``tumor_type``, ``main_driver`` (a gene, or
    None) and ``drivers`` (every driver gene of the patient, main one first, then in the same order).

    Frequencies are counted over the rows of ``features`` themselves (give it the past patients);
    ``exclude`` adds genes that are never drivers (see :func:`pharmacogenes`). A missing or
    non-numeric ``mut_`` cell counts as not mutated; a missing tumour type is a group of its own.
    """
    genes = driver_genes(features, exclude)
    tumour = (
        features["tumor_type"].astype(object).where(features["tumor_type"].notna(), "")
        if "tumor_type" in features.columns
        else pd.Series([""] * len(features), index=features.index, dtype=object)
    )
    mutated = pd.DataFrame(
        {g: pd.to_numeric(features[f"mut_{g}"], errors="coerce").fillna(0).to_numpy() == 1 for g in genes},
        index=features.index,
    )
    tier1 = (
        pd.to_numeric(features["actionable_tier1"], errors="coerce").fillna(0).to_numpy() > 0
        if "actionable_tier1" in features.columns
        else np.zeros(len(features), dtype=bool)
    )
    by_type = tumour.to_numpy()
    frequency = mutated.groupby(by_type).mean()
    # per tumour type and gene: the share of the gene's carriers with a tier I finding
    carriers = mutated.groupby(by_type).sum()
    with_tier1 = mutated[tier1].groupby(by_type[tier1]).sum().reindex(carriers.index, fill_value=0)
    target_rate = (with_tier1 / carriers.where(carriers > 0)).fillna(0.0)
    rows = []
    for i, (idx, tt) in enumerate(tumour.items()):
        carried = [g for g in genes if mutated.at[idx, g]]
        own = bool(tier1[i])
        order = sorted(
            carried, key=lambda g: (-float(target_rate.at[tt, g]) if own else 0.0, -float(frequency.at[tt, g]), g)
        )
        rows.append(
            {
                "patient": str(features["patient"].iloc[i]),
                "tumor_type": tt or None,
                "main_driver": order[0] if order else None,
                "drivers": order,
            }
        )
    out = pd.DataFrame(rows, columns=["patient", "tumor_type", "main_driver", "drivers"])
    return out
