"""Residue names, Grantham and BLOSUM62 scores, HGVS and bcftools csq amino-acid notation."""

from __future__ import annotations

from itertools import combinations

import pytest

from seq2rx.genome.grantham import GRANTHAM, ORDER
from seq2rx.genome.protein import THREE_LETTER, blosum62, csq_notation, grantham, hgvs_p

# --- residue names -------------------------------------------------------------------------------


def test_three_letter_codes():
    assert THREE_LETTER["V"] == "Val"
    assert THREE_LETTER["W"] == "Trp"
    assert THREE_LETTER["*"] == "Ter"
    assert THREE_LETTER["X"] == "Xaa"
    assert set(ORDER) <= THREE_LETTER.keys()


# --- Grantham 1974 -------------------------------------------------------------------------------

GRANTHAM_ANCHORS = [
    ("S", "R", 110),
    ("L", "I", 5),
    ("C", "W", 215),
    ("V", "E", 121),
    ("G", "D", 94),
    ("L", "R", 102),
    ("H", "R", 29),
    ("S", "T", 58),
    ("F", "Y", 22),
    ("D", "E", 45),
    ("K", "R", 26),
    ("M", "V", 21),
    ("G", "R", 125),
]


@pytest.mark.parametrize(("a", "b", "distance"), GRANTHAM_ANCHORS)
def test_grantham_anchors(a, b, distance):
    assert grantham(a, b) == distance
    assert grantham(b, a) == distance
    assert grantham(a.lower(), b) == distance


def test_grantham_table_is_complete_and_symmetric():
    assert len(ORDER) == 20 and len(set(ORDER)) == 20
    pairs = list(combinations(ORDER, 2))
    assert len(pairs) == 190
    assert set(GRANTHAM) == {frozenset(p) for p in pairs}
    for a, b in pairs:
        assert grantham(a, b) == grantham(b, a) == GRANTHAM[frozenset({a, b})]
        assert 5 <= grantham(a, b) <= 215
    for a in ORDER:
        assert grantham(a, a) == 0
    assert max(GRANTHAM.values()) == 215
    assert [k for k, v in GRANTHAM.items() if v == 215] == [frozenset("CW")]
    assert min(GRANTHAM.values()) == 5


@pytest.mark.parametrize(
    ("a", "b"), [("*", "R"), ("R", "*"), ("*", "*"), ("X", "A"), ("B", "D"), ("", "A"), ("AL", "A")]
)
def test_grantham_unknown_is_none(a, b):
    assert grantham(a, b) is None


# --- BLOSUM62 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "score"),
    [("V", "E", -2), ("E", "V", -2), ("L", "L", 4), ("W", "W", 11), ("C", "W", -2), ("W", "C", -2), ("v", "e", -2)],
)
def test_blosum62_anchors(a, b, score):
    assert blosum62(a, b) == score
    assert isinstance(blosum62(a, b), int)


def test_blosum62_stop_and_ambiguity_as_the_matrix_has_them():
    assert blosum62("*", "W") == -4
    assert blosum62("*", "*") == 1
    assert blosum62("X", "X") == -1
    assert blosum62("B", "D") == 4


@pytest.mark.parametrize(("a", "b"), [("J", "A"), ("A", "U"), ("", "A"), ("AL", "A")])
def test_blosum62_unknown_is_none(a, b):
    assert blosum62(a, b) is None


# --- HGVS protein notation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((600, "V", "E"), {}, "p.Val600Glu"),  # missense (BRAF V600E)
        ((145, "L", "L"), {}, "p.Leu145="),  # synonymous
        ((213, "R", "*"), {}, "p.Arg213*"),  # nonsense
        ((1, "M", "V"), {}, "p.Met1?"),  # start lost
        ((12, "G", "V"), {"frameshift": True}, "p.Gly12fs"),  # frameshift, short form
        ((746, "ELREA", ""), {}, "p.Glu746_Ala750del"),  # EGFR exon 19 deletion
        ((5, "K", ""), {}, "p.Lys5del"),
        ((89, "K", "KKKEKG"), {"next_residue": "L"}, "p.Lys89_Leu90insLysLysGluLysGly"),
        ((146, "MT", "TN"), {}, "p.Met146_Thr147delinsThrAsn"),
        ((3, "GLGLW", "W"), {}, "p.Gly3_Leu6del"),  # shared trailing W dropped
        ((260, "*", "G"), {}, "p.Ter260Glyext*?"),  # stop lost
    ],
)
def test_hgvs_p_required_examples(args, kwargs, expected):
    assert hgvs_p(*args, **kwargs) == expected


