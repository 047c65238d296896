"""Snakemake adapter: train on the past patients, predict for this run's tumour patients."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.core.io import atomic_output, log_stderr

log_stderr(snakemake.log[0], snakemake.input)

from seq2rx.core.errors import InputError
from seq2rx.inputs.clinical import read_clinical
from seq2rx.ml import features as F
from seq2rx.ml import outputs as O
from seq2rx.ml import predict as P
from seq2rx.provenance.versions import tool_version, write_versions

TOOLS = ["seq2rx", "scikit-learn", "scikit-survival", "lifelines", "skops", "numpy", "pandas"]
out = snakemake.output
try:
    history = F.read(snakemake.input.history_features)
    clinical = read_clinical(snakemake.input.history_clinical)
    current = F.read(snakemake.input.features)
    cfg = dict(snakemake.params.ml)
    cfg["adjust_for"] = list(cfg["adjust_for"])
    source = Path(snakemake.input.history_clinical).name
    doc, models = P.run(history, clinical, current, cfg, source=f"{Path(cfg['history']).name}/{source}")
except InputError as exc:
    sys.exit(f"seq2rx: {exc}")

plots = O.write_plots(doc, Path(out.plots[0]).parent)
doc["km_logrank_p"] = plots["km_logrank_p"]
O.write_table(O.PREDICTION_COLUMNS, O.prediction_rows(doc), out.predictions)
O.write_table(O.CONTRIBUTION_COLUMNS, O.contribution_rows(doc), out.contributions)
O.write_metrics(doc, out.metrics)
O.write_patients(doc, out.patients)
O.write_contribution_plots(doc, {Path(p).stem: p for p in out.contribution_plots})
O.save_models(models, Path(out.models[0]).parent)
versions = {name: tool_version(name) for name in TOOLS}
with atomic_output(out.card) as tmp:
    Path(tmp).write_text(O.model_card(doc, versions, f"{Path(cfg['history']).name}/{source}"))
for p in doc["patients"]:
    b = p["values"]["benefit"]
    print(
        p["patient"],
        f"benefit {b['estimate']:+.3f} [{b['lower']:+.3f}, {b['upper']:+.3f}]",
        p["favours"],
        file=sys.stderr,
    )
write_versions(out.versions, "ml_predict", TOOLS)
