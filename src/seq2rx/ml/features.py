"""The patients × features matrix the prediction models and patient similarity use.

Built from the workflow's own per-sample outputs and the clinical table; the encoding is written
down in ``docs/data-model.md``:

* clinical covariates: ``age``, ``ecog``, ``egfr`` (numbers), ``sex``, ``stage``, ``tumor_type``;
* ``mut_<GENE>`` (0/1): a protein-altering call in the gene, germline or somatic (PASS only);
* ``trunc_<GENE>`` (0/1): a truncating call (a subset of the above);
* ``pgx_<GENE>``: the PGx phenotype, or ``not called``;
* ``actionable_tier1`` / ``actionable_tier2``: sensitising targets, the distinct genes (or biomarkers
  such as MSI) with a tier I / II finding of response "sensitive" that reconciliation did not
  override (a gene counted at tier I is not counted again at tier II);
* ``actionable_resistance``: distinct alterations with a tier I / II finding of response "resistant"
  (EGFR T790M against first-generation inhibitors), kept apart from the targets;
* ``tmb``: mutations per Mb from the tumour sample; missing for a patient without one.

Missing values stay missing here (NaN, or an empty category); the model pipelines impute them
(``seq2rx.ml.models.preprocessor``) so that training medians, not the new patient's, fill them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2rx.core.io import atomic_output

CLINICAL_NUMERIC = ("age", "ecog", "egfr")
CLINICAL_CATEGORICAL = ("sex", "stage", "tumor_type")
OUTCOMES = ("treatment", "response", "time_months", "event")
# bcftools csq consequence terms (without the leading "*" or "@" of the BCSQ field)
TRUNCATING = frozenset({"stop_gained", "frameshift", "splice_donor", "splice_acceptor", "start_lost"})
PROTEIN_ALTERING = TRUNCATING | frozenset(
    {"missense", "inframe_insertion", "inframe_deletion", "inframe_altering", "stop_lost"}
)
NOT_CALLED = "not called"
# a PGx phenotype is taken from the first sample type present, in this order
PGX_SAMPLE_ORDER = ("germline", "normal", "tumor")
# counts from the actionability tables: sensitising targets by tier, and resistance alterations
ACTIONABLE = ("actionable_tier1", "actionable_tier2", "actionable_resistance")


def consequence_terms(cell: str) -> set[str]:
    """The terms of one consequence cell: ``missense&splice_region`` -> {missense, splice_region}."""
    return {t.lstrip("*@") for t in str(cell).split("&") if t and t != "."}


def gene_status(rows: Iterable[Mapping[str, str]], genes: Sequence[str]) -> dict[str, int]:
    """``mut_<GENE>`` and ``trunc_<GENE>`` (0/1) for ``genes`` from consequence-table rows."""
    out = {f"{kind}_{g}": 0 for g in genes for kind in ("mut", "trunc")}
    wanted = set(genes)
    for row in rows:
        gene = row.get("gene", ".")
        if gene not in wanted:
            continue
        terms = consequence_terms(row.get("consequence", "."))
        if terms & PROTEIN_ALTERING:
            out[f"mut_{gene}"] = 1
        if terms & TRUNCATING:
            out[f"trunc_{gene}"] = 1
    return out


def read_consequence_rows(path: str | Path, keep: set[tuple[str, int, str, str]] | None = None) -> list[dict]:
    """Rows of a ``*.consequences.tsv``; with ``keep``, only the (chrom, pos, ref, alt) in it."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if keep is None:
        return rows
    return [r for r in rows if (r["chrom"], int(r["pos"]), r["ref"], r["alt"]) in keep]


def passing_calls(vcf: str | Path) -> set[tuple[str, int, str, str]]:
    """(chrom, pos, ref, alt) of the PASS records of a VCF (the somatic caller keeps its filtered
    records, marked, so that a reader can see why they were set aside)."""
    import pysam

    keep = set()
    with pysam.VariantFile(str(vcf)) as vf:
        for rec in vf:
            if list(rec.filter.keys()) in ([], ["PASS"]):
                keep.update((rec.chrom, rec.pos, rec.ref, alt) for alt in rec.alts or ())
    return keep


