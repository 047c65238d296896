"""MultiQC's seq2rx section: biomarkers counted once each, each gene's own normal phenotype from
the knowledge base, free text escaped, and a table that fits the page."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
import yaml

from seq2rx.pgx.pipeline import PgxKnowledge
from seq2rx.report.multiqc import biomarkers, findings_table, multiqc_table, pgx_results, run_multiqc

REPO = Path(__file__).resolve().parents[2]
KB = PgxKnowledge.load(REPO / "resources" / "kb" / "pgx")
NORMAL = KB.reference_phenotypes()
RISK = KB.risk_alleles()
EVIL = "<img src=x onerror=alert(1)>"


def gene(name, phenotype, diplotype="*1/*1", status="called"):
    return {"gene": name, "status": status, "diplotypes": [diplotype] if diplotype else [], "phenotype": phenotype}


def pgx_doc(sample, genes, actionable_drugs=()):
    recs = [{"drug": d, "actionable": True} for d in actionable_drugs] + [{"drug": "simvastatin", "actionable": False}]
    return {"sample": sample, "genes": {g["gene"]: g for g in genes}, "recommendations": recs}


def rows(gene_name, alteration, tier, therapies):
    return [{"gene": gene_name, "alteration": alteration, "tier": tier, "therapies": t} for t in therapies]


# P7-T of the demo: L858R with six therapy rows, T790M with four (three of them resistance)
P7_ROWS = (rows("EGFR", "L858R", "I-A", ["afatinib", "amivantamab + lazertinib", "dacomitinib", "erlotinib",
                                        "gefitinib", "osimertinib"])
           + rows("EGFR", "T790M", "I-A", ["afatinib", "erlotinib", "gefitinib", "osimertinib"]))  # fmt: skip


def test_each_genes_normal_phenotype_comes_from_the_knowledge_base():
    assert NORMAL["CYP2C19"] == NORMAL["DPYD"] == NORMAL["CYP2C9"] == NORMAL["TPMT"] == "Normal Metabolizer"
    assert NORMAL["SLCO1B1"] == NORMAL["ABCG2"] == "Normal Function"
    assert NORMAL["NAT2"] == "Rapid Metabolizer"  # NAT2's reference allele is a rapid acetylator
    assert NORMAL["VKORC1"] == "-1639 GG"
    assert NORMAL["CYP2D6"] == "Normal Metabolizer"  # an outside-call gene: *1/*1
    assert "HLA-B" not in NORMAL and "CYP4F2" not in NORMAL and "IFNL3" not in NORMAL  # no phenotype rules
    assert "*57:01" in RISK["HLA-B"] and RISK["HLA-A"] == ["*31:01"] and RISK["CYP4F2"] == ["*3"]


@pytest.mark.parametrize(
    ("result", "shown"),
    [
        (gene("NAT2", "Rapid Metabolizer"), []),
        (gene("NAT2", "Poor Metabolizer", "*5/*5"), ["NAT2 Poor Metabolizer"]),
        (gene("SLCO1B1", "Normal Function"), []),
        (gene("SLCO1B1", "Decreased Function", "*1/*5"), ["SLCO1B1 Decreased Function"]),
        (gene("DPYD", "Normal Metabolizer", "Reference/Reference"), []),
        (gene("CYP2C19", "Poor Metabolizer", "*2/*2"), ["CYP2C19 Poor Metabolizer"]),
        (gene("CYP2C19", "Indeterminate", "*1/*99"), []),
        (gene("CYP2C19", "Poor Metabolizer", "", status="not called"), []),
        (gene("VKORC1", "-1639 AG", "rs9923231 reference (C)/rs9923231 variant (T)"), ["VKORC1 -1639 AG"]),
        (gene("HLA-B", None, "*57:01/*07:02", status="outside call"), ["HLA-B *57:01 carrier"]),
        (gene("HLA-B", None, "*07:02/*08:01", status="outside call"), []),
        (gene("HLA-B", "*57:01 negative", "", status="outside call"), []),
        (gene("HLA-B", "*57:01 positive", "", status="outside call"), ["HLA-B *57:01 positive"]),
        (gene("CYP4F2", None, "*1/*3"), ["CYP4F2 *3 carrier"]),
        (gene("IFNL3", None, "rs12979860 reference (C)/rs12979860 reference (C)"), []),
    ],
)
def test_pgx_results_use_each_genes_vocabulary(result, shown):
    assert pgx_results(result, NORMAL, RISK) == shown


def test_biomarkers_are_counted_once_at_their_best_tier():
    found = biomarkers(P7_ROWS)
    assert found == {"I": ["EGFR L858R", "EGFR T790M"], "II": []}  # 10 therapy rows, 2 biomarkers
    mixed = rows("BRAF", "V600E", "II-C", ["x"]) + rows("BRAF", "V600E", "I-A", ["y", "z"]) + rows(
        "PIK3CA", "H1047R", "II-C", ["a", "b"]) + rows("KRAS", "G12D", "III", ["c"])  # fmt: skip
    assert biomarkers(mixed) == {"I": ["BRAF V600E"], "II": ["PIK3CA H1047R"]}
    assert biomarkers(rows("MSI", "MSI-H", "I-A", ["pembrolizumab", "nivolumab"])) == {"I": ["MSI-H"], "II": []}
    assert biomarkers([]) == {"I": [], "II": []}


def read_table(path: Path) -> tuple[dict, dict[str, dict[str, str]]]:
    lines = path.read_text().splitlines()
    config = yaml.safe_load("\n".join(line[2:] for line in lines if line.startswith("# ")))
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    return config, {r[0]: dict(zip(body[0], r, strict=True)) for r in body[1:]}


def findings(tmp_path: Path) -> Path:
    docs = [
        pgx_doc("P1", [gene("CYP2C19", "Poor Metabolizer", "*2/*2"), gene("NAT2", "Rapid Metabolizer"),
                       gene("SLCO1B1", "Normal Function"), gene("HLA-B", EVIL, "", status="outside call"),
                       gene("DPYD", None, "", status="not called")], ["clopidogrel", "citalopram", "clopidogrel"]),
        pgx_doc("P7-T", [gene("NAT2", "Rapid Metabolizer"), gene("DPYD", "Normal Metabolizer")]),
        # many results at once (the demo's P3), and a tumour with long biomarker names
        pgx_doc("P3-T", [gene("CYP2C19", "Likely Intermediate Metabolizer", "*1/*9"),
                         gene("CYP2C9", "Poor Metabolizer", "*2/*3"), gene("CYP2D6", "Ultrarapid Metabolizer", "*1/*2x2"),
                         gene("SLCO1B1", "Possible Decreased Function", "*1/*15"), gene("NAT2", "Poor Metabolizer"),
                         gene("TPMT", "Possible Intermediate Metabolizer", "*1/*3A"),
                         gene("HLA-A", None, "*31:01/*02:01", status="outside call"),
                         gene("HLA-B", None, "*15:02/*57:01", status="outside call")], ["a", "b", "c"]),
    ]  # fmt: skip
    long_rows = (
        P7_ROWS
        + rows("ERBB2", "amplification (9 copies)", "I-A", ["trastuzumab"])
        + rows("ALK", "EML4::ALK fusion", "II-C", ["alectinib"])
        + rows("MET", "exon 14 skipping", "II-D", ["capmatinib"])
    )
    path = tmp_path / "seq2rx_findings_mqc.tsv"
    findings_table(docs, [{"sample": "P7-T", "rows": P7_ROWS}, {"sample": "P3-T", "rows": long_rows}], path,
                   normal=NORMAL, risk_alleles=RISK)  # fmt: skip
    return path


def test_findings_table_counts_biomarkers_and_escapes_free_text(tmp_path):
    path = findings(tmp_path)
    config, table = read_table(path)
    p1, p7 = table["P1"], table["P7-T"]
    assert p7["tier_I"] == "2" and p7["tier_II"] == "0" and p7["biomarkers"] == "EGFR L858R<br>EGFR T790M"
    assert p7["pgx_results"] == "none" and p7["pgx_genes"] == "2"  # NAT2 rapid is NAT2's normal
    assert p1["pgx_results"] == "CYP2C19 Poor Metabolizer<br>HLA-B &lt;img src=x onerror=alert(1)&gt;"
    assert p1["tier_I"] == "" and p1["biomarkers"] == ""  # no tumour analysed: not "0"
    assert p1["pgx_genes"] == "4" and p1["pgx_drugs"] == "2"  # drugs, each once, whose advice changes
    assert table["P3-T"]["pgx_results"].count("<br>") == 8  # 9 results, HLA-B carrying two risk alleles
    assert table["P3-T"]["tier_I"] == "3" and table["P3-T"]["tier_II"] == "2"
    assert EVIL not in path.read_text()
    titles = {c: h["title"] for c, h in config["headers"].items()}
    assert list(titles) == list(table["P1"])[1:]  # every column has a header
    assert all(len(t) <= 22 for t in titles.values()), titles  # short titles ...
    assert all(len(h["description"]) > len(h["title"]) for h in config["headers"].values())  # ... explained


def test_qc_table_shows_on_target_rate_and_fold_80(tmp_path):
    path = tmp_path / "seq2rx_qc_mqc.tsv"
    exome = {"sample": "E1", "mean_target_coverage": 80.0, "target_fraction_20x": 0.97, "on_target_fraction": 0.6123,
             "fold_80_base_penalty": 1.82, "verdict": "pass"}  # fmt: skip
    genome = {"sample": "G1", "mean_target_coverage": 31.0, "target_fraction_20x": 0.9, "on_target_fraction": None,
              "fold_80_base_penalty": None, "verdict": "pass"}  # fmt: skip
    older = {"sample": "O1", "mean_target_coverage": 30.0, "target_fraction_20x": 0.9, "verdict": "warn"}
    multiqc_table([genome, older, exome], path)
    config, table = read_table(path)
    assert table["E1"]["on_target_fraction"] == "0.6123" and table["E1"]["fold_80_base_penalty"] == "1.82"
    # no targets BED (null) and a summary written before these columns: empty cells, not "None"
    assert table["G1"]["on_target_fraction"] == "" and table["G1"]["fold_80_base_penalty"] == ""
    assert table["O1"]["fold_80_base_penalty"] == "" and table["O1"]["verdict"] == "warn"
    assert config["headers"]["fold_80_base_penalty"]["title"] == "Fold-80"
    assert "Picard" in config["headers"]["on_target_fraction"]["description"]


def test_multiqc_renders_the_tables_with_free_text_inert(tmp_path):
    pytest.importorskip("multiqc")
    qc = tmp_path / "seq2rx_qc_mqc.tsv"
    multiqc_table([{"sample": "P1", "mean_target_coverage": 33.9, "target_fraction_20x": 0.8, "verdict": "pass"}], qc)
    config = tmp_path / "multiqc_config.yaml"
    shutil.copy(REPO / "resources" / "report" / "multiqc_config.yaml", config)
    run_multiqc([qc, findings(tmp_path)], config, tmp_path / "out")
    page = (tmp_path / "out" / "multiqc_report.html").read_text()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "PGx other than normal" in page and "Mean read depth over the target regions" in page
    _fits_the_page(tmp_path / "out" / "multiqc_report.html")


@contextlib.contextmanager
def _browser(purpose: str):
    """Debian's chromium driven by Playwright, or skip the test."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip(f"no chromium to {purpose}")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _fits_the_page(report: Path) -> None:
    """At 1400 × 900, the findings table is no wider than the section holding it (when a browser
    is at hand: Playwright driving Debian's chromium)."""
    with _browser("measure the table in") as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(report.as_uri())
        widths = page.evaluate(
            """() => { const t = document.getElementById('seq2rx_findings_table_table');
                       const s = document.getElementById('seq2rx_findings-section').parentElement;
                       return [t.getBoundingClientRect().right, s.getBoundingClientRect().right, t.scrollWidth,
                               t.parentElement.clientWidth]; }"""
        )
    table_right, section_right, table_width, box_width = widths
    assert 0 < table_right <= section_right and 0 < table_width <= box_width, widths


