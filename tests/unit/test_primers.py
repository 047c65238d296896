"""Sanger confirmation primers: primer3 placement, Tm cross-check, edge cases, TSV output."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pysam
import pytest

from seq2rx.variants.primers import COLUMNS, biopython_tm, design_all, design_primers, write_tsv

REPO = Path(__file__).resolve().parents[2]
CONTIG = "chrT"
LENGTH = 5000
MID = 2500


def random_seq(n: int, seed: int = 1) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


def write_fasta(directory: Path, seq: str, name: str = "ref.fa") -> Path:
    fa = directory / name
    lines = [seq[i : i + 60] for i in range(0, len(seq), 60)]
    fa.write_text(f">{CONTIG}\n" + "\n".join(lines) + "\n")
    pysam.faidx(str(fa))
    return fa


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> tuple[Path, str]:
    """5 kb of seeded random ACGT as one contig, with its .fai."""
    seq = random_seq(LENGTH)
    return write_fasta(tmp_path_factory.mktemp("primers"), seq), seq


def snv(seq: str, pos: int) -> tuple[str, str]:
    """(ref, alt) for a SNV at 1-based ``pos`` of ``seq``."""
    ref = seq[pos - 1]
    return ref, "A" if ref != "A" else "C"


def revcomp(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def covers(pair, pos: int) -> bool:
    return pair.left_start <= pos <= pair.left_end or pair.right_start <= pos <= pair.right_end


def test_pair_for_a_middle_snv(genome):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    pair = design_primers(fa, CONTIG, MID, ref, alt)
    assert pair is not None
    assert pair.variant_id == f"{CONTIG}:{MID}:{ref}>{alt}"
    # The amplicon contains the variant, with >= 50 bp between it and either primer.
    assert pair.amplicon_start < MID < pair.amplicon_end
    assert pair.left_distance == MID - pair.left_end - 1 >= 50
    assert pair.right_distance == pair.right_start - MID - 1 >= 50
    assert 300 <= pair.amplicon_length == pair.amplicon_end - pair.amplicon_start + 1 <= 600
    # Coordinates point at the primers' bases: left as is, right reverse-complemented.
    assert seq[pair.left_start - 1 : pair.left_end] == pair.left_seq
    assert seq[pair.right_start - 1 : pair.right_end] == revcomp(pair.right_seq)
    assert 18 <= len(pair.left_seq) <= 25 and 18 <= len(pair.right_seq) <= 25
    # GC% as primer3 reports it equals a direct count.
    assert pair.left_gc == pytest.approx(100 * sum(b in "GC" for b in pair.left_seq) / len(pair.left_seq))


def test_tm_primer3_and_biopython_agree(genome):
    """Both Tm inside the window; Biopython (DNA_NN3, saltcorr 5, Na 50, Mg 1.5, dNTPs 0.6, 25+25 nM) within 3 C."""
    fa, seq = genome
    for pos in (1500, MID, 3500):
        pair = design_primers(fa, CONTIG, pos, *snv(seq, pos))
        for p3, bp in (
            (pair.left_tm_primer3, pair.left_tm_biopython),
            (pair.right_tm_primer3, pair.right_tm_biopython),
        ):
            assert 57.0 <= p3 <= 63.0
            assert 57.0 <= bp <= 63.0
            assert bp == pytest.approx(p3, abs=3.0)
            # Same model and conditions: in practice they agree to well under 0.01 C.
            assert bp == pytest.approx(p3, abs=0.01)


def test_biopython_tm_hand_value():
    # A fixed 20-mer under primer3's default conditions (primer3-py 2.4.0 calc_tm gives the same).
    import primer3

    assert biopython_tm("AGCGTACGTTAGCCATGCAT") == pytest.approx(primer3.calc_tm("AGCGTACGTTAGCCATGCAT"), abs=0.01)


@pytest.mark.parametrize("where", ["left_3p", "left_5p", "right_3p", "right_5p", "left_mid"])
def test_known_variant_never_under_a_primer(genome, where):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    first = design_primers(fa, CONTIG, MID, ref, alt)
    spot = {
        "left_3p": first.left_end,
        "left_5p": first.left_start,
        "left_mid": (first.left_start + first.left_end) // 2,
        "right_3p": first.right_start,
        "right_5p": first.right_end,
    }[where]
    assert covers(first, spot)  # the unconstrained pair does sit on it
    again = design_primers(fa, CONTIG, MID, ref, alt, known_variants=[(CONTIG, spot)])
    assert again is not None and not covers(again, spot)
    assert again.amplicon_start < MID < again.amplicon_end


def test_many_known_variants_and_ref_spans(genome):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    # Every 23rd base (gaps of 22 bp still fit an 18-25-mer) outside the target, on this contig, plus a 3-bp known deletion.
    known = [(CONTIG, p) for p in range(1800, 3200, 23) if abs(p - MID) > 60]
    known += [(CONTIG, 2300, seq[2299:2302]), ("otherchr", 2400), (CONTIG, MID)]
    pair = design_primers(fa, CONTIG, MID, ref, alt, known_variants=known)
    assert pair is not None
    for _, p, *rest in known[:-2]:
        span = len(rest[0]) if rest else 1
        assert not any(covers(pair, q) for q in range(p, p + span))


def test_variant_at_contig_start_gives_a_reason(genome, caplog):
    fa, seq = genome
    ref, alt = snv(seq, 21)
    with caplog.at_level(logging.WARNING, logger="seq2rx.variants.primers"):
        assert design_primers(fa, CONTIG, 21, ref, alt) is None
    assert "20 bp from the contig start" in caplog.text
    row = design_all(fa, [(CONTIG, 21, ref, alt)])[0]
    assert row["status"].startswith("variant is 20 bp from the contig start")
    assert row["left_seq"] is None


def test_variant_at_contig_end_gives_a_reason(genome):
    fa, seq = genome
    ref, alt = snv(seq, LENGTH - 10)
    (row,) = design_all(fa, [(CONTIG, LENGTH - 10, ref, alt)])
    assert "10 bp from the contig end" in row["status"]


def test_n_near_the_variant_gives_a_reason(tmp_path):
    seq = random_seq(LENGTH)
    seq = seq[: MID + 29] + "NNNNN" + seq[MID + 34 :]
    fa = write_fasta(tmp_path, seq)
    ref, alt = snv(seq, MID)
    (row,) = design_all(fa, [(CONTIG, MID, ref, alt)])
    assert (
        row["status"] == f"N in the reference at {CONTIG}:{MID + 30}, within min_distance (50) + 18 bp of the variant"
    )


def test_distant_n_only_shortens_the_template(tmp_path):
    seq = random_seq(LENGTH)
    seq = seq[: MID + 200] + "N" * 500 + seq[MID + 700 :]
    fa = write_fasta(tmp_path, seq)
    pair = design_primers(fa, CONTIG, MID, *snv(seq, MID))
    assert pair is not None and pair.amplicon_end < MID + 201
    assert "N" not in seq[pair.amplicon_start - 1 : pair.amplicon_end]


def test_no_pair_found_gives_primer3_reason(genome):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    (row,) = design_all(fa, [(CONTIG, MID, ref, alt)], tm=(75.0, 80.0), opt_tm=77.0)
    assert row["status"].startswith("primer3 found no pair (left considered")


def test_ref_mismatch_and_unknown_contig(genome):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    wrong = "C" if ref != "C" else "G"
    rows = design_all(fa, [(CONTIG, MID, wrong, alt), ("chrZ", 100, "A", "C"), (CONTIG, LENGTH + 1, "A", "C")])
    assert "disagrees with the reference" in rows[0]["status"]
    assert rows[1]["status"] == "contig 'chrZ' is not in the reference"
    assert "runs past the contig end" in rows[2]["status"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"amplicon": (600, 300)}, "(600, 300)"),
        ({"amplicon": (300, 99999)}, "99999"),
        ({"amplicon": (100, 120)}, "120"),
        ({"tm": (63.0, 57.0)}, "(63.0, 57.0)"),
        ({"tm": (57.0, 63.0), "opt_tm": 70.0}, "70.0"),
        ({"min_distance": -1}, "-1"),
        ({"min_distance": 2.5}, "2.5"),
    ],
)
def test_bad_settings_raise_with_the_value(genome, kwargs, needle):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    with pytest.raises(ValueError) as err:
        design_primers(fa, CONTIG, MID, ref, alt, **kwargs)
    assert needle in str(err.value)
    with pytest.raises(ValueError, match="must"):
        design_all(fa, [(CONTIG, MID, ref, alt)], **kwargs)


def test_bad_variant_arguments_raise(genome):
    fa, _ = genome
    with pytest.raises(ValueError, match="'X'"):
        design_primers(fa, CONTIG, MID, "X", "A")
    with pytest.raises(ValueError, match="0"):
        design_primers(fa, CONTIG, 0, "A", "C")
    with pytest.raises(ValueError, match="known variant"):
        design_primers(fa, CONTIG, MID, "A", "C", known_variants=["chrT:100"])
    with pytest.raises(ValueError, match="unknown primer setting"):
        design_all(fa, [], amplicons=(300, 600))


def test_deterministic(genome, tmp_path):
    fa, seq = genome
    ref, alt = snv(seq, MID)
    assert design_primers(fa, CONTIG, MID, ref, alt) == design_primers(fa, CONTIG, MID, ref, alt)
    variants = [(CONTIG, p, *snv(seq, p)) for p in (21, 1500, MID, 3500)]
    write_tsv(design_all(fa, variants), tmp_path / "a.tsv")
    write_tsv(design_all(fa, variants), tmp_path / "b.tsv")
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()


def test_write_tsv_columns_and_no_partial_output(genome, tmp_path):
    fa, seq = genome
    rows = design_all(fa, [(CONTIG, MID, *snv(seq, MID)), (CONTIG, 21, *snv(seq, 21))])
    out = tmp_path / "sub" / "primers.tsv"
    write_tsv(rows, out)
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == list(COLUMNS)
    first, second = (dict(zip(COLUMNS, x.split("\t"), strict=True)) for x in lines[1:])
    assert first["status"] == "designed" and first["left_seq"] == rows[0]["left_seq"]
    assert first["left_tm_primer3"] == f"{rows[0]['left_tm_primer3']:.2f}"
    assert second["status"].startswith("variant is 20 bp") and second["left_seq"] == ""
    # A bad row fails before anything is written, and leaves no file or temporary behind.
    with pytest.raises(ValueError, match="unknown column"):
        write_tsv([{"bogus": 1}], tmp_path / "bad.tsv")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["primers.tsv"]


DEMO = REPO / "demo" / "genome.fa.gz"


@pytest.mark.skipif(not DEMO.exists(), reason=f"demo genome not found at {DEMO} (run 'seq2rx demo' or snakemake first)")
@pytest.mark.parametrize(("chrom", "pos", "ref", "alt"), [("chr7", 140753336, "A", "T"), ("chr12", 25245350, "C", "T")])
def test_demo_hotspots(chrom, pos, ref, alt):
    """BRAF V600E and KRAS G12D on the demo genome (real GRCh38 bases at the hotspots)."""
    pair = design_primers(DEMO, chrom, pos, ref, alt)
    assert pair is not None
    assert pair.amplicon_start + 50 <= pos <= pair.amplicon_end - 50
    assert min(pair.left_distance, pair.right_distance) >= 50


def test_design_all_accepts_known_variants_as_three_tuples(genome):
    """Regression: known variants given as (chrom, pos, ref) to design_all were checked twice."""
    fasta, seq = genome
    ref, alt = snv(seq, 2500)
    rows = design_all(fasta, [(CONTIG, 2500, ref, alt)], known_variants=[(CONTIG, 2300, seq[2299])])
    assert rows[0]["status"] == "designed"
    assert not covers(
        SimpleNamespace(**{k: rows[0][k] for k in ("left_start", "left_end", "right_start", "right_end")}), 2300
    )
