"""Somatic statistics, knowledge-base loading, matching and AMP/ASCO/CAP tiering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seq2rx import actionability as A
from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.tumour import FusionCall, GeneCopyNumber
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


def _small_vcf(tmp_path) -> Path:
    """BRAF V600E (GRCh38 7:140753336 A>T) at VAF 0.25."""
    vcf = tmp_path / "t.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=7>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD\t0/1:30,10\n"
    )
    return vcf


def test_cli_actionable_by_coordinates(tmp_path, capsys):
    vcf = _small_vcf(tmp_path)
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


# --------------------------------------------------------------------------- copy number, fusions, MSI


def test_every_copy_number_and_fusion_gene_has_coordinates_on_both_builds(kb):
    named = {b.gene for b in kb.biomarkers if b.kind in ("amplification", "deletion", "fusion")}
    named |= {g for b in kb.biomarkers if b.kind == "fusion" for g in b.alteration.removesuffix(" fusion").split("::")}
    named.discard("fusion")
    assert named <= set(kb.genes), sorted(named - set(kb.genes))
    for gene in named | set(kb.genes):
        record = kb.genes[gene]
        for build in ("GRCh38", "GRCh37"):
            chrom, start, end = record.coords[build]
            assert chrom in {str(c) for c in range(1, 23)} and 0 < start < end, (gene, build)
    # the kinase is kept at the 3' end of ALK, RET, NTRK1 ... and at the 5' end of FGFR2/3
    fusion_genes = {b.gene for b in kb.biomarkers if b.kind == "fusion"}
    assert {kb.genes[g].fusion_end for g in fusion_genes - {"FGFR2", "FGFR3"}} == {"3prime"}
    assert kb.genes["FGFR3"].fusion_end == kb.genes["FGFR2"].fusion_end == "5prime"
    assert kb.genes["ERBB2"].coords == {"GRCh38": ("17", 39687914, 39730426), "GRCh37": ("17", 37844167, 37886679)}
    assert {g.name for g in A.copy_number_genes(kb, "GRCh38")} >= {"ERBB2", "MET", "EGFR", "MYC", "CDKN2A"}


def cn(gene: str, total: int, call: str) -> GeneCopyNumber:
    return GeneCopyNumber(gene, "17", 39600010, 40000000, total, call, "test")


def test_copy_number_calls_are_tiered_for_the_tumour_type(kb):
    rows = A.match_copy_number(kb, [cn("ERBB2", 9, "amplification")], "BRCA")
    assert {r["therapies"] for r in rows if r["tier"] == "I-A"} == {
        "trastuzumab", "pertuzumab + trastuzumab", "trastuzumab emtansine", "trastuzumab deruxtecan",
        "tucatinib + trastuzumab + capecitabine"}  # fmt: skip
    assert {(r["alteration"], r["chrom"], r["pos"], r["ref"]) for r in rows} == {
        ("amplification (9 copies)", "17", 39600010, ".")}  # fmt: skip
    stomach = A.match_copy_number(kb, [cn("ERBB2", 9, "amplification")], "STAD")
    assert {r["therapies"] for r in stomach if r["tier"] == "I-A"} == {"trastuzumab", "trastuzumab deruxtecan"}
    lung = A.match_copy_number(kb, [cn("ERBB2", 9, "amplification")], "LUAD")
    assert rows and not [r for r in lung if r["tier"] == "I-A"]
    # a loss without a rule is reported, with no therapy invented; a neutral gene gives no row
    (cdkn2a,) = A.match_copy_number(kb, [cn("CDKN2A", 0, "deletion"), cn("MYC", 4, "neutral")], "GB")
    assert (cdkn2a["tier"], cdkn2a["alteration"], cdkn2a["therapies"]) == ("III", "deletion (0 copies)", ".")


def fusion(five: str | None, three: str | None, at5=("2", 42295554), at3=("2", 29223528)) -> FusionCall:
    return FusionCall(five, three, at5, at3, 50, "test")


def test_alk_fusion_is_tier_one_only_in_lung(kb):
    eml4_alk = fusion("EML4", "ALK")
    lung = A.match_fusions(kb, [eml4_alk], "LUAD", "GRCh38")
    assert {r["therapies"] for r in lung if r["tier"] == "I-A"} >= {"alectinib", "lorlatinib"}
    assert {(r["gene"], r["alteration"], r["chrom"], r["pos"], r["note"]) for r in lung} == {
        ("ALK", "EML4::ALK fusion", "2", 29223528, ".")}  # fmt: skip
    breast = A.match_fusions(kb, [eml4_alk], "BRCA", "GRCh38")
    assert breast and {r["tier"] for r in breast} == {"II-C"}


def test_fusion_notes_say_what_to_confirm(kb):
    (reversed_,) = {r["note"] for r in A.match_fusions(kb, [fusion("ALK", "EML4", ("2", 29223528), ("2", 42295554))],
                                                       "LUAD", "GRCh38")}  # fmt: skip
    assert "ALK keeps its kinase (signalling) domain as the 3' gene (EML4::ALK): confirm that product" in reversed_
    fgfr3 = A.match_fusions(kb, [fusion("FGFR3", "TACC3", ("4", 1806166), ("4", 1745000))], "BLCA", "GRCh38")
    assert [(r["tier"], r["therapies"], r["note"]) for r in fgfr3] == [("I-A", "erdafitinib", ".")]
    (unnamed,) = {r["note"] for r in A.match_fusions(kb, [fusion(None, "ALK")], "LUAD", "GRCh38")}
    assert unnamed == "the 5' partner is not named"
    (elsewhere,) = {r["note"] for r in A.match_fusions(kb, [fusion("EML4", "ALK")], "LUAD", "GRCh37")}
    assert "ALK breakpoint 2:29223528 lies outside ALK (2:29415640-30144432 on GRCh37)" in elsewhere
    # a fusion of genes without rules: tier III for the knowledge-base gene, nothing for the others
    braf = A.match_fusions(kb, [fusion("KIAA1549", "BRAF", ("7", 138865254), ("7", 140749200))], "PAAD", "GRCh38")
    assert [(r["tier"], r["gene"], r["note"]) for r in braf] == [("III", "BRAF", ".")]
    assert A.match_fusions(kb, [fusion("TMPRSS2", "ERG", ("21", 41464551), ("21", 38366039))], "PRAD", "GRCh38") == []


def test_ntrk_and_ret_fusions_are_tumour_agnostic(kb):
    ret = A.match_fusions(kb, [fusion("CCDC6", "RET", ("10", 59798614), ("10", 43116592))], "BRCA", "GRCh38")
    assert [(r["therapies"], r["rule_tumor_type"]) for r in ret if r["tier"] == "I-A"] == [("selpercatinib", "TISSUE")]
    ntrk = A.match_fusions(kb, [fusion("TPM3", "NTRK1", ("1", 154169959), ("1", 156875154))], "PAAD", "GRCh38")
    assert {r["therapies"] for r in ntrk if r["tier"] == "I-A" and r["rule_tumor_type"] == "TISSUE"} == {
        "larotrectinib", "entrectinib", "repotrectinib"}  # fmt: skip
    # in NSCLC the lineage's own RET rows stand and the tumour-agnostic one gives way
    lung = A.match_fusions(kb, [fusion("KIF5B", "RET", ("10", 32017000), ("10", 43116592))], "LUAD", "GRCh38")
    assert {r["rule_tumor_type"] for r in lung if r["tier"] == "I-A"} == {"NSCLC"}


def test_a_pair_rule_matches_only_its_pair(tmp_path):
    shutil.copytree(KB, tmp_path / "kb")
    path = tmp_path / "kb/biomarkers.tsv"
    row = ["A900", "FGFR3", "fusion", "FGFR3::TACC3 fusion", ".", ".", ".", "GB", "erdafitinib", "sensitive",
           "clinical trial", "An invented pair rule for the test.", "test", "2024-01"]  # fmt: skip
    path.write_text(path.read_text() + "\t".join(row) + "\n")
    kb = A.load(tmp_path / "kb")
    pair = A.match_fusions(kb, [fusion("FGFR3", "TACC3", ("4", 1806166), ("4", 1740000))], "GB", "GRCh38")
    assert [(r["rule"], r["tier"]) for r in pair if r["rule"] == "A900"] == [("A900", "II-C")]
    other = A.match_fusions(kb, [fusion("FGFR3", "BAIAP2L1", ("4", 1806166), ("7", 98300000))], "GB", "GRCh38")
    assert other and "A900" not in {r["rule"] for r in other}
    path.write_text(path.read_text().replace("FGFR3::TACC3 fusion", "FGFR3-TACC3 fusion"))
    with pytest.raises(InputError, match=r"line \d+, field 'alteration': 'FGFR3-TACC3 fusion' is not 'fusion'"):
        A.load(tmp_path / "kb")


def test_msi_high_fires_its_rules(kb):
    msi = A.check_msi({"status": "MSI-H", "score": 23.5, "method": "MSIsensor-pro"})
    crc = A.match_msi(kb, msi, "COAD")
    assert {(r["therapies"], r["rule_tumor_type"], r["tier"]) for r in crc} == {
        ("pembrolizumab", "TISSUE", "I-A"), ("dostarlimab", "TISSUE", "I-A"),
        ("pembrolizumab", "COADREAD", "I-A"), ("nivolumab + ipilimumab", "COADREAD", "I-A")}  # fmt: skip
    assert {(r["gene"], r["alteration"], r["note"]) for r in crc} == {
        ("MSI", "MSI-H", "MSI score 23.5 (MSIsensor-pro)")
    }
    stomach = A.match_msi(kb, msi, "STAD")  # the colorectal rows are tier II-C there
    assert {r["therapies"] for r in stomach if r["tier"] == "I-A"} == {"pembrolizumab", "dostarlimab"}
    with pytest.raises(InputError, match="'UCEC' is not an OncoTree code"):
        A.match_msi(kb, msi, "UCEC")
    assert A.match_msi(kb, A.check_msi({"status": "MSS", "score": 0.4, "method": "x"}), "COAD") == []
    with pytest.raises(InputError, match="status must be one of MSI-H, MSS, got 'MSI-L'"):
        A.check_msi({"status": "MSI-L", "score": 5.0, "method": "x"})


def test_the_document_says_what_was_assessed_only_when_asked(kb, tmp_path):
    vcf = _small_vcf(tmp_path)
    plain = A.run(kb, vcf, None, "BRCA", "GRCh38")
    assert list(plain)[-1] == "knowledge_base" and "modalities" not in plain  # the demo's documents do not change
    cna = tmp_path / "t.cna.tsv"
    cna.write_text("Chromosome\tStart\tEnd\tnMajor\tnMinor\n17\t39600010\t40000000\t8\t1\n")
    doc = A.run(kb, vcf, None, "BRCA", "GRCh38", cna=cna)
    assert list(doc)[: len(plain)] == list(plain)
    status = {m["modality"]: (m["status"], m["reason"]) for m in doc["modalities"]}
    assert status == {
        "small variants": ("assessed", None), "copy number": ("assessed", None),
        "fusions": ("not assessed", "no fusion input"), "MSI": ("not assessed", "no MSI result"),
        "TMB": ("not assessed", "no consequences: coding variants not known, TMB not computed")}  # fmt: skip
    erbb2 = [c for c in doc["copy_number"]["calls"] if c["gene"] == "ERBB2"]
    assert erbb2 == [{"gene": "ERBB2", "chrom": "17", "start": 39600010, "end": 40000000, "total_cn": 9,
                      "call": "amplification", "source": "PCGR segments: t.cna.tsv", "overlap": 1.0}]  # fmt: skip
    assert "EGFR" in doc["copy_number"]["genes_without_call"] and doc["fusions"] is None and doc["msi"] is None
    # five HER2 therapies, and BRAF V600E's tumour-agnostic dabrafenib + trametinib
    assert doc["tiers"]["I-A"] == 6 and sum(r["gene"] == "ERBB2" and r["tier"] == "I-A" for r in doc["rows"]) == 5


def test_cli_actionable_with_copy_number_fusions_and_msi(tmp_path, capsys):
    cna = tmp_path / "t.cna.tsv"
    cna.write_text("Chromosome\tStart\tEnd\tnMajor\tnMinor\n17\t39600010\t40000000\t3\t2\n")
    fusions = tmp_path / "t.fusions.tsv"
    fusions.write_text(
        "FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads\nEML4--ALK\t2:42295554\t2:29223528\t100\n"
    )
    out, doc = tmp_path / "a.tsv", tmp_path / "a.json"
    args = ["actionable", "--vcf", str(_small_vcf(tmp_path)), "--build", "GRCh38", "--tumor-type", "LUAD",
            "--tsv", str(out), "--json", str(doc), "--cna", str(cna), "--fusions", str(fusions),
            "--msi-status", "MSI-H", "--msi-score", "31.2", "--msi-method", "MSIsensor-pro"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "I-A\tALK\tEML4::ALK fusion\talectinib" in printed and "I-A\tMSI\tMSI-H\tpembrolizumab" in printed
    assert "ERBB2" not in printed  # 5 copies: below PCGR's 6
    assert main([*args, "--cna-amp-copies", "5"]) == 0
    assert "I-A\tERBB2" not in capsys.readouterr().out  # amplified, but the HER2 rules are not for lung: II-C
    rows = out.read_text().splitlines()
    assert any(r.split("\t")[5:7] == ["ERBB2", "amplification (5 copies)"] for r in rows)
    written = json.loads(doc.read_text())
    assert [m["status"] for m in written["modalities"]] == ["assessed"] * 4 + ["not assessed"]
    assert written["fusions"]["calls"][0]["fusion"] == "EML4::ALK"
    assert written["msi"] == {"status": "MSI-H", "score": 31.2, "method": "MSIsensor-pro"}


def test_calls_made_upstream_are_taken_as_they_are(kb, tmp_path):
    """The CNVkit and fusion engines hand over calls, not files: their own thresholds stand."""
    doc = A.run(kb, _small_vcf(tmp_path), None, "BRCA", "GRCh38", cna=[cn("ERBB2", 7, "amplification")],
                fusions=[fusion("EML4", "ALK")], msi={"status": "MSS", "score": 0.5, "method": "MSIsensor-pro"})  # fmt: skip
    assert (doc["copy_number"]["source"], doc["copy_number"]["thresholds"], doc["copy_number"]["segments"]) == (
        "test", None, None)  # fmt: skip
    assert "ERBB2" not in doc["copy_number"]["genes_without_call"] and "MET" in doc["copy_number"]["genes_without_call"]
    assert doc["fusions"]["calls"][0]["knowledge_base_genes"] == ["EML4", "ALK"]
    assert {m["modality"]: m["source"] for m in doc["modalities"]}["MSI"] == "MSIsensor-pro"
    assert not [r for r in doc["rows"] if r["gene"] == "MSI"]  # MSS: assessed, nothing to act on


# --------------------------------------------------------------------------- resistance reconciled


def _vcf_of(tmp_path, records: list[tuple[str, int, str, str, str]]) -> Path:
    """A one-sample somatic VCF of (chrom, pos, ref, alt, AD) records, by GRCh38 coordinates."""
    contigs = "".join(f"##contig=<ID={c}>\n" for c in dict.fromkeys(r[0] for r in records))
    vcf = tmp_path / "reconcile.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n" + contigs + '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        + "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT:AD\t0/1:{ad}\n" for c, p, r, a, ad in records)
    )
    return vcf


L858R = ("7", 55191822, "T", "G", "25,23")  # EGFR L858R, GRCh38
T790M = ("7", 55181378, "C", "T", "43,5")  # EGFR T790M at 5 of 48 reads, GRCh38
FIRST_AND_SECOND_GENERATION = {"erlotinib", "gefitinib", "afatinib", "dacomitinib"}


def test_t790m_overrides_the_earlier_egfr_inhibitors_and_osimertinib_stays(kb, tmp_path):
    """LUAD with EGFR L858R + T790M: L858R's erlotinib, gefitinib, afatinib and dacomitinib rows are
    overridden by T790M's resistant rows (named in overridden_by); osimertinib is the option."""
    doc = A.run(kb, _vcf_of(tmp_path, [L858R, T790M]), None, "LUAD", "GRCh38")
    l858r = {r["therapies"]: r for r in doc["rows"] if r["alteration"] == "L858R"}
    for drug in FIRST_AND_SECOND_GENERATION:
        row = l858r[drug]
        assert (row["tier"], row["role"], row["overridden"]) == ("I-A", "therapy", True), drug
        (by,) = row["overridden_by"]
        assert (by["gene"], by["alteration"], by["tier"]) == ("EGFR", "T790M", "I-A") and "osimertinib" in by["reason"]
        assert kb.by_id[by["rule"]].therapy == drug and kb.by_id[by["rule"]].response == "resistant"
    assert l858r["osimertinib"]["overridden"] is False and l858r["osimertinib"]["overridden_by"] == []
    t790m = [r for r in doc["rows"] if r["alteration"] == "T790M"]
    assert {r["therapies"] for r in t790m if r["role"] == "resistance"} == FIRST_AND_SECOND_GENERATION
    assert [r["therapies"] for r in t790m if r["role"] == "therapy"] == ["osimertinib"]
    options = {o["therapy"]: o for o in doc["options"]}
    assert not FIRST_AND_SECOND_GENERATION & set(options)
    assert options["osimertinib"]["alterations"] == ["EGFR L858R", "EGFR T790M"]
    assert (options["osimertinib"]["tier"], options["osimertinib"]["rules"]) == ("I-A", ["A016", "A028"])
    (flag,) = doc["resistance_flags"]
    assert flag["alteration"] == "EGFR T790M" and set(flag["therapies"]) == FIRST_AND_SECOND_GENERATION
    assert {o["therapy"] for o in flag["overrides"]} == FIRST_AND_SECOND_GENERATION
    assert all(o["alterations"] == ["EGFR L858R"] for o in flag["overrides"])
    # without T790M the same drugs are L858R's options again: the override comes from the resistance row
    alone = A.run(kb, _vcf_of(tmp_path, [L858R]), None, "LUAD", "GRCh38")
    assert FIRST_AND_SECOND_GENERATION | {"osimertinib"} <= {o["therapy"] for o in alone["options"]}
    assert alone["resistance_flags"] == [] and not any(r["overridden"] for r in alone["rows"])


