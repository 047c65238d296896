"""Snakemake adapter: actionable biomarkers of one tumour, tiered for its tumour type, and TMB."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0])

import json

from seq2rx import actionability as actionability
from seq2rx.provenance.versions import write_versions

kb = actionability.load(Path(snakemake.input.kb[0]).parent)
callable_path = snakemake.input.get("callable")
callable_doc = json.loads(Path(callable_path).read_text()) if callable_path else {}
doc = actionability.run(
    kb,
    snakemake.input.vcf,
    snakemake.wildcards.sample,
    snakemake.params.tumor_type,
    snakemake.params.build,
    consequences=snakemake.input.get("consequences"),
    callable_bases=callable_doc.get("callable_bases"),
    mode=callable_doc.get("mode", "VCF from elsewhere"),
)
actionability.write_table(doc["rows"], snakemake.wildcards.sample, snakemake.output.tsv)
actionability.write_json(doc, snakemake.output.json)
print(f"{len(doc['rows'])} rows; TMB {doc['tmb']}", file=sys.stderr)
write_versions(snakemake.output.versions, "actionability", ["seq2rx"])
