"""Snakemake adapter: assemble one patient's findings document."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx import findings
from seq2rx.provenance.versions import merge

# the plan names the files (they are this job's inputs); the version records become the tools
settings = {**snakemake.params.settings, "tools": merge(snakemake.input.versions)}
doc = findings.build(snakemake.wildcards.patient, snakemake.params.plan, settings=settings)
findings.validate(doc)  # the report reads nothing else: a document that breaks its schema stops here
findings.write(doc, snakemake.output.json)
