"""Somatic statistics, knowledge-base loading, matching and AMP/ASCO/CAP tiering."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seq2rx import actionability as A
from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.variants.somatic import binomial_two_sided, fisher_greater

REPO = Path(__file__).resolve().parents[2]
KB = REPO / "resources/kb/actionability"


@pytest.fixture(scope="module")
def kb() -> A.Knowledge:
    return A.load(KB)


def test_fisher_and_binomial():
    # 10 of 40 tumour reads alternate, none of 40 normal reads: clearly somatic
    assert fisher_greater(10, 30, 0, 40) < 0.001
    # the same fraction in both: no evidence
    assert fisher_greater(10, 30, 10, 30) > 0.5
    # a heterozygous germline fraction fits 0.5; 4 of 40 does not
    assert binomial_two_sided(19, 40) > 0.5
    assert binomial_two_sided(4, 40) < 1e-5


def test_knowledge_base_is_complete_enough(kb):
    assert len(kb.biomarkers) >= 60
    resistance = {(b.gene, b.alteration) for b in kb.biomarkers if b.response == "resistant"}
    assert {("EGFR", "T790M"), ("EGFR", "C797S")} <= resistance
    assert any(b.gene == "KRAS" and b.tumor_type == "COADREAD" and b.response == "resistant" for b in kb.biomarkers)
    assert any(b.gene == "ESR1" for b in kb.biomarkers)
    assert all(b.citation and b.date[:4].isdigit() for b in kb.biomarkers)


def test_oncotree_ancestry(kb):
    assert kb.ancestors("LUAD")[:3] == ["LUAD", "NSCLC", "LUNG"] and kb.ancestors("LUAD")[-1] == "TISSUE"
    assert kb.relation("NSCLC", "LUAD") == "ancestor"
    assert kb.relation("LUAD", "LUAD") == "exact"
    assert kb.relation("MEL", "COAD") == "other type"


def test_tiers():
    assert A.tier("FDA-approved", "exact") == "I-A"
    assert A.tier("guideline", "ancestor") == "I-A"
    assert A.tier("FDA-approved", "other type") == "II-C"
    assert A.tier("clinical trial", "exact") == "II-C"
    assert A.tier("preclinical", "exact") == "II-D"


def variant(gene: str, classes: set[str], protein: str | None, pos: int | None, **kw) -> A.SomaticVariant:
    v = A.SomaticVariant(kw.get("chrom", "chr1"), kw.get("at", 1), kw.get("ref", "A"), kw.get("alt", "T"), 0.3, 40)
    v.effects[gene] = (frozenset(classes), protein, pos)
    return v


def test_braf_v600e_depends_on_tumour_type(kb):
    """Colorectal: encorafenib + cetuximab at I-A; never vemurafenib (alone) as sensitive tier I.
    Melanoma: BRAF + MEK inhibition at I-A."""
    v = variant("BRAF", {"missense"}, "V600E", 600)
    coad = A.match(kb, [v], "COAD", "GRCh38")
    tier1 = {(r["therapies"], r["response"]) for r in coad if r["tier"] == "I-A"}
    assert ("encorafenib + cetuximab", "sensitive") in tier1
    assert not any(t == "vemurafenib" and resp == "sensitive" for t, resp in tier1)
    assert all(r["rule_tumor_type"] != "TISSUE" for r in coad)  # the tumour-agnostic row gives way
    mel = A.match(kb, [v], "SKCM", "GRCh38")
    tier1 = {r["therapies"] for r in mel if r["tier"] == "I-A" and r["response"] == "sensitive"}
    assert "dabrafenib + trametinib" in tier1 and "encorafenib + cetuximab" not in tier1
    pancreas = A.match(kb, [v], "PAAD", "GRCh38")  # no pancreas rule: the tumour-agnostic approval applies
    assert any(r["rule_tumor_type"] == "TISSUE" and r["tier"] == "I-A" for r in pancreas)


def test_class_rules(kb):
    # an in-frame deletion in EGFR exon 19 (codons 729-761) in lung adenocarcinoma
    rows = A.match(kb, [variant("EGFR", {"inframe_deletion"}, None, 746)], "LUAD", "GRCh38")
    assert any(r["therapies"] == "osimertinib" and r["tier"] == "I-A" for r in rows)
    # the same deletion outside exon 19 is not an exon 19 deletion
    rows = A.match(kb, [variant("EGFR", {"inframe_deletion"}, None, 700)], "LUAD", "GRCh38")
    assert not any(r["rule"] != "." and "exon 19" in r["alteration"] for r in rows)
    # any KRAS codon 12 missense change is resistant to anti-EGFR antibodies in colorectal cancer
    rows = A.match(kb, [variant("KRAS", {"missense"}, "G12V", 12)], "COAD", "GRCh38")
    assert {"cetuximab", "panitumumab"} <= {r["therapies"] for r in rows if r["response"] == "resistant"}
    # a truncating BRCA2 variant in ovarian cancer
    rows = A.match(kb, [variant("BRCA2", {"stop_gained"}, "R3128*", 3128)], "HGSOC", "GRCh38")
    assert any("olaparib" in r["therapies"] for r in rows)


def test_unmatched_cancer_gene_variant_is_tier_three(kb):
    rows = A.match(kb, [variant("PIK3CA", {"missense"}, "R88Q", 88)], "LUAD", "GRCh38")
    assert [r["tier"] for r in rows] == ["III"] and rows[0]["therapies"] == "."
    assert A.match(kb, [variant("TTN", {"missense"}, "R8Q", 8)], "LUAD", "GRCh38") == []


def test_coordinates_per_build(kb):
    grch37 = A.SomaticVariant("3", 178952085, "A", "G", 0.2, 50)
    rows = A.match(kb, [grch37], "BRCA", "GRCh37")
    assert any(r["gene"] == "PIK3CA" and r["alteration"] == "H1047R" and r["tier"] == "I-A" for r in rows)
    # the GRCh37 position means nothing on GRCh38
    assert A.match(kb, [grch37], "BRCA", "GRCh38") == []


def test_tmb_rule(kb):
    rows = A.match(kb, [], "LUAD", "GRCh38", tmb=12.0)
    assert any(r["gene"] == "TMB" and "pembrolizumab" in r["therapies"] for r in rows)
    assert not A.match(kb, [], "LUAD", "GRCh38", tmb=4.0)


def test_bad_knowledge_base_rows_name_the_line(tmp_path):
    shutil.copytree(KB, tmp_path / "kb")
    path = tmp_path / "kb/biomarkers.tsv"
    lines = path.read_text().splitlines()
    cells = lines[3].split("\t")
    cells[7] = "NOTACODE"
    lines[3] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"biomarkers\.tsv, line 4, field 'tumor_type'"):
        A.load(tmp_path / "kb")


def test_unknown_tumour_type_is_an_error(kb):
    with pytest.raises(InputError, match="not an OncoTree code"):
        A.match(kb, [], "LUNGCANCER", "GRCh38")


def test_cli_actionable_by_coordinates(tmp_path, capsys):
    vcf = tmp_path / "t.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=7>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD\t0/1:30,10\n"
    )
    out = tmp_path / "a.tsv"
    assert main(["actionable", "--vcf", str(vcf), "--build", "GRCh38", "--tumor-type", "COAD", "--tsv", str(out)]) == 0
    lines = out.read_text().splitlines()
    header = lines[0].split("\t")
    first = dict(zip(header, lines[1].split("\t"), strict=True))
    assert first["tier"] == "I-A" and first["gene"] == "BRAF" and first["vaf"] == "0.25"
    assert "encorafenib + cetuximab" in capsys.readouterr().out
    assert main(["actionable", "--vcf", str(vcf), "--build", "GRCh38", "--tumor-type", "XYZ", "--tsv", str(out)]) == 2


def test_tmb_needs_a_megabase():
    coding = [variant("EGFR", {"missense"}, "L858R", 858), variant("KRAS", {"synonymous"}, None, 10)]
    small = A.tmb(coding, 130_000)
    assert small["coding_variants"] == 2 and small["tmb_per_mb"] == pytest.approx(15.38, abs=0.01)
    assert small["reliable"] is False and "too small" in small["note"]
    assert A.tmb(coding, 2_000_000)["reliable"] is True


def _header(samples: str, extra: str = "") -> str:
    return (
        "##fileformat=VCFv4.2\n##contig=<ID=7>\n" + extra
        + '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
        '##FORMAT=<ID=AU,Number=2,Type=Integer,Description="a">\n##FORMAT=<ID=TU,Number=2,Type=Integer,Description="t">\n'
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}\n"
    )  # fmt: skip


def test_tumour_vcfs_from_other_callers(tmp_path):
    """Mutect2 names its tumour column in the header; Strelka2 calls it TUMOR and counts tiers."""
    mutect = tmp_path / "m.vcf"
    mutect.write_text(
        _header("NORMAL_X\tTUMOR_X", "##tumor_sample=TUMOR_X\n")
        + "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD\t0/0:40,0\t0/1:30,10\n"
        + "7\t140753400\t.\tA\tT\t.\tweak_evidence\t.\tGT:AD\t0/0:40,0\t0/1:30,2\n"
    )
    (v,) = A.read_variants(mutect)  # the non-PASS record is left out
    assert (v.vaf, v.depth) == (0.25, 40)
    strelka = tmp_path / "s.vcf"
    strelka.write_text(
        _header("NORMAL\tTUMOR") + "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AU:TU\t0/0:40,41:0,0\t0/1:30,31:10,10\n"
    )
    (v,) = A.read_variants(strelka)
    assert (v.vaf, v.depth) == (0.25, 40)
