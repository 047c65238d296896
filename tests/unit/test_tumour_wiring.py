"""The glue between the tumour engines and the workflow: each tumour's plan, the MSI mode, one set of
copy-number thresholds, CNVkit's gene table as gene-level calls, the modalities of the actionability
document, and the identity check in a sample's QC."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2rx import actionability as A
from seq2rx.core.data import data_path
from seq2rx.findings import qc_with_identity
from seq2rx.report import patient as report
from seq2rx.tumour import (
    CopyNumberParams,
    CopyNumberThresholds,
    file_thresholds,
    gene_copy_numbers,
    msi_mode,
    msi_score,
    not_assessed,
    steps_not_assessed,
    tumour_plan,
)
from seq2rx.tumour.copynumber import GENE_COLUMNS

KB = data_path("kb", "actionability")


@pytest.fixture(scope="module")
def kb() -> A.Knowledge:
    return A.load(KB)


def test_msi_mode_follows_what_the_tumour_has():
    assert msi_mode(aligned=True, matched_normal=True) == "msisensor-paired"
    assert msi_mode(aligned=True, matched_normal=False) == "msisensor-baseline"
    # a VCF has no reads to compare, with or without a normal
    assert msi_mode(aligned=False, matched_normal=True) == "vcf-indel-profile"
    assert msi_mode(aligned=False, matched_normal=False) == "vcf-indel-profile"


def test_msi_score_names_the_file_its_mode_lacks(tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        msi_score("msisensor", sites=tmp_path / "s.tsv")
    with pytest.raises(ValueError, match="msisensor-paired needs normal_bam"):
        msi_score("msisensor-paired", sites=tmp_path / "s.tsv", tumour_bam="t.bam")
    with pytest.raises(ValueError, match="vcf-indel-profile needs vcf"):
        msi_score("vcf-indel-profile", sites=tmp_path / "s.tsv")


def test_tumour_plans():
    plan = tumour_plan(stage="fastq", matched_normal=True, pool=7)
    assert {k: v["how"] for k, v in plan.items()} == {
        "copy_number": "cnvkit-matched", "fusions": "call", "msi": "msisensor-paired"}  # fmt: skip
    assert not_assessed(plan) == {}
    plan = tumour_plan(stage="bam", matched_normal=False, pool=2)
    assert (plan["copy_number"]["how"], plan["msi"]["how"]) == ("cnvkit-pooled", "msisensor-baseline")
    # tumour-only and nothing to pool: copy number and MSI say why; fusions need no normal
    plan = tumour_plan(stage="fastq", matched_normal=False, pool=0)
    assert not_assessed(plan) == {
        "copy number": "tumour-only, and the run has no aligned normal or germline sample to build a CNVkit reference from",
        "MSI": "tumour-only, and the run has no aligned normal or germline sample to build a MSI baseline from",
    }
    # a VCF start: the sheet's files stand in for what needs reads; MSI falls back to the indels
    plan = tumour_plan(stage="vcf", matched_normal=False, pool=3, cna="t.cna.tsv")
    assert {k: v["how"] for k, v in plan.items()} == {
        "copy_number": "file", "fusions": None, "msi": "vcf-indel-profile"}  # fmt: skip
    assert not_assessed(plan) == {
        "fusions": "the sample started from a VCF: fusions need reads (or a fusions file in the sample sheet)"
    }
    plan = tumour_plan(stage="fastq", matched_normal=True, pool=1, gene_models=False)
    assert not_assessed(plan)["copy number"] == "gene-level copy-number calls need gene models: set reference.gff3"
    with pytest.raises(ValueError, match="stage must be one of"):
        tumour_plan(stage="cram", matched_normal=False, pool=0)


def test_one_set_of_copy_number_thresholds():
    """The config's copy_number section calls CNVkit's genes and reads another caller's file alike."""
    section = {"amplification_min_cn": 8, "deletion_max_cn": 1, "min_gene_overlap": 0.25}
    assert file_thresholds(section) == CopyNumberThresholds(8, 1, 0.25)
    params = CopyNumberParams(amplification_min_cn=8, deletion_max_cn=1)
    assert (params.amplification_min_cn, params.deletion_max_cn) == (8, 1)


