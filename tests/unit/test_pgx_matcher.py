"""The star-allele matcher on small hand-made definitions: one test per tricky case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.pgx.definitions import GeneDefinition, Position
from seq2rx.pgx.guidance import parse_condition, read_guidance, recommend
from seq2rx.pgx.matcher import Call, GeneGenotypes, GeneMatcher
from seq2rx.pgx.pipeline import PgxKnowledge, read_outside_calls
from seq2rx.pgx.vcf import read_genotypes

REPO = Path(__file__).resolve().parents[2]

# a TPMT-like gene: *3A carries both variants, *3B and *3C one each, *17 sits on a third position,
# *16 and *22 are two different alternate alleles at one multiallelic position, *9 is an IUPAC cell
POSITIONS = [
    Position("G", "chr1", 100, "C", ("T",), "rs1"),
    Position("G", "chr1", 200, "T", ("C",), "rs2"),
    Position("G", "chr1", 300, "A", ("G",), "rs3"),
    Position("G", "chr1", 400, "C", ("T", "G"), "rs4"),
    Position("G", "chr1", 500, "G", ("A", "C"), "rs5"),
]
ALLELES = {
    "*1": {0: "C", 1: "T", 2: "A", 3: "C", 4: "G"},
    "*3A": {0: "T", 1: "C"},
    "*3B": {0: "T"},
    "*3C": {1: "C"},
    "*17": {2: "G"},
    "*16": {3: "T"},
    "*22": {3: "G"},
    "*9": {4: "M"},  # A or C
}


@pytest.fixture()
def matcher() -> GeneMatcher:
    return GeneMatcher(GeneDefinition("G", POSITIONS, ALLELES, "*1", "test", "2026-01-01"))


def genotypes(calls: dict[int, tuple[str, str]], phased: bool = False, missing=()) -> GeneGenotypes:
    g = GeneGenotypes("G")
    for k in range(len(POSITIONS)):
        if k in missing:
            g.missing[k] = "no reads"
        else:
            ref = POSITIONS[k].ref
            g.calls[k] = Call(calls.get(k, (ref, ref)), phased=phased, phase_set=1 if phased else None)
    return g


def names(result) -> list[str]:
    return [d.name for d in result.diplotypes]


def test_reference_sample_is_reference(matcher):
    assert names(matcher.match(genotypes({}))) == ["*1/*1"]


def test_unphased_prefers_the_more_specific_explanation(matcher):
    # two hets, unphased: *1/*3A (cis) outscores *3B/*3C (trans); both are candidates
    r = matcher.match(genotypes({0: ("C", "T"), 1: ("T", "C")}))
    assert names(r) == ["*1/*3A"]
    assert "*3B/*3C" in [d.name for d in r.candidates]


def test_phased_cis_and_trans(matcher):
    # rs1 C>T and rs2 T>C: both alternate alleles on the first haplotype (cis) is *3A
    assert names(matcher.match(genotypes({0: ("T", "C"), 1: ("C", "T")}, phased=True))) == ["*1/*3A"]
    # one on each haplotype (trans) is *3B/*3C
    assert names(matcher.match(genotypes({0: ("T", "C"), 1: ("T", "C")}, phased=True))) == ["*3B/*3C"]


def test_missing_position_is_never_reference(matcher):
    # rs3 (the only *17 position) missing: *1/*1 on what can be seen, *17 named as unassessable
    r = matcher.match(genotypes({}, missing={2}))
    assert names(r) == ["*1/*1"]
    assert r.missing_positions == ["chr1:300 (rs3): no reads"]
    assert any("*17" in w and "cannot be assessed" in w for w in r.warnings)


def test_ties_are_ambiguous_not_picked(matcher):
    # without rs1, a het at rs2 is *3A or *3C: tie, both reported
    r = matcher.match(genotypes({1: ("T", "C")}, missing={0}))
    assert names(r) == ["*1/*3A", "*1/*3C"]


def test_multiallelic_site(matcher):
    assert names(matcher.match(genotypes({3: ("T", "G")}))) == ["*16/*22"]


def test_iupac_cell_matches_either_base(matcher):
    assert names(matcher.match(genotypes({4: ("G", "C")}))) == ["*1/*9"]
    assert names(matcher.match(genotypes({4: ("G", "A")}))) == ["*1/*9"]


def test_unknown_allele_gives_a_partial_allele(matcher):
    r = matcher.match(genotypes({0: ("C", "G")}))  # G is not an allele the definition knows at rs1
    assert names(r) == ["*1/g.100C>G"]
    assert r.diplotypes[0].kind == "combination"
    assert any("an allele no definition names" in w for w in r.warnings)


def test_combination_of_named_alleles_on_one_strand(matcher):
    # *3B and *17 on the same phased strand: no named allele has both
    r = matcher.match(genotypes({0: ("T", "C"), 2: ("G", "A")}, phased=True))
    assert names(r) == ["*1/[*3B + *17]"]
    # unphased, the same genotypes are simply *3B/*17
    assert names(matcher.match(genotypes({0: ("T", "C"), 2: ("G", "A")}))) == ["*3B/*17"]


def test_lowest_function_gene():
    positions = [Position("DPYD", "chr1", 100 * (i + 1), "A", ("G",), f"rs{i}") for i in range(3)]
    alleles = {"Reference": {0: "A", 1: "A", 2: "A"}, "v1": {0: "G"}, "v2": {1: "G"}, "v3": {2: "G"}}
    m = GeneMatcher(
        GeneDefinition("DPYD", positions, alleles, "Reference", "t", "d"), {"v1": 1.0, "v2": 0.0, "v3": 0.5}
    )
    g = GeneGenotypes("DPYD", {k: Call(("A", "G")) for k in range(3)})
    r = m.match(g)
    assert names(r) == ["v2/v3"]  # the two lowest activity values
    assert r.diplotypes[0].found == ("v2", "v3", "v1")
    assert any("two lowest-function" in w for w in r.warnings)


def _write_vcf(path: Path, rows: list[str]) -> Path:
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=1000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    path.write_text("\n".join(header + rows) + "\n")
    return path


def test_vcf_reference_mismatch_is_a_warning_and_missing(tmp_path):
    d = {"G": GeneDefinition("G", POSITIONS, ALLELES, "*1", "t", "d")}
    vcf = _write_vcf(
        tmp_path / "x.vcf",
        [
            "chr1\t100\t.\tG\tT\t.\tPASS\t.\tGT:DP\t0/1:30",  # definition REF is C
            "chr1\t200\t.\tT\t.\t.\tPASS\t.\tGT:DP\t0/0:3",  # too shallow with min_depth 10
            "chr1\t400\t.\tC\tT,G\t.\tPASS\t.\tGT:DP\t1/2:30",
        ],
    )
    g = read_genotypes(vcf, d, min_depth=10)["S1"]["G"]
    assert 0 not in g.calls and "REF G in the VCF" in g.missing[0]
    assert any("does not match the definition" in w for w in g.warnings)
    assert g.missing[1] == "depth 3 < 10"
    assert g.missing[2] == "no record in the VCF"
    assert g.calls[3].alleles == ("T", "G")


def test_vcf_one_base_record_at_an_indel_position_is_reference(tmp_path):
    positions = [Position("G", "chr1", 100, "CAT", ("C",), "rs1")]
    d = {"G": GeneDefinition("G", positions, {"*1": {0: "CAT"}, "*2": {0: "C"}}, "*1", "t", "d")}
    vcf = _write_vcf(tmp_path / "x.vcf", ["chr1\t100\t.\tC\t.\t.\tPASS\t.\tGT\t0/0"])
    assert read_genotypes(vcf, d)["S1"]["G"].calls[0].alleles == ("CAT", "CAT")
    # a deletion written with extra context still maps onto the definition's allele
    vcf = _write_vcf(tmp_path / "y.vcf", ["chr1\t100\t.\tCATG\tCG\t.\tPASS\t.\tGT\t0/1"])
    assert read_genotypes(vcf, d)["S1"]["G"].calls[0].alleles == ("CAT", "C")


def test_vcf_unknown_sample_names_the_file(tmp_path):
    vcf = _write_vcf(tmp_path / "x.vcf", [])
    with pytest.raises(InputError, match=r"x\.vcf.*sample 'S9' is not in the VCF"):
        read_genotypes(vcf, {}, ["S9"])


@pytest.fixture(scope="module")
def kb() -> PgxKnowledge:
    return PgxKnowledge.load(REPO / "resources/kb/pgx")


def test_outside_calls(kb, tmp_path):
    path = tmp_path / "outside.tsv"
    path.write_text("# made elsewhere\nCYP2D6\t*1/*4\nHLA-B\t*57:01/*07:02\nMT-RNR1\tm.1555A>G\nG6PD\tB/A-\n")
    calls, warnings = read_outside_calls(path, kb)
    assert calls["CYP2D6"]["phenotype"] == "Intermediate Metabolizer"
    assert calls["CYP2D6"]["activity_score"] == 1.0
    assert calls["HLA-B"]["diplotypes"] == ["*57:01/*07:02"]
    # MT-RNR1 is read (one mitochondrial allele); a gene seq2rx has no knowledge of is reported
    assert calls["MT-RNR1"]["phenotype"] == "increased risk of aminoglycoside-induced hearing loss"
    assert len(warnings) == 1 and "G6PD" in warnings[0] and "line 5" in warnings[0]
    path.write_text("CYP2D6\t*1/*2x2\n")
    assert read_outside_calls(path, kb)[0]["CYP2D6"]["phenotype"] == "Ultrarapid Metabolizer"
    path.write_text("CYP2D6 *1/*4\n")
    with pytest.raises(InputError, match=r"line 1.*GENE<TAB>DIPLOTYPE"):
        read_outside_calls(path, kb)


def test_condition_grammar_and_matching(tmp_path):
    terms = parse_condition("CYP2C9=score:1.5; HLA-B=noncarrier:*15:02", "g.tsv", 2)
    genes = {
        "CYP2C9": {
            "status": "called",
            "diplotypes": ["*1/*2"],
            "phenotype": "Intermediate Metabolizer",
            "activity_score": 1.5,
        },
        "HLA-B": {"status": "outside call", "diplotypes": ["*57:01/*07:02"], "phenotype": None},
    }
    assert all(t.holds(genes[t.gene]) for t in terms)
    assert not parse_condition("HLA-B=carrier:*15:02", "g.tsv", 2)[0].holds(genes["HLA-B"])
    assert not parse_condition("CYP2D6=Poor Metabolizer", "g.tsv", 2)[0].holds(genes.get("CYP2D6"))
    # a combination call carries no named allele: neither carrier nor noncarrier holds
    combo = {"status": "combination", "diplotypes": ["*1/[*3 + *2]"], "phenotype": "Indeterminate"}
    assert not parse_condition("CYP4F2=noncarrier:*3", "g.tsv", 2)[0].holds(combo)
    with pytest.raises(InputError, match=r"g\.tsv, line 7, field 'condition'"):
        parse_condition("CYP2C9 Poor", "g.tsv", 7)
    bad = tmp_path / "guidance.tsv"
    bad.write_text("drug\tgenes\tcondition\trecommendation\tstrength\tguideline\tsource\tdate\n"
                   "x\tCYP2C9\tCYP2C19=Poor Metabolizer\tr\tStrong\tg\ts\t2020\n")  # fmt: skip
    with pytest.raises(InputError, match="not in genes"):
        read_guidance(bad)


def test_every_guidance_row_parses_and_covers_the_required_drugs(kb):
    drugs = {g.drug for g in kb.guidance}
    required = {
        "clopidogrel", "voriconazole", "citalopram", "escitalopram", "sertraline", "omeprazole", "warfarin",
        "phenytoin", "celecoxib", "simvastatin", "rosuvastatin", "fluorouracil", "capecitabine", "azathioprine",
        "mercaptopurine", "atazanavir", "tacrolimus", "efavirenz", "codeine", "tramadol", "ondansetron",
        "tamoxifen", "abacavir", "allopurinol", "carbamazepine",
    }  # fmt: skip
    assert required <= drugs, required - drugs
    assert all(g.source.startswith("http") and g.date[:4].isdigit() for g in kb.guidance)


def test_poor_metabolizer_gets_clopidogrel_guidance(kb):
    genes = {"CYP2C19": {"status": "called", "diplotypes": ["*2/*2"], "phenotype": "Poor Metabolizer",
                         "activity_score": None}}  # fmt: skip
    applied, unmatched = recommend(kb.guidance, genes)
    clop = [r for r in applied if r["drug"] == "clopidogrel"]
    assert len(clop) == 1 and clop[0]["phenotype"] == "CYP2C19 Poor Metabolizer"
    assert "prasugrel or ticagrelor" in clop[0]["recommendation"]
    codeine = [u for u in unmatched if u["drug"] == "codeine"]
    assert codeine and "CYP2D6 not called" in codeine[0]["reason"]


def test_hla_outside_calls_are_normalised(kb, tmp_path):
    """Carriers written in any common notation get the carrier row, never the noncarrier one."""
    path = tmp_path / "o.tsv"
    for written in ("HLA-B*57:01:01/HLA-B*07:02", "B*57:01/B*07:02", "*57:01 / *07:02:01"):
        path.write_text(f"HLA-B\t{written}\n")
        calls, _ = read_outside_calls(path, kb)
        assert calls["HLA-B"]["diplotypes"] == ["*57:01/*07:02"]
        applied, _ = recommend(kb.guidance, calls)
        abacavir = [r["phenotype"] for r in applied if r["drug"] == "abacavir"]
        assert abacavir == ["HLA-B carrier *57:01"], written
    path.write_text("HLA-B\tpositive/negative\n")
    with pytest.raises(InputError, match=r"line 1, field 'diplotype'.*not an HLA diplotype"):
        read_outside_calls(path, kb)


def test_phenotype_only_outside_call(kb, tmp_path):
    path = tmp_path / "o.tsv"
    path.write_text("CYP2D6\t\tPoor Metabolizer\n")
    calls, _ = read_outside_calls(path, kb)
    applied, _ = recommend(kb.guidance, calls)
    assert [r["phenotype"] for r in applied if r["drug"] == "codeine"] == ["CYP2D6 Poor Metabolizer"]
    path.write_text("CYP2D6\t\tpoor metabolizer\n")
    with pytest.raises(InputError, match="field 'phenotype'.*not a CYP2D6 phenotype"):
        read_outside_calls(path, kb)
    path.write_text("CYP2D6\t*1/*4\t\tnan\n")
    with pytest.raises(InputError, match="activity score 'nan' is not a number"):
        read_outside_calls(path, kb)


def test_split_multiallelic_records_are_merged(tmp_path):
    d = {"G": GeneDefinition("G", POSITIONS, ALLELES, "*1", "t", "d")}
    rows = ["chr1\t400\t.\tC\tT\t.\tPASS\t.\tGT\t1/0", "chr1\t400\t.\tC\tG\t.\tPASS\t.\tGT\t0/1"]
    g = read_genotypes(_write_vcf(tmp_path / "a.vcf", rows), d)["S1"]["G"]
    assert sorted(g.calls[3].alleles) == ["G", "T"]
    rows = ["chr1\t300\t.\tA\t.\t.\tPASS\t.\tGT\t0/0", "chr1\t300\t.\tA\tG\t.\tPASS\t.\tGT\t1/1"]
    g = read_genotypes(_write_vcf(tmp_path / "b.vcf", rows), d)["S1"]["G"]
    assert g.calls[2].alleles == ("G", "G")


def test_grch37_vcf_is_refused(tmp_path):
    vcf = (
        _write_vcf(tmp_path / "x.vcf", [])
        .read_text()
        .replace("##contig=<ID=chr1,length=1000>", "##contig=<ID=10,length=135534747>")
    )
    (tmp_path / "x.vcf").write_text(vcf)
    with pytest.raises(InputError, match="GRCh37 length"):
        read_genotypes(tmp_path / "x.vcf", {})


def test_nested_alleles_are_not_counted_twice():
    """HapB3-like: 'hap' names positions 0 and 1, 'intr' only 0; one heterozygous copy of each
    position is one hap, not an intr and a hap on different chromosomes."""
    positions = [Position("DPYD", "chr1", 100 * (i + 1), "A", ("G",), f"rs{i}") for i in range(3)]
    alleles = {"Reference": {0: "A", 1: "A", 2: "A"}, "intr": {0: "G"}, "hap": {0: "G", 1: "G"}, "v": {2: "G"}}
    m = GeneMatcher(GeneDefinition("DPYD", positions, alleles, "Reference", "t", "d"),
                    {"intr": 1.0, "hap": 0.5, "v": 0.0})  # fmt: skip
    g = GeneGenotypes("DPYD", {0: Call(("A", "G")), 1: Call(("A", "G")), 2: Call(("G", "G"))})
    r = m.match(g)
    assert r.diplotypes[0].found == ("v", "v", "hap")
    assert [d.name for d in r.diplotypes] == ["v/v"]


def test_cli_pgx_json(tmp_path, capsys):
    vcf = (
        _write_vcf(
            tmp_path / "p.vcf",
            ["chr10\t94781859\t.\tG\tA\t.\tPASS\t.\tGT\t1/1"],
        )
        .read_text()
        .replace("##contig=<ID=chr1,length=1000>", "##contig=<ID=chr10,length=135000000>")
    )
    (tmp_path / "p.vcf").write_text(vcf)
    out = tmp_path / "out.json"
    assert main(["pgx", "--vcf", str(tmp_path / "p.vcf"), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc) >= {"sample", "genes", "recommendations", "warnings"}
    cyp2c19 = doc["genes"]["CYP2C19"]
    # one record only: *3 and *17 (AMP tier-1) cannot be seen, so the call is blocked
    assert len(cyp2c19["missing_positions"]) == 34
    assert cyp2c19["status"] == "not called" and cyp2c19["phenotype"] is None
    assert any("blocked: 2 of 3 AMP tier-1 alleles" in w for w in cyp2c19["warnings"])
    assert not [r for r in doc["recommendations"] if "CYP2C19" in r["genes"]]
    assert main(["pgx", "--vcf", str(tmp_path / "nope.vcf"), "--json", str(out)]) == 2
    assert "nope.vcf" in capsys.readouterr().err
