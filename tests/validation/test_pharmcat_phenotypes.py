"""The bundled phenotype rules give every published diplotype its published phenotype."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2rx.pgx.phenotypes import read_kb

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.validation


def test_every_published_diplotype_gets_its_phenotype(shared_data):
    kb = read_kb(REPO / "resources/kb/pgx")
    checked = 0
    for gene, g in sorted(kb.items()):
        if gene == "CYP2D6":  # curated outside-call table; the published file is too large to ship here
            continue
        # MT-RNR1 (curated outside-call table, one mitochondrial allele) is published as MT_RNR1.json
        data = json.loads((shared_data / f"pharmcat/phenotype/{gene.replace('-', '_')}.json").read_text())
        assert (
            g.functions == data["haplotypes"]
            or {k: v or "Unknown" for k, v in data["haplotypes"].items()} == g.functions
        )
        for d in data["diplotypes"]:
            names = [a for a, n in d["diplotypekey"].items() for _ in range(int(n))]
            phenotype, score = g.phenotype(*names)
            assert phenotype == d["phenotype"], (gene, d["diplotype"])
            if d.get("activityScore") not in (None, "", "n/a"):
                assert score == pytest.approx(float(d["activityScore"])), (gene, d["diplotype"])
            checked += 1
    # every published diplotype of the 13 genes with a phenotype file, and the 25 MT-RNR1 alleles
    assert checked == 11_497 + 25