#: markup that runs a script if it ever becomes live: it sets a flag the page test looks for
LIVE = '<img src=x onerror="window.seq2rxPwned=1"><script>window.seq2rxPwned=2</script>'


def _embedded_data(page: str) -> list[str]:
    """The base64-gzip blobs MultiQC embeds (its plot and table data), decompressed."""
    import base64
    import binascii
    import gzip
    import re
    import zlib

    out = []
    for blob in re.findall(r"[A-Za-z0-9+/=]{200,}", page):
        try:
            out.append(gzip.decompress(base64.b64decode(blob)).decode("utf-8", errors="replace"))
        except (binascii.Error, OSError, EOFError, zlib.error, ValueError):
            continue
    return out


def test_multiqc_page_has_no_live_markup_from_a_sample_name_or_a_value(tmp_path):
    """A sample named with markup and a value holding markup, through both seq2rx tables and
    MultiQC: the page (and the data it embeds for its plots) holds them only escaped, no tag of
    theirs is parsed, and in a browser their script never runs."""
    from html.parser import HTMLParser

    pytest.importorskip("multiqc")
    evil_sample = "S" + LIVE
    qc = tmp_path / "seq2rx_qc_mqc.tsv"
    multiqc_table([{"sample": evil_sample, "mean_target_coverage": 30.0, "target_fraction_20x": 0.9,
                    "verdict": LIVE}], qc)  # fmt: skip
    docs = [pgx_doc(evil_sample, [gene("HLA-B", LIVE, "", status="outside call")])]
    found = tmp_path / "seq2rx_findings_mqc.tsv"
    findings_table(docs, [{"sample": evil_sample, "rows": rows("EGFR", LIVE, "I-A", ["x"])}], found,
                   normal=NORMAL, risk_alleles=RISK)  # fmt: skip
    config = tmp_path / "multiqc_config.yaml"
    shutil.copy(REPO / "resources" / "report" / "multiqc_config.yaml", config)
    run_multiqc([qc, found], config, tmp_path / "out")
    report = tmp_path / "out" / "multiqc_report.html"
    page = report.read_text()
    assert "seq2rx_findings" in page and "seq2rxPwned" in page  # the values reached the page ...
    for text in [page, *_embedded_data(page)]:
        assert "<img src=x" not in text and "<script>window.seq2rxPwned" not in text  # ... only escaped

    class Tags(HTMLParser):
        """Our markup parsed as markup: an event-handler attribute, or a script element, of ours
        (in a quoted data attribute, a title or a cell's text it is inert)."""

        live: list = []

        def handle_starttag(self, tag, attrs):
            if any(k.startswith("on") and "seq2rxPwned" in (v or "") for k, v in attrs):
                self.live.append((tag, attrs))

        def handle_data(self, data):
            if self.lasttag == "script" and data.strip().startswith("window.seq2rxPwned"):
                self.live.append(("script", data[:80]))

    parser = Tags()
    parser.feed(page)
    assert parser.live == []
    with _browser("open the page in") as browser:
        tab = browser.new_page()
        tab.goto(report.as_uri())
        tab.wait_for_timeout(1500)  # MultiQC draws its tables and plots after load
        shown = tab.evaluate("() => document.body.innerText")
        pwned = tab.evaluate("() => window.seq2rxPwned === undefined ? null : window.seq2rxPwned")
    assert pwned is None
    assert "window.seq2rxPwned" in shown  # shown as text, not run


