"""Snakemake adapter: actionable biomarkers of one tumour, tiered for its tumour type: small variants
and TMB, copy number, fusions and MSI, each said to be assessed or not (with the reason)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

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
cnv_doc, fusions_doc = read("cnv_json"), read("fusions_json")
# a step that ran but could not assess (too little coverage, no reads on the genes) says why
unassessed = {**tumour.not_assessed(p.plan), **tumour.steps_not_assessed(copy_number=cnv_doc, fusions=fusions_doc)}
cna = inp.get("cna")  # another caller's segments (the sheet's cna column), else CNVkit's gene table
if not cna and inp.get("cnv_genes") and "copy number" not in unassessed:
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
    fusions=inp.get("fusions") if "fusions" not in unassessed else None,
    msi=read("msi"),
    cna_thresholds=tumour.file_thresholds(p.copy_number),
    methods=actionability.assessment_methods(
        copy_number=None if "copy number" in unassessed else cnv_doc,
        cna_file=inp.get("cna"),
        fusions=None if "fusions" in unassessed else fusions_doc,
        fusions_file=p.fusions_file,
    ),
    not_assessed=unassessed,
)
actionability.write_table(doc["rows"], snakemake.wildcards.sample, snakemake.output.tsv)
actionability.write_json(doc, snakemake.output.json)
print(f"{len(doc['rows'])} rows; TMB {doc['tmb']}", file=sys.stderr)
write_versions(snakemake.output.versions, "actionability", ["seq2rx"])
