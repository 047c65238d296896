"""seq2rx's CPIC guidance against the reference tool's report of a real sample (PharmCAT's
example2 report.json, CPIC data version 2025-11-05, CC0): every CPIC drug of a gene seq2rx covers
has guidance, and where that report matched a CPIC recommendation, seq2rx's rows for the same
phenotypes give the same strength."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2rx.pgx.guidance import recommend
from seq2rx.pgx.pipeline import PgxKnowledge

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.validation

#: genes seq2rx calls (14) or takes as outside calls (4)
COVERED = {
    "ABCG2", "CYP2B6", "CYP2C19", "CYP2C9", "CYP3A5", "CYP4F2", "DPYD", "IFNL3", "NAT2", "NUDT15", "SLCO1B1",
    "TPMT", "UGT1A1", "VKORC1", "CYP2D6", "HLA-A", "HLA-B", "MT-RNR1",
}  # fmt: skip


@pytest.fixture(scope="module")
def report(shared_data) -> dict:
    return json.loads((shared_data / "pharmcat/example2/pharmcat.example2.report.json").read_text())


def _genes(annotation: dict) -> dict[str, dict]:
    """The gene results a CPIC annotation was matched on, as seq2rx's PGx JSON writes them."""
    labels = {d["gene"]: d["label"] for g in annotation["genotypes"] for d in g["diplotypes"]}
    genes = {}
    for gene, phenotype in annotation["phenotypes"].items():
        try:
            score = float(annotation["activityScore"].get(gene))
        except (TypeError, ValueError):
            score = None
        genes[gene] = {"status": "called", "phenotype": phenotype, "activity_score": score,
                       "diplotypes": [labels[gene]] if gene in labels else []}  # fmt: skip
    return genes


def test_every_cpic_drug_of_a_covered_gene_has_guidance(report):
    kb = PgxKnowledge.load(REPO / "resources/kb/pgx")
    cpic = set(report["drugs"]["CPIC Guideline Annotation"])
    related = {drug for gene in COVERED for drug in (d["name"] for d in report["genes"][gene]["relatedDrugs"])}
    drugs = cpic & related
    ours = {g.drug for g in kb.guidance}
    print(f"CPIC drugs of covered genes: {len(drugs)}; with seq2rx guidance: {len(drugs & ours)}")
    assert len(drugs) == 72
    assert drugs - ours == set()
    # the other CPIC drugs are all of genes out of scope (G6PD, RYR1, CACNA1S, CFTR)
    assert len(cpic - drugs) == 16


def test_strength_agrees_where_the_report_matched_a_recommendation(report):
    kb = PgxKnowledge.load(REPO / "resources/kb/pgx")
    cpic: dict[tuple, set[str]] = {}  # (drug, phenotypes) -> CPIC classifications (one per population)
    genes_of: dict[tuple, dict] = {}
    for drug, entry in report["drugs"]["CPIC Guideline Annotation"].items():
        for guideline in entry["guidelines"]:
            for a in guideline["annotations"]:
                if not a.get("classification") or not set(a["phenotypes"]) <= COVERED:
                    continue
                key = (drug, tuple(sorted(a["phenotypes"].items())))
                cpic.setdefault(key, set()).add(a["classification"])
                genes_of[key] = _genes(a)
    agree, disagree = [], {}
    for key, classifications in sorted(cpic.items()):
        applied, _ = recommend(kb.guidance, genes_of[key])
        strengths = {r["strength"] for r in applied if r["drug"] == key[0]}
        (agree if strengths & classifications else disagree.setdefault(key[0], [])).append((classifications, strengths))
    print(f"CPIC recommendations matched in the report (covered genes): {len(cpic)}; same strength in seq2rx: "
          f"{len(agree)}; different: {disagree}")  # fmt: skip
    assert len(cpic) == 39 and len(agree) == 38
    # sertraline: CPIC 2023 gives CYP2C19 poor x CYP2B6 intermediate Moderate; seq2rx's per-gene rows say Optional
    assert disagree == {"sertraline": [({"Moderate"}, {"Optional"})]}
