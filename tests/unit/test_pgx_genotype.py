"""Every definition position is genotyped; a position without reads is missing, never reference."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from conftest import htslib_warnings

from seq2rx.pgx.genotype import genotype_positions, position_table, write_table
from seq2rx.reads.align import align_unsorted, build_index, sort_markdup

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def p1_sites(small_demo, tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("pgx")
    index = build_index(small_demo / "genome.fa.gz", tmp / "index", "bwa")
    align_unsorted(
        small_demo / "reads/P1_R1.fastq.gz", small_demo / "reads/P1_R2.fastq.gz", index, tmp / "u.bam", "P1", threads=2
    )
    sort_markdup(tmp / "u.bam", tmp / "P1.bam", tmp / "md.txt", threads=2)
    # the knowledge base's positions plus one in the N padding, where no read can be
    positions = tmp / "positions.tsv"
    text = (REPO / "resources/kb/pgx/positions.tsv").read_text()
    positions.write_text(text + "TOY\tchr10\t1000000\tN\t.\t.\tGRCh38\ttest\t2026-11-25\n")
    out = tmp / "P1.sites.vcf.gz"
    genotype_positions(tmp / "P1.bam", small_demo / "genome.fa.gz", positions, out, "P1")
    return positions, out


def test_every_position_is_reported_and_most_are_called(p1_sites):
    positions, vcf = p1_sites
    rows = position_table(positions, vcf, min_depth=5)  # the small demo is at 12x
    assert len(rows) == 425
    called = [r for r in rows if r["status"] == "called"]
    assert len(called) / len(rows) > 0.95
    # reference calls are emitted too: most positions are homozygous reference in P1
    assert sum(r["genotype"] == "0/0" for r in called) > 350


def test_planted_star_allele_positions(p1_sites):
    positions, vcf = p1_sites
    rows = {(r["chrom"], int(r["pos"])): r for r in position_table(positions, vcf, min_depth=5)}
    assert rows[("chr10", 94781859)]["genotype"] == "1/1"  # CYP2C19*2 rs4244285, P1 is *2/*2
    assert rows[("chr10", 94781859)]["alleles"] == "A/A"
    assert rows[("chr12", 21178615)]["genotype"] == "0/1"  # SLCO1B1*5, P1 is *1/*5
    assert rows[("chr10", 94981296)]["genotype"] == "0/0"  # CYP2C9*3 absent: a called reference


def test_no_reads_means_missing_not_reference(p1_sites, tmp_path):
    positions, vcf = p1_sites
    rows = position_table(positions, vcf, min_depth=5)
    toy = next(r for r in rows if r["gene"] == "TOY")
    assert toy["status"] == "missing: no reads" and toy["genotype"] == "."
    strict = position_table(positions, vcf, min_depth=1000)
    assert all(r["status"] != "called" for r in strict)
    assert strict[0]["status"].startswith("missing: depth ")
    write_table(rows, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text().splitlines()[0].split("\t")[-1] == "status"


def test_a_base_and_an_indel_at_one_position_are_kept_apart(tmp_path):
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        "\n".join([
            "##fileformat=VCFv4.2", "##contig=<ID=chr1,length=1000>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
            "chr1\t100\t.\tT\t.\t50\tPASS\t.\tGT:DP\t0/0:30",
            "chr1\t100\t.\tTG\tT\t50\tPASS\t.\tGT:DP\t0/1:30",
            "chr1\t200\t.\tC\t.\t50\tPASS\t.\tGT:DP\t0/0:30",
        ]) + "\n"
    )  # fmt: skip
    positions = tmp_path / "positions.tsv"
    header = "gene\tchrom\tpos\tref\talts\trsid\tbuild\tsource\tdate\n"
    positions.write_text(
        header
        + "G\tchr1\t100\tT\tC\trs1\tGRCh38\tt\t2026\n"  # a SNV definition at the indel's anchor base
        + "G\tchr1\t100\tTG\tT\trs2\tGRCh38\tt\t2026\n"  # the indel definition itself
        + "G\tchr1\t200\tCA\tC\trs3\tGRCh38\tt\t2026\n"  # an indel position with no indel evidence
    )
    rows = position_table(positions, vcf, min_depth=8)
    assert [r["genotype"] for r in rows] == ["0/0", "0/1", "0/0"]
    assert rows[1]["alleles"] == "TG/T"


def test_sites_vcf_header_passes_bcftools_without_a_warning(p1_sites):
    """bcftools mpileup declares INFO/MQ an Integer; htslib wants the specification's Float and
    warned on every read of our VCFs ("MQ should be declared as Type=Float")."""
    _, vcf = p1_sites
    assert htslib_warnings(vcf) == []
    with pysam.VariantFile(str(vcf)) as fh:
        assert fh.header.info["MQ"].type == "Float"
        assert "##reference=genome.fa.gz" in str(fh.header)  # no folder