def test_cnvkit_gene_table_as_gene_level_calls(tmp_path):
    table = tmp_path / "T.genes.tsv"
    rows = [("ERBB2", "17", "100", "200", "2.1", "8.6", "9", "amplification", "cnvkit", "12"),
            ("TP53", "17", "300", "400", "0.0", "2.0", "2", "neutral", "cnvkit", "5"),
            ("GAPDH", "12", "10", "20", "0.0", "2.0", "2", "neutral", "cnvkit", "3"),
            ("CDKN2A", "9", "10", "20", "-4.0", "0.1", "0", "deletion", "cnvkit", "3")]  # fmt: skip
    table.write_text("\t".join(GENE_COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in rows))
    calls = gene_copy_numbers(table, keep={"TP53"})
    assert [(c.gene, c.total_cn, c.call, c.source) for c in calls] == [
        ("ERBB2", 9, "amplification", "cnvkit"), ("TP53", 2, "neutral", "cnvkit"),
        ("CDKN2A", 0, "deletion", "cnvkit")]  # fmt: skip
    assert len(gene_copy_numbers(table)) == 4


def _vcf(tmp_path) -> Path:
    vcf = tmp_path / "t.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=7>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
    )
    return vcf


def test_the_five_modalities_with_how_and_why_not(kb, tmp_path):
    msi = {"status": "not assessed", "score": None, "method": "msisensor-baseline", "criterion": "c",
           "reason": "3 microsatellites with >= 20 reads; 30 needed"}  # fmt: skip
    doc = A.run(kb, _vcf(tmp_path), None, "LUAD", "GRCh38", cna=[], msi=msi,
                methods={"copy number": "CNVkit 0.9.14 (haar segmentation), reference: matched normal"},
                not_assessed={"fusions": "the sample started from a VCF: fusions need reads"})  # fmt: skip
    got = {m["modality"]: (m["status"], m["source"] if m["status"] == "assessed" else m["reason"])
           for m in doc["modalities"]}  # fmt: skip
    assert list(got) == list(A.MODALITIES)
    assert got["copy number"] == ("assessed", "CNVkit 0.9.14 (haar segmentation), reference: matched normal")
    assert got["fusions"] == ("not assessed", "the sample started from a VCF: fusions need reads")
    assert got["MSI"] == ("not assessed", "3 microsatellites with >= 20 reads; 30 needed")
    assert doc["msi"]["status"] == "not assessed" and not [r for r in doc["rows"] if r["gene"] == "MSI"]
    # an MSI-H result with its criterion fires the tumour-agnostic rules and keeps the criterion
    high = {"status": "MSI-H", "score": 41.0, "method": "msisensor-paired", "criterion": "MSI-H when >= 3.5%"}
    doc = A.run(kb, _vcf(tmp_path), None, "COAD", "GRCh38", msi=high, not_assessed={})
    assert doc["msi"] == high and any(r["gene"] == "MSI" and r["tier"] == "I-A" for r in doc["rows"])
    with pytest.raises(ValueError, match="modality must be one of"):
        A.run(kb, _vcf(tmp_path), None, "COAD", "GRCh38", not_assessed={"SVs": "x"})


def test_assessment_methods_and_fusion_genes(kb):
    cnv = {"cnvkit_version": "0.9.14", "segmentation": "haar", "protocol": "hybrid", "reference": "matched normal",
           "purity_ploidy_note": "purity assumed 1.0, not estimated; ploidy assumed 2"}  # fmt: skip
    methods = A.assessment_methods(copy_number=cnv, fusions={"genes_scanned": ["ALK", "EML4"]})
    assert methods["copy number"] == ("CNVkit 0.9.14 (haar segmentation, hybrid bins), reference: matched normal; "
                                      "purity assumed 1.0, not estimated; ploidy assumed 2")  # fmt: skip
    assert methods["fusions"] == ("seq2rx DNA fusion caller: split reads and discordant pairs over 2 of the "
                                  "knowledge base's 2 fusion genes and partners, frame and kinase domain checked")  # fmt: skip
    partial = A.assessment_methods(fusions={"genes_scanned": ["ALK"], "genes_missing": ["ROS1", "RET"]})
    assert "over 1 of the knowledge base's 3 fusion genes and partners (2 not in the gene models)" in partial["fusions"]
    # the sheet's files win over our own calls
    assert A.assessment_methods(copy_number=cnv, cna_file="x/T.cna.tsv")["copy number"].endswith("T.cna.tsv")
    genes = A.fusion_genes(kb)
    assert {"ALK", "EML4", "ROS1", "RET", "NTRK1", "TPM3", "CCDC6"} <= set(genes) and genes == sorted(genes)


QC = {"sample": "T", "verdict": "pass", "reads": 1, "mapped_fraction": 1.0, "duplicate_fraction": 0.0,
      "mean_target_coverage": 40.0, "target_fraction_20x": 1.0, "reasons": []}  # fmt: skip


