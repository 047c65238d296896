"""What a clinician reads for each feature: its label, its unit and how its values are shown.

The one table of labels (:data:`FEATURES`): the contribution plots, the importance plot, the
contributions table, the model card and (through ``results/ml/patients.json`` and the findings
document) the report all take their words from here, so that ``egfr`` is never read as the EGFR
gene: it is shown as "eGFR (mL/min/1.73 m²) = 48", and ``mut_EGFR`` as "EGFR mutated = yes".

A row's ``feature`` is a column of the feature matrix (``docs/data-model.md``), or a pattern with
``{gene}`` for the per-gene columns. ``kind`` says how a value is shown: ``number`` (as it is, with
the unit), ``count`` (an integer), ``yes/no`` (0/1), ``category`` (the text), ``treatment``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

# feature (or pattern), label, unit, kind, what it is (for the model card)
FEATURES: tuple[tuple[str, str, str, str, str], ...] = (
    ("age", "Age", "years", "number", "age at diagnosis"),
    ("ecog", "ECOG performance status", "", "number", "0 (fully active) to 4 (confined to bed)"),
    (
        "egfr",
        "eGFR",
        "mL/min/1.73 m²",
        "number",
        "estimated glomerular filtration rate: kidney function, not the EGFR gene",
    ),  # fmt: skip
    ("sex", "Sex", "", "category", "from the sample sheet"),
    ("stage", "Stage", "", "category", "stage at diagnosis, I to IV"),
    ("tumor_type", "Tumour type", "", "category", "OncoTree code"),
    ("mut_{gene}", "{gene} mutated", "", "yes/no", "a protein-altering call in the gene, germline or somatic"),
    (
        "trunc_{gene}",
        "{gene} truncating variant",
        "",
        "yes/no",
        "a stop, frameshift, splice-site or start-lost call",
    ),  # fmt: skip
    ("pgx_{gene}", "{gene} phenotype", "", "category", "pharmacogenomic phenotype, or not called"),
    (
        "actionable_tier1",
        "Tier I targets",
        "",
        "count",
        "genes with a sensitising tier I finding, not overridden by a resistance alteration",
    ),  # fmt: skip
    (
        "actionable_tier2",
        "Tier II targets",
        "",
        "count",
        "genes with a sensitising tier II finding and none at tier I",
    ),  # fmt: skip
    (
        "actionable_resistance",
        "Resistance alterations",
        "",
        "count",
        "alterations with a tier I/II finding of resistance to a therapy",
    ),  # fmt: skip
    ("tmb", "Tumour mutational burden", "mutations/Mb", "number", "somatic mutations per megabase of the tumour"),
    ("treated", "Treatment", "", "treatment", "the treatment arm (targeted or chemotherapy)"),
)

# how the treatments of the task read in a sentence
TREATMENTS = {"targeted": "targeted therapy", "chemotherapy": "chemotherapy"}
MISSING = "not recorded"
INTERACTION_PREFIX = "treated_x_"
_YES_NO = {0: "no", 1: "yes"}


def _patterns() -> list[tuple[re.Pattern, tuple[str, str, str, str]]]:
    out = []
    for feature, label, unit, kind, about in FEATURES:
        regex = "^" + re.escape(feature).replace(re.escape("{gene}"), "(?P<gene>.+)") + "$"
        out.append((re.compile(regex), (label, unit, kind, about)))
    return out


_PATTERNS = _patterns()


def describe(feature: str) -> dict[str, str]:
    """{label, unit, kind, about} of a feature; a column outside the table keeps its own name
    (kind ``number``) so that nothing is dropped. The progression model's ``treated_x_<feature>``
    (the treatment times a feature) reads "Treatment × <label of the feature>"."""
    if feature.startswith(INTERACTION_PREFIX):
        inner = describe(feature.removeprefix(INTERACTION_PREFIX))
        return {"label": f"Treatment × {inner['label']}", "unit": inner["unit"], "kind": inner["kind"],
                "about": "the feature in patients given the treated arm, 0 otherwise"}  # fmt: skip
    for regex, (label, unit, kind, about) in _PATTERNS:
        m = regex.match(feature)
        if m:
            gene = m.groupdict().get("gene", "")
            return {"label": label.format(gene=gene), "unit": unit, "kind": kind, "about": about}
    return {"label": feature, "unit": "", "kind": "number", "about": ""}


def label(feature: str) -> str:
    """The feature's label with its unit: "eGFR (mL/min/1.73 m²)", "EGFR mutated"."""
    d = describe(feature)
    return f"{d['label']} ({d['unit']})" if d["unit"] else d["label"]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def value_text(feature: str, value) -> str:
    """A value as the label's kind shows it: 48, yes, Intermediate Metabolizer, not recorded."""
    if _missing(value):
        return MISSING
    kind = describe(feature)["kind"]
    if kind == "yes/no" and value in _YES_NO:
        return _YES_NO[int(value)]
    if kind == "treatment":
        return treatment(str(value))
    if isinstance(value, bool | int | float) and not isinstance(value, str):
        return f"{value:g}"
    return str(value)


