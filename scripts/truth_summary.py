"""Snakemake adapter: one table of the demo truth comparisons."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import log_stderr

log_stderr(snakemake.log[0], snakemake.input)

import json

from seq2rx.core.io import atomic_output

lines = ["sample\ttype\ttp\tfp\tfn\tprecision\trecall\tf1"]
for path in snakemake.input:
    result = json.loads(Path(path).read_text())
    for kind in ("snv", "indel"):
        r = result[kind]
        vals = [r["tp"], r["fp"], r["fn"], r["precision"], r["recall"], r["f1"]]
        lines.append(Path(path).stem + "\t" + kind + "\t" + "\t".join("NA" if v is None else str(v) for v in vals))
with atomic_output(snakemake.output.tsv) as tmp:
    Path(tmp).write_text("\n".join(lines) + "\n")
