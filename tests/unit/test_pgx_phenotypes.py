"""Function -> activity score -> phenotype, from the bundled CPIC tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seq2rx.core.errors import InputError
from seq2rx.pgx.phenotypes import read_kb

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb():
    return read_kb(REPO / "resources/kb/pgx")


@pytest.mark.parametrize(
    "gene,a1,a2,phenotype,score",
    [
        ("CYP2C19", "*2", "*2", "Poor Metabolizer", None),
        ("CYP2C19", "*1", "*17", "Rapid Metabolizer", None),
        ("CYP2C19", "*17", "*17", "Ultrarapid Metabolizer", None),
        ("CYP2C19", "*1", "*2", "Intermediate Metabolizer", None),
        ("CYP2C9", "*1", "*3", "Intermediate Metabolizer", 1.0),
        ("CYP2C9", "*2", "*3", "Poor Metabolizer", 0.5),  # CPIC: activity score 0 or 0.5 is poor
        ("CYP2C9", "*3", "*3", "Poor Metabolizer", 0.0),
        ("DPYD", "Reference", "c.1905+1G>A (*2A)", "Intermediate Metabolizer", 1.0),
        ("TPMT", "*3A", "*3A", "Poor Metabolizer", None),
        ("SLCO1B1", "*5", "*15", "Poor Function", None),
    ],
)
def test_cpic_phenotypes(kb, gene, a1, a2, phenotype, score):
    assert kb[gene].phenotype(a1, a2) == (phenotype, score)
    assert kb[gene].phenotype(a2, a1) == (phenotype, score)  # order does not matter


def test_an_unknown_allele_is_indeterminate(kb):
    assert kb["CYP2C19"].phenotype("*1", "*999") == ("Indeterminate", None)
    assert kb["CYP2C9"].phenotype("*1", "*999") == ("Indeterminate", None)


def test_a_rule_without_a_phenotype_is_named(tmp_path):
    shutil.copytree(REPO / "resources/kb/pgx", tmp_path / "kb")
    path = tmp_path / "kb/phenotype_rules.tsv"
    lines = path.read_text().splitlines()
    f = lines[3].split("\t")
    f[3] = ""
    lines[3] = "\t".join(f)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"phenotype_rules.tsv, line 4, field 'phenotype': a value is required"):
        read_kb(tmp_path / "kb")


def test_import_phenotypes_cli(tmp_path, capsys):
    import json

    from seq2rx.cli import main

    src = tmp_path / "phen"
    src.mkdir()
    (src / "TOY1.json").write_text(json.dumps({
        "gene": "TOY1", "version": "2026-01-02-00-00",
        "haplotypes": {"*1": "Normal function", "*2": "No function"}, "activityValues": {},
        "diplotypes": [
            {"diplotypekey": {"*1": 2}, "phenotype": "Normal Metabolizer", "activityScore": None},
            {"diplotypekey": {"*1": 1, "*2": 1}, "phenotype": "Intermediate Metabolizer", "activityScore": None},
            {"diplotypekey": {"*2": 2}, "phenotype": "Poor Metabolizer", "activityScore": None},
        ],
    }))  # fmt: skip
    assert main(["pgx", "import-phenotypes", "--from", str(src), "--outdir", str(tmp_path / "kb")]) == 0
    assert "1 genes: 2 allele functions, 3 phenotype rules" in capsys.readouterr().out
    toy = read_kb(tmp_path / "kb")["TOY1"]
    assert toy.phenotype("*2", "*1") == ("Intermediate Metabolizer", None)
