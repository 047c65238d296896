"""Other callers' copy-number segments and fusions (PCGR's formats), read into calls."""

from __future__ import annotations

import pytest

from seq2rx.core.errors import InputError
from seq2rx.tumour import CopyNumberThresholds, Gene, Segment, call_genes, read_fusions, read_segments

ERBB2 = Gene("ERBB2", "17", 39687914, 39730426)  # GRCh38, 42,513 bp
CDKN2A = Gene("CDKN2A", "9", 21967752, 21995301)
MYC = Gene("MYC", "8", 127735434, 127742951)


def write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_segments_become_gene_calls_at_pcgr_thresholds(tmp_path):
    path = write(tmp_path, "t.cna.tsv", [
        "Chromosome\tStart\tEnd\tnMajor\tnMinor\tSampleID",
        "chr17\t39600010\t40000000\t8\t1\tT1",  # ERBB2 inside a 9-copy segment
        "9\t21000000\t21980000\t0\t0\tT1",  # 12,249 of CDKN2A's 27,550 bases: under half
        "9\t21980001\t22500000\t0\t0\tT1",  # the other 15,301 bases (55.5%): a deletion
        "8\t127000000\t128000000\t3\t2\tT1",  # MYC at 5 copies: a gain below 6, neutral
    ])  # fmt: skip
    segments = read_segments(path)
    assert segments[0] == Segment("17", 39600010, 40000000, 8, 1) and segments[0].total == 9
    calls, uncalled = call_genes(segments, [ERBB2, CDKN2A, MYC, Gene("EGFR", "7", 1, 2)], CopyNumberThresholds(), "t")
    by_gene = {c.gene: c for c in calls}
    assert (by_gene["ERBB2"].call, by_gene["ERBB2"].total_cn, by_gene["ERBB2"].overlap) == ("amplification", 9, 1.0)
    assert (by_gene["CDKN2A"].call, by_gene["CDKN2A"].start) == ("deletion", 21980001)
    assert by_gene["CDKN2A"].overlap == pytest.approx(15301 / 27550, abs=1e-4)
    assert by_gene["MYC"].call == "neutral"
    assert uncalled == ["EGFR"]  # no segment on chromosome 7: no call, not "neutral"


def test_thresholds_are_parameters():
    segments = [Segment("8", 127000000, 128000000, 3, 2)]
    (myc,), _ = call_genes(segments, [MYC], CopyNumberThresholds.from_config({"amplification_min_copies": 5}), "t")
    assert myc.call == "amplification"
    half = [Segment("17", 39687914, 39709170, 8, 1)]  # 21,257 of 42,513 bases: just over half
    assert call_genes(half, [ERBB2], CopyNumberThresholds(), "t")[0][0].call == "amplification"
    assert call_genes(half, [ERBB2], CopyNumberThresholds(min_gene_overlap=0.6), "t")[1] == ["ERBB2"]
    with pytest.raises(ValueError, match="unknown copy-number threshold"):
        CopyNumberThresholds.from_config({"n_copy_gain": 6})
    with pytest.raises(ValueError, match="above 2"):
        CopyNumberThresholds(amplification_min_copies=2)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        CopyNumberThresholds(min_gene_overlap=50)


def test_fusions_keep_the_5prime_3prime_order_and_unnamed_partners(tmp_path):
    path = write(tmp_path, "t.fusions.tsv", [
        "FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads\tScore",
        "EML4--ALK\t2:42295554\tchr2:29223528\t100\t0.9",
        "TMPRSS2::ERG\t21:41464551\t21:38366039\t60\t.",
        "--NTRK3\t15:87433109\t15:87880428\t90\t.",
        "FGFR2--\t10:121483698\t3:139859623\t40\t.",
    ])  # fmt: skip
    eml4, tmprss2, ntrk3, fgfr2 = read_fusions(path)
    assert (eml4.five_prime, eml4.three_prime, eml4.name) == ("EML4", "ALK", "EML4::ALK")
    assert eml4.breakpoint_of("ALK") == ("2", 29223528) and eml4.split_reads == 100
    assert eml4.source == "PCGR fusions: t.fusions.tsv"
    assert tmprss2.name == "TMPRSS2::ERG"
    assert (ntrk3.name, ntrk3.genes) == ("?::NTRK3", ("NTRK3",))
    assert (fgfr2.name, fgfr2.genes) == ("FGFR2::?", ("FGFR2",))


@pytest.mark.parametrize(
    ("line", "where", "what"),
    [("17\t39600010\t40000000\t8.6\t1", "line 3, field 'nMajor'", "'8.6' is not a whole number"),
     ("17\t40000000\t39600010\t8\t1", "line 3, field 'End'", "End 39600010 is before Start 40000000"),
     ("17\t39600010\t40000000\t8", "line 3", "has 4 cells but the header has 5 columns"),
     ("17\t39600010\t40000000\t-1\t1", "line 3, field 'nMajor'", "-1 is negative")],
)  # fmt: skip
def test_bad_segment_files_name_the_line_and_field(tmp_path, line, where, what):
    path = write(tmp_path, "bad.cna.tsv", ["Chromosome\tStart\tEnd\tnMajor\tnMinor", "1\t1\t100\t1\t1", line])
    with pytest.raises(InputError) as err:
        read_segments(path)
    assert f"{path}, {where}: {what}" in str(err.value)


