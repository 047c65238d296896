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
    html = render(d)
    assert "Protein-altering and splice-site variants (1)" in html
    assert html.index("Protein-altering") < html.index("All passing calls (2)")
    assert "<td>no gene model</td>" in html
    assert "sub-clonal variants" in html


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
    from seq2rx.core.figures import safe_svg

    with pytest.raises(ValueError):
        safe_svg(bad)


def test_our_own_figures_pass_the_svg_check():
    from seq2rx.core import figures
    from seq2rx.core.figures import safe_svg

    fig = figures.figure(2, 2)
    fig.subplots().plot([0, 1], [0, 1])
    assert safe_svg(figures.svg(fig, "t")).startswith("<svg")
