"""Snakemake adapter: one MultiQC report over every QC file."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx.pgx.pipeline import PgxKnowledge
from seq2rx.provenance.versions import write_versions
from seq2rx.report.multiqc import findings_table, multiqc_table, run_multiqc

summaries = [json.loads(Path(p).read_text()) for p in snakemake.input.summaries]
multiqc_table(summaries, snakemake.output.table)
inputs = [*snakemake.input.stats, *snakemake.input.flagstat, *snakemake.input.idxstats, *snakemake.input.cutadapt]
pgx = [json.loads(Path(p).read_text()) for p in snakemake.input.pgx]
action = [json.loads(Path(p).read_text()) for p in snakemake.input.actionability]
kb = PgxKnowledge.load(Path(snakemake.input.pgx_kb[0]).parent)
findings_table(pgx, action, snakemake.output.findings, normal=kb.reference_phenotypes(), risk_alleles=kb.risk_alleles())
inputs += [*snakemake.input.bcftools, snakemake.output.table, snakemake.output.findings]
run_multiqc(inputs, snakemake.input.config, Path(snakemake.output.html).parent)
write_versions(snakemake.output.versions, "multiqc_report", ["multiqc"])
