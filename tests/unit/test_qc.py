"""QC numbers and the pass / warn / fail verdict."""

from __future__ import annotations

import numpy as np
import pysam
import pytest

from seq2rx.reads.qc import (
    Thresholds,
    fold_80_base_penalty,
    on_target_bases,
    parse_flagstat,
    summarise,
    target_coverage,
    target_depth,
)

FLAGSTAT = """1000 + 0 in total (QC-passed reads + QC-failed reads)
1000 + 0 primary
0 + 0 secondary
0 + 0 supplementary
50 + 0 duplicates
50 + 0 primary duplicates
990 + 0 mapped (99.00% : N/A)
990 + 0 primary mapped (99.00% : N/A)
1000 + 0 paired in sequencing
500 + 0 read1
500 + 0 read2
980 + 0 properly paired (98.00% : N/A)
"""
TH = Thresholds(
    min_mean_coverage=20,
    warn_mean_coverage=30,
    max_duplicate_fraction=0.3,
    min_mapped_fraction=0.9,
    min_properly_paired_fraction=0.8,
    min_on_target_fraction=0.0,
    max_fold_80_base_penalty=3.0,
)


def cov(depth: float) -> list[dict]:
    return [{"start": 0, "end": 100, "mean_depth": depth, "pct_20x": 1.0 if depth >= 20 else 0.0}]


def test_parse_flagstat():
    fs = parse_flagstat(FLAGSTAT)
    assert fs == {
        "total": 1000,
        "primary": 1000,
        "primary_duplicates": 50,
        "primary_mapped": 990,
        "properly_paired": 980,
        "paired": 1000,
    }


def test_verdicts():
    ok = summarise("S", FLAGSTAT, cov(35), TH)
    assert ok["verdict"] == "pass" and ok["duplicate_fraction"] == 0.05 and ok["mapped_fraction"] == 0.99
    assert summarise("S", FLAGSTAT, cov(25), TH)["verdict"] == "warn"
    low = summarise("S", FLAGSTAT, cov(10), TH)
    assert low["verdict"] == "fail" and low["reasons"] == ["mean target coverage 10.0 < 20"]


def test_mean_is_weighted_by_region_length():
    regions = [
        {"start": 0, "end": 300, "mean_depth": 40.0, "pct_20x": 1.0},
        {"start": 0, "end": 100, "mean_depth": 0.0, "pct_20x": 0.0},
    ]
    s = summarise("S", FLAGSTAT, regions, TH)
    assert s["mean_target_coverage"] == 30.0 and s["target_fraction_20x"] == 0.75


def test_low_properly_paired_fraction_fails():
    # 700 of 1000 primary reads properly paired: 0.7 < 0.8 fails, whatever the coverage
    text = FLAGSTAT.replace("980 + 0 properly paired (98.00%", "700 + 0 properly paired (70.00%")
    s = summarise("S", text, cov(35), TH)
    assert s["properly_paired_fraction"] == 0.7
    assert s["verdict"] == "fail" and s["reasons"] == ["properly paired fraction 0.700 < 0.8"]
    # read 1 given twice: nothing pairs
    none = summarise("S", text.replace("700 + 0 properly paired (70.00%", "0 + 0 properly paired (0.00%"), cov(35), TH)
    assert none["verdict"] == "fail" and none["properly_paired_fraction"] == 0.0


def test_single_end_bam_is_not_judged_on_pairing():
    text = FLAGSTAT.replace("1000 + 0 paired in sequencing", "0 + 0 paired in sequencing").replace(
        "980 + 0 properly paired", "0 + 0 properly paired"
    )
    assert summarise("S", text, cov(35), TH)["verdict"] == "pass"


def test_reads_report_is_kept():
    reads = {"layout": "interleaved", "notes": ["x"]}
    assert summarise("S", FLAGSTAT, cov(35), TH, reads=reads)["input_reads"] == reads
    assert "input_reads" not in summarise("S", FLAGSTAT, cov(35), TH)


# --- on-target rate and fold-80 over a BAM built by hand -------------------------------------------
# contig c1; targets t1 [10,20) and t2 [15,30) overlap (territory [10,30), 20 bases) and t3 [100,110)
TARGETS = "c1\t10\t20\tt1\nc1\t15\t30\tt2\nc1\t100\t110\tt3\n"
#: (name, start, cigar, flag, mapq): what each read adds is worked out in the tests below
READS = [
    ("r1", 10, "10M", 0, 60),  # 10-19
    ("r2", 12, "10M", 0, 60),  # 12-21
    ("dup", 12, "10M", 0x400, 60),  # duplicate: counts nowhere
    ("r3", 20, "5M2D5M", 0, 60),  # 20-24, deletion at 25-26, 27-31 (30 and 31 off target)
    ("r4", 100, "10M", 0, 60),  # 100-109
    ("lowq", 100, "10M", 0, 5),  # MAPQ 5: no depth, but its bases are on target
    ("sec", 100, "10M", 0x100, 60),  # secondary: counts nowhere
    ("supp", 100, "10M", 0x800, 60),  # supplementary: counts nowhere
    ("fail", 100, "10M", 0x200, 60),  # QC-failed: counts nowhere
    ("r5", 150, "10M", 0, 60),  # off target
]


