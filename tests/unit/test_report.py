"""The report renders only the findings document, escapes everything, and says what is missing."""

from __future__ import annotations

import pytest

from seq2rx.report.patient import render

EVIL = "<img src=x onerror=alert(1)>"


def doc(patient: str = "P1") -> dict:
    return {
        "patient": patient,
        "sex": "female",
        "tumor_type": "NA",
        "genome_build": "GRCh38",
        "samples": [
            {
                "sample": patient,
                "type": "germline",
                "qc": {
                    "verdict": "warn",
                    "reads": 1000,
                    "mapped_fraction": 0.99,
                    "duplicate_fraction": 0.05,
                    "mean_target_coverage": 25.0,
                    "target_fraction_20x": 0.8,
                    "reasons": ["mean target coverage 25.0 < 30"],
                },
                "variants": [
                    {
                        "region": "CYP2C19",
                        "chrom": "chr10",
                        "pos": 94781859,
                        "ref": "G",
                        "alt": "A",
                        "genotype": "1/1",
                        "depth": 40,
                        "vaf": 1.0,
                        "qual": 200.0,
                        "filter": "PASS",
                    },
                    {
                        "region": "",
                        "chrom": "chr1",
                        "pos": 5,
                        "ref": "G",
                        "alt": "A",
                        "genotype": "0/1",
                        "depth": 3,
                        "vaf": 0.3,
                        "qual": 5.0,
                        "filter": "LowQual",
                    },
                ],
            }
        ],
        "provenance": {
            "seq2rx_version": "0.1.0",
            "config_sha256": "abc",
            "tools": {"bcftools_call": {"bcftools": "1.24"}},
        },
        "pgx": {"status": "not run", "reason": "not yet"},
    }


def test_user_strings_are_escaped():
    html = render(doc(EVIL))
    assert EVIL not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sections_and_facts():
    html = render(doc())
    for section in ('id="qc"', 'id="variants"', 'id="pgx"', 'id="provenance"', 'id="disclaimer"'):
        assert section in html
    assert '<span class="warn">warn</span>' in html
    assert "P1: 1 passing of 2 calls" in html
    assert "<td>94781859</td>" in html
    assert "Not available: not yet." in html
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched from the network
    assert '<th scope="col">Genotype</th>' in html


def test_what_reading_the_fastq_assumed_is_shown_escaped():
    d = doc()
    d["samples"][0]["qc"]["input_reads"] = {"notes": ["qualities were Phred+64, converted to Phred+33", EVIL]}
    html = render(d)
    assert "reads: qualities were Phred+64, converted to Phred+33" in html
    assert EVIL not in html


def test_on_target_rate_and_fold_80_are_shown():
    d = doc()
    d["samples"][0]["qc"].update({"on_target_fraction": 0.61234, "fold_80_base_penalty": 1.8249})
    html = render(d)
    assert '<th scope="col">On target</th>' in html and '<th scope="col">Fold-80</th>' in html
    assert "<td>0.800</td><td>0.612</td><td>1.82</td>" in html  # after the fraction at 20x
    # null (no targets BED) and absent (an older document): empty cells
    d["samples"][0]["qc"].update({"on_target_fraction": None, "fold_80_base_penalty": None})
    assert "<td>0.800</td><td></td><td></td>" in render(d)
    del d["samples"][0]["qc"]["on_target_fraction"]
    assert "<td>0.800</td><td></td><td></td>" in render(d)


def test_consequences_are_shown():
    d = doc()
    d["samples"][0]["variants"][0]["consequences"] = [
        {"gene": "CYP2C19", "transcript": "T1", "consequence": "splice_donor", "hgvs_p": None, "aa_change": None},
        {
            "gene": "BRAF",
            "transcript": "T2",
            "consequence": "missense",
            "hgvs_p": "p.Val600Glu",
            "aa_change": "600V>600E",
        },
    ]
    html = render(d)
    assert "<td>CYP2C19 (splice_donor); BRAF p.Val600Glu (missense)</td>" in html
    assert '<th scope="col">Consequence</th>' in html


def test_protein_altering_variants_come_first_and_tumours_carry_a_caveat():
    d = doc()
    d["samples"][0]["type"] = "tumor"
    d["samples"][0]["variants"][0]["consequences"] = [
        {
            "gene": "BRAF",
            "transcript": "T2",
            "consequence": "missense",
            "hgvs_p": "p.Val600Glu",
            "aa_change": "600V>600E",
        }
    ]
    d["samples"][0]["variants"][1]["consequences"] = []
    d["samples"][0]["variants"][1]["filter"] = "PASS"
    d["samples"][0]["calls"] = {"source": "seq2rx", "text": "bcftools mpileup + call", "settings": None}
    html = render(d)
    assert "Protein-altering and splice-site variants (1)" in html
    assert html.index("Protein-altering") < html.index("All passing calls (2)")
    assert "<td>no gene model</td>" in html
    assert "sub-clonal variants" in html


