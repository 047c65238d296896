"""Calling intervals: a tiling of the genome, cut at N gaps where one is near, balanced by
callable bases, the same every time; for exomes, groups of padded targets."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from seq2rx.core.errors import InputError
from seq2rx.genome.intervals import (
    estimate_callable_bases,
    intersect,
    interval_count,
    padded_regions,
    plan_intervals,
    tiles,
    write_intervals,
)


def _fasta(tmp_path: Path, contigs: dict[str, str]) -> Path:
    fa = tmp_path / "ref.fa"
    fa.write_text("".join(f">{name}\n{seq}\n" for name, seq in contigs.items()))
    pysam.faidx(str(fa))
    return fa


def _bases(rows) -> int:
    return sum(e - s for _c, s, e in rows)


def _acgt(n: int, seed: int) -> str:
    import random

    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


@pytest.fixture
def genome(tmp_path) -> Path:
    """chr1: 30 kb sequence, a 5 kb N gap, 10 kb sequence, 2 kb of N; chr2: 20 kb sequence;
    chrM: all N (no callable base)."""
    chr1 = _acgt(30_000, 1) + "N" * 5_000 + _acgt(10_000, 2) + "N" * 2_000
    return _fasta(tmp_path, {"chr1": chr1, "chr2": _acgt(20_000, 3), "chrM": "N" * 500})


def _tiling_ok(intervals, contigs):
    """The tiles cover every base of every contig once, in order."""
    rows = [r for iv in intervals for r in iv["germline"]]
    by_contig: dict[str, list] = {}
    for c, s, e in rows:
        by_contig.setdefault(c, []).append((s, e))
    assert list(by_contig) == list(contigs)
    for c, spans in by_contig.items():
        assert spans[0][0] == 0 and spans[-1][1] == contigs[c]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_genome_is_tiled_and_balanced_by_callable_bases(genome):
    contigs = {"chr1": 47_000, "chr2": 20_000, "chrM": 500}
    for n in (1, 2, 3, 4, 7):
        intervals = plan_intervals(genome, n)
        assert len(intervals) == n
        _tiling_ok(intervals, contigs)
        callable_ = [_bases(intersect(iv["germline"], [("chr1", 0, 30_000), ("chr1", 35_000, 45_000),
                                                          ("chr2", 0, 20_000)])) for iv in intervals]  # fmt: skip
        assert sum(callable_) == 60_000
        # a cut moves into a gap only within a tenth of a share: every share within 10% of 60,000 / n
        assert all(abs(c - 60_000 / n) <= 0.1 * 60_000 / n + 1 for c in callable_), callable_
        assert all(iv["germline"] == iv["somatic"] for iv in intervals)


def test_a_cut_near_an_n_gap_falls_in_it(genome):
    """Two intervals: the ideal cut (30,000 callable bases) is the end of chr1's first stretch,
    so the second interval starts at the gap, not inside the sequence."""
    first, second = plan_intervals(genome, 2)
    assert first["germline"] == [("chr1", 0, 35_000)]  # up to the start of the next stretch
    assert second["germline"][0] == ("chr1", 35_000, 47_000)
    # the all-N contig belongs to the last interval: the tiles cover the whole genome
    assert second["germline"][-1] == ("chrM", 0, 500)


def test_cuts_fall_inside_sequence_when_no_gap_is_near(genome):
    intervals = plan_intervals(genome, 6)  # shares of 10,000: 10k and 20k are inside chr1's first stretch
    starts = [iv["germline"][0] for iv in intervals[1:]]
    assert starts[:2] == [("chr1", 10_000, starts[0][2]), ("chr1", 20_000, starts[1][2])]


def test_intervals_are_deterministic(genome, tmp_path):
    a = write_intervals(plan_intervals(genome, 5), tmp_path / "a")
    b = write_intervals(plan_intervals(genome, 5), tmp_path / "b")
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert (tmp_path / "a" / "0005.bed").exists() and not (tmp_path / "a" / "0006.bed").exists()
    table = (tmp_path / "a" / "intervals.tsv").read_text().splitlines()
    assert table[0].split("\t")[:3] == ["interval", "germline_bases", "somatic_bases"]
    assert sum(int(line.split("\t")[1]) for line in table[1:]) == 67_500  # the whole genome


def test_more_intervals_than_callable_bases_is_refused(tmp_path):
    fa = _fasta(tmp_path, {"c": "NNNNACGTNNNN"})
    assert len(plan_intervals(fa, 4)) == 4
    with pytest.raises(InputError, match="5 calling intervals asked for, but there are only 4 callable"):
        plan_intervals(fa, 5)


def test_padding_merges_and_clips():
    contigs = {"a": 1000, "b": 300}
    rows = [("b", 250, 290), ("a", 100, 200), ("a", 390, 400), ("a", 950, 990), ("x", 0, 10)]
    assert padded_regions(rows, 100, contigs) == [("a", 0, 500), ("a", 850, 1000), ("b", 150, 300)]
    assert padded_regions(rows, 0, contigs) == [("a", 100, 200), ("a", 390, 400), ("a", 950, 990), ("b", 250, 290)]


def test_exome_intervals_are_groups_of_padded_targets(genome, tmp_path):
    bed = tmp_path / "targets.bed"
    bed.write_text(
        "track name=exome\n"
        "chr1\t1000\t1200\tA\nchr1\t1250\t1400\tB\n"  # padded by 100 they overlap: one region
        "chr1\t5000\t5100\tC\nchr1\t36000\t36300\tD\nchr2\t100\t200\tE\nchr2\t19950\t20000\tF\n"
    )
    pgx = [("chr1", 20_000), ("chr1", 1300), ("chrX", 5)]  # one outside the targets, one inside, one elsewhere
    one = plan_intervals(genome, 1, targets=bed, padding=100, positions=pgx)
    assert one[0]["somatic"] == [("chr1", 900, 1500), ("chr1", 4900, 5200), ("chr1", 35900, 36400),
                                 ("chr2", 0, 300), ("chr2", 19850, 20000)]  # fmt: skip
    # germline calling also covers the pharmacogene position outside the targets (padded alike)
    assert one[0]["germline"] == sorted(one[0]["somatic"] + [("chr1", 19899, 20100)])
    three = plan_intervals(genome, 3, targets=bed, padding=100, positions=pgx)
    # cut between regions only, never inside one: each interval's regions are whole regions of the
    # unscattered call, in order; balanced as well as whole regions allow (600 | 300 + 500 | 300 + 150)
    assert [r for iv in three for r in iv["somatic"]] == one[0]["somatic"]
    assert [r for iv in three for r in iv["germline"]] == one[0]["germline"]
    assert [_bases(iv["somatic"]) for iv in three] == [600, 800, 450]
    with pytest.raises(InputError, match="6 calling intervals asked for, but there are only 5 padded target regions"):
        plan_intervals(genome, 6, targets=bed, padding=100)


def test_tiles_of_a_region_list():
    assert tiles([("a", 10, 20)], 1, {"a": 30}) == [[("a", 0, 30)]]
    with pytest.raises(ValueError):
        tiles([("a", 10, 12)], 3, {"a": 30})


def test_interval_count(genome, tmp_path):
    assert interval_count(7, 1000, fasta=genome) == 7
    # auto: one per interval_bases of callable (non-N) bases, estimated from the reference
    assert interval_count("auto", 60_000, fasta=genome) == 1
    assert interval_count("auto", 10_000, fasta=genome) == 6
    assert interval_count("auto", 60_000, fasta=tmp_path / "later.fa") == 1  # a reference the run will simulate
    bed = tmp_path / "t.bed"
    bed.write_text("chr1\t0\t800\nchr2\t0\t800\n")
    assert interval_count("auto", 1000, fasta=genome, targets=bed, padding=100) == 2
    assert interval_count("auto", 100, fasta=genome, targets=bed, padding=100) == 2  # no more than regions


def test_callable_estimate_of_a_mostly_n_genome(tmp_path):
    """Like the demo: real-length contigs that are mostly N hold few callable bases."""
    fa = _fasta(tmp_path, {"c1": "N" * 400_000 + _acgt(2_000, 4) + "N" * 400_000, "c2": _acgt(300_000, 5)})
    estimate = estimate_callable_bases(fa)
    assert 250_000 <= estimate <= 350_000  # 302,000 exactly


def test_callable_count_of_a_small_genome_is_exact(genome):
    assert estimate_callable_bases(genome) == 60_000
