"""Snakemake adapter: actionable biomarkers of one tumour, tiered for its tumour type: small variants
and TMB, copy number, fusions and MSI, each said to be assessed or not (with the reason)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0])

import json

from seq2rx import actionability as actionability
from seq2rx import tumour
from seq2rx.provenance.versions import write_versions

inp, p = snakemake.input, snakemake.params


def read(name):
    path = inp.get(name)
    return json.loads(Path(path).read_text()) if path else None


kb = actionability.load(Path(inp.kb[0]).parent)
callable_doc = read("callable") or {}
cna = inp.get("cna")  # another caller's segments (the sheet's cna column), else CNVkit's gene table
if not cna and inp.get("cnv_genes"):
    keep = {g.name for g in actionability.copy_number_genes(kb, p.build)}
    cna = tumour.gene_copy_numbers(inp.cnv_genes, keep=keep)
doc = actionability.run(
    kb,
    inp.vcf,
    snakemake.wildcards.sample,
    p.tumor_type,
    p.build,
    consequences=inp.get("consequences"),
    callable_bases=callable_doc.get("callable_bases"),
    mode=callable_doc.get("mode", "VCF from elsewhere"),
    cna=cna,
    fusions=inp.get("fusions"),
    msi=read("msi"),
    cna_thresholds=tumour.file_thresholds(p.copy_number),
    methods=actionability.assessment_methods(
        copy_number=read("cnv_json"),
        cna_file=inp.get("cna"),
        fusions=read("fusions_json"),
        fusions_file=p.fusions_file,
    ),
    not_assessed=tumour.not_assessed(p.plan),
)
actionability.write_table(doc["rows"], snakemake.wildcards.sample, snakemake.output.tsv)
actionability.write_json(doc, snakemake.output.json)
print(f"{len(doc['rows'])} rows; TMB {doc['tmb']}", file=sys.stderr)
write_versions(snakemake.output.versions, "actionability", ["seq2rx"])