def test_method_notes_say_how_each_sample_was_called():
    """A tumour that started from the user's VCF says so, not "called with bcftools' germline model";
    one called from reads names our caller; a tumour with somatic calls shows those."""
    d = doc()
    d["samples"][0]["type"] = "tumor"
    d["samples"][0]["calls"] = {"source": "supplied VCF", "text": "from the supplied VCF (t.vcf.gz); not called by seq2rx",
                                "settings": None}  # fmt: skip
    html = render(d)
    assert "How: from the supplied VCF (t.vcf.gz); not called by seq2rx." in html
    assert "germline model" not in html and "sub-clonal" not in html
    d["samples"][0]["calls"] = {"source": "seq2rx", "text": "bcftools mpileup + call (min_baseq 13)", "settings": {},
                                "somatic_text": "seq2rx somatic caller (against its matched normal)"}  # fmt: skip
    somatic = dict(d["samples"][0]["variants"][0], pos=7, support={"alt_reads": 5, "depth": 48, "vaf": 0.1042,
                                                                     "ci95": [0.0453, 0.2217]})  # fmt: skip
    d["samples"][0]["somatic_calls"] = [somatic]
    html = render(d)
    assert "P1: 1 passing of 1 somatic calls" in html
    assert "How: seq2rx somatic caller (against its matched normal)." in html
    assert "0.10 (5/48 reads; 95% CI 0.05–0.22)" in html


@pytest.mark.parametrize(
    "bad",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><form action="//evil"/></foreignObject></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><use x:href="http://evil/x.svg#a"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(//evil/x.css);</style></svg>',
        "<div>not an svg</div>",
    ],
)
def test_inlined_svg_is_checked_not_trusted(bad):
    from seq2rx.core.svg import safe_svg

    with pytest.raises(ValueError):
        safe_svg(bad)


def test_our_own_figures_pass_the_svg_check():
    from seq2rx.core import figures
    from seq2rx.core.svg import safe_svg

    fig = figures.figure(2, 2)
    fig.subplots().plot([0, 1], [0, 1])
    assert safe_svg(figures.svg(fig, "t")).startswith("<svg")


# --------------------------------------------------------------------------- templates and layers

SCRIPT = '<script>alert("x")</script>'


def test_patient_report_escapes_script_and_quotes_through_the_template():
    d = doc(SCRIPT)
    d["pgx"] = {"status": "not run", "reason": 'it\'s "missing"'}
    html = render(d)
    assert SCRIPT not in html and '"x"' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "Not available: it&#x27;s &quot;missing&quot;." in html  # html.escape's entities, as before Jinja2
    assert html.count("<script>") == 1  # the sort script, allowed by its hash


def test_cohort_report_escapes_script_and_quotes_through_the_template():
    from seq2rx.findings.cohort import build
    from seq2rx.report.cohort import render as render_cohort

    d = doc(SCRIPT)
    d["samples"][0]["sample"] = 'S"1'
    html = render_cohort(build([d]))
    assert SCRIPT not in html and '"x"' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<td>S&quot;1</td>" in html
    assert html.count("<script>") == 1
    assert '<td><span class="warn">warn</span></td>' in html


def predictions(method: str | None = None, **extra) -> dict:
    """A predictions section: every value 50% (40-60%), favouring targeted therapy."""
    summary = {
        "task": {"treated": "targeted", "reference": "chemotherapy", "interval": 0.9, "horizon_months": 12},
        "history_patients": 500,
        "model": "penalised",
        "roc_auc": {"estimate": 0.7, "ci95": [0.6, 0.8]},
        "c_index": {"estimate": 0.65},
    }
    if method:
        summary["method"] = method
    values = {
        k: {"estimate": 0.5, "lower": 0.4, "upper": 0.6}
        for k in ("response_treated", "response_reference", "pfs_treated", "pfs_reference", "benefit")
    }
    return {"status": "ok", "model_summary": summary, "values": values, "favours": "targeted", **extra}


def test_the_contribution_plot_is_read_not_drawn():
    d = doc()
    d["predictions"] = predictions(contributions={"treated": {"baseline": 0.0, "contributions": {"age": 0.1}}})
    plot = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>\n'
    html = render(d, contributions_svg=plot)
    assert "What moves P(response to targeted)" in html and plot in html
    assert "results/ml/contributions.tsv" in render(d)  # contributions, but no plot given
    del d["predictions"]["contributions"]
    assert "computed for the penalised model only" in render(d, contributions_svg=plot)
    with pytest.raises(ValueError):
        render({**d, "predictions": {**d["predictions"], "contributions": {"x": 1}}}, "<svg><script/></svg>")


