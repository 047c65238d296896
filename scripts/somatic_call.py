"""Snakemake adapter: somatic calls of one tumour (with its matched normal when there is one), in
its calling regions or one interval of them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx import actionability as actionability
from seq2rx.provenance.versions import write_versions
from seq2rx.variants.somatic import SomaticParams, call_somatic, write_callable

p = snakemake.params
params = SomaticParams.from_config(p.somatic, p.calling)
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
    callable_targets=snakemake.input.get("callable_targets"),
    margin=getattr(p, "margin", 0),  # one tile of a scattered whole genome
)
write_callable(counts, snakemake.output.callable)
print(counts, file=sys.stderr)
if "versions" in snakemake.output.keys():  # not for one interval of a scattered call
    write_versions(snakemake.output.versions, "somatic_call", ["bcftools", "seq2rx"])
