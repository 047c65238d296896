"""QC numbers and the pass / warn / fail verdict."""

from __future__ import annotations

from seq2rx.reads.qc import Thresholds, parse_flagstat, summarise

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
