"""Snakemake adapter: diplotypes, phenotypes and drug guidance for one sample."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.pgx.pipeline import PgxKnowledge, call_workflow_sample, write_json, write_tsv
from seq2rx.provenance.versions import write_versions

kb = PgxKnowledge.load(Path(snakemake.input.kb[0]).parent)
outside = snakemake.input.get("outside")
doc = call_workflow_sample(
    kb,
    snakemake.input.vcf,
    snakemake.wildcards.sample,
    outside,
    snakemake.params.min_depth,
    filters=snakemake.params.get("filters") or ["PASS"],
    absent_as_reference=bool(snakemake.params.get("absent_as_reference")),
)
if snakemake.params.sample_type == "tumor":
    doc["warnings"].append(
        "genotypes come from tumour DNA: somatic changes and loss of heterozygosity can distort them; "
        "a matched normal or germline sample is preferred"
    )
write_json(doc, snakemake.output.json)
write_tsv([doc], snakemake.output.genes, snakemake.output.drugs)
for gene, r in doc["genes"].items():
    print(gene, "|".join(r["diplotypes"]) or r["status"], r["phenotype"], sep="\t", file=sys.stderr)
write_versions(snakemake.output.versions, "pgx_call", ["seq2rx", "pysam"])
