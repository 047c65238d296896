"""NegEx's annotated test set (../shared/data/negex/annotations.tsv: 1,593 sentences, 75 reports):
``seq2rx notes assert`` against the annotators' Negation column, which only this test reads.

Targets (issue 20): F1 for Negated at least 0.93 and recall no worse than GenNegEx's published 0.959
on the whole set. The file's 75 reports are numbered 1 to 119 (with gaps). The NegEx trigger terms
(resources/kb/nlp/context_terms.tsv) were chosen looking at the reports numbered 1-37 only (26
reports); those numbered 38-119 (49 reports) are the held-out half, held to the F1 target alone (its
recall, 0.936, is below 0.959: BENCHMARKS.md section 14 says so). The possible and historical
triggers added later come from seq2rx's own test sentences, not from this set; they leave every
row's label as it was.
"""

from __future__ import annotations

import csv

import pytest

from seq2rx.cli import main

pytestmark = pytest.mark.validation


def score(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    tp = sum(1 for truth, pred in pairs if truth == pred == "Negated")
    fp = sum(1 for truth, pred in pairs if truth != "Negated" and pred == "Negated")
    fn = sum(1 for truth, pred in pairs if truth == "Negated" and pred != "Negated")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def _read(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def pairs(shared_data, tmp_path_factory) -> list[tuple[int, str, str]]:
    src = shared_data / "negex" / "annotations.tsv"
    if not src.is_file():
        pytest.skip(f"{src} is absent (NegEx's annotated test set, ../shared/data/negex/)")
    out = tmp_path_factory.mktemp("negex") / "asserted.tsv"
    assert main(["notes", "assert", "--in", str(src), "--out", str(out)]) == 0
    truth, predicted = _read(src), _read(out)
    assert len(truth) == len(predicted) == 1593
    assert all(t["Sentence"] == p["Sentence"] and t["Concept"] == p["Concept"] for t, p in zip(truth, predicted))
    return [(int(t["Report No."]), t["Negation"], p["Negation"]) for t, p in zip(truth, predicted)]


def test_negated_on_the_whole_set_meets_the_targets(pairs):
    precision, recall, f1 = score([(t, p) for _, t, p in pairs])
    assert f1 >= 0.93 and recall >= 0.959, (precision, recall, f1)
    assert precision >= 0.933  # GenNegEx's published precision


def test_each_half_meets_the_f1_target(pairs):
    chosen_on = [(t, p) for r, t, p in pairs if r <= 37]
    held_out = [(t, p) for r, t, p in pairs if r >= 38]
    assert len({r for r, _, _ in pairs if r <= 37}) == 26 and len({r for r, _, _ in pairs if r >= 38}) == 49
    assert len(chosen_on) + len(held_out) == len(pairs)
    for half in (chosen_on, held_out):
        precision, recall, f1 = score(half)
        assert f1 >= 0.93, (precision, recall, f1)