def test_predictions_show_the_summary_the_agreement_and_labelled_features():
    """The words come from the ML step through the findings document: the report imports no label."""
    d = doc()
    d["predictions"] = predictions(method="Response comes from one model per treatment <b>.")
    d["predictions"] |= {
        "summary": "Targeted therapy: predicted response 50% (90% interval 40–60%) & more.",
        "agreement": "Response favours targeted therapy but progression-free survival favours chemotherapy.",
        "features": {"egfr": 48, "mut_EGFR": 1},
        "feature_labels": {
            "egfr": {"label": "eGFR (mL/min/1.73 m²)", "shown": "eGFR (mL/min/1.73 m²) = 48"},
            "mut_EGFR": {"label": "EGFR mutated", "shown": "EGFR mutated = yes"},
        },
        "contributions": {"treated": {"baseline": 0.0, "contributions": {"egfr": -0.4, "mut_EGFR": 0.9}}},
    }
    html = render(d)
    assert "Targeted therapy: predicted response 50% (90% interval 40–60%) &amp; more." in html
    assert "but progression-free survival favours chemotherapy." in html
    assert "one model per treatment &lt;b&gt;." in html
    assert html.index("<td>EGFR mutated = yes</td><td>+0.90</td>") < html.index("<td>eGFR (mL/min/1.73 m²) = 48</td>")
    assert ">egfr<" not in html and ">mut_EGFR<" not in html


def test_the_report_layer_imports_no_analysis_layer():
    import ast
    from pathlib import Path

    import seq2rx.report

    folder = Path(seq2rx.report.__file__).parent
    forbidden = ("seq2rx.ml", "seq2rx.similarity", "seq2rx.pgx", "seq2rx.actionability")
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
    assert {"base.html", "macros.html", "patient.html", "cohort.html"} <= {p.name for p in folder.glob("templates/*")}


def test_an_svg_file_is_inlined_only_as_checked():
    """A plot read from a results file is inlined as written only when it is exactly what passed
    the check: markup hidden in a prolog before <svg> (which the check cuts) never reaches the page."""
    from seq2rx.report.html import svg

    plot = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>'
    assert str(svg(plot + "\n", as_written=True)) == plot + "\n"
    hidden = '<?xml version="1.0"?><form action="https://evil.example/">x</form>' + plot
    assert str(svg(hidden, as_written=True)) == plot
    assert "<form" not in str(svg(hidden))


def test_rendering_a_report_imports_no_plotting_or_model_library():
    """The reports render documents: importing them loads neither matplotlib nor scikit-learn."""
    import subprocess
    import sys

    code = "import sys, seq2rx.report.patient, seq2rx.report.cohort; print(sorted(m for m in ('matplotlib', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_failed_identity_check_is_shown_before_everything_else():
    """A sex mismatch (or a tumour and normal from two people) makes QC fail; the report still renders
    every section, and says so first, with the reason, escaped."""
    from seq2rx.report.patient import render

    d = doc("P1")
    reason = "sex mismatch: the sheet says female, X/Y depth says male <b>"
    d["samples"][0]["qc"]["identity"] = {"verdict": "fail", "reasons": [reason]}
    html = render(d)
    assert "Sample identity check failed" in html
    assert html.index('id="identity"') < html.index('id="qc"')
    assert "X/Y depth says male &lt;b&gt;" in html
    assert "Sample identity check failed" not in render(doc("P1"))


def _tiered_row(alteration: str, therapy: str, response: str, rule: str, **kw) -> dict:
    return {"gene": "EGFR", "alteration": alteration, "vaf": 0.1042 if alteration == "T790M" else 0.4792,
            "tier": "I-A", "therapies": therapy, "response": response, "evidence": kw.get("evidence", "FDA-approved"),
            "tumor_type_match": "ancestor", "rule_tumor_type": "NSCLC", "rule": rule, "source": f"source of {rule}",
            "note": ".", "role": "therapy" if response == "sensitive" else "resistance",
            "overridden": bool(kw.get("by")), "overridden_by": kw.get("by", [])}  # fmt: skip


