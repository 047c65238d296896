"""Consequences of the demo's hotspots, derived twice: bcftools csq and Biopython."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from seq2rx.cli import main
from seq2rx.variants.annotate import annotate, consequence_rows, phasing, run_csq, trim_variant

HOTSPOTS = [
    ("chr7", 140753336, "A", "T", "BRAF", "600V>600E", "p.Val600Glu", -2, 121),
    ("chr12", 25245350, "C", "T", "KRAS", "12G>12D", "p.Gly12Asp", -1, 94),
    ("chr7", 55191822, "T", "G", "EGFR", "858L>858R", "p.Leu858Arg", -2, 102),
    ("chr3", 179234297, "A", "G", "PIK3CA", "1047H>1047R", "p.His1047Arg", 0, 29),
    ("chr7", 55181378, "C", "T", "EGFR", "790T>790M", "p.Thr790Met", -1, 81),
    ("chr7", 55174771, "AGGAATTAAGAGAAGC", "A", "EGFR", "745KELREA>745K", "p.Glu746_Ala750del", None, None),
]


def vcf(path: Path, rows: list[tuple], phased: bool = False) -> Path:
    contigs = {"chr3": 198295559, "chr7": 159345973, "chr12": 133275309}
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items())]
    head += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    order = {"chr3": 0, "chr7": 1, "chr12": 2}
    gt = "0|1" if phased else "0/1"
    body = [
        f"{r[0]}\t{r[1]}\t.\t{r[2]}\t{r[3]}\t50\tPASS\t.\tGT\t{gt}"
        for r in sorted(rows, key=lambda r: (order[r[0]], r[1]))
    ]
    path.write_text("\n".join(head + body) + "\n")
    return path


@pytest.fixture(scope="module")
def hotspot_rows(small_demo, tmp_path_factory) -> dict[tuple, dict]:
    tmp = tmp_path_factory.mktemp("annot")
    src = vcf(tmp / "hot.vcf", [h[:4] for h in HOTSPOTS])
    out = tmp / "hot.tsv"
    annotate(src, small_demo / "genome.fa.gz", small_demo / "genes.gff3", out, out_vcf=tmp / "hot.csq.vcf.gz")
    lines = out.read_text().splitlines()
    cols = lines[0].split("\t")
    rows = [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]
    return {(r["chrom"], int(r["pos"])): r for r in rows}


@pytest.mark.parametrize("hot", HOTSPOTS, ids=lambda h: f"{h[4]}:{h[6]}")
def test_hotspots_translate_as_published(hotspot_rows, hot):
    chrom, pos, _ref, _alt, gene, csq, hgvs, blosum, grantham = hot
    row = hotspot_rows[(chrom, pos)]
    assert row["gene"] == gene and row["biotype"] == "protein_coding"
    assert row["aa_change_csq"] == csq  # bcftools csq
    assert row["aa_change"] == csq and row["aa_change_agrees"] == "true"  # Biopython, independently
    assert row["hgvs_p"] == hgvs
    assert row["blosum62"] == ("." if blosum is None else str(blosum))
    assert row["grantham"] == ("." if grantham is None else str(grantham))


def test_consequence_classes(hotspot_rows):
    assert hotspot_rows[("chr7", 140753336)]["consequence"] == "missense"
    assert hotspot_rows[("chr7", 55174771)]["consequence"] == "inframe_deletion"
    assert hotspot_rows[("chr7", 140753336)]["protein_length"] == "766"


def test_two_changes_in_one_codon_make_one_amino_acid_change(small_demo, tmp_path):
    # KRAS codon 12 (GGT, minus strand: genomic 25245349-25245351 = ACC): c.34G>T and c.35G>A
    codon12 = [("chr12", 25245351, "C", "A"), ("chr12", 25245350, "C", "T")]
    fasta, gff3 = small_demo / "genome.fa.gz", small_demo / "genes.gff3"
    for phased, expected in ((True, {"12G>12Y"}), (False, {"12G>12C", "12G>12D"})):
        src = vcf(tmp_path / f"p{phased}.vcf", codon12, phased=phased)
        ann = tmp_path / f"p{phased}.csq.vcf.gz"
        mode = run_csq(src, fasta, gff3, ann)
        assert mode == ("phased" if phased else "unphased")
        rows = [r for r in consequence_rows(ann, fasta, gff3, mode=mode) if r["gene"] == "KRAS"]
        # phased on one haplotype: GGT -> TAT = Tyr (one change); unphased: each on its own
        assert {r["aa_change"] for r in rows} == expected
        # csq agrees (it reports the combined change at the first record, "@pos" at the second)
        assert {r["aa_change_csq"] for r in rows if r["aa_change_csq"] != "."} == expected


def test_intergenic_variants_keep_a_row(small_demo, tmp_path):
    src = vcf(tmp_path / "ig.vcf", [("chr12", 25255000, "N", "A")])
    rows = list(consequence_rows(src, small_demo / "genome.fa.gz", small_demo / "genes.gff3"))
    assert [r["consequence"] for r in rows] == ["intergenic"]


def test_phasing_detection(tmp_path):
    assert phasing(vcf(tmp_path / "a.vcf", [("chr7", 100, "A", "C")], phased=True)) == "phased"
    assert phasing(vcf(tmp_path / "b.vcf", [("chr7", 100, "A", "C")])) == "unphased"


def test_trim_variant():
    assert trim_variant(10, "ACGT", "AT") == (11, "CG", "")
    assert trim_variant(10, "G", "GAAG") == (11, "", "AAG")


def test_cli(small_demo, tmp_path, capsys):
    src = vcf(tmp_path / "one.vcf", [HOTSPOTS[0][:4]])
    out = tmp_path / "one.tsv"
    args = [
        "annotate",
        "--vcf",
        str(src),
        "--fasta",
        str(small_demo / "genome.fa.gz"),
        "--gff3",
        str(small_demo / "genes.gff3"),
        "--tsv",
        str(out),
    ]
    assert main(args) == 0
    assert "p.Val600Glu" in out.read_text()
    assert "1 consequence rows written" in capsys.readouterr().out


def test_annotated_vcf_is_kept_and_indexed(small_demo, tmp_path):
    src = vcf(tmp_path / "k.vcf", [HOTSPOTS[1][:4]])
    annotate(
        src, small_demo / "genome.fa.gz", small_demo / "genes.gff3", tmp_path / "k.tsv", out_vcf=tmp_path / "k.vcf.gz"
    )
    with pysam.VariantFile(str(tmp_path / "k.vcf.gz")) as fh:
        rec = next(iter(fh))
        assert rec.info["BCSQ"][0].startswith("missense|KRAS|ENST00000311936|protein_coding|-|12G>12D")
    assert (tmp_path / "k.vcf.gz.tbi").exists()


def test_clinvar_significance_from_a_local_vcf(small_demo, tmp_path):
    # a two-record ClinVar-style VCF written here: BRAF V600E and an unrelated site
    clin = tmp_path / "clinvar.vcf"
    clin.write_text(
        "\n".join([
            "##fileformat=VCFv4.1", "##contig=<ID=chr7>",
            '##INFO=<ID=CLNSIG,Number=.,Type=String,Description="Clinical significance">',
            '##INFO=<ID=CLNREVSTAT,Number=.,Type=String,Description="Review status">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
            "chr7\t140753336\t13961\tA\tT\t.\t.\tCLNSIG=Pathogenic;CLNREVSTAT=reviewed_by_expert_panel",
            "chr7\t140753400\t1\tG\tC\t.\t.\tCLNSIG=Benign;CLNREVSTAT=criteria_provided,_single_submitter",
        ]) + "\n"
    )  # fmt: skip
    pysam.tabix_compress(str(clin), str(clin) + ".gz")
    pysam.tabix_index(str(clin) + ".gz", preset="vcf")
    src = vcf(tmp_path / "q.vcf", [HOTSPOTS[0][:4], HOTSPOTS[2][:4]])
    out = tmp_path / "q.tsv"
    annotate(src, small_demo / "genome.fa.gz", small_demo / "genes.gff3", out, clinvar_vcf=str(clin) + ".gz")
    lines = out.read_text().splitlines()
    cols = lines[0].split("\t")
    rows = {r["pos"]: r for r in (dict(zip(cols, x.split("\t"), strict=True)) for x in lines[1:])}
    assert rows["140753336"]["clinvar_significance"] == "Pathogenic"
    assert rows["140753336"]["clinvar_review"] == "reviewed_by_expert_panel"
    assert rows["55191822"]["clinvar_significance"] == "."  # not in this ClinVar file


def test_clinvar_file_must_be_indexed(small_demo, tmp_path):
    from seq2rx.core.errors import InputError

    src = vcf(tmp_path / "q.vcf", [HOTSPOTS[0][:4]])
    with pytest.raises(InputError, match="ClinVar VCF must exist, bgzipped, with a .tbi index"):
        annotate(
            src,
            small_demo / "genome.fa.gz",
            small_demo / "genes.gff3",
            tmp_path / "q.tsv",
            clinvar_vcf=tmp_path / "none.vcf.gz",
        )


def test_a_deletion_that_can_slide_into_the_utr_keeps_the_start_codon():
    from seq2rx.variants.annotate import _shifts_out_of_cds

    seq = "GGGAATGCCCTAA"  # 5' UTR GGGA, then ATG...; the UTR's last A repeats the start's A
    assert _shifts_out_of_cds(seq, (4, 1, ""), 4)  # deleting the A of ATG = deleting the UTR's A
    assert not _shifts_out_of_cds(seq, (5, 1, ""), 4)  # the T of ATG cannot slide out
    assert not _shifts_out_of_cds("GGGCATGCCC", (4, 1, ""), 4)  # no repeat: the start is lost
    assert not _shifts_out_of_cds(seq, (4, 0, "A"), 4)  # insertions stay where they are, as in csq


def test_fast_intergenic_lines_equal_the_row_formatting(small_demo, tmp_path):
    from seq2rx.variants.annotate import consequence_rows, write_table

    src = vcf(tmp_path / "mix.vcf", [("chr12", 25255000, "N", "A"), HOTSPOTS[1][:4]])
    fasta, gff3 = small_demo / "genome.fa.gz", small_demo / "genes.gff3"
    ann = tmp_path / "mix.csq.vcf.gz"
    run_csq(src, fasta, gff3, ann)
    write_table(consequence_rows(ann, fasta, gff3), tmp_path / "slow.tsv")
    write_table(consequence_rows(ann, fasta, gff3, _lines=True), tmp_path / "fast.tsv")
    assert (tmp_path / "slow.tsv").read_bytes() == (tmp_path / "fast.tsv").read_bytes()
    assert "\tintergenic\t" in (tmp_path / "fast.tsv").read_text()