def test_hgvs_p_trimming_rule():
    # shared leading residues shift the start, shared trailing ones are dropped
    assert hgvs_p(10, "AVE", "AGE") == "p.Val11Gly"
    assert hgvs_p(10, "AKK", "AK") == "p.Lys12del"  # leading first: the later Lys is the one deleted
    assert hgvs_p(10, "KL", "KGL") == "p.Lys10_Leu11insGly"  # flanks from the span itself
    assert hgvs_p(10, "KL", "KGL", next_residue="P") == "p.Lys10_Leu11insGly"
    assert hgvs_p(146, "MTS", "TNS") == "p.Met146_Thr147delinsThrAsn"


def test_hgvs_p_insertion_without_a_flank_is_a_delins():
    assert hgvs_p(89, "K", "KG") == "p.Lys89delinsLysGly"  # no next_residue
    assert hgvs_p(5, "K", "GK") == "p.Lys5delinsGlyLys"  # nothing shared before the insertion


def test_hgvs_p_duplication_stays_an_insertion():
    assert hgvs_p(89, "K", "KK", next_residue="L") == "p.Lys89_Leu90insLys"


def test_hgvs_p_stops():
    assert hgvs_p(89, "K", "K*", next_residue="L") == "p.Leu90*"  # stop inserted before Leu90
    assert hgvs_p(10, "AV", "A*E") == "p.Val11*"  # whatever follows the new stop is ignored
    assert hgvs_p(259, "L*", "L") == "p.Ter260Xaaext*?"  # stop deleted, next residue unknown
    assert hgvs_p(259, "L*", "LG*") == "p.Leu259_Ter260insGly"  # insertion before the stop
    assert hgvs_p(260, "*", "*") == "p.Ter260="


def test_hgvs_p_start():
    assert hgvs_p(1, "M", "M") == "p.Met1="
    assert hgvs_p(1, "MA", "") == "p.Met1?"
    assert hgvs_p(1, "M", "MK", next_residue="A") == "p.Met1_Ala2insLys"  # Met1 itself is kept
    assert hgvs_p(2, "AS", "AT") == "p.Ser3Thr"
    assert hgvs_p(1, "M", "V", frameshift=True) == "p.Met1?"


def test_hgvs_p_frameshift():
    assert hgvs_p(12, "GA", "GT", frameshift=True) == "p.Ala13fs"  # first changed residue
    assert hgvs_p(12, "GA", "G", frameshift=True) == "p.Ala13fs"
    assert hgvs_p(12, "G", "", frameshift=True) == "p.Gly12fs"
    assert hgvs_p(12, "G", "*", frameshift=True) == "p.Gly12*"  # immediate stop: nonsense
    assert hgvs_p(12, "G", "GV", frameshift=True, next_residue="K") == "p.Lys13fs"
    assert hgvs_p(260, "*", "G", frameshift=True) == "p.Ter260Glyext*?"
    with pytest.raises(ValueError, match="next_residue"):
        hgvs_p(12, "G", "GV", frameshift=True)


def test_hgvs_p_case_and_validation():
    assert hgvs_p(600, "v", "e") == "p.Val600Glu"
    with pytest.raises(ValueError, match="start"):
        hgvs_p(0, "V", "E")
    with pytest.raises(ValueError, match="ref"):
        hgvs_p(5, "", "K")
    with pytest.raises(ValueError, match=r"alt .*\['J'\]"):
        hgvs_p(5, "K", "J")
    with pytest.raises(ValueError, match="next_residue"):
        hgvs_p(89, "K", "KG", next_residue="LP")


# --- bcftools csq notation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((600, "V", "E"), "600V>600E"),
        ((278, "S", "S"), "278S"),
        ((3, "GLGLW", "W"), "3GLGLW>3W"),
        ((89, "K", "KKKEKG"), "89K>89KKKEKG"),
        ((260, "*", "G"), "260*>260G"),
        ((213, "R", "*"), "213R>213*"),
        ((5, "K", ""), "5K>5"),
        ((600, "v", "e"), "600V>600E"),
    ],
)
def test_csq_notation(args, expected):
    assert csq_notation(*args) == expected


def test_csq_notation_validation():
    with pytest.raises(ValueError, match="start"):
        csq_notation(0, "V", "E")
    with pytest.raises(ValueError, match="ref"):
        csq_notation(3, "", "E")
    with pytest.raises(ValueError, match="alt"):
        csq_notation(3, "V", "E1")


def test_csq_notation_writes_an_indel_as_a_change_even_when_the_residues_stay():
    # an in-frame insertion after the stop codon: csq never calls an indel synonymous
    assert csq_notation(96, "*", "*", indel=True) == "96*>96*"
    assert csq_notation(96, "*", "*") == "96*"
    assert csq_notation(3, "GLGLW", "W", indel=True) == "3GLGLW>3W"
