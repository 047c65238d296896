"""The workflow's prediction step: feature matrix, simulated history, train-on-history/predict-for-new,
explanations, model card and skops models."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sksurv", reason="scikit-survival is not installed")

from scipy.stats import spearmanr  # noqa: E402

from seq2rx.core.errors import InputError  # noqa: E402
from seq2rx.ml import features as F  # noqa: E402
from seq2rx.ml import labels as L  # noqa: E402
from seq2rx.ml import outputs as O  # noqa: E402
from seq2rx.ml import predict as P  # noqa: E402
from seq2rx.sim import load_pgx_sites, load_spec  # noqa: E402
from seq2rx.sim.history import panel_genes, progression_free, simulate_history, write_history  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SPEC = load_spec(REPO / "resources" / "demo" / "demo.yaml")
GENES = panel_genes(SPEC, load_pgx_sites(REPO / "resources" / "kb" / "pgx" / "positions.tsv"))
CFG = {
    "model": "penalised",
    "folds": 5,
    "seed": 3,
    "bootstrap": 20,
    "metric_bootstrap": 100,
    "interval": 0.9,
    "horizon_months": 12,
    "treated": "targeted",
    "reference": "chemotherapy",
    "adjust_for": ["age", "ecog", "stage", "tumor_type", "actionable_tier1"],
}
CSQ_HEADER = "chrom\tpos\tref\talt\tgenotype\tgene\tconsequence\n"


# --- the feature matrix ----------------------------------------------------------------------


def test_consequence_classes():
    rows = [
        {"gene": "KRAS", "consequence": "missense"},
        {"gene": "BRAF", "consequence": "*frameshift&splice_region"},
        {"gene": "EGFR", "consequence": "synonymous"},
        {"gene": "PIK3CA", "consequence": "intron"},
        {"gene": "OTHER", "consequence": "stop_gained"},
    ]
    got = F.gene_status(rows, ["BRAF", "EGFR", "KRAS", "PIK3CA"])
    assert got["mut_KRAS"] == 1 and got["trunc_KRAS"] == 0
    assert got["mut_BRAF"] == 1 and got["trunc_BRAF"] == 1  # a frameshift is both
    assert got["mut_EGFR"] == got["mut_PIK3CA"] == 0  # synonymous and intronic calls alter no protein
    assert "mut_OTHER" not in got


def test_actionable_counts_count_each_target_once_at_its_best_tier(tmp_path):
    table = tmp_path / "a.tsv"
    table.write_text(
        "gene\talteration\ttier\n"
        "BRAF\tV600E\tI-A\nBRAF\tV600E\tII-C\nBRAF\tV600E\tI-A\n"  # several rules, one alteration
        "PIK3CA\tH1047R\tII-C\nKRAS\tG12D\tIII\n"
    )
    counts = {k: len(v) for k, v in F.actionable_alterations(table).items()}
    assert counts == {"actionable_tier1": 1, "actionable_tier2": 1, "actionable_resistance": 0}


ACTION_HEADER = "gene\talteration\ttier\ttherapies\tresponse\n"


def test_a_resistance_alteration_is_not_a_target(tmp_path):
    """P7: EGFR L858R (sensitive to first-generation inhibitors and osimertinib) with T790M (resistant
    to erlotinib, gefitinib, afatinib; the target of osimertinib): one target, one resistance
    alteration, not two targets. P8: BRAF V600E in COAD, a target (encorafenib + cetuximab) that is
    also resistant to cetuximab alone."""
    egfr = tmp_path / "p7.tsv"
    egfr.write_text(
        ACTION_HEADER
        + "".join(f"EGFR\tL858R\tI-A\t{d}\tsensitive\n" for d in ("erlotinib", "gefitinib", "osimertinib"))
        + "".join(f"EGFR\tT790M\tI-A\t{d}\tresistant\n" for d in ("erlotinib", "gefitinib", "afatinib"))
        + "EGFR\tT790M\tI-A\tosimertinib\tsensitive\n"
    )
    found = F.actionable_alterations(egfr)
    assert found == {
        "actionable_tier1": {("EGFR",)},
        "actionable_tier2": set(),
        "actionable_resistance": {("EGFR", "T790M")},
    }
    braf = tmp_path / "p8.tsv"
    braf.write_text(
        ACTION_HEADER
        + "BRAF\tV600E\tI-A\tcetuximab\tresistant\nBRAF\tV600E\tI-A\tencorafenib + cetuximab\tsensitive\n"
        + "PIK3CA\tH1047R\tII-C\talpelisib\tsensitive\nKRAS\tG12D\tII-C\tpanitumumab\tresistant\n"
    )
    counts = {k: len(v) for k, v in F.actionable_alterations(braf).items()}
    assert counts == {"actionable_tier1": 1, "actionable_tier2": 1, "actionable_resistance": 2}


def test_an_overridden_therapy_is_no_target(tmp_path):
    """Reconciliation marks a sensitising row ``overridden`` when a co-occurring alteration cancels it;
    a gene whose sensitising rows are all overridden is no target (the column is optional)."""
    table = tmp_path / "o.tsv"
    table.write_text(
        "gene\talteration\ttier\ttherapies\tresponse\trole\toverridden\n"
        "EGFR\tL858R\tI-A\terlotinib\tsensitive\ttherapy\ttrue\n"
        "EGFR\tT790M\tI-A\terlotinib\tresistant\tresistance\tfalse\n"
        "ALK\tEML4::ALK fusion\tI-A\talectinib\tsensitive\ttherapy\tTrue\n"
        "ALK\tEML4::ALK fusion\tII-C\tlorlatinib\tsensitive\ttherapy\tfalse\n"
    )
    found = F.actionable_alterations(table)
    assert found["actionable_tier1"] == set()  # EGFR's only therapy row is overridden; ALK's tier I too
    assert found["actionable_tier2"] == {("ALK",)}  # its tier II row still stands
    assert found["actionable_resistance"] == {("EGFR", "T790M")}


def _vcf(path: Path, records: list[tuple[str, int, str, str, str]]) -> None:
    import pysam

    header = pysam.VariantHeader()
    header.contigs.add("chr7", length=200_000_000)
    header.filters.add("LikelyGermline", None, None, "germline")
    header.filters.add("LowQual", None, None, "low quality")
    with pysam.VariantFile(str(path), "w", header=header) as vf:
        for chrom, pos, ref, alt, filt in records:
            rec = vf.new_record(contig=chrom, start=pos - 1, alleles=(ref, alt), filter=filt)
            vf.write(rec)


def test_patient_features_from_workflow_outputs(tmp_path):
    germ = tmp_path / "N.consequences.tsv"
    germ.write_text(CSQ_HEADER + "chr7\t100\tA\tG\t0/1\tDPYD\tmissense\nchr7\t150\tG\tC\t0/1\tKRAS\tmissense\n")
    germ_vcf = tmp_path / "N.vcf.gz"
    _vcf(germ_vcf, [("chr7", 100, "A", "G", "PASS"), ("chr7", 150, "G", "C", "LowQual")])
    empty_vcf = tmp_path / "empty.vcf.gz"
    _vcf(empty_vcf, [])
    som = tmp_path / "T.consequences.tsv"
    som.write_text(CSQ_HEADER + "chr7\t200\tA\tT\t0/1\tBRAF\tmissense\nchr7\t300\tC\tA\t0/1\tEGFR\tstop_gained\n")
    vcf = tmp_path / "T.vcf.gz"
    _vcf(vcf, [("chr7", 200, "A", "T", "PASS"), ("chr7", 300, "C", "A", "LikelyGermline")])
    action = tmp_path / "T.tsv"
    action.write_text("gene\talteration\ttier\nBRAF\tV600E\tI-A\n")
    action_json = tmp_path / "T.json"
    action_json.write_text('{"tmb": {"tmb_per_mb": 7.5}}')
    pgx_n = tmp_path / "N.genes.tsv"
    pgx_n.write_text(
        "sample\tgene\tstatus\tphenotype\nN\tDPYD\tcalled\tIntermediate Metabolizer\nN\tTPMT\tnot called\t.\n"
    )
    pgx_t = tmp_path / "T.genes.tsv"
    pgx_t.write_text("sample\tgene\tstatus\tphenotype\nT\tDPYD\tcalled\tNormal Metabolizer\n")
    samples = [
        {"sample": "N", "type": "normal", "sex": "female", "tumor_type": "COAD"},
        {"sample": "T", "type": "tumor", "sex": "female", "tumor_type": "COAD"},
    ]
    files = {
        "N": {"consequences": germ, "calls_vcf": germ_vcf, "pgx": pgx_n},
        "T": {
            "consequences": tmp_path / "empty.tsv",
            "calls_vcf": empty_vcf,
            "pgx": pgx_t,
            "somatic_consequences": som,
            "somatic_vcf": vcf,
            "actionability": action,
            "actionability_json": action_json,
        },  # fmt: skip
    }
    (tmp_path / "empty.tsv").write_text(CSQ_HEADER)
    row = F.patient_features("P", samples, files, ["BRAF", "DPYD", "EGFR", "KRAS"], ["DPYD", "TPMT"],
                             {"age": 70, "ecog": pd.NA, "egfr": 55.0, "stage": "IV"})  # fmt: skip
    assert row["mut_BRAF"] == 1  # somatic PASS
    assert row["mut_EGFR"] == 0  # filtered as likely germline: not counted
    assert row["mut_DPYD"] == 1  # germline
    assert row["mut_KRAS"] == 0  # a call the caller marked LowQual is not counted
    assert row["pgx_DPYD"] == "Intermediate Metabolizer"  # from the normal, not the tumour
    assert row["pgx_TPMT"] == F.NOT_CALLED
    assert row["actionable_tier1"] == 1 and row["actionable_resistance"] == 0 and row["tmb"] == 7.5
    assert row["age"] == 70 and math.isnan(row["ecog"]) and row["tumor_type"] == "COAD"
    frame = F.matrix([row], ["BRAF", "DPYD", "EGFR", "KRAS"], ["DPYD", "TPMT"])
    F.write(frame, tmp_path / "m.tsv")
    back = F.read(tmp_path / "m.tsv")
    assert list(back.columns) == F.columns(["BRAF", "DPYD", "EGFR", "KRAS"], ["DPYD", "TPMT"])
    assert back.loc[0, "pgx_DPYD"] == "Intermediate Metabolizer" and math.isnan(back.loc[0, "ecog"])
    # a tumour given as a VCF made elsewhere (no somatic step here): its calls, tiers and TMB count too
    som_vcf = tmp_path / "T2.vcf.gz"
    _vcf(som_vcf, [("chr7", 200, "A", "T", "PASS")])
    files2 = {"T2": {"consequences": som, "calls_vcf": som_vcf, "pgx": pgx_t, "actionability": action,
                     "actionability_json": action_json}}  # fmt: skip
    row2 = F.patient_features("Q", [{"sample": "T2", "type": "tumor", "sex": "male", "tumor_type": "COAD"}],
                              files2, ["BRAF", "EGFR"], ["DPYD"], None)  # fmt: skip
    assert row2["mut_BRAF"] == 1 and row2["actionable_tier1"] == 1 and row2["tmb"] == 7.5
    assert row2["mut_EGFR"] == 0  # its line has no call in the VCF


# --- the simulated history -------------------------------------------------------------------


def test_history_is_deterministic_and_has_the_planted_effects(tmp_path):
    a = write_history(SPEC, GENES, 5, tmp_path / "a")
    b = write_history(SPEC, GENES, 5, tmp_path / "b")
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    clinical, frame, truth = simulate_history(SPEC, GENES, 5)
    assert len(clinical) == SPEC["history"]["patients"] >= 300
    assert list(frame.columns) == F.columns(GENES, list(SPEC["history"]["pgx_phenotypes"]))
    d = clinical.merge(frame[["patient", "actionable_tier1", "pgx_DPYD"]], on="patient")
    targeted = d["treatment"] == "targeted"
    actionable = d["actionable_tier1"] > 0
    # planted: targeted therapy works when there is a tier I target, and not otherwise
    assert d[targeted & actionable]["response"].mean() > d[targeted & ~actionable]["response"].mean() + 0.3
    dpyd_low = d["pgx_DPYD"].isin(["Intermediate Metabolizer", "Poor Metabolizer"]).to_numpy()
    benefit = truth["benefit"].to_numpy()
    a = actionable.to_numpy()
    assert (benefit[a] > 0).all() and (benefit[~a & ~dpyd_low] < 0).all()
    # planted: fluoropyrimidine chemotherapy works less with decreased DPYD function
    assert benefit[~a & dpyd_low].min() > benefit[~a & ~dpyd_low].max()


# --- train on history, predict for new patients ----------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    clinical, history, _ = simulate_history(SPEC, GENES, 11)
    _, new, truth = simulate_history(SPEC, GENES, 12)  # new patients from the same hospital
    new, truth = new.iloc[:60].reset_index(drop=True), truth.iloc[:60].reset_index(drop=True)
    new["patient"] = [f"N{i:03d}" for i in range(len(new))]
    doc, models = P.run(history, clinical, new, CFG)
    return {"doc": doc, "models": models, "truth": truth, "new": new, "history": history, "clinical": clinical}


def test_predicted_benefit_follows_the_planted_benefit(fitted):
    doc, truth = fitted["doc"], fitted["truth"]
    predicted = [p["values"]["benefit"]["estimate"] for p in doc["patients"]]
    rho = spearmanr(predicted, truth["benefit"]).statistic
    assert rho > 0.5, rho
    actionable = fitted["new"]["actionable_tier1"].to_numpy() > 0
    favours = np.array([p["favours"] for p in doc["patients"]])
    assert (favours[actionable] == "targeted").mean() >= 0.8
    predicted = np.array(predicted)
    # planted: about 0.6; the ridge penalty and ~70 actionable past patients shrink it to about 0.2
    assert predicted[actionable].mean() - predicted[~actionable].mean() > 0.15


def test_cross_validated_performance_with_intervals(fitted):
    cv = fitted["doc"]["cross_validation"]
    auc = cv["response"]["roc_auc"]
    assert auc["ci95"][0] > 0.5 and auc["ci95"][0] <= auc["estimate"] <= auc["ci95"][1]
    c = cv["survival"]["c_index"]
    assert c["ci95"][0] > 0.5  # ecog, stage, age and response all carry planted hazard
    assert len(cv["response"]["calibration"]) >= 5


def test_importance_ranks_the_planted_features_above_the_negative_controls(fitted):
    imp = {r["feature"]: r["mean"] for r in fitted["doc"]["importance"]}
    ranked = [r["feature"] for r in fitted["doc"]["importance"]]
    assert {"actionable_tier1", "ecog", "pgx_DPYD"} <= set(ranked[:4])  # the planted ones
    for control in ("pgx_CYP2C19", "pgx_UGT1A1", "sex"):
        assert imp[control] < imp["actionable_tier1"] / 4, control


def test_every_prediction_has_an_interval_around_it(fitted):
    for p in fitted["doc"]["patients"]:
        for key, v in p["values"].items():
            assert v["lower"] <= v["estimate"] + 1e-9 and v["estimate"] <= v["upper"] + 1e-9, (p["patient"], key)
            assert v["upper"] > v["lower"]


def test_linear_contributions_add_up_to_the_prediction(fitted):
    for p in fitted["doc"]["patients"][:10]:
        for arm, key in (("treated", "response_treated"), ("reference", "response_reference")):
            c = p["contributions"][arm]
            logit = c["baseline"] + sum(c["contributions"].values())
            assert 1 / (1 + math.exp(-logit)) == pytest.approx(p["values"][key]["estimate"], abs=1e-9)


def test_outputs_tables_card_and_models(fitted, tmp_path):
    doc = fitted["doc"]
    rows = O.prediction_rows(doc)
    assert len(rows) == 6 * len(doc["patients"])
    O.write_table(O.PREDICTION_COLUMNS, rows, tmp_path / "p.tsv")
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert set(table["task"]) == {"response", "pfs", "benefit", "pfs_benefit"}
    pfs = table[table["task"] == "pfs"].pivot(index="patient", columns="treatment", values="estimate")
    diff = table[table["task"] == "pfs_benefit"].set_index("patient")
    assert np.allclose(diff["estimate"], (pfs["targeted"] - pfs["chemotherapy"]).loc[diff.index], atol=2e-4)
    assert (diff["favours"] == np.where(diff["estimate"] > 0, "targeted", "chemotherapy")).all()
    card = O.model_card(doc, {"scikit-learn": "1.9.1"}, "history/clinical.tsv")
    auc = doc["cross_validation"]["response"]["roc_auc"]["estimate"]
    assert f"{auc:.3f}" in card and "Research use only" in card and "confounding" in card
    saved = O.save_models(fitted["models"], tmp_path)
    again = O.save_models(fitted["models"], tmp_path / "again")
    assert all(saved[k].read_bytes() == again[k].read_bytes() for k in saved)  # no timestamps inside
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=saved["response"])
    assert all(t.startswith(("seq2rx.", "sksurv.", "sklearn.", "numpy.", "scipy.")) for t in untrusted), untrusted
    back = O.load_model(saved["response"], trusted=untrusted)
    X = P.design(fitted["new"].assign(treated=1), *F.feature_kinds(fitted["history"].drop(
        columns=doc["features"]["constant_in_history"])))  # fmt: skip
    assert np.allclose(back.predict_proba(X), fitted["models"]["response"].predict_proba(X))


def test_a_past_patient_without_an_outcome_is_named(fitted):
    clinical = fitted["clinical"].copy()
    clinical.loc[4, "response"] = np.nan
    with pytest.raises(InputError, match=r"line 6, field 'response': patient H0005 has no response"):
        P.training_table(fitted["history"], clinical, "targeted", "chemotherapy", "clinical.tsv")
    clinical = fitted["clinical"].copy()
    clinical.loc[0, "treatment"] = "surgery"
    with pytest.raises(InputError, match=r"line 2, field 'treatment': treatment 'surgery' is neither"):
        P.training_table(fitted["history"], clinical, "targeted", "chemotherapy", "clinical.tsv")


def test_a_bad_feature_table_is_named_by_line_and_column(tmp_path):
    good = F.matrix([{"patient": "H1", "age": 60, "mut_KRAS": 1}, {"patient": "H2", "age": 70, "mut_KRAS": 0}],
                    ["KRAS"], [])  # fmt: skip
    F.write(good, tmp_path / "f.tsv")
    assert F.read(tmp_path / "f.tsv")["mut_KRAS"].tolist() == [1, 0]
    text = (tmp_path / "f.tsv").read_text()
    (tmp_path / "bad.tsv").write_text(text.replace("H2\t70", "H2\tseventy"))
    with pytest.raises(InputError, match=r"bad.tsv, line 3, field 'age': 'seventy' is not a number"):
        F.read(tmp_path / "bad.tsv")
    (tmp_path / "dup.tsv").write_text(text.replace("H2\t", "H1\t"))
    with pytest.raises(InputError, match=r"dup.tsv, line 3, field 'patient': patient 'H1' appears twice"):
        F.read(tmp_path / "dup.tsv")


def test_extrapolation_is_listed(fitted):
    history = fitted["history"]
    patient = fitted["new"].iloc[0].copy()
    patient["tumor_type"], patient["age"] = "BRCA", 130.0
    numeric, categorical = F.feature_kinds(history)
    listed = P.extrapolation(history, patient, numeric, categorical)
    assert "Tumour type = BRCA (not among the past patients)" in listed
    assert any(x.startswith("Age (years) = 130 (past patients: ") for x in listed)
    assert P.extrapolation(history, history.iloc[3], numeric, categorical) == []
    # a feature every past patient has at one value is left out of the models: a patient with another
    # value (a resistance alteration, which no past patient had) is listed, since the models cannot weigh it
    constant = history[["actionable_resistance"]]
    assert (constant["actionable_resistance"] == 0).all()
    row = fitted["new"].iloc[0].copy()
    row["actionable_resistance"] = 1
    listed = P.extrapolation(history, row, numeric, categorical, constant=constant, current=row)
    assert "Resistance alterations = 1 (every past patient: 0; the models cannot weigh it)" in listed


# --- response and progression agree where the planted truth says they should -------------------


def test_response_and_progression_favour_the_same_arm_where_the_truth_says_so(fitted):
    """The history plants the treatment's effect on progression only through response (responders
    progress more slowly), so the planted truth favours the same arm by response and by 12-month
    progression-free survival for every patient; and it plants a treatment × target interaction
    (targeted therapy works with a tier I target). The progression model carries that interaction,
    so for patients with a target both models favour targeted therapy, and wherever the response model
    finds the planted arm, the progression model finds it too. (With the treatment as one average effect
    for everyone, the progression model favoured the same arm for every patient, whatever the target.)"""
    doc, truth, new = fitted["doc"], fitted["truth"], fitted["new"]
    horizon = CFG["horizon_months"]
    planted_response = truth["benefit"].to_numpy()
    planted_pfs = progression_free(truth, "targeted", horizon) - progression_free(truth, "chemotherapy", horizon)
    assert (np.sign(planted_response) == np.sign(planted_pfs)).all()  # the planted truth agrees with itself

    response = np.array([p["values"]["benefit"]["estimate"] for p in doc["patients"]])
    pfs = np.array([p["values"]["pfs_benefit"]["estimate"] for p in doc["patients"]])
    target = new["actionable_tier1"].to_numpy() > 0
    assert target.sum() >= 5
    assert (response[target] > 0).mean() >= 0.8 and (pfs[target] > 0).mean() >= 0.8
    found = np.sign(response) == np.sign(planted_response)
    assert found.sum() >= 30
    assert (np.sign(pfs) == np.sign(response))[found].mean() >= 0.85
    # the progression model does tell patients apart: its benefit is larger with a target
    assert pfs[target].mean() - pfs[~target].mean() > 0.05
    assert doc["features"]["progression_interactions"] == ["treated_x_actionable_tier1", "treated_x_actionable_tier2"]
    for p in doc["patients"]:
        same = (p["values"]["benefit"]["estimate"] > 0) == (p["values"]["pfs_benefit"]["estimate"] > 0)
        assert p["agreement"].startswith("Response and progression-free survival at 12 months both favour") == same
        if not same:
            assert "separate models" in p["agreement"]


# --- labels a clinician reads --------------------------------------------------------------------


def test_every_feature_has_a_label_and_values_are_shown_with_units():
    pgx = list(SPEC["history"]["pgx_phenotypes"])
    for column in F.columns(GENES, pgx)[1:]:
        d = L.describe(column)
        assert d["label"] != column and d["about"], column  # a human label, and what it is
    assert L.shown("egfr", 48.0) == "eGFR (mL/min/1.73 m²) = 48"
    assert L.shown("mut_EGFR", 1) == "EGFR mutated = yes" and L.shown("mut_BRAF", 0) == "BRAF mutated = no"
    assert L.shown("pgx_CYP2C9", "Intermediate Metabolizer") == "CYP2C9 phenotype = Intermediate Metabolizer"
    assert L.shown("tmb", 9.69) == "Tumour mutational burden (mutations/Mb) = 9.69"
    assert L.shown("ecog", None) == "ECOG performance status = not recorded"
    assert L.label("treated_x_actionable_tier1") == "Treatment × Tier I targets"
    assert L.shown("some_other_column", 3) == "some_other_column = 3"  # kept, never dropped


def test_plots_tables_and_card_use_the_labels(fitted):
    doc = fitted["doc"]
    entries = O.patient_entries(doc)
    entry = next(iter(entries.values()))
    egfr = entry["features"]["egfr"]
    assert entry["feature_labels"]["egfr"] == {"label": "eGFR (mL/min/1.73 m²)", "shown": L.shown("egfr", egfr)}
    svg = O.contributions_svg({**entry, "contributions": {"treated": {"baseline": 0.0, "contributions": {
        "egfr": 0.5, "mut_BRAF": -0.2, "pgx_CYP2C9": 0.1}}}}, "treated", "P(response to targeted)")  # fmt: skip
    assert f"eGFR (mL/min/1.73 m²) = {egfr:g}" in svg
    assert f"BRAF mutated = {'yes' if entry['features']['mut_BRAF'] else 'no'}" in svg
    assert ">egfr<" not in svg and "mut_BRAF" not in svg
    rows = O.contribution_rows(doc)
    shown = {r[2]: r[4] for r in rows if r[0] == entry["patient"] and r[2] in ("egfr", "mut_EGFR")}
    assert shown["egfr"] == L.shown("egfr", egfr) and shown["mut_EGFR"].startswith("EGFR mutated = ")
    assert "BRAF mutated" in O.importance_svg([{"feature": "mut_BRAF", "mean": 0.1, "sd": 0.01}])
    card = O.model_card(doc, {"scikit-learn": "1.9.1"}, "history/clinical.tsv")
    assert "| `egfr` | eGFR | mL/min/1.73 m² | estimated glomerular filtration rate" in card
    top = doc["importance"][0]["feature"]
    assert f"{L.label(top)} ({doc['importance'][0]['mean']:+.3f})" in card
    assert "Treatment × Tier I targets" in card
    assert O.method_sentence(doc) == (
        "Response comes from one model per treatment; progression from one model with the treatment and its "
        "interaction with the counts of Tier I targets and Tier II targets, so both can say that a treatment "
        "works only for patients with a target."
    )


def test_the_summary_sentence_is_computed_from_the_numbers(fitted):
    values = {
        "response_treated": {"estimate": 0.62, "lower": 0.48, "upper": 0.75},
        "response_reference": {"estimate": 0.35, "lower": 0.2, "upper": 0.51},
        "benefit": {"estimate": 0.27, "lower": 0.05, "upper": 0.44},
        "pfs_benefit": {"estimate": -0.05, "lower": -0.2, "upper": 0.1},
    }
    task = {"treated": "targeted", "reference": "chemotherapy", "interval": 0.9, "horizon_months": 12}
    assert L.benefit_sentence(values, task) == (
        "Targeted therapy: predicted response 62% (90% interval 48–75%) vs 35% (20–51%) on chemotherapy; "
        "difference +27 percentage points (+5 to +44)."
    )
    values["benefit"]["lower"] = -0.04
    assert L.benefit_sentence(values, task).endswith("(−4 to +44; the interval includes no difference).")
    values["benefit"]["lower"] = -0.0014  # rounds to zero: no sign
    assert L.benefit_sentence(values, task).endswith("(0 to +44; the interval includes no difference).")
    assert L.agreement_sentence(values, task).startswith(
        "Response favours targeted therapy but progression-free survival at 12 months favours chemotherapy."
    )
    p = fitted["doc"]["patients"][0]
    assert f"predicted response {100 * p['values']['response_treated']['estimate']:.0f}%" in p["summary"]