def shown(feature: str, value) -> str:
    """Label, unit and value: "eGFR (mL/min/1.73 m²) = 48", "BRAF mutated = yes"."""
    return f"{label(feature)} = {value_text(feature, value)}"


def feature_labels(values: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """{feature: {label, shown}} for a patient's feature values (what the report needs)."""
    return {f: {"label": label(f), "shown": shown(f, v)} for f, v in values.items()}


def treatment(name: str) -> str:
    """A treatment as a sentence names it: targeted -> "targeted therapy"."""
    return TREATMENTS.get(name, name)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _range(lo: float, hi: float) -> str:
    return f"{100 * lo:.0f}–{100 * hi:.0f}%"


def _points(x: float) -> str:
    """Percentage points with a sign; one that rounds to zero is "0", never "−0"."""
    n = round(100 * x)
    return f"{n:+d}".replace("-", "−") if n else "0"


def benefit_sentence(values: Mapping[str, Mapping[str, float]], task: Mapping[str, object]) -> str:
    """The predicted benefit in one sentence with its intervals, from a patient's ``values``:

    "Targeted therapy: predicted response 62% (90% interval 48–75%) vs 35% (20–51%) on
    chemotherapy; difference +27 percentage points (+5 to +44)."
    """
    level = round(100 * float(task["interval"]))
    r_t, r_r, b = values["response_treated"], values["response_reference"], values["benefit"]
    treated = treatment(str(task["treated"]))
    excludes = b["lower"] > 0 or b["upper"] < 0
    return (
        f"{treated[:1].upper()}{treated[1:]}: predicted response {_pct(r_t['estimate'])} "
        f"({level}% interval {_range(r_t['lower'], r_t['upper'])}) vs {_pct(r_r['estimate'])} "
        f"({_range(r_r['lower'], r_r['upper'])}) on {treatment(str(task['reference']))}; difference "
        f"{_points(b['estimate'])} percentage points ({_points(b['lower'])} to {_points(b['upper'])}"
        + ("" if excludes else "; the interval includes no difference")
        + ")."
    )


def agreement_sentence(values: Mapping[str, Mapping[str, float]], task: Mapping[str, object]) -> str:
    """Whether response and progression-free survival at the horizon favour the same arm, and when
    they do not, why they may disagree (from the numbers: the arms, the intervals)."""
    treated, reference = str(task["treated"]), str(task["reference"])
    months = f"{float(task['horizon_months']):g}"
    by_response = treated if values["benefit"]["estimate"] > 0 else reference
    pfs = values["pfs_benefit"]
    by_pfs = treated if pfs["estimate"] > 0 else reference
    if by_response == by_pfs:
        return f"Response and progression-free survival at {months} months both favour {treatment(by_response)}."
    uncertain = pfs["lower"] <= 0 <= pfs["upper"] or values["benefit"]["lower"] <= 0 <= values["benefit"]["upper"]
    return (
        f"Response favours {treatment(by_response)} but progression-free survival at {months} months favours "
        f"{treatment(by_pfs)}. They come from separate models (one classifier per treatment for response; one "
        "survival model with the treatment and its interaction with the targets for progression), and "
        "progression also depends on stage, age and performance status, not only on response"
        + ("; at least one of the two differences has an interval that includes no difference." if uncertain else ".")
    )
