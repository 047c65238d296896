"""Snakemake adapter: assemble one patient's findings document."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0])

import json

from seq2rx import __version__, findings
from seq2rx.provenance.versions import merge

rows = snakemake.params.rows
vcfs = {r["sample"]: v for r, v in zip(rows, snakemake.input.vcfs, strict=True)}
qc = {}
for path in snakemake.input.qc:
    summary = json.loads(Path(path).read_text())
    qc[summary["sample"]] = summary
provenance = {
    "thresholds": snakemake.params.qc_thresholds,
    "seq2rx_version": __version__,
    "analysis_date": snakemake.params.analysis_date or None,
    "config_sha256": snakemake.params.config_sha256,
    "tools": merge(snakemake.input.versions),
}
tables = snakemake.input.get("consequences", [])
consequences = {r["sample"]: t for r, t in zip(rows, tables, strict=True)} if tables else None
pgx = {r["sample"]: t for r, t in zip(rows, snakemake.input.pgx, strict=True)}
tumours = [r["sample"] for r in rows if r["type"] == "tumor"]
aligned = [r["sample"] for r in rows if r["stage"] in ("fastq", "bam")]
coverage = dict(zip(aligned, snakemake.input.coverage, strict=True))
actionability = dict(zip(tumours, snakemake.input.actionability, strict=True))
doc = findings.build(
    snakemake.wildcards.patient,
    rows,
    qc,
    vcfs,
    snakemake.params.build,
    provenance,
    snakemake.input.targets or None,
    consequences,
    pgx,
    actionability,
    coverage,
    snakemake.input.get("ml") or None,
    snakemake.params.predictions_reason,
    snakemake.input.get("similarity") or None,
)
findings.validate(doc)  # the report reads nothing else: a document that breaks its schema stops here
findings.write(doc, snakemake.output.json)