def _identity(verdict: str, reasons: list[str]) -> dict:
    sex = {"sheet_sex": "male", "inferred_sex": None, "verdict": "not assessed", "reason": "no chrX",
           "inference": {"status": "not assessed"}}  # fmt: skip
    fp = {"normal": "N", "tumour": "T", "status": "assessed", "same_person": verdict != "fail", "verdict": verdict,
          "reason": reasons[0] if reasons else None, "n_sites": 50, "n_called_both": 30, "n_hom": 20,
          "hom_concordance": 0.1 if verdict == "fail" else 1.0, "af_correlation": 0.2, "sites": [{"pos": 1}]}  # fmt: skip
    return {"sample": "T", "verdict": verdict, "reasons": reasons, "sex": sex, "fingerprint": fp}


def test_an_identity_fail_fails_the_sample_qc_and_tops_the_report():
    ok = qc_with_identity(QC, _identity("pass", []))
    assert ok["verdict"] == "pass" and ok["identity"]["fingerprint"]["hom_concordance"] == 1.0
    assert "sites" not in ok["identity"]["fingerprint"] and "inference" not in ok["identity"]["sex"]
    bad = qc_with_identity(QC, _identity("fail", ["T and N are not from the same person"]))
    assert bad["verdict"] == "fail" and bad["reasons"] == ["identity: T and N are not from the same person"]
    assert QC["verdict"] == "pass"  # the QC summary itself is left as it was
    assert qc_with_identity(QC, _identity("warn", ["maybe a relative"]))["verdict"] == "warn"
    failing = {**QC, "verdict": "fail", "reasons": ["mean target coverage 3.0 < 20"]}
    assert qc_with_identity(failing, _identity("warn", ["maybe a relative"]))["verdict"] == "fail"
    doc = {"samples": [{"sample": "T", "qc": bad}, {"sample": "N", "qc": {"status": "not run"}}]}
    assert report._identity_failures(doc) == [{"sample": "T", "reasons": ["T and N are not from the same person"]}]


def test_the_report_says_what_was_assessed(kb, tmp_path):
    msi = {"status": "MSS", "score": 0.5, "method": "msisensor-paired", "criterion": "MSI-H when >= 3.5%"}
    doc = A.run(kb, _vcf(tmp_path), None, "LUAD", "GRCh38", msi=msi,
                not_assessed={"copy number": "coverage too low", "fusions": "no reads"})  # fmt: skip
    out = report._assessed(json.loads(json.dumps(doc)), "not computed")
    rows = {r[0]: r[1:] for r in out["assessed_rows"]}
    assert rows["MSI"] == ["assessed", "MSS, score 0.5; MSI-H when >= 3.5%"]
    assert rows["copy number"] == ["not assessed", "coverage too low"]
    assert out["negative"] == ("No tier I alteration in the modalities assessed (small variants, MSI); "
                               "not assessed: copy number, fusions, TMB.")  # fmt: skip


def test_a_step_that_could_not_assess_is_reported_with_its_reason(kb, tmp_path):
    """CNVkit on a too-thin tumour and the fusion caller on a BAM without reads on the genes: the
    actionability document lists both as not assessed, with the steps' reasons, never as assessed."""
    cnv = {"status": "not assessed", "reason": "the tumour's median read depth over its 450 bins is 0.0, below 5"}
    fus = {"status": "not assessed", "reason": "the tumour BAM has no usable reads on the 3 fusion genes scanned"}
    reasons = steps_not_assessed(copy_number=cnv, fusions=fus)
    assert reasons == {"copy number": cnv["reason"], "fusions": fus["reason"]}
    assert steps_not_assessed(copy_number={"status": "assessed", "reason": None}, fusions=None) == {}
    plan = tumour_plan(stage="fastq", matched_normal=True, pool=1)
    doc = A.run(kb, _vcf(tmp_path), None, "LUAD", "GRCh38", not_assessed={**not_assessed(plan), **reasons})
    got = {m["modality"]: (m["status"], m["reason"]) for m in doc["modalities"]}
    assert got["copy number"] == ("not assessed", cnv["reason"])
    assert got["fusions"] == ("not assessed", fus["reason"])


def test_a_sheet_file_wins_over_calling_from_reads():
    """A tumour row with FASTQ (or a BAM) and a cna or fusions file: the file is used, CNVkit and the
    fusion caller do not run for it (README, bad-input case A13)."""
    for stage in ("fastq", "bam"):
        plan = tumour_plan(stage=stage, matched_normal=True, pool=3, cna="T.cna.tsv", fusions="T.fusions.tsv")
        assert (plan["copy_number"]["how"], plan["fusions"]["how"]) == ("file", "file")
