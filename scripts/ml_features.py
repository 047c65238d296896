"""Snakemake adapter: the tumour patients' feature matrix (docs/data-model.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.core.bed import read_bed_named
from seq2rx.core.errors import InputError
from seq2rx.inputs.clinical import read_clinical
from seq2rx.ml import features as F
from seq2rx.pgx.pipeline import PgxKnowledge

try:
    plan = snakemake.params.plan
    clinical = {}
    if snakemake.input.clinical:
        table = read_clinical(snakemake.input.clinical)
        clinical = {r["patient"]: r for r in table.to_dict("records")}
    genes = sorted({name for *_, name in read_bed_named(snakemake.input.targets)})
    pgx_genes = sorted(PgxKnowledge.load(Path(snakemake.scriptdir).parent / "resources" / "kb" / "pgx").known_genes)
    rows = [
        F.patient_features(p, e["samples"], e["files"], genes, pgx_genes, clinical.get(p))
        for p, e in sorted(plan.items())
    ]
    F.write(F.matrix(rows, genes, pgx_genes), snakemake.output[0])
except InputError as exc:
    sys.exit(f"seq2rx: {exc}")
