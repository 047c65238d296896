"""Snakemake adapter: samtools reports, target coverage and the QC verdict of one sample."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads import qc

s = snakemake.wildcards.sample
qc.samtools_reports(
    snakemake.input.bam,
    snakemake.input.fasta,
    snakemake.output.stats,
    snakemake.output.flagstat,
    snakemake.output.idxstats,
)
depth = qc.target_depth(
    snakemake.input.bam, snakemake.input.targets, snakemake.params.min_mapq, snakemake.params.min_baseq
)
qc.write_coverage(depth.regions, snakemake.output.coverage)
# on-target rate only for configured targets (exomes, panels): the islands cover every read
on_target = qc.on_target_bases(snakemake.input.bam, snakemake.input.targets) if snakemake.params.targets else None
th = qc.Thresholds(**snakemake.params.thresholds)
reads = json.loads(Path(snakemake.input.reads).read_text()) if snakemake.input.get("reads") else None
summary = qc.summarise(
    s,
    Path(snakemake.output.flagstat).read_text(),
    depth.regions,
    th,
    reads=reads,
    fold_80=qc.fold_80_base_penalty(depth.histogram),
    on_target=on_target,
)
qc.write_json(summary, snakemake.output.summary)
write_versions(snakemake.output.versions, "samtools_stats", ["samtools"])
