"""Consequences on real Ensembl transcripts: bcftools' own csq test cases (``EXP=`` per record)."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from seq2rx.variants.annotate import consequence_rows, parse_bcsq, run_csq

pytestmark = pytest.mark.validation

# Records whose consequence from pysam's bcftools 1.24 differs from the test suite's EXP, and
# why. The suite's EXP strings predate two additions to csq's vocabulary.
KNOWN_DIFFERENCES = {
    ("EDUMMY0003", "long-del.vcf", 28503): "1.24 adds NMD_transcript to NMD transcripts' consequences",
    ("ENST00000479739", "short-cds-start-lost.vcf", 25091): "1.24 adds NMD_transcript to NMD transcripts' consequences",
    (
        "ENST00000573314",
        "incorrect-insertion-overlap.vcf",
        32388,
    ): "1.24 adds NMD_transcript to NMD transcripts' consequences",
    (
        "ENST00000368801",
        "compound-lost.vcf",
        11191,
    ): "1.24 reports start_retained where the suite expects synonymous&start_lost",
}


# Coding records where our Biopython derivation and EXP differ, and why: none.
KNOWN_AA_DIFFERENCES: dict[tuple[str, str, int], str] = {}


def _same(expected: str, got: str) -> bool:
    """EXP and BCSQ agree: the same set of entries ('.' and no annotation both mean none)."""
    norm = lambda s: frozenset(x for x in s.split(",") if x not in ("", "."))  # noqa: E731
    return norm(expected) == norm(got)


@pytest.fixture(scope="module")
def csq_cases(shared_data, tmp_path_factory) -> list[tuple[str, str, Path, Path, Path]]:
    root = shared_data / "bcftools-csq"
    out = tmp_path_factory.mktemp("csq")
    cases = []
    for case in sorted(p for p in root.iterdir() if p.is_dir()):
        fasta, gff3 = next(case.glob("*.fa")), next(case.glob("*.gff"))
        for vcf in sorted(case.glob("*.vcf")):
            annotated = out / f"{case.name}.{vcf.stem}.vcf.gz"
            run_csq(vcf, fasta, gff3, annotated)
            cases.append((case.name, vcf.name, annotated, fasta, gff3))
    return cases


def _expected(annotated: Path) -> dict[int, str]:
    with pysam.VariantFile(str(annotated)) as fh:
        if "EXP" not in fh.header.info:
            return {}
        out = {}
        for rec in fh:
            exp = rec.info.get("EXP")
            if exp is not None:
                out[rec.pos] = ",".join(exp) if isinstance(exp, tuple) else exp
        return out


def test_consequences_match_the_expected_strings(csq_cases):
    total, mismatched = 0, {}
    for case, vcf, annotated, _fa, _gff in csq_cases:
        expected = _expected(annotated)
        with pysam.VariantFile(str(annotated)) as fh:
            for rec in fh:
                if rec.pos not in expected:
                    continue
                total += 1
                got = ",".join(rec.info.get("BCSQ") or ())
                if not _same(expected[rec.pos], got):
                    mismatched[(case, vcf, rec.pos)] = (expected[rec.pos], got)
    assert total == 108
    assert set(mismatched) == set(KNOWN_DIFFERENCES), mismatched
    assert (total - len(mismatched)) / total >= 0.95  # 104 of 108 = 96.3%


def test_our_amino_acid_change_agrees_with_the_expected_one(csq_cases):
    """Biopython's independent derivation gives the EXP amino-acid change on every coding record."""
    checked, disagree = 0, []
    for case, vcf, annotated, fasta, gff3 in csq_cases:
        expected = _expected(annotated)
        for row in consequence_rows(annotated, fasta, gff3):
            exp = expected.get(row["pos"])
            if not exp or exp.startswith("@"):
                continue
            for entry in exp.split(","):
                f = parse_bcsq(entry)
                if f["transcript"] != row["transcript"] or not f["aa_change_csq"]:
                    continue
                checked += 1
                if row.get("aa_change") != f["aa_change_csq"]:
                    disagree.append((case, vcf, row["pos"]))
    assert checked == 32
    assert set(disagree) == set(KNOWN_AA_DIFFERENCES)  # all 32 agree


def test_our_amino_acid_change_agrees_with_what_csq_writes(csq_cases):
    """Every coding record csq annotates with an amino-acid change, EXP or not: the same change."""
    checked, disagree = 0, []
    for case, vcf, annotated, fasta, gff3 in csq_cases:
        for row in consequence_rows(annotated, fasta, gff3):
            if row["aa_change_csq"] == ".":
                continue
            checked += 1
            if row["aa_change"] != row["aa_change_csq"]:
                disagree.append((case, vcf, row["pos"], row["aa_change_csq"], row["aa_change"]))
    assert not disagree, f"{len(disagree)} of {checked} coding records disagree with csq: {disagree}"
    assert checked == 43  # frameshifts (3), in-frame deletions and insertions (3) among them