@pytest.fixture
def hand_bam(tmp_path):
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 200}]})
    bam = tmp_path / "s.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for name, start, cigar, flag, mapq in READS:
            a = pysam.AlignedSegment(header)
            a.query_name, a.flag, a.reference_id, a.reference_start = name, flag, 0, start
            a.mapping_quality, a.cigarstring = mapq, cigar
            a.query_sequence = "A" * 10
            a.query_qualities = pysam.qualitystring_to_array("I" * 10)
            out.write(a)
        u = pysam.AlignedSegment(header)  # unmapped, at the end: counts nowhere
        u.query_name, u.flag, u.reference_id, u.reference_start = "un", 0x4, -1, -1
        u.query_sequence, u.query_qualities = "A" * 10, pysam.qualitystring_to_array("I" * 10)
        out.write(u)
    pysam.index(str(bam))
    bed = tmp_path / "t.bed"
    bed.write_text(TARGETS)
    return bam, bed


def test_on_target_bases_by_hand(hand_bam):
    # aligned bases of r1, r2, r3 (10: the deletion holds none), r4, lowq, r5: 60;
    # on target: r1 10, r2 10, r3 5 + 3 (27-29), r4 10, lowq 10 = 48 (overlapping t1/t2 count once)
    assert on_target_bases(*hand_bam) == (48, 60)
    s = summarise("S", FLAGSTAT, cov(35), TH, on_target=(48, 60))
    assert s["on_target_fraction"] == 0.8 and s["verdict"] == "pass"


def test_target_depth_and_fold_80_by_hand(hand_bam):
    td = target_depth(*hand_bam, min_mapq=20, min_baseq=13)
    # territory [10,30) + [100,110), 30 bases, each once: depth 0 at the deletion (25, 26); depth 1 at
    # 10-11, 22-24, 27-29 and 100-109 (lowq is below MAPQ 20); depth 2 at 12-21
    assert td.histogram.tolist() == [2, 18, 10]
    # the regions as before: t1 = (1+1+8*2)/10, t2 = (5*2+2*2+3+0+3)/15, t3 = 10/10
    assert [(r["name"], r["mean_depth"], r["pct_10x"]) for r in td.regions] == [
        ("t1", 1.8, 0.0), ("t2", 1.33, 0.0), ("t3", 1.0, 0.0)]  # fmt: skip
    # Picard: mean 38/30 over the 20th percentile, 1 (2 of 30 bases at 0 is under a fifth)
    assert fold_80_base_penalty(td.histogram) == pytest.approx(38 / 30)
    # read in stretches of 7 bases: the same numbers (memory bounded by the window, not the territory)
    small = target_depth(*hand_bam, min_mapq=20, min_baseq=13, window=7)
    assert small.regions == td.regions and small.histogram.tolist() == td.histogram.tolist()
    assert target_coverage(*hand_bam, 20, 13) == td.regions


def test_targets_off_the_bam_count_as_uncovered(hand_bam, tmp_path):
    bam, _ = hand_bam
    bed = tmp_path / "other.bed"
    bed.write_text("c1\t100\t110\tt3\nchrUn\t0\t40\tnot_in_bam\nc1\t50\t50\tempty\n")
    td = target_depth(bam, bed)
    assert td.histogram.tolist() == [40, 10]  # 40 bases at 0, 10 at 1; the empty region holds none
    assert [r["mean_depth"] for r in td.regions] == [1.0, 0.0, 0.0]
    assert fold_80_base_penalty(td.histogram) is None  # 80% uncovered: no finite penalty


def test_fold_80_is_picards():
    # 10 bases at 2x, 10 at 10x: mean 6, 20th percentile 2 -> 3.0
    assert fold_80_base_penalty(np.array([0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10])) == 3.0
    assert fold_80_base_penalty(np.array([0, 0, 0, 5])) == 1.0  # even coverage: no penalty
    # exactly a fifth at 0x: the 20th percentile is 0 (Picard writes '?'); a bit less: finite
    assert fold_80_base_penalty(np.array([1, 0, 0, 0, 4])) is None
    assert fold_80_base_penalty(np.array([1, 0, 0, 0, 5])) == pytest.approx((4 * 5 / 6) / 4)
    assert fold_80_base_penalty(np.array([0])) is None and fold_80_base_penalty(np.array([], dtype=int)) is None


def test_on_target_and_fold_80_in_the_verdict():
    th = Thresholds(**{**TH.__dict__, "min_on_target_fraction": 0.5})
    low = summarise("S", FLAGSTAT, cov(35), th, on_target=(40, 100), fold_80=3.5)
    assert low["verdict"] == "warn" and low["on_target_fraction"] == 0.4 and low["fold_80_base_penalty"] == 3.5
    assert low["reasons"] == ["on-target fraction 0.400 < 0.5", "fold-80 base penalty 3.50 > 3.0"]
    # a failing sample stays fail, the capture's problems named too
    failed = summarise("S", FLAGSTAT, cov(10), th, on_target=(40, 100))
    assert failed["verdict"] == "fail" and failed["reasons"][-1] == "on-target fraction 0.400 < 0.5"
    # no targets BED, no finite penalty: null and not judged
    none = summarise("S", FLAGSTAT, cov(35), th)
    assert none["verdict"] == "pass" and none["on_target_fraction"] is None and none["fold_80_base_penalty"] is None
    assert summarise("S", FLAGSTAT, cov(35), th, on_target=(0, 0))["on_target_fraction"] == 0.0