@pytest.mark.parametrize("tumour", ["SCLC", "BRCA"])
def test_another_tumour_types_resistance_stands_against_its_own_off_label_offers(kb, tmp_path, tumour):
    """In a small-cell transformation (or any type without EGFR rules of its own) L858R's NSCLC
    inhibitors are offered off-label at II-C: T790M's NSCLC resistance overrides them there too, and
    osimertinib is still the option; without such an offer another type's resistance is not tiered."""
    doc = A.run(kb, _vcf_of(tmp_path, [L858R, T790M]), None, tumour, "GRCh38")
    options = {o["therapy"] for o in doc["options"]}
    assert "osimertinib" in options and not FIRST_AND_SECOND_GENERATION & options
    (flag,) = doc["resistance_flags"]
    assert flag["alteration"] == "EGFR T790M" and flag["tier"] == "II-C"
    assert {o["therapy"] for o in flag["overrides"]} == FIRST_AND_SECOND_GENERATION
    alone = A.run(kb, _vcf_of(tmp_path, [T790M]), None, tumour, "GRCh38")
    assert alone["resistance_flags"] == []


def test_the_table_and_the_command_line_show_role_and_override(tmp_path, capsys):
    vcf, out, js = _vcf_of(tmp_path, [L858R, T790M]), tmp_path / "a.tsv", tmp_path / "a.json"
    args = ["actionable", "--vcf", str(vcf), "--build", "GRCh38", "--tumor-type", "LUAD", "--tsv", str(out)]
    assert main([*args, "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "I-A\tEGFR\tL858R\terlotinib\tsensitive\ttherapy\toverridden by A029 EGFR T790M\n" in printed
    assert "I-A\tEGFR\tT790M\terlotinib\tresistant\tresistance\n" in printed
    assert "I-A\tEGFR\tL858R\tosimertinib\tsensitive\ttherapy\n" in printed
    lines = out.read_text().splitlines()
    header = lines[0].split("\t")
    assert header[-3:] == ["role", "overridden", "overridden_by"]
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    by_key = {(r["alteration"], r["therapies"]): r for r in rows}
    assert (by_key["L858R", "dacomitinib"]["overridden"], by_key["L858R", "dacomitinib"]["overridden_by"]) == (
        "true", "A187 EGFR T790M")  # fmt: skip
    assert (by_key["L858R", "osimertinib"]["overridden"], by_key["L858R", "osimertinib"]["overridden_by"]) == (
        "false", ".")  # fmt: skip
    assert by_key["T790M", "gefitinib"]["role"] == "resistance"
    assert [o["therapy"] for o in json.loads(js.read_text())["options"]] == ["osimertinib", "amivantamab + lazertinib"]


def test_braf_v600e_colorectal_cetuximab_alone_is_resistance_not_the_combination(kb):
    """COAD with BRAF V600E: cetuximab and panitumumab alone are resistance rows, never options;
    encorafenib + cetuximab is compared as a whole regimen and stays the tier I-A option."""
    rows = A.match(kb, [variant("BRAF", {"missense"}, "V600E", 600)], "COAD", "GRCh38")
    role = {r["therapies"]: (r["role"], r["tier"], r["overridden"]) for r in rows if r["rule_tumor_type"] == "COADREAD"}
    assert role["cetuximab"] == role["panitumumab"] == ("resistance", "I-A", False)
    assert role["encorafenib + cetuximab"] == ("therapy", "I-A", False)
    options = A.therapy_options(rows)
    assert options[0]["therapy"] == "encorafenib + cetuximab" and options[0]["tier"] == "I-A"
    assert not {"cetuximab", "panitumumab", "vemurafenib"} & {o["therapy"] for o in options}
    (flag,) = A.resistance_flags(rows)
    assert (flag["alteration"], flag["therapies"], flag["overrides"]) == (
        "BRAF V600E", ["cetuximab", "panitumumab", "vemurafenib"], [])  # fmt: skip
    assert A.regimen("cetuximab + encorafenib") == A.regimen("encorafenib + cetuximab") != A.regimen("cetuximab")


def test_kras_g12d_colorectal_has_no_anti_egfr_option(kb):
    rows = A.match(kb, [variant("KRAS", {"missense"}, "G12D", 12)], "COAD", "GRCh38")
    resistance = {r["therapies"]: r["tier"] for r in rows if r["role"] == "resistance"}
    assert resistance == {"cetuximab": "I-A", "panitumumab": "I-A"}
    anti_egfr = {"cetuximab", "panitumumab"}
    assert not any(A.regimen(o["therapy"]) & anti_egfr for o in A.therapy_options(rows))
    assert [f["alteration"] for f in A.resistance_flags(rows)] == ["KRAS G12D"]


def test_another_tumour_types_resistance_is_not_tiered(kb):
    """PAAD with KRAS G12D: the colorectal anti-EGFR resistance rows do not appear at any tier; a
    variant whose only rules are another tumour type's resistance is tier III."""
    paad = A.match(kb, [variant("KRAS", {"missense"}, "G12D", 12)], "PAAD", "GRCh38")
    assert paad and all(r["rule_tumor_type"] == "PAAD" for r in paad)
    assert not {"cetuximab", "panitumumab"} & {r["therapies"] for r in paad}
    assert A.resistance_flags(paad) == [] and {r["role"] for r in paad} == {"therapy"}
    (g13d,) = A.match(kb, [variant("KRAS", {"missense"}, "G13D", 13)], "PAAD", "GRCh38")
    assert (g13d["tier"], g13d["role"], g13d["therapies"]) == ("III", ".", ".")
    # another tumour type's sensitive rows still stand at II-C: only resistance is kept to its own type
    lung = A.match(kb, [variant("BRAF", {"missense"}, "V600E", 600)], "LUAD", "GRCh38")
    colorectal = {(r["therapies"], r["role"], r["tier"]) for r in lung if r["rule_tumor_type"] == "COADREAD"}
    assert ("encorafenib + cetuximab", "therapy", "II-C") in colorectal
    assert {role for _t, role, _tier in colorectal} == {"therapy"}


def test_a_resistance_in_one_modality_overrides_a_therapy_of_another(kb):
    """The rule is the knowledge base's, not the code's: ALK G1202R (a small variant) overrides the
    EML4::ALK fusion's alectinib, and lorlatinib, sensitive for both, stays."""
    rows = A.match(kb, [variant("ALK", {"missense"}, "G1202R", 1202)], "LUAD", "GRCh38")
    rows = A.reconcile(kb, rows + A.match_fusions(kb, [fusion("EML4", "ALK")], "LUAD", "GRCh38"))
    fused = {r["therapies"]: r for r in rows if r["alteration"] == "EML4::ALK fusion"}
    assert fused["alectinib"]["overridden"] and fused["alectinib"]["overridden_by"][0]["rule"] == "A113"
    assert not fused["lorlatinib"]["overridden"]
    options = {o["therapy"]: o["alterations"] for o in A.therapy_options(rows)}
    assert "alectinib" not in options and options["lorlatinib"] == ["ALK G1202R", "EML4::ALK fusion"]
    assert A.reconcile(kb, rows) == rows  # marks are recomputed, not stacked


def test_the_findings_section_carries_the_reconciliation_and_fits_its_schema(kb, tmp_path):
    import jsonschema
    import yaml

    from seq2rx.core.data import data_path
    from seq2rx.findings.document import actionability_section

    path = tmp_path / "T.json"
    A.write_json(A.run(kb, _vcf_of(tmp_path, [L858R, T790M]), "T", "LUAD", "GRCh38"), path)
    section = actionability_section([{"sample": "T", "type": "tumor"}], {"T": path})
    schema = yaml.safe_load(data_path("schemas", "findings.schema.yaml").read_text())
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], **schema["properties"]["actionability"]})
    assert list(validator.iter_errors(section)) == []
    (sample,) = section["samples"]
    assert sample["options"][0]["therapy"] == "osimertinib" and sample["resistance_flags"][0]["gene"] == "EGFR"
    del sample["rows"][0]["role"]
    assert list(validator.iter_errors(section))
    stale = json.loads(path.read_text())
    del stale["options"]
    path.write_text(json.dumps(stale))
    with pytest.raises(InputError, match="T.json: has no reconciled options"):
        actionability_section([{"sample": "T", "type": "tumor"}], {"T": path})
