"""Snakemake adapter: the workflow's own aligner index (islands of a mostly-N reference, or the
whole reference), when no existing index is reused."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads.index import build_workflow_index

kind = build_workflow_index(
    snakemake.input.fasta, snakemake.params.outdir, snakemake.params.aligner, snakemake.params.min_gap
)
print(f"seq2rx: index: {kind}", file=sys.stderr)
tools = {"bwa": ["pybwa", "pysam"], "minimap2": ["pyminimap2", "pysam"]}[snakemake.params.aligner]
write_versions(snakemake.output.versions, "aligner_index", tools, extra={"index": kind})
