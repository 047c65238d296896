"""Snakemake adapter: fixmate, sort, mark duplicates and index."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.reads.align import sort_markdup

sort_markdup(snakemake.input.bam, snakemake.output.bam, snakemake.output.stats, threads=snakemake.threads)
write_versions(snakemake.output.versions, "samtools_markdup", ["samtools"])
