"""A VCF from the sample sheet is checked against the reference before it is used."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from conftest import htslib_warnings, write_reference

from seq2rx.core.errors import InputError
from seq2rx.variants.bcftools import clean_header
from seq2rx.variants.inputs import check_input_vcf, normalise_input, scan_input_vcf

SEQ = "GATTACAGTCCACACAGTTGCATGGACTTACGGATCCATGA" * 5


@pytest.fixture
def ref(tmp_path: Path) -> Path:
    return write_reference(tmp_path, "chr1", SEQ)


def vcf(tmp_path: Path, rows: list[str], contig: str = "chr1", fmt: bool = True) -> Path:
    head = ["##fileformat=VCFv4.2", f"##contig=<ID={contig},length={len(SEQ)}>"]
    if fmt:
        head.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1")
    else:
        head.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    path = tmp_path / "in.vcf"
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_good_vcf_passes_and_is_normalised(tmp_path, ref):
    path = vcf(tmp_path, ["chr1\t20\t.\tG\tT,C\t50\tPASS\t.\tGT\t1/2"])
    assert check_input_vcf(path, ref) == "S1"
    out = tmp_path / "out.vcf.gz"
    normalise_input(path, ref, out, "S1")
    with pysam.VariantFile(str(out)) as fh:
        assert [(r.pos, r.alts) for r in fh] == [(20, ("T",)), (20, ("C",))]
    assert (tmp_path / "out.vcf.gz.tbi").exists()


def test_chr_naming_mismatch(tmp_path, ref):
    path = vcf(tmp_path, ["1\t20\t.\tG\tT\t50\tPASS\t.\tGT\t0/1"], contig="1")
    with pytest.raises(InputError, match="uses contig name '1' where the reference has 'chr1'"):
        check_input_vcf(path, ref)


def test_other_build_detected_by_reference_alleles(tmp_path, ref):
    rows = [f"chr1\t{p}\t.\t{'T' if SEQ[p - 1] != 'T' else 'A'}\tC\t50\tPASS\t.\tGT\t0/1" for p in range(3, 60, 5)]
    with pytest.raises(
        InputError,
        match=r"REF disagrees with the reference at 12 of 12 positions .*another genome build than the configured GRCh38",
    ):
        check_input_vcf(vcf(tmp_path, rows), ref, build="GRCh38")


def test_no_genotypes(tmp_path, ref):
    path = vcf(tmp_path, ["chr1\t20\t.\tG\tT\t50\tPASS\t."], fmt=False)
    with pytest.raises(InputError, match=r"field 'FORMAT/GT': has no genotypes"):
        check_input_vcf(path, ref)


def test_empty_vcf(tmp_path, ref):
    with pytest.raises(InputError, match="holds no variant records"):
        check_input_vcf(vcf(tmp_path, []), ref)


def test_not_a_vcf(tmp_path, ref):
    path = tmp_path / "x.vcf"
    path.write_text("this is not a VCF\n")
    with pytest.raises(InputError, match="cannot be read as VCF/BCF"):
        check_input_vcf(path, ref)


def test_clean_header_declares_mq_as_the_specification_does(tmp_path):
    """bcftools mpileup's ##INFO MQ Type=Integer makes htslib warn on every read; only the
    declaration changes, the value reads the same."""
    path = tmp_path / "mq.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=205>\n"
        '##INFO=<ID=MQ,Number=1,Type=Integer,Description="Average mapping quality">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        "chr1\t20\t.\tG\tT\t50\tPASS\tMQ=60\tGT\t0/1\n"
    )
    assert any("MQ should be declared as Type=Float" in w for w in htslib_warnings(path))
    out = tmp_path / "clean.vcf.gz"
    clean_header(path, out, extra=["##seq2rx_input_note=a note"])
    assert htslib_warnings(out) == []
    with pysam.VariantFile(str(out)) as fh:
        assert fh.header.info["MQ"].type == "Float"
        assert [r.info["MQ"] for r in fh] == [60.0]
        assert "##seq2rx_input_note=a note" in str(fh.header)


def test_few_records_one_wrong_ref_stops(tmp_path, ref):
    """Before: fewer than 5 SNVs skipped the build check and a wrong REF went through."""
    wrong = "T" if SEQ[29] != "T" else "A"
    rows = [f"chr1\t10\t.\t{SEQ[9]}\tC\t50\tPASS\t.\tGT\t0/1", f"chr1\t30\t.\t{wrong}\tC\t50\tPASS\t.\tGT\t0/1"]
    with pytest.raises(InputError, match="at 1 of 2 positions .* with fewer than 20 records every REF must match"):
        check_input_vcf(vcf(tmp_path, rows), ref)


def test_indel_ref_is_checked_too(tmp_path, ref):
    rows = [f"chr1\t10\t.\t{SEQ[9]}GG\t{SEQ[9]}\t50\tPASS\t.\tGT\t0/1"]  # SEQ[10:12] is not GG
    assert SEQ[10:12] != "GG"
    with pytest.raises(InputError, match="at 1 of 1 positions"):
        check_input_vcf(vcf(tmp_path, rows), ref)


def _row(pos: int, ref: str | None = None) -> str:
    ref = ref or SEQ[pos - 1]
    return f"chr1\t{pos}\t.\t{ref}\t{'C' if ref != 'C' else 'G'}\t50\tPASS\t.\tGT\t0/1"


def test_many_records_tolerate_one_mismatch(tmp_path, ref):
    """With 20 or more records checked, up to 5% may disagree (IUPAC codes, patched references)."""
    rows = [_row(p) for p in range(1, 200, 8)]
    wrong = 41
    rows[5] = _row(wrong, "A" if SEQ[wrong - 1] != "A" else "G")
    assert len(rows) == 25 and rows[5].split("\t")[1] == "41"
    assert check_input_vcf(vcf(tmp_path, rows), ref) == "S1"


def test_unsorted_is_reported_not_refused(tmp_path, ref):
    rows = [_row(p) for p in (30, 10, 50)]
    check = scan_input_vcf(vcf(tmp_path, rows), ref)
    assert (check.is_sorted, check.unsorted_line, check.records) == (False, 6, 3)
    out = tmp_path / "out.vcf.gz"
    notes = normalise_input(tmp_path / "in.vcf", ref, out, "S1")
    assert notes == [
        "the supplied VCF in.vcf was not sorted by position (first out of order: line 6); seq2rx sorted it"
    ]
    with pysam.VariantFile(str(out)) as fh:
        assert [r.pos for r in fh] == [10, 30, 50]
    assert htslib_warnings(out) == []


def test_vcf_sample_picks_the_column(tmp_path, ref):
    path = tmp_path / "pair.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=205>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
        f"chr1\t20\t.\t{SEQ[19]}\tT\t50\tPASS\t.\tGT\t0/0\t0/1\n"
    )
    out = tmp_path / "out.vcf.gz"
    normalise_input(path, ref, out, "T1", vcf_sample="TUMOR")
    with pysam.VariantFile(str(out)) as fh:
        assert list(fh.header.samples) == ["TUMOR"]
        assert [r.samples["TUMOR"]["GT"] for r in fh] == [(0, 1)]
    with pytest.raises(InputError, match="has no sample column 'TUMOUR'.*NORMAL, TUMOR"):
        normalise_input(path, ref, tmp_path / "x.vcf.gz", "T1", vcf_sample="TUMOUR")
    assert not (tmp_path / "x.vcf.gz").exists()
