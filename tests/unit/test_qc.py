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
TH = Thresholds(min_mean_coverage=20, warn_mean_coverage=30, max_duplicate_fraction=0.3, min_mapped_fraction=0.9)


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
