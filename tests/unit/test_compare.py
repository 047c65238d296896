"""Truth comparison: equal variants written differently still match."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_reference

from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.variants.compare import compare, trim

# contig with a CA repeat: deleting one CA at 11-12 is the same as deleting it at 13-14
SEQ = "GATTACAGTCCACACAGTTGCATGGACTTACGGATCCATGA" * 3


@pytest.fixture
def ref(tmp_path: Path) -> Path:
    return write_reference(tmp_path, "c1", SEQ)


def vcf(tmp_path: Path, name: str, rows: list[str], sample: str = "S") -> Path:
    head = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=c1,length={len(SEQ)}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FILTER=<ID=LowQual,Description="low">',
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}",
    ]
    path = tmp_path / name
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_left_shift_and_multiallelic_split_match(tmp_path, ref):
    # positions 11-16 are CACACA: deleting one CA left-aligns to POS 10 (anchor C)
    truth = vcf(
        tmp_path,
        "t.vcf",
        [
            "c1\t10\t.\tCCA\tC\t.\tPASS\t.\tGT\t0/1",
            "c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t1/1",
            "c1\t30\t.\tA\tT\t.\tPASS\t.\tGT\t0/1",
            "c1\t31\t.\tC\tT\t.\tPASS\t.\tGT\t0/1",
        ],
    )
    query = vcf(
        tmp_path,
        "q.vcf",
        [
            "c1\t14\t.\tACA\tA\t.\tPASS\t.\tGT\t0/1",  # same deletion, right-shifted
            "c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t1/1",
            "c1\t30\t.\tAC\tTT\t.\tPASS\t.\tGT\t0/1",  # MNV = the two SNVs
            "c1\t40\t.\tG\tA,C\t.\tPASS\t.\tGT\t1/2",  # multiallelic, both false positives
        ],
    )
    r = compare(truth, query, reference=ref)
    assert r["indel"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert (r["snv"]["tp"], r["snv"]["fp"], r["snv"]["fn"]) == (3, 2, 0)
    assert r["snv"]["precision"] == pytest.approx(0.6)
    assert r["false_positives"] == ["c1:40:G>A", "c1:40:G>C"]


def test_filtered_and_reference_calls_do_not_count(tmp_path, ref):
    truth = vcf(tmp_path, "t.vcf", ["c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    query = vcf(tmp_path, "q.vcf", ["c1\t20\t.\tG\tT\t.\tLowQual\t.\tGT\t0/1", "c1\t25\t.\tG\tA\t.\tPASS\t.\tGT\t0/0"])
    r = compare(truth, query, reference=ref)
    assert (r["snv"]["tp"], r["snv"]["fp"], r["snv"]["fn"]) == (0, 0, 1)
    r = compare(truth, query, reference=ref, pass_only=False)
    assert r["snv"]["tp"] == 1


def test_regions_restrict_both_sides(tmp_path, ref):
    truth = vcf(tmp_path, "t.vcf", ["c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t0/1", "c1\t60\t.\tT\tG\t.\tPASS\t.\tGT\t0/1"])
    query = vcf(tmp_path, "q.vcf", ["c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t0/1", "c1\t70\t.\tT\tA\t.\tPASS\t.\tGT\t0/1"])
    bed = tmp_path / "r.bed"
    bed.write_text("c1\t0\t50\n")
    r = compare(truth, query, reference=ref, regions=bed)
    assert (r["snv"]["tp"], r["snv"]["fp"], r["snv"]["fn"]) == (1, 0, 0)


def test_trim_keeps_an_anchor_base():
    assert trim(10, "AT", "AT") == (10, "A", "A")
    assert trim(5, "GCAT", "GCGT") == (7, "A", "G")


def test_cli_writes_json_and_prints_a_table(tmp_path, ref, capsys):
    truth = vcf(tmp_path, "t.vcf", ["c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    out = tmp_path / "r.json"
    assert (
        main(["compare-vcf", "--truth", str(truth), "--query", str(truth), "--reference", str(ref), "--json", str(out)])
        == 0
    )
    assert "SNV\t1\t0\t0\t1.0000\t1.0000\t1.0000" in capsys.readouterr().out
    assert '"f1": 1.0' in out.read_text()


def test_cli_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["compare-vcf", "--truth", str(tmp_path / "no.vcf"), "--query", str(tmp_path / "no.vcf")]) == 2
    assert "no.vcf: does not exist (check the path)" in capsys.readouterr().err


def test_a_short_record_is_named_with_its_line(tmp_path, ref):
    bad = tmp_path / "bad.vcf"
    bad.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nc1\t20\t.\tG\n")
    good = vcf(tmp_path, "t.vcf", ["c1\t20\t.\tG\tT\t.\tPASS\t.\tGT\t0/1"])
    with pytest.raises(InputError, match=r"bad.vcf, line 3: a VCF record needs 8 tab-separated columns, found 4"):
        compare(good, bad, reference=ref)
