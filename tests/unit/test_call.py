"""A VCF from the sample sheet is checked against the reference before it is used."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from conftest import write_reference

from seq2rx.core.errors import InputError
from seq2rx.variants.inputs import check_input_vcf, normalise_input

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