def pgx_phenotypes(table: str | Path, genes: Sequence[str]) -> dict[str, str]:
    """``pgx_<GENE>`` from a ``{sample}.genes.tsv``: the phenotype of a called gene, else ``not called``."""
    out = {f"pgx_{g}": NOT_CALLED for g in genes}
    with open(table, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            key = f"pgx_{row['gene']}"
            if key in out and row["status"] in ("called", "incomplete") and row["phenotype"] not in ("", "."):
                out[key] = row["phenotype"]
    return out


TRUE_WORDS = frozenset({"true", "yes", "1"})


def _overridden(row: Mapping[str, str]) -> bool:
    """The actionability row's ``overridden`` flag (absent in tables written before reconciliation)."""
    return str(row.get("overridden", "")).strip().lower() in TRUE_WORDS


def actionable_alterations(table: str | Path) -> dict[str, set[tuple[str, ...]]]:
    """Targets and resistance alterations of one actionability table.

    * ``actionable_tier1``: genes (the table's ``gene``: EGFR, or a biomarker such as MSI) with a row
      at tier I whose response is "sensitive" and which is not ``overridden``; two sensitising
      alterations of one gene are one target, as a targeted therapy acts on the gene's product;
    * ``actionable_tier2``: such genes at tier II but not at tier I;
    * ``actionable_resistance``: (gene, alteration) with a row at tier I or II whose response is
      "resistant" (T790M: resistant to erlotinib, so a resistance alteration, though osimertinib
      targets it; its gene is counted once, as a target, through the sensitising L858R).

    A sensitising row only counts as a target when it is not overridden (a resistance alteration in
    the same tumour that cancels it); the column is optional. Rows without a tier (III, IV) count
    for nothing.
    """
    best: dict[tuple[str], int] = {}
    resistance: set[tuple[str, ...]] = set()
    with open(table, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            level = 1 if row["tier"].startswith("I-") else 2 if row["tier"].startswith("II-") else 0
            if not level:
                continue
            response = row.get("response", "sensitive")
            if response == "resistant":
                resistance.add((row["gene"], row["alteration"]))
            elif response == "sensitive" and not _overridden(row):
                key = (row["gene"],)
                best[key] = min(best.get(key, level), level)
    return {
        "actionable_tier1": {k for k, v in best.items() if v == 1},
        "actionable_tier2": {k for k, v in best.items() if v == 2},
        "actionable_resistance": resistance,
    }


def tumour_mutational_burden(doc: str | Path) -> float:
    """Mutations per Mb from an actionability JSON (its callable-region caveat stays in that file)."""
    tmb = json.loads(Path(doc).read_text())["tmb"]
    value = tmb.get("tmb_per_mb")
    return float(value) if value is not None else np.nan


def patient_features(
    patient: str,
    samples: Sequence[Mapping[str, str]],
    files: Mapping[str, Mapping[str, str]],
    genes: Sequence[str],
    pgx_genes: Sequence[str],
    clinical: Mapping[str, object] | None,
) -> dict:
    """One row of the matrix.

    ``samples`` are the patient's sample-sheet rows (``sample``, ``type``, ``sex``, ``tumor_type``);
    ``files[sample]`` names that sample's outputs: ``consequences`` with ``calls_vcf`` (the
    variant calls; only PASS records count), ``pgx`` (genes TSV); for a tumour ``actionability``
    (TSV) and ``actionability_json``, and for a tumour called from reads ``somatic_consequences``
    with ``somatic_vcf``. ``clinical`` is the patient's clinical-table row.
    """
    first = samples[0]
    row: dict[str, object] = {"patient": patient, "sex": first.get("sex") or np.nan}
    tumor_type = next((s["tumor_type"] for s in samples if s.get("tumor_type") not in (None, "", "NA")), np.nan)
    row["tumor_type"] = tumor_type
    clinical = clinical or {}
    for column in CLINICAL_NUMERIC:
        value = clinical.get(column)
        row[column] = float(value) if value is not None and not pd.isna(value) else np.nan
    stage = clinical.get("stage")
    row["stage"] = stage if stage is not None and not pd.isna(stage) else np.nan

    variant_rows: list[dict] = []
    tumour_alterations: dict[str, set] = {k: set() for k in ACTIONABLE}
    tmbs = []
    for s in samples:
        f = files[s["sample"]]
        keep = passing_calls(f["calls_vcf"]) if "calls_vcf" in f else None
        variant_rows += read_consequence_rows(f["consequences"], keep)
        if "somatic_consequences" in f:
            variant_rows += read_consequence_rows(f["somatic_consequences"], passing_calls(f["somatic_vcf"]))
        if "actionability" in f:  # a tumour, from reads or from a VCF made elsewhere
            for key, found in actionable_alterations(f["actionability"]).items():
                tumour_alterations[key] |= found
            tmbs.append(tumour_mutational_burden(f["actionability_json"]))
    # a gene at tier I in one tumour is not counted again at tier II in another
    tumour_alterations["actionable_tier2"] -= tumour_alterations["actionable_tier1"]
    action = {k: len(v) for k, v in tumour_alterations.items()}
    tmb = max((t for t in tmbs if not np.isnan(t)), default=np.nan)  # the highest of several tumours
    row.update(gene_status(variant_rows, genes))

    by_type = {s["type"]: s["sample"] for s in reversed(samples)}
    pgx_sample = next(by_type[t] for t in PGX_SAMPLE_ORDER if t in by_type)
    row.update(pgx_phenotypes(files[pgx_sample]["pgx"], pgx_genes))
    row.update(action)
    row["tmb"] = tmb
    return row


def columns(genes: Sequence[str], pgx_genes: Sequence[str]) -> list[str]:
    """The matrix's columns, in order (``patient`` first)."""
    return [
        "patient",
        *CLINICAL_NUMERIC,
        *CLINICAL_CATEGORICAL,
        *(f"{kind}_{g}" for g in genes for kind in ("mut", "trunc")),
        *(f"pgx_{g}" for g in pgx_genes),
        *ACTIONABLE,
        "tmb",
    ]


def matrix(rows: Sequence[dict], genes: Sequence[str], pgx_genes: Sequence[str]) -> pd.DataFrame:
    """Rows in patient order with the documented columns."""
    frame = pd.DataFrame(list(rows), columns=columns(genes, pgx_genes))
    return frame.sort_values("patient", kind="stable").reset_index(drop=True)


def feature_kinds(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature names of a matrix (every column but ``patient``)."""
    numeric = [c for c in frame.columns if c in CLINICAL_NUMERIC or c.startswith(("mut_", "trunc_", "actionable_"))]
    numeric += ["tmb"] if "tmb" in frame.columns else []
    categorical = [c for c in frame.columns if c in CLINICAL_CATEGORICAL or c.startswith("pgx_")]
    return numeric, categorical


def write(frame: pd.DataFrame, path: str | Path) -> None:
    """TSV, missing as NA, numbers without trailing noise."""
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g", lineterminator="\n")


def read(path: str | Path) -> pd.DataFrame:
    """A matrix written by :func:`write` (or a history's ``features.tsv``), checked: a ``patient``
    column of unique IDs, and numbers where the encoding has numbers; a bad cell is named by line
    and column."""
    from seq2rx.core.errors import InputError

    source = str(path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=["NA", ""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise InputError(source, f"cannot be read as a TSV table: {exc}", hint="see docs/data-model.md") from None
    if "patient" not in frame.columns:
        raise InputError(source, "no 'patient' column", line=1, hint="see docs/data-model.md")
    dup = frame["patient"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(source, f"patient {frame['patient'].iloc[i]!r} appears twice", line=i + 2, field="patient")
    numeric, categorical = feature_kinds(frame)
    for c in categorical:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    for c in numeric:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = values.isna() & frame[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(source, f"{frame[c].iloc[i]!r} is not a number", line=i + 2, field=c,
                             hint="0/1 for mut_/trunc_, counts for actionable_, numbers for age, ecog, egfr, tmb")  # fmt: skip
        frame[c] = values
    return frame