def test_a_segment_file_without_the_columns_says_which(tmp_path):
    path = write(tmp_path, "seg.tsv", ["chrom\tstart\tend\tlog2", "1\t1\t100\t0.1"])
    with pytest.raises(InputError, match=r"line 1: the header lacks column\(s\) Chromosome, Start, End, nMajor"):
        read_segments(path)


@pytest.mark.parametrize(
    ("line", "where", "what"),
    [("EML4-ALK\t2:42295554\t2:29223528\t100", "field 'FusionGene'", "'EML4-ALK' has no '--' or '::'"),
     ("--\t2:42295554\t2:29223528\t100", "field 'FusionGene'", "'--' names neither gene"),
     ("EML4--ALK\t2-42295554\t2:29223528\t100", "field 'LeftBreakpoint'", "'2-42295554' is not chrom:position"),
     ("EML4--ALK\t2:42295554\t2:29223528\tmany", "field 'SplitReads'", "'many' is not a whole number of reads"),
     ("EML4--12345\t2:42295554\t2:29223528\t10", "field 'FusionGene'", "'12345' is not a gene symbol")],
)  # fmt: skip
def test_bad_fusion_files_name_the_line_and_field(tmp_path, line, where, what):
    path = write(tmp_path, "bad.fusions.tsv", ["FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads", line])
    with pytest.raises(InputError) as err:
        read_fusions(path)
    assert f"{path}, line 2, {where}: {what}" in str(err.value)


def test_chromosome_names_and_the_build(tmp_path):
    """chr or not, any case for X/Y/M: the same chromosome; the length is checked only on a known build."""
    path = write(tmp_path, "t.cna.tsv", ["Chromosome\tStart\tEnd\tnMajor\tnMinor", "chrx\t1\t100\t1\t0",
                                         "Y\t1\t100\t1\t0", "chrM\t1\t16569\t1\t0", "CHR7\t1\t100\t1\t1"])  # fmt: skip
    assert [s.chrom for s in read_segments(path, build="GRCh38")] == ["X", "Y", "MT", "7"]
    late = write(tmp_path, "late.cna.tsv", ["Chromosome\tStart\tEnd\tnMajor\tnMinor", "17\t1\t83000000\t1\t1"])
    assert read_segments(late)[0].end == 83000000  # no build: no length to hold it to
    assert read_segments(late, build="GRCh38")[0].end == 83000000
    with pytest.raises(InputError, match=r"line 2, field 'End': End 83000000 is past the end of chromosome 17 on "
                       r"GRCh37 \(81195210 bp\); it fits GRCh38: is the file on GRCh38\?"):  # fmt: skip
        read_segments(late, build="GRCh37")
    with pytest.raises(ValueError, match="build must be one of"):
        read_segments(late, build="hg19")
    fusions = write(tmp_path, "t.fusions.tsv", ["FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads",
                                                "EML4--ALK\tchr2:42295554\tchrx:5\t0"])  # fmt: skip
    assert read_fusions(fusions, build="GRCh37")[0].three_prime_breakpoint == ("X", 5)


@pytest.mark.parametrize(
    ("rows", "where", "what"),
    [(["1\t1\t100\t1\t1", "1\t50\t150\t1\t1"], "line 3, field 'Start'", "the segment 1:50-150 overlaps 1:1-100 on line 2"),
     (["2\t1\t100\t1\t1", "1\t1\t100\t1\t1", "2\t1\t100\t3\t1"], "line 4, field 'Start'",
      "the segment 2:1-100 repeats line 2"),
     (["1\t200\t300\t1\t1", "1\t1\t1000\t1\t1"], "line 3, field 'Start'", "the segment 1:1-1000 overlaps 1:200-300 on line 2"),
     (["1\t0\t100\t1\t1"], "line 2, field 'Start'", "Start 0 is not a one-based position"),
     (["chr6_GL000250v2_alt\t1\t100\t1\t1"], "line 2, field 'Chromosome'", "'chr6_GL000250v2_alt' is not a chromosome"),
     ([], "line 1", "holds no segments (only a header)")],
)  # fmt: skip
def test_segments_are_checked_against_each_other(tmp_path, rows, where, what):
    path = write(tmp_path, "s.cna.tsv", ["Chromosome\tStart\tEnd\tnMajor\tnMinor", *rows])
    with pytest.raises(InputError) as err:
        read_segments(path)
    assert f"{path}, {where}: {what}" in str(err.value)


def test_adjacent_segments_in_any_order_are_fine(tmp_path):
    path = write(tmp_path, "s.cna.tsv", ["Chromosome\tStart\tEnd\tnMajor\tnMinor", "1\t101\t200\t2\t1",
                                         "2\t1\t100\t1\t1", "1\t1\t100\t1\t1", "1\t201\t201\t1\t1"])  # fmt: skip
    assert [(s.chrom, s.start) for s in read_segments(path)] == [("1", 101), ("2", 1), ("1", 1), ("1", 201)]


def test_a_fusion_file_with_only_a_header_is_no_fusions(tmp_path):
    """Unlike a segment file: a fusion caller lists only what it found, so none is a result."""
    path = write(tmp_path, "t.fusions.tsv", ["FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads"])
    assert read_fusions(path, build="GRCh38") == []