def test_multiqc_data_folder_is_the_same_bytes_in_another_folder(tmp_path):
    """The same tables through MultiQC in two run folders: every file of the data folder is the
    same bytes, and none holds either folder's absolute path, the date or MultiQC's temporary
    file list."""
    pytest.importorskip("multiqc")
    import os

    datas = []
    for name in ("first", "second"):
        run = tmp_path / name
        (run / "results").mkdir(parents=True)
        qc = run / "results" / "seq2rx_qc_mqc.tsv"
        multiqc_table([{"sample": "P1", "mean_target_coverage": 31.0, "target_fraction_20x": 0.8, "verdict": "pass"}],
                      qc)  # fmt: skip
        shutil.copy(REPO / "resources" / "report" / "multiqc_config.yaml", run / "multiqc_config.yaml")
        cwd = os.getcwd()
        os.chdir(run)  # as Snakemake runs the script: in the run folder, with relative paths
        try:
            run_multiqc(["results/seq2rx_qc_mqc.tsv"], "multiqc_config.yaml", "results/multiqc")
        finally:
            os.chdir(cwd)
        data = run / "results" / "multiqc" / "multiqc_report_data"
        files = {p.name: p.read_bytes() for p in sorted(data.iterdir())}
        assert "multiqc_data.json" in files and "multiqc_sources.txt" in files
        assert "multiqc.log" not in files and "multiqc.parquet" not in files  # the run's date and paths
        for fname, content in files.items():
            assert str(run).encode() not in content and str(tmp_path).encode() not in content, fname
        record = yaml.safe_load(files["multiqc_data.json"])
        assert "report_creation_date" not in record
        assert (
            record["report_multiqc_command"].startswith("multiqc ") and "/tmp" not in record["report_multiqc_command"]
        )
        assert b"seq2rx_qc" in files["multiqc_data.json"]  # the table went through
        datas.append(files)
    assert datas[0] == datas[1]
