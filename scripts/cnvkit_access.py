"""Snakemake adapter: the reference's sequence-accessible regions (CNVkit's access), once per run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.provenance.versions import write_versions
from seq2rx.tumour import write_access

n = write_access(snakemake.input.fasta, snakemake.output.bed)
print(f"{n} accessible regions", file=sys.stderr)
write_versions(snakemake.output.versions, "cnvkit_access", ["seq2rx"])
