"""The library's layers (docs/architecture.md): each subpackage of src/seq2rx imports only itself and
the layers listed for it here, so that nothing runs back up (a report never reaches into the models,
an analysis step never into the reports) and the data it needs ships inside the package."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "seq2rx"

FOUNDATION = {"core"}
BASE = FOUNDATION | {"genome", "inputs", "provenance"}
READS_VARIANTS = BASE | {"reads", "variants"}
ANALYSIS = READS_VARIANTS | {"tumour", "pgx", "actionability", "ml", "similarity", "cohort"}
#: layer -> the layers it may import (besides itself); docs/architecture.md says the same in prose
ALLOWED = {
    "core": set(),
    "genome": FOUNDATION,
    "inputs": FOUNDATION,
    "provenance": FOUNDATION,
    "reads": BASE,
    "variants": BASE | {"reads"},
    "tumour": READS_VARIANTS,
    "pgx": READS_VARIANTS,
    "actionability": READS_VARIANTS | {"tumour"},
    "ml": READS_VARIANTS | {"tumour", "pgx", "actionability"},
    "similarity": READS_VARIANTS | {"ml"},
    "cohort": BASE,
    "ehr": FOUNDATION | {"inputs", "provenance", "cohort", "notes"},
    "findings": ANALYSIS,
    "report": FOUNDATION | {"findings"},
    "fhir": FOUNDATION | {"findings"},
    "sim": ANALYSIS | {"ehr"},
    "ops": BASE,
    "cds": ANALYSIS | {"findings"},
    "notes": FOUNDATION,
    "cli": ANALYSIS | {"findings", "report", "sim", "ops", "cds", "fhir", "ehr", "notes"},
}


def layer_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every seq2rx import in a file, lazy imports inside functions included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path.relative_to(SRC)}:{node.lineno}: relative import; write seq2rx.<layer>...")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "seq2rx":
            parts = node.module.split(".")
            names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("seq2rx.")]
        found |= {(n, node.lineno) for n in names if n != "__version__"}
    return found


FILES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted({layer_of(p) for p in FILES} - set(ALLOWED))
    assert not unknown, f"modules outside the layer map: {unknown}; add them to ALLOWED and docs/architecture.md"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layers(path):
    layer = layer_of(path)
    bad = [f"line {line}: seq2rx.{target}" for target, line in sorted(imported_layers(path), key=lambda x: x[1])
           if target != layer and target not in ALLOWED.get(layer, set())]  # fmt: skip
    assert not bad, f"{path.relative_to(SRC)} ({layer}) may import {sorted(ALLOWED[layer])}, not: {bad}"


def test_reports_import_no_analysis_layer():
    """The reports render documents; matplotlib and the models never run at render time."""
    for path in (SRC / "report").rglob("*.py"):
        targets = {t for t, _ in imported_layers(path)}
        assert not targets & {"ml", "similarity", "pgx", "actionability"}, path


def test_the_library_finds_no_data_by_walking_up_the_checkout():
    """Data ships inside the package (seq2rx.core.data.data_path); nothing in src/ climbs to the
    checkout's folders with parents[N] or a chain of .parent."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if "__file__" in line and ("parents[" in line or ".parent.parent" in line):
                offenders.append(f"{path.relative_to(SRC)}:{k}")
    assert not offenders, offenders


def test_package_data_links_resolve():
    """src/seq2rx/data/ links to the user-editable copies in resources/ and config/schemas."""
    for name, probe in (("kb", "pgx/allele_definitions.tsv"), ("schemas", "findings.schema.yaml"),
                        ("validation", "similarity_real.tsv"), ("demo", "demo.yaml")):  # fmt: skip
        assert (SRC / "data" / name / probe).is_file(), f"src/seq2rx/data/{name}/{probe}"
