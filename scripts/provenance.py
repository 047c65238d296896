"""Snakemake adapter: the run's provenance record, a checksum chain over every output."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx import __version__, provenance

tools = json.loads(Path(snakemake.input.versions).read_text())
record = provenance.build(
    "results",
    snakemake.params.config_sha256,
    tools,
    snakemake.params.kb_dirs,
    snakemake.params.inputs,
    __version__,
)
provenance.write(record, "results")
print(f"{len(record['outputs'])} outputs chained; head {record['head']}", file=sys.stderr)
