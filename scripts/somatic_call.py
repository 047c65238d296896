"""Snakemake adapter: somatic calls of one tumour (with its matched normal when there is one)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0])

from seq2rx import actionability as actionability
from seq2rx.provenance.versions import write_versions
from seq2rx.variants.somatic import SomaticParams, call_somatic, write_callable

o, p = snakemake.params.options, snakemake.params
params = SomaticParams(
    min_mapq=p.min_mapq, min_baseq=o["min_baseq"], max_depth=p.max_depth, min_alt_reads=o["min_alt_reads"],
    min_vaf=o["min_vaf"], min_depth=o["min_depth"], min_normal_depth=o["min_normal_depth"],
    max_normal_alt_reads=o["max_normal_alt_reads"], max_normal_vaf=o["max_normal_vaf"],
    max_fisher_p=o["max_fisher_p"], germline_p=o["germline_p"],
    germline_hom_vaf=o["germline_hom_vaf"], max_population_af=o["max_population_af"],
)  # fmt: skip
kb = actionability.load(Path(snakemake.input.kb[0]).parent)
counts = call_somatic(
    snakemake.input.tumour_bam,
    snakemake.input.fasta,
    snakemake.output.vcf,
    snakemake.wildcards.sample,
    params,
    normal_bam=snakemake.input.get("normal_bam"),
    normal_name=p.normal,
    regions=snakemake.input.get("regions"),
    hotspots=kb.hotspots.get(p.build, set()),
    population_vcf=snakemake.input.population or None,
)
write_callable(counts, snakemake.output.callable)
print(counts, file=sys.stderr)
write_versions(snakemake.output.versions, "somatic_call", ["bcftools", "seq2rx"])
