"""Snakemake adapter: this run's tumour patients in the network of past patients."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import atomic_output, log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json
from seq2rx.inputs.clinical import read_clinical
from seq2rx.ml import features as F
from seq2rx.provenance.versions import write_versions
from seq2rx.similarity.pipeline import run

out = snakemake.output
try:
    result = run(
        F.read(snakemake.input.history_features),
        read_clinical(snakemake.input.history_clinical),
        F.read(snakemake.input.features),
        dict(snakemake.params.similarity),
    )
except InputError as exc:
    sys.exit(f"seq2rx: {exc}")
write_json(result["patients"], out.patients, allow_nan=False)
write_json(result["summary"], out.summary, allow_nan=False)
for path, name in zip(out.plots, ("network", "heatmap", "km_clusters"), strict=True):
    with atomic_output(path) as tmp:
        Path(tmp).write_text(result["plots"][name])
print("clusters:", result["n_clusters"], file=sys.stderr)
write_versions(out.versions, "similarity", ["seq2rx", "scikit-learn", "lifelines", "matplotlib"])
