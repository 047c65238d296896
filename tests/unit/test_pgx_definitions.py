"""The PGx knowledge-base reader checks its rows; the importer reads the published format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.pgx.definitions import import_translation, read_kb

REPO = Path(__file__).resolve().parents[2]


def test_bundled_kb_reads_and_holds_known_facts():
    kb = read_kb(REPO / "resources/kb/pgx")
    cyp2c19 = kb["CYP2C19"]
    idx = {p.pos: k for k, p in enumerate(cyp2c19.positions)}
    assert cyp2c19.reference_allele == "*38"  # GRCh38 carries *38, not *1, at CYP2C19
    assert cyp2c19.alleles["*2"][idx[94781859]] == "A"  # rs4244285, c.681G>A
    assert cyp2c19.alleles["*17"][idx[94761900]] == "T"  # rs12248560, c.-806C>T
    assert kb["CYP2C9"].alleles["*3"] == {
        next(k for k, p in enumerate(kb["CYP2C9"].positions) if p.pos == 94981296): "C"
    }


def test_a_row_without_a_value_is_named(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "resources/kb/pgx", kb)
    lines = (kb / "allele_definitions.tsv").read_text().splitlines()
    fields = lines[5].split("\t")
    fields[5] = ""
    lines[5] = "\t".join(fields)
    (kb / "allele_definitions.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"allele_definitions.tsv, line 6, field 'allele_base': a value is required"):
        read_kb(kb)


def test_a_position_missing_from_positions_tsv_is_named(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "resources/kb/pgx", kb)
    with open(kb / "allele_definitions.tsv", "a") as fh:
        fh.write("CYP2C19\t*99\tno\tchr10\t1\tA\tmade up\t2026-01-01\n")
    with pytest.raises(InputError, match=r"field 'pos': CYP2C19 position 1 is not in positions.tsv"):
        read_kb(kb)


def test_importer_reads_the_published_format(tmp_path, capsys):
    definition = {
        "gene": "TOY1", "genomeBuild": "GRCh38.p14", "version": "2026-01-02-00-00",
        "variants": [
            {"chromosome": "chr1", "position": 100, "ref": "A", "alts": ["G"], "rsid": "rs1"},
            {"chromosome": "chr1", "position": 200, "ref": "C", "alts": ["T"], "rsid": None},
        ],
        "namedAlleles": [
            {"name": "*1", "alleles": ["A", "C"], "reference": True},
            {"name": "*2", "alleles": ["G", None], "reference": False},
        ],
    }  # fmt: skip
    src = tmp_path / "defs"
    src.mkdir()
    (src / "TOY1_translation.json").write_text(json.dumps(definition))
    d = import_translation(src / "TOY1_translation.json")
    assert d.reference_allele == "*1" and d.alleles["*2"] == {0: "G"} and d.date == "2026-01-02"
    assert main(["pgx", "import-definitions", "--from", str(src), "--outdir", str(tmp_path / "kb")]) == 0
    kb = read_kb(tmp_path / "kb")
    assert kb["TOY1"].positions[1].rsid == "." and kb["TOY1"].alleles["*1"] == {0: "A", 1: "C"}
    assert "1 genes: 2 positions" in capsys.readouterr().out


def test_importer_refuses_another_build(tmp_path):
    path = tmp_path / "X_translation.json"
    path.write_text(json.dumps({"gene": "X", "genomeBuild": "GRCh37", "variants": [], "namedAlleles": []}))
    with pytest.raises(InputError, match=r"field 'genomeBuild': definitions are on 'GRCh37'"):
        import_translation(path)
