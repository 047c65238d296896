"""Every CPIC drug of every gene seq2rx calls or takes as an outside call has guidance rows, and
the rows of a drug cover every phenotype of the gene; the new guidelines (MT-RNR1, IFNL3, NAT2)
give the answers their tables give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seq2rx.pgx.guidance import recommend
from seq2rx.pgx.pipeline import PgxKnowledge, read_outside_calls

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "resources/kb/pgx/README.md").read_text()

# The CPIC drugs of each gene seq2rx covers: the drugs of CPIC's published gene-drug
# recommendation tables (cpicpgx.org/guidelines) as PharmCAT lists them with CPIC data version
# 2025-11-05 (its report of the example2 sample: drugs -> "CPIC Guideline Annotation", joined
# with each gene's relatedDrugs), written out here on 2026-12-05. A new CPIC drug is added here
# by hand, which makes this test fail until the knowledge base has its rows.
CPIC_DRUGS = {
    "ABCG2": {"rosuvastatin"},
    "CYP2B6": {"efavirenz", "sertraline"},
    "CYP2C19": {
        "amitriptyline", "citalopram", "clomipramine", "clopidogrel", "dexlansoprazole", "doxepin", "escitalopram",
        "imipramine", "lansoprazole", "omeprazole", "pantoprazole", "sertraline", "trimipramine", "voriconazole",
    },
    "CYP2C9": {
        "celecoxib", "flurbiprofen", "fluvastatin", "fosphenytoin", "ibuprofen", "lornoxicam", "meloxicam",
        "phenytoin", "piroxicam", "tenoxicam", "warfarin",
    },
    "CYP2D6": {
        "amitriptyline", "atomoxetine", "clomipramine", "codeine", "desipramine", "doxepin", "fluvoxamine",
        "hydrocodone", "imipramine", "metoprolol", "nortriptyline", "ondansetron", "paroxetine", "tamoxifen",
        "tramadol", "trimipramine", "tropisetron", "venlafaxine", "vortioxetine",
    },
    "CYP3A5": {"tacrolimus"},
    "CYP4F2": {"warfarin"},
    "DPYD": {"capecitabine", "fluorouracil"},
    "HLA-A": {"carbamazepine"},
    "HLA-B": {"abacavir", "allopurinol", "carbamazepine", "fosphenytoin", "oxcarbazepine", "phenytoin"},
    "IFNL3": {"peginterferon alfa-2a", "peginterferon alfa-2b", "ribavirin"},
    "MT-RNR1": {
        "amikacin", "dibekacin", "gentamicin", "kanamycin", "neomycin", "netilmicin", "paromomycin", "plazomicin",
        "ribostamycin", "streptomycin", "tobramycin",
    },
    "NAT2": {"hydralazine"},
    "NUDT15": {"azathioprine", "mercaptopurine", "thioguanine"},
    "SLCO1B1": {"atorvastatin", "fluvastatin", "lovastatin", "pitavastatin", "pravastatin", "rosuvastatin",
                "simvastatin"},
    "TPMT": {"azathioprine", "mercaptopurine", "thioguanine"},
    "UGT1A1": {"atazanavir"},
    "VKORC1": {"warfarin"},
}  # fmt: skip
#: (gene, drug) pairs left out because the recommendation table (each phenotype's strength) could
#: not be checked against the published guideline; resources/kb/pgx/README.md names each of them
UNVERIFIED: set[tuple[str, str]] = set()
#: (drug, gene) -> phenotypes without a row for the same reason (only NAT2 rapid was checked)
UNVERIFIED_PHENOTYPES = {("hydralazine", "NAT2"): {"Intermediate Metabolizer", "Poor Metabolizer", "Indeterminate"}}
#: genes with CPIC guidelines that seq2rx neither calls nor takes as outside calls
OUT_OF_SCOPE = ("G6PD", "RYR1", "CACNA1S", "CFTR", "CYP3A4")


@pytest.fixture(scope="module")
def kb() -> PgxKnowledge:
    return PgxKnowledge.load(REPO / "resources/kb/pgx")


def _rows(kb, drug, gene):
    return [g for g in kb.guidance if g.drug == drug and gene in g.genes]


def test_every_cpic_drug_of_a_covered_gene_has_guidance(kb):
    gaps = {(gene, drug) for gene, drugs in CPIC_DRUGS.items() for drug in drugs if not _rows(kb, drug, gene)}
    assert gaps - UNVERIFIED == set(), "CPIC drugs without guidance rows"
    assert gaps == UNVERIFIED, f"rows now exist for {UNVERIFIED - gaps}: take them off UNVERIFIED"
    # every gene the knowledge base gives guidance for is in the list above, and no other drug
    kb_pairs = {(gene, g.drug) for g in kb.guidance for gene in g.genes}
    listed = {(gene, drug) for gene, drugs in CPIC_DRUGS.items() for drug in drugs}
    assert kb_pairs - listed == set()
    # the gaps, the methadone guideline and the out-of-scope genes are said in the KB README
    not_covered = README[README.index("Not covered") :]
    for gene, drug in sorted(UNVERIFIED) + [("CYP2B6", "methadone"), ("NAT2", "hydralazine")]:
        assert drug in not_covered, drug
    for gene in OUT_OF_SCOPE:
        assert gene in not_covered and gene not in kb.known_genes, gene


def test_the_rows_of_a_drug_cover_every_phenotype_of_its_gene(kb):
    """For each gene with phenotype rules, each phenotype it can take (for activity-score genes:
    each score's phenotype) is met by a row of every drug of that gene; carrier-based genes
    (HLA, CYP4F2, IFNL3) have both a carrier and a noncarrier row."""
    checked = 0
    for gene, drugs in CPIC_DRUGS.items():
        p = kb.phenotypes.get(gene)
        for drug in sorted(drugs):
            rows = _rows(kb, drug, gene)
            if not rows:
                continue
            terms = [t for g in rows for t in g.terms if t.gene == gene]
            if p is None or not p.rules:  # carriage of an allele, not a phenotype
                kinds = {t.kind for t in terms}
                assert {"carrier", "noncarrier"} <= kinds or kinds == {"carrier"}, (gene, drug, kinds)
                checked += 1
                continue
            missing = set()
            for (kind, key), phenotype in p.rules.items():
                result = {"status": "called", "phenotype": phenotype, "diplotypes": [],
                          "activity_score": float(key) if kind == "score" else None}  # fmt: skip
                if not any(t.holds(result) for t in terms):
                    missing.add(phenotype)
            assert missing == UNVERIFIED_PHENOTYPES.get((drug, gene), set()), (gene, drug, missing)
            checked += 1
    assert checked == 88  # every gene-drug pair listed


def test_mt_rnr1_outside_call_p3_avoids_aminoglycosides(kb, tmp_path):
    """The demo's P3 (MT-RNR1 m.1555A>G typed elsewhere) is told to avoid every aminoglycoside."""
    outside = tmp_path / "P3.tsv"
    outside.write_text("CYP2D6\t*1/*2x2\nHLA-B\t*15:02/*40:01\nMT-RNR1\tm.1555A>G\n")
    calls, warnings = read_outside_calls(outside, kb)
    assert warnings == []
    applied, unmatched = recommend(kb.guidance, calls)
    rows = {r["drug"]: r for r in applied if r["genes"] == ["MT-RNR1"]}
    assert set(rows) == CPIC_DRUGS["MT-RNR1"]
    gentamicin = rows["gentamicin"]
    assert gentamicin["strength"] == "Strong" and gentamicin["actionable"]
    assert gentamicin["phenotype"] == "MT-RNR1 increased risk of aminoglycoside-induced hearing loss"
    assert re.match(r"Very high risk of permanent hearing loss: avoid aminoglycosides", gentamicin["recommendation"])
    assert "cpic-guideline-for-aminoglycosides-and-mt-rnr1" in gentamicin["source"]
    # the other CPIC increased-risk variants, and a normal- or uncertain-risk one: usual use, no alert
    for allele, phenotype, strength, actionable in [
        ("m.1494C>T", "increased", "Strong", True), ("m.1095T>C", "increased", "Strong", True),
        ("Reference", "normal", "Strong", False), ("m.827A>G", "normal", "Strong", False),
        ("m.663A>G", "uncertain", "Optional", False),
    ]:  # fmt: skip
        outside.write_text(f"MT-RNR1\t{allele}\n")
        (row,) = [r for r in recommend(kb.guidance, read_outside_calls(outside, kb)[0])[0] if r["drug"] == "amikacin"]
        assert row["phenotype"] == f"MT-RNR1 {phenotype} risk of aminoglycoside-induced hearing loss", allele
        assert (row["strength"], row["actionable"]) == (strength, actionable), allele
    # without an MT-RNR1 call the report says why there is no aminoglycoside answer
    _, unmatched = recommend(kb.guidance, {})
    tobramycin = [u for u in unmatched if u["drug"] == "tobramycin"]
    assert tobramycin[0]["reason"] == "MT-RNR1 not called (needs an outside call)"
    assert kb.reference_phenotypes()["MT-RNR1"] == "normal risk of aminoglycoside-induced hearing loss"


def test_ifnl3_rows_follow_the_rs12979860_call(kb):
    """IFNL3 has no phenotype rules: the favorable (CC) and unfavorable (CT, TT) response genotypes
    are read from the called diplotype, named as seq2rx's IFNL3 definitions name the alleles."""
    ref, var = "rs12979860 reference (C)", "rs12979860 variant (T)"
    for diplotype, favorable in [(f"{ref}/{ref}", True), (f"{ref}/{var}", False), (f"{var}/{var}", False)]:
        genes = {"IFNL3": {"status": "called", "diplotypes": [diplotype], "phenotype": None, "activity_score": None}}
        applied, _ = recommend(kb.guidance, genes)
        rows = {r["drug"]: r for r in applied if r["genes"] == ["IFNL3"]}
        assert set(rows) == CPIC_DRUGS["IFNL3"], diplotype
        word = "Favorable" if favorable else "Unfavorable"
        assert all(r["recommendation"].startswith(f"{word} response genotype") for r in rows.values()), diplotype
        assert all(r["strength"] == "Strong" and r["actionable"] != favorable for r in rows.values()), diplotype
    assert var in kb.risk_alleles()["IFNL3"]


def test_nat2_hydralazine_and_the_cyp2d6_antidepressants_and_metoprolol(kb):
    nat2 = {"status": "called", "diplotypes": ["*1/*1"], "phenotype": "Rapid Metabolizer", "activity_score": None}
    applied, _ = recommend(kb.guidance, {"NAT2": nat2})
    (hydralazine,) = [r for r in applied if r["drug"] == "hydralazine"]
    assert hydralazine["strength"] == "Moderate" and "at least 75 mg" in hydralazine["recommendation"]
    # a poor metabolizer: CPIC's row for it was not checked, so no row; the report says which phenotype
    applied, unmatched = recommend(kb.guidance, {"NAT2": {**nat2, "diplotypes": ["*5/*5"],
                                                          "phenotype": "Poor Metabolizer"}})  # fmt: skip
    assert not [r for r in applied if r["drug"] == "hydralazine"]
    assert {"drug": "hydralazine", "genes": ["NAT2"], "reason": "NAT2 Poor Metabolizer"} in unmatched
    # a CYP2D6 poor metabolizer: the 2023 antidepressant and 2024 beta-blocker guidelines' rows
    cyp2d6 = {"status": "outside call", "diplotypes": ["*4/*4"], "phenotype": "Poor Metabolizer", "activity_score": 0}
    applied, _ = recommend(kb.guidance, {"CYP2D6": cyp2d6})
    rows = {r["drug"]: r for r in applied}
    assert {"codeine", "tramadol", "nortriptyline"} <= set(rows)
    assert (
        rows["metoprolol"]["strength"] == "Moderate"
        and "lowest recommended dose" in rows["metoprolol"]["recommendation"]
    )
    assert rows["metoprolol"]["actionable"]
    assert "10 mg/day" in rows["vortioxetine"]["recommendation"] and rows["vortioxetine"]["actionable"]
    assert all(
        rows[d]["strength"] == "Optional" and rows[d]["actionable"]
        for d in ("paroxetine", "fluvoxamine", "venlafaxine")
    )
    # an intermediate metabolizer: CPIC gives no genotype-based venlafaxine advice
    applied, _ = recommend(kb.guidance, {"CYP2D6": {**cyp2d6, "diplotypes": ["*1/*4"], "phenotype": "Intermediate Metabolizer",
                                                    "activity_score": 1.0}})  # fmt: skip
    rows = {r["drug"]: r for r in applied}
    assert rows["venlafaxine"]["strength"] == "No recommendation" and not rows["venlafaxine"]["actionable"]
    assert rows["paroxetine"]["strength"] == "Optional" and rows["vortioxetine"]["strength"] == "Moderate"
