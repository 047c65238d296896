"""Actionability on real data (../shared/data/actionability): a TCGA breast tumour in both builds,
and the knowledge base against the Cancer Genome Interpreter biomarker table."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from seq2rx import actionability as A

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.validation


@pytest.fixture(scope="module")
def kb() -> A.Knowledge:
    return A.load(REPO / "resources/kb/actionability")


@pytest.fixture(scope="module")
def data(shared_data) -> Path:
    path = shared_data / "actionability"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_tcga_breast_tumour(kb, data, build):
    """T001-BRCA (TCGA-A2-A04W), unannotated, matched by coordinates: PIK3CA H1047R is tier I-A
    with alpelisib + fulvestrant for breast cancer, and nothing claims tier I without breast evidence."""
    vcf = data / f"T001-BRCA.{build.lower()}.vcf.gz"
    doc = A.run(kb, vcf, None, "BRCA", build)
    assert doc["somatic_variants"] == 196
    rows = doc["rows"]
    pik3ca = [r for r in rows if r["gene"] == "PIK3CA" and r["alteration"] == "H1047R"]
    assert any(r["tier"] == "I-A" and r["therapies"] == "alpelisib + fulvestrant" for r in pik3ca)
    assert pik3ca[0]["vaf"] != "."  # PCGR-style tumour allele depths are read
    breast_lineage = set(kb.ancestors("BRCA"))
    for r in rows:
        if r["tier"].startswith("I-"):
            assert r["rule_tumor_type"] in breast_lineage, r
    # TP53 17:7673806 C>T (GRCh38) is in the tumour, but no therapy follows from it
    assert not [r for r in rows if r["gene"] == "TP53"]


def _drugs(text: str) -> frozenset[str]:
    return frozenset(d.strip().lower() for d in text.strip("[]").split(",") if d.strip())


#: knowledge-base rows whose response disagrees with CGI's for the same gene, change and drug
CGI_DIFFERENCES = {
    # CGI lists vemurafenib as responsive (melanoma, hairy-cell leukaemia, ...); in colorectal
    # cancer BRAF V600E does not respond to vemurafenib alone (Kopetz et al. 2015), which is the
    # row the knowledge base encodes
    "A011": "colorectal-specific resistance row; CGI's responsive rows are other tumour types",
}


def test_knowledge_base_against_cgi(kb, data):
    """For every specific-change row with a CGI counterpart (same gene, change and drugs), the
    response agrees, or the difference is listed above. The overlap is reported in BENCHMARKS.md."""
    index: dict[tuple[str, str], list[tuple[frozenset, str]]] = {}
    with open(data / "cgi_biomarkers_per_variant.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            gene, _, change = row["individual_mutation"].partition(":")
            index.setdefault((gene, change), []).append((_drugs(row["Drug"]), row["Association"]))
    response = {"Responsive": "sensitive", "Resistant": "resistant"}
    counterparts, differ = 0, []
    protein_rows = [b for b in kb.biomarkers if b.kind == "protein"]
    for b in protein_rows:
        ours = frozenset(d.strip() for d in b.therapy.split(" + "))
        theirs = {response.get(assoc, assoc) for drugs, assoc in index.get((b.gene, b.alteration), []) if drugs == ours}
        if not theirs:
            continue
        counterparts += 1
        if b.response not in theirs:
            differ.append(b.id)
    assert sorted(differ) == sorted(CGI_DIFFERENCES)
    # 71 protein rows (A187, EGFR T790M -> dacomitinib resistant, has no CGI counterpart), 17 in CGI
    assert (len(protein_rows), counterparts) == (71, 17)


HER2_BREAST = {"trastuzumab", "pertuzumab + trastuzumab", "trastuzumab emtansine", "trastuzumab deruxtecan",
               "tucatinib + trastuzumab + capecitabine"}  # fmt: skip
TRK_INHIBITORS = {"larotrectinib", "entrectinib", "repotrectinib"}
ALK_INHIBITORS = {"alectinib", "lorlatinib", "brigatinib", "crizotinib", "ceritinib"}


def _with_cna_and_fusions(kb, data, build: str, tumor_type: str) -> dict:
    prefix = data / f"T001-BRCA.{build.lower()}"
    return A.run(kb, f"{prefix}.vcf.gz", None, tumor_type, build, cna=f"{prefix}.cna.tsv",
                 fusions=f"{prefix}.fusions.tsv")  # fmt: skip


def _tier1(rows: list[dict], gene: str) -> set[tuple[str, str]]:
    return {(r["therapies"], r["rule_tumor_type"]) for r in rows if r["gene"] == gene and r["tier"] == "I-A"}


@pytest.mark.parametrize("build", ["GRCh38", "GRCh37"])
def test_tcga_breast_tumour_copy_number_and_fusions(kb, data, build):
    """T001-BRCA with PCGR's copy-number and fusion files: the focal 9-copy ERBB2 segment is called
    amplified and, in breast cancer, brings the five HER2 therapies at tier I-A; NTRK1::TPM3 and
    CCDC6::RET bring their tumour-agnostic approvals; EML4::ALK is not tier I in breast cancer."""
    doc = _with_cna_and_fusions(kb, data, build, "BRCA")
    (erbb2,) = [c for c in doc["copy_number"]["calls"] if c["gene"] == "ERBB2"]
    segment = {"GRCh38": (39600010, 40000000), "GRCh37": (37756263, 38156253)}[build]
    assert (erbb2["call"], erbb2["total_cn"], (erbb2["start"], erbb2["end"]), erbb2["overlap"]) == (
        "amplification", 9, segment, 1.0)  # fmt: skip
    assert {c["gene"] for c in doc["copy_number"]["calls"] if c["call"] != "neutral"} == {"ERBB2"}
    rows = doc["rows"]
    assert _tier1(rows, "ERBB2") == {(t, "BRCA") for t in HER2_BREAST}
    assert _tier1(rows, "NTRK1") == {(t, "TISSUE") for t in TRK_INHIBITORS}
    assert _tier1(rows, "RET") == {("selpercatinib", "TISSUE")}
    # the file names TPM3::NTRK1 as NTRK1--TPM3: the rows keep their tier and say what to confirm
    assert all("TPM3::NTRK1" in r["note"] for r in rows if r["gene"] == "NTRK1")
    alk = [r for r in rows if r["gene"] == "ALK" and "EML4" in r["alteration"]]
    assert {r["therapies"] for r in alk} == ALK_INHIBITORS and {r["tier"] for r in alk} == {"II-C"}
    # the file's ABL1 breakpoint (9:13,358,99x) is 120 Mb from ABL1 on either build, and is flagged
    assert all("lies outside ABL1" in r["note"] for r in rows if r["gene"] == "ABL1")
    status = {m["modality"]: m["status"] for m in doc["modalities"]}
    assert status == {"small variants": "assessed", "copy number": "assessed", "fusions": "assessed",
                      "MSI": "not assessed", "TMB": "not assessed"}  # fmt: skip


@pytest.mark.parametrize(("build", "tumor_type"), [("GRCh38", "LUAD"), ("GRCh38", "NSCLC"), ("GRCh37", "LUAD")])
def test_alk_fusion_is_tier_one_in_lung_cancer(kb, data, build, tumor_type):
    rows = _with_cna_and_fusions(kb, data, build, tumor_type)["rows"]
    eml4_alk = {r["therapies"] for r in rows if r["alteration"] == "EML4::ALK fusion" and r["tier"] == "I-A"}
    assert eml4_alk == ALK_INHIBITORS
    assert not _tier1(rows, "ERBB2")  # the HER2 approvals are for breast, gastric and colorectal cancer