def test_resistance_is_shown_apart_and_overridden_therapies_are_not_offered():
    by = [{"rule": "A029", "gene": "EGFR", "alteration": "T790M", "tier": "I-A", "evidence": "guideline",
           "source": "source of A029", "reason": "T790M makes erlotinib fail; switch to osimertinib."}]  # fmt: skip
    sample = {
        "sample": "P7-T", "tumor_type": "LUAD", "tumor_type_name": "Lung Adenocarcinoma",
        "lineage": ["LUAD", "NSCLC", "LUNG", "TISSUE"], "build": "GRCh38", "mode": "tumour-normal",
        "somatic_variants": 2, "tmb": {"tmb_per_mb": None, "note": None}, "tiers": {"I-A": 4},
        "rows": [_tiered_row("L858R", "erlotinib", "sensitive", "A018", by=by),
                 _tiered_row("L858R", "osimertinib", "sensitive", "A016"),
                 _tiered_row("T790M", "erlotinib", "resistant", "A029", evidence="guideline"),
                 _tiered_row("T790M", "osimertinib", "sensitive", "A028")],
        "options": [{"therapy": "osimertinib", "tier": "I-A", "evidence": "FDA-approved", "tumor_type_match": "ancestor",
                     "alterations": ["EGFR L858R", "EGFR T790M"], "rules": ["A016", "A028"],
                     "rule_tumor_types": ["NSCLC"]}],
        "resistance_flags": [],
        "knowledge_base": {"rows": 187, "latest_date": "2026-05"},
    }  # fmt: skip
    html = render({**doc("P7"), "actionability": {"status": "done", "samples": [sample]}})
    after = html.split("Therapy options after reconciling resistance (1)")[1]
    options, rest = after.split('<div class="alert resistance">')
    assert "<td>osimertinib</td><td>I-A</td><td>FDA-approved</td><td>EGFR L858R, EGFR T790M</td>" in options
    assert "erlotinib" not in options
    box, tiers = rest.split("</div>", 1)
    assert "<td>EGFR T790M</td><td>0.1042</td><td>erlotinib</td><td>I-A</td><td>guideline</td>" in box
    assert "Therapies overridden by a resistance marker (1)" in box
    assert "<td>erlotinib</td><td>EGFR L858R</td><td>I-A</td><td>EGFR T790M (A029, guideline)</td>" in box
    tier_one = tiers.split("Tier I-A: approved or guideline therapy in this tumour type (2)")[1]
    assert "erlotinib" not in tier_one.split("</table>")[0]  # neither as L858R's option nor as T790M's row


def test_similar_patients_show_rank_percentile_driver_and_outcome_not_the_raw_affinity():
    d = doc("P7")
    neighbour = {"rank": 1, "patient": "H0044", "similarity": 0.005767, "percentile": 100.0, "cluster": 2,
                 "tumor_type": "LUAD", "main_driver": "EGFR", "drivers": ["EGFR", "KRAS"], "treatment": "targeted",
                 "response": 1.0, "time_months": 5.0, "event": 1.0}  # fmt: skip
    second = {**neighbour, "rank": 2, "patient": "H0472", "similarity": 0.004805, "percentile": 99.8,
              "main_driver": None, "drivers": [], "response": 0.0, "time_months": 13.1, "event": 0.0}  # fmt: skip
    text = "Of these 2 past patients, 2 received targeted therapy: 1 of them responded; median progression-free time 5.0 months (1 progressed, 1 censored)"  # fmt: skip
    d["similar_patients"] = {
        "status": "ok", "patient": "P7", "cluster": 2, "history_patients": 500, "neighbours": [neighbour, second],
        "statements": {"neighbours": 2, "groups": [], "no_treatment": 0, "texts": [text]},
        "response": [{"text": "of the 10 most similar patients who received chemotherapy, 2 responded"}],
        "network_svg": '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>',
    }  # fmt: skip
    html = render(d)
    section = html[html.index('id="similar_patients"') :]
    assert '<th scope="col">Similarity percentile</th>' in section and "Similarity</th>" not in section
    assert "0.005767" not in section and "0.00577" not in section  # the raw affinity stays in the findings
    assert "<td>1</td><td>H0044</td><td>100.0</td><td>LUAD</td><td>EGFR (also KRAS)</td><td>targeted</td>" \
        "<td>yes</td><td>5.0</td><td>progressed</td>" in section  # fmt: skip
    assert "<td>99.8</td><td>LUAD</td><td>none known</td>" in section
    assert "<td>no</td><td>13.1</td><td>no progression at last follow-up (censored)</td>" in section
    assert f"<p>{text}.</p>" in section and "The 2 past patients most similar to this one, of 500," in section
    # the per-treatment estimates count another set of patients: they are not shown beside the table
    assert "who received chemotherapy, 2 responded" not in section


def test_the_report_links_the_fhir_bundle_relative_and_escaped():
    assert '<a href="../fhir/P1.json">../fhir/P1.json</a>' in render(doc())
    html = render(doc('P"1<x>'))
    assert "../fhir/P%221%3Cx%3E.json" in html and 'P"1<x>.json' not in html
