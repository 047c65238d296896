"""Snakemake adapter: DNA fusions of the knowledge base's fusion genes in one tumour BAM."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx import actionability
from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import FusionParams, call_fusions, write_fusions

inp = snakemake.input
genes = actionability.fusion_genes(actionability.load(Path(inp.kb[0]).parent))
calls = call_fusions(
    inp.bam,
    inp.fasta,
    inp.gff3,
    genes,
    params=FusionParams.from_config(snakemake.params.fusions),
    kinase_domains=inp.kinase_domains,
)
n = write_fusions(calls, snakemake.output.tsv, snakemake.output.json, sample=snakemake.wildcards.sample)
print(f"{n} fusions over {len(calls.genes_scanned)} genes", file=sys.stderr)
write_versions(snakemake.output.versions, "fusions_call", ["biopython", "pysam", "seq2rx"])
