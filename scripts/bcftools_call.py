"""Snakemake adapter: bcftools mpileup | call, norm and filters, for one or more BAMs; or, for one
calling interval of a scattered call, mpileup | call alone (the gather job normalises and filters)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.genome.reference import fasta_contigs
from seq2rx.provenance.versions import write_versions
from seq2rx.reads.align import check_bam_reference
from seq2rx.variants.germline import CallParams, call_variants, pileup_call

bams = snakemake.input.bams if "bams" in snakemake.input.keys() else [snakemake.input.bam]
contigs = fasta_contigs(snakemake.input.fasta)
for bam in bams:
    check_bam_reference(bam, contigs, snakemake.input.fasta)  # a BAM from the sheet may be on another reference
scattered = "bcf" in snakemake.output.keys()
(pileup_call if scattered else call_variants)(
    bams,
    snakemake.input.fasta,
    snakemake.output.bcf if scattered else snakemake.output.vcf,
    CallParams.from_config(snakemake.params.calling),
    regions=snakemake.input.get("regions") or None,
    threads=snakemake.threads,
    samples=snakemake.params.samples,
    **({"margin": snakemake.params.margin} if scattered else {}),
)
if "versions" in snakemake.output.keys():
    write_versions(snakemake.output.versions, "bcftools_call", ["bcftools"])
