"""PGx on VCFs from elsewhere (issue 17): a tumour VCF with FILTER-failed records and genotypes
that contradict their own allele fractions, a multi-sample VCF, and a cohort VCF of variant sites
only. The VCFs are written here, at the knowledge base's real GRCh38 CYP2C19 and VKORC1
positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2rx.core.data import data_path
from seq2rx.pgx.pipeline import PgxKnowledge, call_vcf
from seq2rx.pgx.vcf import contradiction, read_genotypes

RS12248560 = 94761900  # CYP2C19 *17 (AMP tier 1)
RS4244285 = 94781859  # CYP2C19 *2
RS12769205 = 94775367  # on the *2 haplotype too
RS3758581 = 94842866  # the *1 / *38 position
RS9923231 = 31096368  # VKORC1 -1639G>A


@pytest.fixture(scope="module")
def kb() -> PgxKnowledge:
    return PgxKnowledge.load(data_path("kb", "pgx"))


def write_vcf(path: Path, rows: list[str], samples=("TUMOR",)) -> Path:
    head = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=WeakSomatic,Description="weak somatic evidence">',
        '##FILTER=<ID=NormalSupport,Description="alt reads in the normal">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">',
        "##contig=<ID=chr10,length=133797422>",
        "##contig=<ID=chr16,length=90338345>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    path.write_text("\n".join(head + rows) + "\n")
    return path


def cyp2c19_rows(kb: PgxKnowledge, calls: dict[int, str], skip=(), filters: dict[int, str] | None = None) -> list[str]:
    """A record at every CYP2C19 position: reference (0/0, AD 30,0) unless ``calls`` gives
    ``GT:AD`` with its ALT as ``pos -> "ALT GT:AD"``."""
    out = []
    filters = filters or {}
    for p in kb.definitions["CYP2C19"].positions:
        if p.pos in skip:
            continue
        alt, fmt = calls[p.pos].split(" ") if p.pos in calls else ("<*>", "0/0:30,0")
        out.append(f"chr10\t{p.pos}\t{p.rsid}\t{p.ref}\t{alt}\t50\t{filters.get(p.pos, 'PASS')}\t.\tGT:AD\t{fmt}")
    return out


#: one copy of *2 (its two variant positions besides rs3758581)
STAR2_HET = {RS4244285: "A 0/1:12,14", RS12769205: "G 0/1:13,13"}


def test_contradiction_rules():
    assert contradiction((0, 0), [0.5, 0.5])  # 0/0 with AF 0.5
    assert contradiction((1, 1), [0.9, 0.1])  # 1/1 with AF 0.1
    assert contradiction((0, 1), [0.0, 1.0])  # 0/1 with AF 1
    assert not contradiction((0, 1), [0.3, 0.7])  # a tumour's allelic imbalance is no contradiction
    assert not contradiction((1, 1), [0.1, 0.9])
    assert not contradiction((0, 0), [0.95, 0.05])


def test_tumour_vcf_gt_against_af_and_missing_tier1(tmp_path, kb):
    """The issue's tumour: 0/1 with AF 1 at rs3758581 (the matched normal is *1/*2, the tumour
    read *2/*38, called), and rs12248560 (*17) without a record."""
    rows = cyp2c19_rows(kb, {**STAR2_HET, RS3758581: "G 0/1:0,25"}, skip=(RS12248560,))
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "t.vcf", rows))
    r = doc["genes"]["CYP2C19"]
    # rs3758581 cannot be used: *1 and *38 cannot be told apart, and the normal's *1/*2 is back
    assert r["diplotypes"] == ["*1/*2", "*2/*38"]
    assert r["status"] == "ambiguous"
    assert any("chr10:94842866: genotype 0/1 contradicts the sample's own AD 0,25" in w for w in r["warnings"])
    missing = "\n".join(r["missing_positions"])
    assert "rs3758581" in missing and "rs12248560" in missing
    # both *17 positions missing: not tested at all
    assert "CYP2C19 *17 not tested (positions missing)" in r["caveats"]


def test_missing_tier1_position_alone_gives_incomplete(tmp_path, kb):
    """Everything called but rs12248560: *17's other position (rs3758581) is called, so *17 is
    not 'untestable' in the matcher's sense, yet the call must be incomplete, never called."""
    rows = cyp2c19_rows(kb, {**STAR2_HET, RS3758581: "G 1/1:0,25"}, skip=(RS12248560,))
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "t.vcf", rows))
    r = doc["genes"]["CYP2C19"]
    assert r["status"] == "incomplete"
    assert r["diplotypes"] == ["*1/*2"]
    with_it = cyp2c19_rows(kb, {**STAR2_HET, RS3758581: "G 1/1:0,25"})
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "all.vcf", with_it))
    assert doc["genes"]["CYP2C19"]["status"] == "called"
    assert doc["genes"]["CYP2C19"]["diplotypes"] == ["*1/*2"]


def test_filter_failed_records_at_pgx_positions(tmp_path, kb):
    """WeakSomatic at the *2 position and NormalSupport at VKORC1: neither record is used unless
    the FILTER is configured."""
    rows = cyp2c19_rows(kb, {**STAR2_HET, RS3758581: "G 1/1:0,25"}, filters={RS4244285: "WeakSomatic"})
    rows.append(f"chr16\t{RS9923231}\trs9923231\tC\tT\t50\tNormalSupport\t.\tGT:AD\t0/1:15,15")
    vcf = write_vcf(tmp_path / "t.vcf", rows)
    (doc,) = call_vcf(kb, vcf)
    cyp, vk = doc["genes"]["CYP2C19"], doc["genes"]["VKORC1"]
    assert any("chr10:94781859: FILTER WeakSomatic (not one of PASS)" in w for w in cyp["warnings"])
    # without rs4244285, the *2 carrier could as well carry *35 (rs12769205 alone)
    assert cyp["diplotypes"] == ["*1/*2", "*1/*35"]
    assert vk["status"] == "not called" and vk["diplotypes"] == []
    assert any("FILTER NormalSupport" in w for w in vk["warnings"])
    assert "vcf_reading" not in doc
    (doc,) = call_vcf(kb, vcf, filters=["PASS", "WeakSomatic", "NormalSupport"])
    assert doc["genes"]["CYP2C19"]["diplotypes"] == ["*1/*2"]
    assert doc["genes"]["VKORC1"]["diplotypes"] != []
    assert doc["vcf_reading"] == {"filters": ["NormalSupport", "PASS", "WeakSomatic"], "absent_as_reference": False}


def test_filter_dot_passes(tmp_path, kb):
    rows = [r.replace("\tPASS\t", "\t.\t") for r in cyp2c19_rows(kb, {**STAR2_HET, RS3758581: "G 1/1:0,25"})]
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "t.vcf", rows))
    assert doc["genes"]["CYP2C19"]["diplotypes"] == ["*1/*2"]


def test_multi_sample_vcf_each_column_its_own_call(tmp_path, kb):
    rows = [
        r.replace("\tGT:AD\t0/0:30,0", "\tGT:AD\t0/0:30,0\t0/0:30,0")
        for r in cyp2c19_rows(kb, {}, skip=(RS4244285, RS3758581, RS12769205))
    ]
    rows += [
        f"chr10\t{RS4244285}\trs4244285\tG\tA\t50\tPASS\t.\tGT:AD\t0/1:12,14\t1/1:0,30",
        f"chr10\t{RS12769205}\trs12769205\tA\tG\t50\tPASS\t.\tGT:AD\t0/1:12,14\t1/1:0,30",
        f"chr10\t{RS3758581}\trs3758581\tA\tG\t50\tPASS\t.\tGT:AD\t1/1:0,25\t1/1:0,30",
    ]
    vcf = write_vcf(tmp_path / "m.vcf", sorted(rows, key=lambda r: int(r.split("\t")[1])), samples=("NORMAL", "TUMOR"))
    docs = {d["sample"]: d for d in call_vcf(kb, vcf)}
    assert docs["NORMAL"]["genes"]["CYP2C19"]["diplotypes"] == ["*1/*2"]
    assert docs["TUMOR"]["genes"]["CYP2C19"]["diplotypes"] == ["*2/*2"]


def test_absent_as_reference_for_a_sites_only_cohort_vcf(tmp_path, kb):
    """A 1000 Genomes-style VCF: only the *2 site. Off (the default), CYP2C19 cannot be called;
    on, the absent positions are reference and the result says so."""
    rows = [
        f"chr10\t{RS12769205}\trs12769205\tA\tG\t.\tPASS\t.\tGT\t0|1\t0|0",
        f"chr10\t{RS4244285}\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0|1\t0|0",
        f"chr10\t{RS3758581}\trs3758581\tA\tG\t.\tPASS\t.\tGT\t1|1\t1|1",
    ]
    vcf = write_vcf(tmp_path / "kg.vcf", rows, samples=("HG00096", "HG00097"))
    off = {d["sample"]: d for d in call_vcf(kb, vcf)}
    assert off["HG00096"]["genes"]["CYP2C19"]["status"] != "called"
    assert "vcf_reading" not in off["HG00096"]
    on = {d["sample"]: d for d in call_vcf(kb, vcf, absent_as_reference=True)}
    assert on["HG00096"]["genes"]["CYP2C19"]["diplotypes"] == ["*1/*2"]
    assert on["HG00096"]["genes"]["CYP2C19"]["status"] == "called"
    assert on["HG00097"]["genes"]["CYP2C19"]["diplotypes"] == ["*1/*1"]
    assert on["HG00096"]["vcf_reading"] == {"filters": ["PASS"], "absent_as_reference": True}
    assert any("absent_as_reference was used" in w for w in on["HG00096"]["warnings"])
    g = read_genotypes(vcf, {"CYP2C19": kb.definitions["CYP2C19"]}, ["HG00096"], absent_as_reference=True)
    assert any("32 definition position(s) without a record" in w for w in g["HG00096"]["CYP2C19"].warnings)


def test_absent_as_reference_reaches_the_findings(tmp_path, kb):
    """The report renders the findings' PGx warnings: the option's use is among them."""
    from seq2rx.findings.document import pgx_section
    from seq2rx.pgx.pipeline import write_json

    rows = [f"chr10\t{RS4244285}\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0|1"]
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "kg.vcf", rows, samples=("S1",)), absent_as_reference=True)
    write_json(doc, tmp_path / "S1.json")
    section = pgx_section([{"sample": "S1", "type": "germline"}], {"S1": tmp_path / "S1.json"})
    assert any(w.startswith("absent_as_reference was used") for w in section["warnings"])


def test_undeclared_format_tag_at_a_definition_position_stops(tmp_path, kb):
    """htslib would read an undeclared VAF as text and the GT/VAF check could not run: stop."""
    from seq2rx.core.errors import InputError

    rows = [f"chr10\t{RS4244285}\trs4244285\tG\tA\t50\tPASS\t.\tGT:VAF\t0/1:0.99"]
    with pytest.raises(InputError, match="FORMAT tag 'VAF' at chr10:94781859 is not declared in the header"):
        call_vcf(kb, write_vcf(tmp_path / "t.vcf", rows))


def test_absent_as_reference_only_on_contigs_the_vcf_holds(tmp_path, kb):
    """A per-chromosome cohort file (chr10 only) says nothing about VKORC1 on chr16."""
    rows = [f"chr10\t{RS4244285}\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0|1"]
    (doc,) = call_vcf(kb, write_vcf(tmp_path / "chr10.vcf", rows, samples=("S1",)), absent_as_reference=True)
    assert doc["genes"]["VKORC1"]["status"] == "not called"
    assert doc["genes"]["VKORC1"]["missing_positions"] == ["chr16:31096368 (rs9923231): no record in the VCF"]
    assert doc["genes"]["CYP2C19"]["missing_positions"] == []


def test_absent_as_reference_same_with_an_index(tmp_path, kb):
    import pysam

    rows = [f"chr10\t{RS4244285}\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0|1"]
    plain = write_vcf(tmp_path / "chr10.vcf", rows, samples=("S1",))
    (unindexed,) = call_vcf(kb, plain, absent_as_reference=True)
    indexed_path = pysam.tabix_index(str(plain), preset="vcf", force=True, keep_original=True)
    (indexed,) = call_vcf(kb, indexed_path, absent_as_reference=True)
    assert indexed["genes"] == unindexed["genes"]
