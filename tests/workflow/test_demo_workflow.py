"""Runs the whole workflow once on the demo and checks what its outputs say."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
import yaml

from seq2rx.ops.rundiff import compare_runs

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("demo_run")
    shutil.copytree(REPO / "config", work / "config")
    snakemake(work)
    return work


@pytest.fixture(scope="session")
def spec() -> dict:
    return yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())


def calls(vcf: Path) -> dict[tuple[str, int, str, str], tuple[str, tuple]]:
    with pysam.VariantFile(str(vcf)) as fh:
        return {(r.chrom, r.pos, r.ref, r.alts[0]): (";".join(r.filter.keys()), r.samples[0]["GT"]) for r in fh}


def test_planted_star_allele_variants_have_the_right_genotype(demo_run, spec):
    for patient in spec["patients"]:
        sample = patient["samples"][0]["id"]
        found = calls(demo_run / f"results/calls/{sample}.vcf.gz")
        expected: dict[tuple, list[int]] = {}
        for gene, (a1, a2) in patient["diplotypes"].items():
            for hap, allele in enumerate((a1, a2)):
                for chrom, pos, ref, alt in spec["star_alleles"][gene][allele]:
                    expected.setdefault((chrom, pos, ref, alt), [0, 0])[hap] = 1
        for key, hap in expected.items():
            assert key in found, f"{sample}: {key} not called"
            filt, gt = found[key]
            assert filt == "PASS"
            assert tuple(sorted(gt)) == tuple(sorted(hap)), f"{sample}: {key} called {gt}, planted {hap}"


def test_clonal_hotspots_are_called_in_the_tumours(demo_run):
    assert calls(demo_run / "results/calls/P8-T.vcf.gz")[("chr7", 140753336, "A", "T")] == (
        "PASS",
        (0, 1),
    )  # BRAF V600E
    assert calls(demo_run / "results/calls/P7-T.vcf.gz")[("chr7", 55191822, "T", "G")] == ("PASS", (0, 1))  # EGFR L858R
    assert calls(demo_run / "results/calls/P9-T.vcf.gz")[("chr12", 25245350, "C", "T")] == ("PASS", (0, 1))  # KRAS G12D
    # the normal of P7 carries none of its tumour's somatic variants
    assert ("chr7", 55191822, "T", "G") not in calls(demo_run / "results/calls/P7-N.vcf.gz")


def test_truth_comparison_meets_the_targets(demo_run, spec):
    germline = [s["id"] for p in spec["patients"] for s in p["samples"] if s["type"] != "tumor"]
    for sample in germline:
        result = json.loads((demo_run / f"results/truth/{sample}.json").read_text())
        assert result["snv"]["f1"] >= 0.99, (sample, result["snv"])
        assert result["indel"]["f1"] >= 0.95, (sample, result["indel"])
        assert result["indel"]["tp"] >= 20  # enough indels for the F1 to mean something
    summary = (demo_run / "results/truth/summary.tsv").read_text().splitlines()
    assert len(summary) == 1 + 2 * 13  # the demo's 13 samples (P10-T, P11-N, P11-T added for issue 15)


def test_duplicates_are_marked(demo_run):
    pairs = [ln.split("\t") for ln in (demo_run / "demo/truth/P3.duplicates.tsv").read_text().splitlines()[1:]]
    with pysam.AlignmentFile(str(demo_run / "results/align/P3.bam")) as bam:
        flagged = {r.query_name for r in bam if r.is_duplicate}
    assert sum(a in flagged or b in flagged for a, b in pairs) / len(pairs) > 0.97
    qc = json.loads((demo_run / "results/qc/summary/P3.json").read_text())
    assert 0.03 < qc["duplicate_fraction"] < 0.15


def test_multiqc_lists_every_sample(demo_run):
    general = (demo_run / "results/qc/multiqc/multiqc_report_data/multiqc_general_stats.txt").read_text().splitlines()
    names = {line.split("\t")[0] for line in general[1:]}
    samples = {f"P{k}" for k in range(1, 7)} | {"P7-N", "P7-T", "P8-T", "P9-T"}
    samples |= {"P10-T", "P11-N", "P11-T"}  # the demo's patients added for issue 15
    assert names == samples
    html = (demo_run / "results/qc/multiqc/multiqc_report.html").read_text()
    for module in ("cutadapt", "samtools", "bcftools", "seq2rx QC verdict"):
        assert module in html


def test_qc_verdicts_and_coverage(demo_run):
    for sample in ("P1", "P8-T"):
        qc = json.loads((demo_run / f"results/qc/summary/{sample}.json").read_text())
        assert qc["verdict"] == "pass", qc
        assert qc["mapped_fraction"] > 0.99
        assert 30 < qc["mean_target_coverage"] < 45  # simulated at 40x, less duplicates and trimming
        # reads are simulated on the demo's islands, which its targets BED names: all on target;
        # depth falls off at the regions' edges, so the 20th percentile is below the mean
        assert qc["on_target_fraction"] > 0.99 and 1.2 < qc["fold_80_base_penalty"] < 2.5, qc


def test_findings_and_report_per_patient(demo_run):
    doc = json.loads((demo_run / "results/findings/P7.json").read_text())
    assert [s["sample"] for s in doc["samples"]] == ["P7-N", "P7-T"]
    assert doc["tumor_type"] == "LUAD" and doc["genome_build"] == "GRCh38"
    assert doc["pgx"]["status"] == "done" and doc["pgx"]["sample"] == "P7-N"  # germline DNA, not the tumour
    assert doc["actionability"]["status"] == "done"
    assert doc["provenance"]["tools"]["align_reads"]["pybwa"] == "2.3.2"
    html = (demo_run / "results/reports/P7.html").read_text()
    assert "patient P7" in html and "P7-T (tumor)" in html and 'class="pass"' in html
    assert "<dt>Date of analysis</dt><dd>2026-11-25</dd>" in html  # report.date of the config, not the clock
    assert "Actionable biomarkers (resources/kb/actionability)</td><td>187 rows" in html


def test_every_patient_has_a_fhir_bundle_that_parses_and_p1_warns_of_clopidogrel(demo_run):
    from fhir.resources.R4B.bundle import Bundle

    from seq2rx.fhir import unresolved_references

    IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition"

    bundles = sorted((demo_run / "results/fhir").glob("*.json"))
    assert [b.stem for b in bundles] == sorted(p.stem for p in (demo_run / "results/findings").glob("*.json"))
    for path in bundles:
        bundle = json.loads(path.read_text())
        Bundle.model_validate(bundle)
        assert unresolved_references(bundle) == [], path.name
    p1 = json.loads((demo_run / "results/fhir/P1.json").read_text())
    implications = [
        r for r in (e["resource"] for e in p1["entry"])
        if r.get("meta", {}).get("profile") == [f"{IG}/therapeutic-implication"] and "clopidogrel" in json.dumps(r)
    ]  # fmt: skip
    assert len(implications) == 1 and "CYP2C19 Poor Metabolizer" in json.dumps(implications[0])
    assert '<a href="../fhir/P1.json">' in (demo_run / "results/reports/P1.html").read_text()


def test_every_rule_logged_and_benchmarked(demo_run):
    for rule in ("cutadapt_trim", "align_reads", "samtools_markdup", "bcftools_call", "samtools_stats"):
        assert (demo_run / f"logs/{rule}/P1.log").exists()
        assert (demo_run / f"logs/benchmarks/{rule}/P1.tsv").exists()
    assert "alignment records written" in (demo_run / "logs/align_reads/P1.log").read_text()


def absolute_paths(run: Path) -> list[str]:
    """Files under ``run``/results that hold the run folder's or the checkout's absolute path
    (gzip and bgzip files, BAMs included, decompressed)."""
    needles = (str(run).encode(), str(run.resolve()).encode(), str(REPO).encode())
    found = []
    for path in sorted((run / "results").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            if any(n in data for n in needles):
                found.append(str(path.relative_to(run)))
    return found


def test_outputs_hold_no_absolute_paths(demo_run):
    """Not one file of results/ (MultiQC's data folder, its log and Parquet store included, and the
    provenance record) names the run folder or the checkout."""
    assert absolute_paths(demo_run) == []


def test_a_config_typo_stops_before_any_job(demo_run, tmp_path):
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["calling"]["min_qaul"] = 30
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config/samples.tsv", tmp_path / "config/samples.tsv")
    text = yaml.safe_dump(cfg)
    (tmp_path / "my.yaml").write_text(text)
    line = next(k for k, row in enumerate(text.splitlines(), 1) if "min_qaul" in row)
    proc = snakemake(tmp_path, "--configfile", "my.yaml", check=False)
    assert proc.returncode != 0
    assert f"my.yaml, line {line}, field 'calling.min_qaul': unknown key 'min_qaul'" in proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "demo").exists()


def _own_config(demo_run: Path, work: Path, rows: list[str], **extra) -> None:
    (work / "config").mkdir(parents=True, exist_ok=True)
    header = "sample\tpatient\ttype\tfastq1\tfastq2\tbam\tvcf\tsex\ttumor_type"
    (work / "config/samples.tsv").write_text("\n".join([header, *rows]) + "\n")
    cfg = {
        "samples": "config/samples.tsv",
        "reference": {
            "fasta": str(demo_run / "demo/genome.fa.gz"),
            "gff3": str(demo_run / "demo/genes.gff3"),
            "build": "GRCh38",
        },
        "targets": str(demo_run / "demo/targets.bed"),
        "demo": {"simulate": False},
        **extra,
    }
    (work / "my.yaml").write_text(yaml.safe_dump(cfg))


def test_samples_start_from_a_bam_or_a_vcf(demo_run, tmp_path):
    rows = [
        f"SB\tQ1\tgermline\t\t\t{demo_run}/results/align/P1.bam\t\tfemale\tNA",
        f"SV\tQ2\tgermline\t\t\t\t{demo_run}/demo/truth/P2.vcf.gz\tmale\tNA",
    ]
    _own_config(demo_run, tmp_path, rows)
    proc = snakemake(tmp_path, "--configfile", "my.yaml")
    assert "cutadapt_trim" not in proc.stdout + proc.stderr and "align_reads" not in proc.stdout + proc.stderr
    # the BAM's calls are the calls the demo run made from P1's reads, under the sheet's name
    assert calls(tmp_path / "results/calls/SB.vcf.gz") == calls(demo_run / "results/calls/P1.vcf.gz")
    with pysam.VariantFile(str(tmp_path / "results/calls/SB.vcf.gz")) as fh:
        assert list(fh.header.samples) == ["SB"]
    # the VCF was normalised and kept: P2 carries CYP2C9*3 (chr10:94981296 A>C) heterozygous
    assert calls(tmp_path / "results/calls/SV.vcf.gz")[("chr10", 94981296, "A", "C")][1] == (0, 1)
    doc = json.loads((tmp_path / "results/findings/Q2.json").read_text())
    assert doc["samples"][0]["started_from"] == "vcf" and doc["samples"][0]["qc"]["status"] == "not run"


def test_a_vcf_with_other_contig_names_is_refused(demo_run, tmp_path):
    text = gzip.decompress((demo_run / "demo/truth/P2.vcf.gz").read_bytes()).decode()
    renamed = "\n".join(
        line.replace("ID=chr", "ID=") if line.startswith("##contig") else (line[3:] if line.startswith("chr") else line)
        for line in text.splitlines()
    )
    vcf = tmp_path / "nochr.vcf"
    vcf.write_text(renamed + "\n")
    _own_config(demo_run, tmp_path, [f"SV\tQ2\tgermline\t\t\t\t{vcf}\tmale\tNA"])
    proc = snakemake(tmp_path, "--configfile", "my.yaml", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs/bcftools_norm_input/SV.log").read_text()
    assert "uses contig name '1' where the reference has 'chr1'" in log
    assert not (tmp_path / "results/calls/SV.vcf.gz").exists()


def test_joint_calling_is_wired(demo_run, tmp_path):
    rows = [
        f"SB\tQ1\tgermline\t\t\t{demo_run}/results/align/P1.bam\t\tfemale\tNA",
        f"SC\tQ3\tgermline\t\t\t{demo_run}/results/align/P2.bam\t\tmale\tNA",
    ]
    _own_config(demo_run, tmp_path, rows, calling={"joint": True})
    snakemake(tmp_path, "results/calls/SB.vcf.gz", "results/calls/SC.vcf.gz", "--configfile", "my.yaml")
    with pysam.VariantFile(str(tmp_path / "results/calls/joint/all.vcf.gz")) as fh:
        assert list(fh.header.samples) == ["SB", "SC"]  # the sheet's names, not the BAMs' read groups
    assert ("chr10", 94781859, "G", "A") in calls(tmp_path / "results/calls/SB.vcf.gz")  # CYP2C19*2 of P1


def test_consequence_tables(demo_run):
    def table(sample):
        lines = (demo_run / f"results/annotate/{sample}.consequences.tsv").read_text().splitlines()
        cols = lines[0].split("\t")
        return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]

    braf = [r for r in table("P8-T") if r["pos"] == "140753336"]
    assert [(r["gene"], r["hgvs_p"], r["aa_change_agrees"]) for r in braf] == [("BRAF", "p.Val600Glu", "true")]
    kras = [r for r in table("P9-T") if r["pos"] == "25245350"]
    assert [(r["gene"], r["hgvs_p"]) for r in kras] == [("KRAS", "p.Gly12Asp")]
    egfr = [r for r in table("P7-T") if r["pos"] == "55191822"]
    assert [(r["gene"], r["hgvs_p"]) for r in egfr] == [("EGFR", "p.Leu858Arg")]
    # the two derivations agree on every coding change in every sample
    for sample in ("P1", "P7-T", "P8-T", "P9-T"):
        assert all(r["aa_change_agrees"] in ("true", ".") for r in table(sample))
    assert (demo_run / "results/annotate/P8-T.csq.vcf.gz.tbi").exists()


def test_findings_carry_the_protein_change(demo_run):
    doc = json.loads((demo_run / "results/findings/P8.json").read_text())
    braf = next(v for v in doc["samples"][0]["variants"] if v["pos"] == 140753336)
    assert braf["consequences"][0]["hgvs_p"] == "p.Val600Glu" and braf["consequences"][0]["gene"] == "BRAF"
    assert "BRAF p.Val600Glu (missense)" in (demo_run / "results/reports/P8.html").read_text()


def test_confirmation_primers_for_reportable_variants(demo_run):
    def rows(patient):
        lines = (demo_run / f"results/primers/{patient}.tsv").read_text().splitlines()
        cols = lines[0].split("\t")
        return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]

    designed = {r["variant_id"]: r for p in ("P7", "P8", "P9") for r in rows(p) if r["status"] == "designed"}
    for vid in ("chr7:140753336:A>T", "chr12:25245350:C>T", "chr7:55191822:T>G"):  # BRAF, KRAS, EGFR
        r = designed[vid]
        pos = int(vid.split(":")[1])
        assert int(r["amplicon_start"]) <= pos <= int(r["amplicon_end"])
        assert 300 <= int(r["amplicon_length"]) <= 600
        assert int(r["left_distance"]) >= 50 and int(r["right_distance"]) >= 50
        for side in ("left", "right"):
            assert 57 <= float(r[f"{side}_tm_primer3"]) <= 63
            assert abs(float(r[f"{side}_tm_primer3"]) - float(r[f"{side}_tm_biopython"])) < 0.5


def test_every_pharmacogene_definition_position_is_genotyped(demo_run):
    lines = (demo_run / "results/pgx/P1.positions.tsv").read_text().splitlines()
    cols = lines[0].split("\t")
    rows = {(r["chrom"], r["pos"]): r for r in (dict(zip(cols, x.split("\t"), strict=True)) for x in lines[1:])}
    assert len(rows) == 424  # every position of the 14 genes' definitions
    assert sum(r["status"] == "called" for r in rows.values()) >= 0.98 * 424
    assert rows[("chr10", "94781859")]["genotype"] == "1/1"  # CYP2C19*2/*2
    assert rows[("chr10", "94842866")]["genotype"] == "1/1"  # *2 carries the *1 variant too (GRCh38 is *38)
    assert rows[("chr10", "94981296")]["genotype"] == "0/0"  # a reference call, emitted and counted


def test_planted_star_alleles_come_back_exactly(demo_run, spec):
    """Every demo sample's planted diplotypes are called exactly (other genes: reference)."""
    from seq2rx.pgx.matcher import natural_key

    checked = 0
    for patient in spec["patients"]:
        for sample in patient["samples"]:
            doc = json.loads((demo_run / f"results/pgx/{sample['id']}.json").read_text())
            for gene, alleles in patient["diplotypes"].items():
                r = doc["genes"][gene]
                assert r["status"] == "called", (sample["id"], gene, r)
                assert r["diplotypes"] == ["/".join(sorted(alleles, key=natural_key))], (sample["id"], gene)
                assert r["missing_positions"] == []
                checked += 1
    assert checked == 13 * 6  # the demo's 13 samples (P10-T, P11-N, P11-T added for issue 15)
    p1 = json.loads((demo_run / "results/pgx/P1.json").read_text())
    assert p1["genes"]["CYP2C19"]["phenotype"] == "Poor Metabolizer"  # *2/*2
    p3 = json.loads((demo_run / "results/pgx/P3.json").read_text())
    assert p3["genes"]["CYP2C9"]["activity_score"] == 0.5  # *2/*3
    assert p3["genes"]["TPMT"]["phenotype"] == "Intermediate Metabolizer"  # *1/*3A


def test_outside_calls_and_drug_guidance(demo_run):
    p1 = json.loads((demo_run / "results/pgx/P1.json").read_text())
    assert p1["genes"]["CYP2D6"]["source"] == "outside call"
    assert p1["genes"]["CYP2D6"]["phenotype"] == "Poor Metabolizer"  # *4/*4
    drugs = {r["drug"] for r in p1["recommendations"]}
    assert {"clopidogrel", "codeine", "abacavir"} <= drugs  # CYP2C19 PM, CYP2D6 PM, HLA-B*57:01
    abacavir = [r for r in p1["recommendations"] if r["drug"] == "abacavir"]
    assert [r["phenotype"] for r in abacavir] == ["HLA-B carrier *57:01"]  # the carrier row, not the noncarrier
    codeine = [r for r in p1["recommendations"] if r["drug"] == "codeine"]
    assert [r["phenotype"] for r in codeine] == ["CYP2D6 Poor Metabolizer"]
    p3 = json.loads((demo_run / "results/pgx/P3.json").read_text())
    assert p3["genes"]["CYP2D6"]["phenotype"] == "Ultrarapid Metabolizer"  # *1/*2x2
    # MT-RNR1 m.1555A>G typed elsewhere: increased risk of hearing loss, every aminoglycoside avoided
    assert p3["genes"]["MT-RNR1"]["phenotype"] == "increased risk of aminoglycoside-induced hearing loss"
    gentamicin = [r for r in p3["recommendations"] if r["drug"] == "gentamicin"]
    assert [(r["strength"], r["actionable"]) for r in gentamicin] == [("Strong", True)]
    # a patient without outside calls has no CYP2D6 answer and the report says why
    p5 = json.loads((demo_run / "results/pgx/P5.json").read_text())
    codeine = [d for d in p5["drugs_without_guidance"] if d["drug"] == "codeine"]
    assert codeine and "CYP2D6 not called" in codeine[0]["reason"]
    html = (demo_run / "results/reports/P1.html").read_text()
    assert "Drug guidance" in html and "abacavir" in html and "*57:01/*07:02" in html
    tsv = (demo_run / "results/pgx/P1.drugs.tsv").read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["sample", "drug", "genes"] and len(tsv) == 1 + len(p1["recommendations"])


def test_the_cds_index_gives_point_of_care_cards(demo_run):
    """The demo's CDS index (rule cds_index): P1 (CYP2C19 *2/*2) ordering clopidogrel gets a warning
    naming the alternatives; P3 (HLA-B*15:02) ordering carbamazepine gets a critical card."""
    from seq2rx.cds import DrugTable, Index, cards_for, parse_request

    index = Index(demo_run / "results/cds/index.sqlite")
    table = DrugTable(index.drugs)

    def cards(patient, text):
        order = {"resourceType": "MedicationRequest", "id": "m1", "status": "draft", "intent": "order",
                 "medicationCodeableConcept": {"text": text}}  # fmt: skip
        body = {"hook": "order-sign", "hookInstance": "demo", "context": {"userId": "Practitioner/1",
                "patientId": patient, "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]}}}  # fmt: skip
        return cards_for(parse_request("order-sign", body), index.recommendations, table)["cards"]

    [clopidogrel] = cards("P1", "Clopidogrel 75 MG Oral Tablet")
    assert clopidogrel["indicator"] == "warning" and "prasugrel or ticagrelor" in clopidogrel["detail"]
    assert clopidogrel["source"]["url"] == "https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/"
    [carbamazepine] = cards("P3", "carbamazepine 200 MG Oral Tablet")
    p3 = json.loads((demo_run / "results/findings/P3.json").read_text())
    hla_b = [r for r in p3["pgx"]["recommendations"] if r["drug"] == "carbamazepine" and r["genes"] == ["HLA-B"]]
    # the findings carry card indicators once the knowledge base names the critical pairs (alert_levels.tsv);
    # before that, every actionable recommendation is a warning
    assert carbamazepine["indicator"] == ("critical" if "indicator" in hla_b[0] else "warning")
    assert "HLA-B" in carbamazepine["detail"] and "15:02" in carbamazepine["detail"]
    assert cards("P1", "amoxicillin 500 MG") == [] and cards("nobody", "clopidogrel") == []


def _actionable(demo_run, sample):
    lines = (demo_run / f"results/actionability/{sample}.tsv").read_text().splitlines()
    cols = lines[0].split("\t")
    return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]


def test_somatic_calls_reach_the_subclonal_variants(demo_run):
    """Tumour-normal P7: both planted EGFR variants PASS, T790M at ~12% VAF included; no other PASS call."""
    passing = {
        (r.chrom, r.pos, r.ref, r.alts[0]): r.samples["P7-T"]["AF"][0]
        for r in pysam.VariantFile(str(demo_run / "results/somatic/P7-T.vcf.gz"))
        if "PASS" in r.filter.keys()
    }
    assert set(passing) == {("chr7", 55191822, "T", "G"), ("chr7", 55181378, "C", "T")}
    assert 0.05 <= passing[("chr7", 55181378, "C", "T")] <= 0.25
    header = str(pysam.VariantFile(str(demo_run / "results/somatic/P8-T.vcf.gz")).header)
    assert "tumour-only" in header  # P8 has no normal, and its calls say so


def test_actionable_findings_by_tumour_type(demo_run):
    p7 = _actionable(demo_run, "P7-T")  # lung adenocarcinoma
    assert any(r["alteration"] == "L858R" and r["therapies"] == "osimertinib" and r["tier"] == "I-A" for r in p7)
    t790m = [r for r in p7 if r["alteration"] == "T790M"]
    assert any(r["therapies"] == "osimertinib" and r["response"] == "sensitive" and r["tier"] == "I-A" for r in t790m)
    assert any(r["therapies"] == "erlotinib" and r["response"] == "resistant" for r in t790m)
    # reconciled: T790M overrides L858R's earlier EGFR inhibitors; osimertinib is the option
    overridden = {r["therapies"]: r["overridden_by"] for r in p7 if r["overridden"] == "true"}
    assert set(overridden) == {"erlotinib", "gefitinib", "afatinib", "dacomitinib"}
    assert all(by.endswith("EGFR T790M") for by in overridden.values())
    assert {r["role"] for r in t790m if r["response"] == "resistant"} == {"resistance"}
    options = json.loads((demo_run / "results/actionability/P7-T.json").read_text())["options"]
    assert options[0]["therapy"] == "osimertinib" and options[0]["alterations"] == ["EGFR L858R", "EGFR T790M"]
    p8 = _actionable(demo_run, "P8-T")  # colon: BRAF V600E is encorafenib + cetuximab, not vemurafenib alone
    tier1 = {(r["therapies"], r["response"]) for r in p8 if r["tier"] == "I-A" and r["gene"] == "BRAF"}
    assert ("encorafenib + cetuximab", "sensitive") in tier1 and ("vemurafenib", "sensitive") not in tier1
    assert any(r["gene"] == "PIK3CA" and r["alteration"] == "H1047R" for r in p8)
    p9 = _actionable(demo_run, "P9-T")  # pancreas: KRAS G12D has no approved therapy
    kras = [r for r in p9 if r["gene"] == "KRAS" and r["alteration"] == "G12D"]
    assert kras and not any(r["tier"].startswith("I-") for r in kras)
    assert not [r for r in p9 if r["rule_tumor_type"] == "COADREAD"]  # colorectal resistance is not tiered here
    p8_doc = json.loads((demo_run / "results/actionability/P8-T.json").read_text())
    assert "encorafenib + cetuximab" in {o["therapy"] for o in p8_doc["options"] if o["tier"] == "I-A"}
    assert not {"cetuximab", "panitumumab"} & {o["therapy"] for o in p8_doc["options"]}
    assert {"cetuximab", "panitumumab"} <= set(p8_doc["resistance_flags"][0]["therapies"])
    doc = json.loads((demo_run / "results/actionability/P7-T.json").read_text())
    assert doc["tmb"]["tmb_per_mb"] is not None and doc["tmb"]["callable_mb"] > 0.1
    # the demo's 0.13 Mb of targets is far too small for a TMB-based therapy: reported, never matched
    assert doc["tmb"]["reliable"] is False and not [r for r in p7 if r["gene"] == "TMB"]
    html = (demo_run / "results/reports/P8.html").read_text()
    assert "Tier I-A" in html and "encorafenib + cetuximab" in html and "Tumour-only calling" in html


MODALITIES = ["small variants", "copy number", "fusions", "MSI", "TMB"]


TUMOURS = ("P7-T", "P8-T", "P9-T", "P10-T", "P11-T")


def planted_events(demo_run: Path) -> list[dict]:
    """The simulator's truth: one row per planted event (sex, amplification, fusion, MSI)."""
    lines = (demo_run / "demo/truth/events.tsv").read_text().splitlines()
    cols = lines[0].split("\t")
    return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]


def test_every_tumour_says_what_was_assessed(demo_run):
    """Copy number (CNVkit), fusions and MSI run on every aligned tumour; each actionability document
    lists the five modalities, assessed or not with the reason; the report shows the table and a
    negative statement names what it covers."""
    for sample in TUMOURS:
        for path in (f"cnv/{sample}.segments.tsv", f"cnv/{sample}.genes.tsv", f"cnv/{sample}.json",
                     f"fusions/{sample}.tsv", f"fusions/{sample}.json", f"msi/{sample}.json"):  # fmt: skip
            assert (demo_run / "results" / path).is_file(), path
        doc = json.loads((demo_run / f"results/actionability/{sample}.json").read_text())
        modalities = {m["modality"]: m for m in doc["modalities"]}
        assert list(modalities) == MODALITIES
        for m in doc["modalities"]:
            assert m["status"] in ("assessed", "not assessed")
            assert (m["reason"] is None) == (m["status"] == "assessed"), m
        assert modalities["copy number"]["status"] == "assessed" and "CNVkit" in modalities["copy number"]["source"]
        assert "purity assumed 1.0, not estimated" in modalities["copy number"]["source"]
        assert modalities["fusions"]["status"] == "assessed" and modalities["MSI"]["status"] == "assessed"
        # the demo's targets hold about 0.2 Mb: too little for a TMB that a therapy rule may use
        assert modalities["TMB"]["status"] == "not assessed" and "< 1 Mb" in modalities["TMB"]["reason"]
        msi = json.loads((demo_run / f"results/msi/{sample}.json").read_text())
        cnv = json.loads((demo_run / f"results/cnv/{sample}.json").read_text())
        paired = sample in ("P7-T", "P11-T")  # the tumours with a matched normal
        assert cnv["reference"] == ("matched normal" if paired else "pooled reference of 8 samples")
        assert msi["method"] == ("msisensor-paired" if paired else "msisensor-baseline")
    assert (demo_run / "results/cnv/reference.cnn").is_file() and (demo_run / "results/msi/baseline.tsv").is_file()
    findings = json.loads((demo_run / "results/findings/P8.json").read_text())
    assert [m["modality"] for m in findings["actionability"]["samples"][0]["modalities"]] == MODALITIES
    html = (demo_run / "results/reports/P8.html").read_text()
    assert "<h4>What was assessed</h4>" in html and "pooled reference of 8 samples" in html
    assert "No tier I alteration" not in html  # BRAF V600E and MSI-H are tier I in colon
    html = (demo_run / "results/reports/P9.html").read_text()
    assert "No tier I alteration in the modalities assessed (small variants, copy number, fusions" in html


def test_planted_tumour_events_are_found_and_tiered(demo_run):
    """Recall of every planted amplification, fusion and MSI-H event (simulator truth), none called
    anywhere else, and each tiered with its therapies for the tumour type."""
    events = [e for e in planted_events(demo_run) if e["kind"] in ("amplification", "fusion", "msi")]
    assert {(e["sample"], e["kind"]) for e in events} == {("P10-T", "amplification"), ("P11-T", "fusion"),
                                                          ("P8-T", "msi")}  # fmt: skip
    for sample in TUMOURS:
        genes = (demo_run / f"results/cnv/{sample}.genes.tsv").read_text().splitlines()
        cols = genes[0].split("\t")
        called = {r["gene"]: r for r in (dict(zip(cols, g.split("\t"), strict=True)) for g in genes[1:])
                  if r["call"] != "neutral"}  # fmt: skip
        fusions = (demo_run / f"results/fusions/{sample}.tsv").read_text().splitlines()[1:]
        msi = json.loads((demo_run / f"results/msi/{sample}.json").read_text())
        if sample == "P10-T":
            assert set(called) == {"ERBB2"} and called["ERBB2"]["call"] == "amplification"
            assert int(called["ERBB2"]["total_cn"]) >= 8  # 9 copies planted
        else:
            assert called == {}, (sample, called)
        if sample == "P11-T":
            assert [f.split("\t")[0] for f in fusions] == ["EML4--ALK"]
            doc = json.loads((demo_run / "results/fusions/P11-T.json").read_text())
            (fusion,) = [f for f in doc["fusions"] if f["call"] == "fusion"]
            assert (fusion["five_prime"], fusion["three_prime"], fusion["kind"]) == ("EML4", "ALK", "inversion")
            five = int(fusion["five_prime_breakpoint"].split(":")[1])
            three = int(fusion["three_prime_breakpoint"].split(":")[1])
            assert abs(five - 42295389) <= 3 and abs(three - 29224668) <= 3  # truth/events.tsv
            assert fusion["exons_joined"] == "EML4 exon 13 -> ALK exon 20"
            assert fusion["in_frame"] is True and fusion["kinase_domain_retained"] is True
        else:
            assert fusions == [], (sample, fusions)
        assert msi["status"] == ("MSI-H" if sample == "P8-T" else "MSS"), (sample, msi["status"])
    # no engine runs on a germline or normal sample, so none calls an event there
    for folder in ("cnv", "fusions", "msi"):
        names = {p.name.split(".")[0] for p in (demo_run / "results" / folder).iterdir()}
        assert not names & {"P1", "P2", "P3", "P4", "P5", "P6", "P7-N", "P11-N"}, folder

    def tiered(sample: str) -> list[dict]:
        return json.loads((demo_run / f"results/actionability/{sample}.json").read_text())["rows"]

    alk = [r for r in tiered("P11-T") if r["gene"] == "ALK" and r["tier"] == "I-A"]
    assert {"alectinib", "lorlatinib"} <= {r["therapies"] for r in alk}  # EML4-ALK in LUAD
    erbb2 = [r for r in tiered("P10-T") if r["gene"] == "ERBB2" and r["tier"] == "I-A"]
    assert "trastuzumab" in {r["therapies"] for r in erbb2} and "amplification" in erbb2[0]["alteration"]
    msi_rows = [r for r in tiered("P8-T") if r["alteration"] == "MSI-H" and r["tier"] == "I-A"]
    assert "pembrolizumab" in {r["therapies"] for r in msi_rows}
    html = (demo_run / "results/reports/P11.html").read_text()
    assert "EML4::ALK" in html and "alectinib" in html


def test_identity_checks(demo_run):
    """Sex from X/Y depth agrees with the sheet for every sample (the simulator's truth too); each
    tumour with a matched normal is fingerprinted as the same person; the swapped normal of
    demo/samples_swapped.tsv (P5's reads as P11-N) is told apart from P11-T."""
    from seq2rx.tumour.identity import fingerprint, read_sites

    truth = {e["sample"]: e["details"].split(";")[0].split("=")[1]
             for e in planted_events(demo_run) if e["kind"] == "sex"}  # fmt: skip
    for sample in SAMPLES:
        doc = json.loads((demo_run / f"results/qc/identity/{sample}.json").read_text())
        assert doc["sex"]["verdict"] == "pass", (sample, doc["sex"])
        assert doc["sex"]["inferred_sex"] == truth[sample]
        assert (doc["fingerprint"] is None) == (sample not in ("P7-T", "P11-T"))
    for sample in ("P7-T", "P11-T"):
        fp = json.loads((demo_run / f"results/qc/identity/{sample}.json").read_text())["fingerprint"]
        assert fp["same_person"] is True and fp["verdict"] == "pass"
        assert "Sample identity check failed" not in (demo_run / f"results/reports/{sample[:-2]}.html").read_text()
    swapped = (demo_run / "demo/samples_swapped.tsv").read_text()
    assert "P11-N\tP11\tnormal\tdemo/reads/P5_R1.fastq.gz" in swapped
    sites = read_sites(demo_run / "demo/fingerprint_sites.tsv")
    bam = demo_run / "results/align"
    other = fingerprint(bam / "P5.bam", bam / "P11-T.bam", sites, normal="P5", tumour="P11-T")
    assert other["same_person"] is False and other["verdict"] == "fail" and other["reason"]
    same = fingerprint(bam / "P11-N.bam", bam / "P11-T.bam", sites, normal="P11-N", tumour="P11-T")
    assert same["same_person"] is True


def test_every_findings_document_matches_its_schema(demo_run):
    from seq2rx.findings.document import validate

    docs = sorted((demo_run / "results/findings").glob("*.json"))
    assert len(docs) == 11  # the demo's 11 patients (P10, P11 added for issue 15)
    for path in docs:
        validate(json.loads(path.read_text()))  # raises, naming the field, on any mismatch
    broken = json.loads(docs[0].read_text())
    broken["pgx"]["genes"][0]["status"] = "probably"
    with pytest.raises(ValueError, match="pgx"):
        validate(broken)


SECTIONS = ("qc", "variants", "pgx", "actionability", "predictions", "similar_patients", "provenance", "disclaimer")
COHORT_SECTIONS = ("qc", "prevalence", "model", "similarity", "cohorts", "disclaimer")


def test_reports_in_a_real_browser(demo_run, tmp_path):
    """Each report opens in headless Chromium with no console message (a blocked request or a
    script error would log one), every section present, and a screenshot saved."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    for report in sorted((demo_run / "results/reports").glob("*.html")):
        shot = tmp_path / f"{report.stem}.png"
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
               "--window-size=1280,2000", f"--screenshot={shot}", "--dump-dom", report.as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], (report.name, console)
        for section in COHORT_SECTIONS if report.stem == "cohort" else SECTIONS:
            assert f'id="{section}"' in proc.stdout, (report.name, section)
        assert shot.stat().st_size > 10_000


#: what a reader must see on each demo patient's first screen, as (text present, text absent)
FIRST_SCREEN = {
    "P1": (["clopidogrel × CYP2C19 Poor Metabolizer", "prasugrel or ticagrelor", "Research use only"], []),
    "P7": (
        [
            "osimertinib",
            "Resistance: EGFR T790M",
            "overrides afatinib, dacomitinib, erlotinib or gefitinib for EGFR L858R",
        ],
        [],
    ),
    "P8": (["encorafenib + cetuximab", "BRAF V600E", "MSI-H"], []),
    "P9": (["No tier I therapy option in the modalities assessed", "not assessed"], []),
}
#: each tumour patient's reconciled options: (must be offered at tier I, must not be offered)
OPTIONS = {
    "P7": ({"osimertinib"}, {"erlotinib", "gefitinib", "afatinib", "dacomitinib"}),
    "P8": ({"encorafenib + cetuximab"}, {"cetuximab", "panitumumab", "vemurafenib"}),
    "P9": (set(), {"cetuximab", "panitumumab"}),
}


def test_first_screens_as_a_reader_sees_them(demo_run, tmp_path):
    """Each patient's answer fits a 1400 x 900 window and one A4 page, above the table of contents,
    and says what a board or a prescriber needs: P1's clopidogrel alert, P7's osimertinib with
    T790M flagged, P8's encorafenib + cetuximab, P9's "no tier I" with what was not assessed.
    Screenshots go to $SEQ2RX_SCREENSHOTS when it is set (the README's pictures)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (CI installs it)")
    sync_playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is in the test extras"
    ).sync_playwright
    shots = Path(os.environ.get("SEQ2RX_SCREENSHOTS") or tmp_path)
    # A4 at 96 px per inch, less Chromium's default print margins (0.4 in each side)
    a4_width, a4_height = round((210 / 25.4 - 0.8) * 96), round((297 / 25.4 - 0.8) * 96)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        messages = []
        page.on("console", lambda m: messages.append(m.text))
        for report in sorted((demo_run / "results/reports").glob("P*.html")):
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": 1400, "height": 900})
            page.goto(report.as_uri())
            box = page.locator("#summary").bounding_box()
            assert box["y"] + box["height"] <= 900, (report.stem, box)
            assert page.locator("#contents").bounding_box()["y"] > box["y"] + box["height"]
            page.screenshot(path=str(shots / f"first-screen-{report.stem}.png"))
            text = page.locator("#summary").inner_text()
            present, absent = FIRST_SCREEN.get(report.stem, (["Research use only"], []))
            for fact in present:
                assert fact in text, (report.stem, fact, text)
            for fact in absent:
                assert fact not in text, (report.stem, fact, text)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": a4_width, "height": a4_height})
            printed = page.locator("#summary").bounding_box()
            assert printed["y"] + printed["height"] <= a4_height, (report.stem, "A4", printed)
        browser.close()
    assert messages == []
    for patient, (offered, refused) in OPTIONS.items():
        options = json.loads((demo_run / f"results/findings/{patient}.json").read_text())["summary"]["tumour"][
            "options"
        ]
        tier1 = {o["therapy"] for o in options if o["tier"].startswith("I-")}
        assert offered <= tier1 and (offered or not tier1), (patient, tier1)
        assert not refused & {o["therapy"] for o in options}, (patient, options)
    # the variants behind the report are one click away
    for patient in FIRST_SCREEN:
        tsv = (demo_run / f"results/reports/{patient}.variants.tsv").read_text().splitlines()
        assert tsv[0].startswith("sample\tcalls\tchrom") and len(tsv) > 1


def test_one_vaf_per_variant_with_its_reads(demo_run):
    """T790M in P7-T: the first screen, the tier table and the variant table show one allele
    fraction, with the reads behind it and its interval."""
    from seq2rx.report.patient import vaf_text

    doc = json.loads((demo_run / "results/findings/P7.json").read_text())
    rows = [r for s in doc["actionability"]["samples"] for r in s["rows"] if r["alteration"] == "T790M"]
    support = rows[0]["support"]
    assert support["alt_reads"] <= support["depth"] and support["ci95"][0] < support["vaf"] < support["ci95"][1]
    assert all(r["support"] == support for r in rows)
    tumour = next(s for s in doc["samples"] if s["sample"] == "P7-T")
    somatic = [v for v in tumour["somatic_calls"] if v["pos"] == rows[0]["pos"]]
    assert [v["support"] for v in somatic] == [support]
    html = (demo_run / "results/reports/P7.html").read_text()
    assert html.count(vaf_text(support)) >= 3  # first screen, tier table, somatic variant table


def test_user_text_is_escaped_in_the_report(demo_run, tmp_path):
    from seq2rx.report import patient as report

    doc = json.loads((demo_run / "results/findings/P1.json").read_text())
    evil = "<img src=x onerror=alert(1)>"
    doc["patient"] = evil
    doc["samples"][0]["sample"] = evil
    html = report.render(doc)
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    from seq2rx.findings.cohort import build as cohort_summary
    from seq2rx.report import cohort as cohort_report

    html = cohort_report.render(cohort_summary([doc]))
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_snakemake_report_archive(demo_run):
    """`snakemake --report report.zip` packs the patient reports, MultiQC and the result tables."""
    import zipfile

    snakemake(demo_run, "--report", "report.zip")
    names = zipfile.ZipFile(demo_run / "report.zip").namelist()
    files = {Path(n).name for n in names}
    assert {f"P{i}.html" for i in range(1, 10)} <= files
    assert {"multiqc_report.html", "summary.tsv", "P8-T.tsv", "P1.drugs.tsv"} <= files


def test_multiqc_has_a_seq2rx_findings_section(demo_run):
    table = (demo_run / "results/qc/multiqc/seq2rx_findings_mqc.tsv").read_text().splitlines()
    body = [line.split("\t") for line in table if not line.startswith("#")]
    rows = {r[0]: dict(zip(body[0], r, strict=True)) for r in body[1:]}
    # biomarkers, not therapy rows: L858R and T790M, whatever number of therapies each has
    assert rows["P7-T"]["tier_I"] == "2" and rows["P7-T"]["biomarkers"] == "EGFR L858R<br>EGFR T790M"
    assert rows["P1"]["pgx_results"].startswith("CYP2C19 Poor Metabolizer")
    assert "HLA-B *57:01 carrier" in rows["P1"]["pgx_results"]
    assert not any("NAT2 Rapid" in r["pgx_results"] for r in rows.values())  # NAT2's normal phenotype
    assert rows["P1"]["tier_I"] == ""  # no tumour: not assessed, not zero
    assert "seq2rx findings" in (demo_run / "results/qc/multiqc/multiqc_report.html").read_text()


def test_rerun_with_one_core_killed_mid_way_gives_the_same_bytes(demo_run, tmp_path_factory):
    """The demo again from scratch in another folder with --cores 1 (the session run used 2),
    killed with SIGKILL (Snakemake and its jobs) once alignment has started; after ``--unlock`` the
    same command completes, and every result file is identical byte for byte (gzip contents and
    BAM records compared), MultiQC's data folder included: no file left half-written or beside its
    result, whatever the core count. What is left out, and why, is listed in seq2rx.ops.rundiff:
    MultiQC's HTML page (random IDs), index files, the run-record lines of cutadapt's and samtools'
    reports; the provenance records must agree on every other checksum. (One run does both checks:
    a rerun and a resume each cost a whole demo.)"""
    work = tmp_path_factory.mktemp("rerun")
    assert work.resolve() != demo_run.resolve()
    shutil.copytree(REPO / "config", work / "config")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "1"]
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    log = work / "killed.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True, env=env)
        deadline = time.monotonic() + 900
        while "rule align_reads" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # inside the alignment job
        os.killpg(proc.pid, signal.SIGKILL)  # Snakemake and the jobs it started
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]  # killed, not finished
    assert not (work / "results/reports").exists()  # killed well before the end
    refused = snakemake(work, check=False)  # the killed run's lock is still there
    assert refused.returncode != 0 and "--unlock" in refused.stderr
    snakemake(work, "--unlock")
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "align_reads" in proc.stderr  # the killed alignment was redone
    log.unlink()
    diff = compare_runs(demo_run, work)
    assert diff.same, diff.report()
    assert diff.compared > 300  # every result file but the exceptions, not an empty comparison
    data = "results/qc/multiqc/multiqc_report_data/multiqc_data.json"
    assert (demo_run / data).read_bytes() == (work / data).read_bytes()  # compared as it is, not left out
    assert absolute_paths(work) == []
    assert _planned(work) == set()


def test_provenance_record_and_verify(demo_run):
    record = json.loads((demo_run / "results/provenance.json").read_text())
    paths = {e["path"] for e in record["outputs"]}
    assert {"calls/P1.vcf.gz", "reports/P1.html", "pgx/P1.json", "actionability/P7-T.tsv"} <= paths
    assert record["config_sha256"] and record["tools"]["bcftools_call"]
    assert {i["path"] for i in record["inputs"]} >= {"demo/reads/P1_R1.fastq.gz", "demo/outside_calls/P1.tsv"}
    assert record["knowledge_bases"]["actionability"]["latest_row_date"] >= "2025"
    proc = subprocess.run([sys.executable, "-m", "seq2rx.cli", "verify", "results"], cwd=demo_run,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unknown_tumour_type_stops_before_any_job(tmp_path):
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config/config.yaml", tmp_path / "config/config.yaml")
    rows = (REPO / "config/samples.tsv").read_text().splitlines()
    rows = [r.replace("\tPAAD\t", "\tPANCCA\t") if r.startswith("P9-T") else r for r in rows]
    (tmp_path / "config/samples.tsv").write_text("\n".join(rows) + "\n")
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "samples.tsv, line 11, field 'tumor_type': 'PANCCA' is not an OncoTree code" in proc.stderr


def test_cohort_database_and_cohorts(demo_run):
    tables = dict(
        (line.split("\t")[0], int(line.split("\t")[1]))
        for line in (demo_run / "results/cohort/tables.tsv").read_text().splitlines()[1:]
    )
    # the demo's 13 samples of 11 patients (P10-T, P11-N, P11-T added for issue 15)
    assert tables["samples"] == 13 and tables["patients"] == 11 and tables["qc"] == 13
    # P7-P11 x (2 response, 2 pfs, response benefit, pfs benefit)
    assert tables["actionable"] > 0 and tables["predictions"] == 5 * 6
    proc = subprocess.run(
        [sys.executable, "-m", "seq2rx.cli", "cohort", "query",
         "SELECT sample, hgvs_p FROM variants WHERE origin = 'somatic' AND filter = 'PASS' AND gene = $g", "--param", "g=KRAS"],
        cwd=demo_run, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "P9-T\tp.Gly12Asp" in proc.stdout  # the planted KRAS G12D of the pancreatic tumour
    members = {
        name: [line.split("\t")[0] for line in (demo_run / "results/cohorts" / name / "members.tsv").read_text().splitlines()[1:]]
        for name in ("cyp2c19_clopidogrel", "kras_colorectal", "elderly_renal")
    }  # fmt: skip
    # config/clinical.tsv: clopidogrel for P1 (*2/*2), P2 (*1/*17), P4 (*1/*3), P6 (*2/*17)
    assert members["cyp2c19_clopidogrel"] == ["P1", "P4", "P6"]
    assert members["elderly_renal"] == ["P3", "P5", "P9"]  # age >= 65 and eGFR < 60
    assert members["kras_colorectal"] == []  # the demo's KRAS tumour is pancreatic
    # stage IV lung adenocarcinomas with a tier I target: P7 (EGFR L858R), P11 (EML4::ALK)
    stage4 = (demo_run / "results/cohorts/stage4_nsclc_tier1/members.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[0] for line in stage4] == ["P11", "P7"]
    # issue 20: the demo's OMOP CDM gives the ehr_* tables; clopidogrel exposure in the EHR (or the
    # OMOP new-user cohort) and a CYP2C19 poor or intermediate phenotype from the DNA
    assert tables["ehr_drug_exposures"] > 0 and tables["ehr_conditions"] == 11 and tables["ehr_cohorts"] > 0
    omop = (demo_run / "results/cohorts/clopidogrel_omop_cyp2c19/members.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[:2] for line in omop] == [
        ["P1", "Poor Metabolizer"], ["P4", "Intermediate Metabolizer"], ["P6", "Intermediate Metabolizer"]
    ]  # fmt: skip
    for name in members:
        folder = demo_run / "results/cohorts" / name
        # three members: every count is suppressed and no curve is drawn, and the files say why;
        # no members: nothing to draw, and the other patients are not drawn alone either
        km = (folder / "km.tsv").read_text()
        if members[name]:
            assert "fewer than 5 patients with outcomes, not drawn" in km
            assert "<5" in (folder / "summary.tsv").read_text()
        else:
            assert "cohort: no patients with outcomes; other patients: not drawn" in km


def test_the_clinical_table_comes_through_the_demos_omop_cdm(demo_run):
    """config/config.yaml names the demo's CDM beside clinical.tsv: the workflow's clinical table is
    clinical.tsv's values (the TSV wins field by field, and nothing differs) plus sex from the CDM,
    sources.json says which field came from where, and no note text reaches either file."""
    table = demo_run / "results/clinical/clinical.tsv"
    sources = json.loads((demo_run / "results/clinical/sources.json").read_text())
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    given = [line.split("\t") for line in (demo_run / "config/clinical.tsv").read_text().splitlines()]
    # the TSV's columns but its free-text notes, the CDM's sex, then smoking from the clinical notes
    keep = [k for k, c in enumerate(given[0]) if c != "notes"]
    assert rows[0] == [*(given[0][k] for k in keep), "sex", "smoking"]
    assert [r[:-2] for r in rows[1:]] == [[g[k] or "NA" for k in keep] for g in given[1:]]
    assert {r[0]: r[-2] for r in rows[1:]}["P7"] == "male"
    smoking = {r[0]: r[-1] for r in rows[1:] if r[-1] != "NA"}
    assert smoking and set(smoking.values()) <= {"current", "former", "never"}
    assert all(sources["sources"][p]["smoking"]["source"] == "note" for p in smoking)
    assert sources["differences"] == [] and sources["cdm_notes"] == []
    assert sources["sources"]["P8"]["sex"]["source"] == "omop" and sources["sources"]["P8"]["ecog"] == {"source": "tsv"}
    assert "gender_concept_id" in sources["sources"]["P1"]["sex"]["rule"]
    notes = (demo_run / "demo/omop/note.csv").read_text()
    assert "Rash on carbamazepine" in notes
    with open(demo_run / "demo/omop/note.csv", newline="") as fh:
        sentences = {s.strip() for n in csv.DictReader(fh) for s in n["note_text"].split(". ") if len(s.strip()) >= 20}
    written = table.read_text() + json.dumps(sources)
    assert sentences and not [s for s in sentences if s in written]


def _note_sentences(run: Path) -> list[str]:
    """The sentences of the demo's clinical notes (OMOP ``note`` table), 20 characters or longer."""
    import csv

    with open(run / "demo/omop/note.csv", newline="", encoding="utf-8") as fh:
        texts = [row["note_text"] for row in csv.DictReader(fh)]
    sentences = {s.strip() for t in texts for s in re.split(r"(?<=[.!?])\s+|\n+", t)}
    return sorted(s for s in sentences if len(s) >= 20)


def _text_of(path: Path) -> list[str]:
    """What a reader of ``path`` can see: its bytes as text (gzip, bgzip and zip members opened), and
    every text cell of a DuckDB or Parquet file (their pages may be compressed)."""
    import zipfile

    import duckdb

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    out = [data.decode("utf-8", "replace")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            out += [zf.read(n).decode("utf-8", "replace") for n in zf.namelist()]
    if data[8:12] == b"DUCK" or path.suffix == ".parquet":
        con = duckdb.connect(str(path), read_only=True) if path.suffix != ".parquet" else duckdb.connect()
        try:
            if path.suffix == ".parquet":
                tables = [("read_parquet(?)", [str(path)])]
            else:
                names = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
                tables = [(f'"{n}"', []) for (n,) in names]
            for source, args in tables:
                rows = con.execute(f"SELECT * FROM {source}", args).fetchall()  # noqa: S608 - names from the file
                out += [str(v) for row in rows for v in row if isinstance(v, str)]
        finally:
            con.close()
    return out


def test_note_text_reaches_no_output(demo_run, tmp_path):
    """Issue 20, privacy: no sentence of the demo's clinical notes is in any file of results/ (reports,
    FHIR bundles, cohort database and shards, the CDS index, MultiQC), the Snakemake report archive or
    a de-identified export; only the extracted items, with their spans, are."""
    sentences = _note_sentences(demo_run)
    assert len(sentences) >= 10
    items = json.loads((demo_run / "results/notes/items.json").read_text())
    assert items["items"] and all({"note_id", "start", "end"} <= set(i) for i in items["items"])
    share = tmp_path / "share"
    proc = subprocess.run(
        [sys.executable, "-m", "seq2rx.cli", "cohort", "export", "--db", "results/cohort.duckdb",
         "--outdir", str(share), "--key-file", str(tmp_path / "key")],
        cwd=demo_run, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    files = [p for p in sorted((demo_run / "results").rglob("*")) if p.is_file()]
    files += [p for p in sorted(share.rglob("*")) if p.is_file()]
    files += [p for p in (demo_run / "report.zip",) if p.exists()]
    assert len(files) > 100
    # the search finds what is there: every sentence in the notes themselves, and a drug in the
    # cohort database's cells (DuckDB compresses its pages) and in its de-identified copy
    assert all(s in "\n".join(_text_of(demo_run / "demo/omop/note.csv")) for s in sentences)
    assert "clopidogrel" in _text_of(demo_run / "results/cohort.duckdb")[1:]
    assert "clopidogrel" in _text_of(share / "cohort.duckdb")[1:]
    leaks = []
    for path in files:
        seen = "\n".join(_text_of(path))
        leaks += [(str(path), s) for s in sentences if s in seen]
    assert leaks == []


def test_adding_a_sample_reruns_one_shard_job(demo_run, tmp_path):
    """A finished run plus one sample (Q10, starting from a VCF): the dry run plans one
    cohort_shard job (the new sample's) and one combine, not a shard job per sample."""
    work = tmp_path / "more"
    shutil.copytree(demo_run, work, symlinks=True)
    sheet = work / "config/samples.tsv"
    lines = sheet.read_text().splitlines()
    header = lines[0].split("\t")
    if "vcf" not in header:
        header.append("vcf")
        lines = ["\t".join(header)] + [line + "\t" for line in lines[1:]]
    row = dict.fromkeys(header, "")
    row.update(
        sample="Q10", patient="Q10", type="germline", sex="female", tumor_type="NA", vcf="results/calls/P1.vcf.gz"
    )
    lines.append("\t".join(row[c] for c in header))
    sheet.write_text("\n".join(lines) + "\n")
    proc = snakemake(work, "-n", "--quiet", "rules")
    counts = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts.get("cohort_shard") == 1, proc.stdout
    assert counts.get("cohort_database") == 1, proc.stdout


def test_predictions_for_the_tumour_patients(demo_run):
    """Trained on the simulated history, the model finds its planted effects: targeted therapy
    helps when there is a tier I target (P7 EGFR L858R in LUAD, P8 BRAF V600E in COAD), not for
    P9 (KRAS G12D in PAAD, no tier I target)."""
    rows = [line.split("\t") for line in (demo_run / "results/ml/predictions.tsv").read_text().splitlines()]
    header, rows = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header == ["patient", "task", "treatment", "model", "estimate", "lower", "upper", "favours"]
    favours = {r["patient"]: r["favours"] for r in rows if r["task"] == "benefit"}
    assert set(favours) == {"P7", "P8", "P9", "P10", "P11"}  # the demo's tumour patients (P10, P11: issue 15)
    assert {p: favours[p] for p in ("P7", "P8", "P9")} == {"P7": "targeted", "P8": "targeted", "P9": "chemotherapy"}
    for r in rows:
        assert float(r["lower"]) <= float(r["estimate"]) <= float(r["upper"])
    metrics = json.loads((demo_run / "results/ml/metrics.json").read_text())
    assert metrics["history"]["patients"] == 500
    assert metrics["cross_validation"]["response"]["roc_auc"]["ci95"][0] > 0.5
    assert metrics["cross_validation"]["survival"]["c_index"]["ci95"][0] > 0.5
    top = [r["feature"] for r in metrics["importance"][:4]]
    assert "actionable_tier1" in top
    card = (demo_run / "results/ml/model_card.md").read_text()
    assert "## Limitations" in card and "ROC-AUC" in card and "500 past patients" in card
    for name in ("response", "survival"):
        assert (demo_run / f"results/ml/{name}.skops").stat().st_size > 0
    p7 = json.loads((demo_run / "results/findings/P7.json").read_text())
    assert p7["predictions"]["status"] == "ok" and p7["predictions"]["features"]["mut_EGFR"] == 1
    p1 = json.loads((demo_run / "results/findings/P1.json").read_text())
    assert p1["predictions"]["status"] == "not run" and "tumour sample" in p1["predictions"]["reason"]


def test_similar_past_patients(demo_run):
    network = json.loads((demo_run / "results/similarity/network.json").read_text())
    assert network["patients"] == 505 and network["history_patients"] == 500  # 5 demo tumour patients
    assert network["clusters"]["n"] >= 2
    for patient in ("P7", "P8", "P9"):
        doc = json.loads((demo_run / f"results/findings/{patient}.json").read_text())["similar_patients"]
        assert doc["status"] == "ok" and len(doc["neighbours"]) == 10
        assert all(n["patient"].startswith("H") for n in doc["neighbours"])  # past patients only
        texts = [r["text"] for r in doc["response"]]
        assert any(t.startswith("of the 10 most similar patients who received targeted") for t in texts)
        assert doc["network_svg"].startswith("<svg")
        # the report's table: rank and percentile (not the raw affinity), tumour type and driver, and
        # sentences that count exactly its patients; no responder progressed before being assessed
        table = doc["neighbours"]
        assert [n["rank"] for n in table] == list(range(1, 11)) and table[0]["percentile"] == 100.0
        assert doc["history_patients"] == 500 and all(n["tumor_type"] for n in table)
        st = doc["statements"]
        assert sum(g["patients"] for g in st["groups"]) + st["no_treatment"] == len(table)
        for g in st["groups"]:
            assert g["responders"] == sum(n["treatment"] == g["treatment"] and n["response"] == 1 for n in table)
        assert all(n["time_months"] >= 2.0 for n in table if n["response"] == 1)
        assert st["texts"][0].startswith("Of these 10 past patients, ")


# --------------------------------------------------------------------------- resume and change


def _copy_run(demo_run: Path, dest: Path) -> Path:
    """The finished demo run, with Snakemake's records and every file's modification time."""
    work = dest / "run"
    shutil.copytree(demo_run, work, symlinks=True)
    return work


def _planned(work: Path) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run of the default target would run."""
    proc = snakemake(work, "-n")
    text = proc.stdout + proc.stderr
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if rule:
            wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            jobs.add((rule.group(1), wildcards.group(1) if wildcards else ""))
    return jobs


# the demo's samples and patients (P10-T, P11-N, P11-T added for issue 15)
SAMPLES = ("P1", "P2", "P3", "P4", "P5", "P6", "P7-N", "P7-T", "P8-T", "P9-T", "P10-T", "P11-N", "P11-T")
PATIENTS = tuple(f"P{k}" for k in range(1, 12))
COHORT = {
    ("multiqc_report", ""),
    ("collect_versions", ""),
    ("provenance_record", ""),
    ("all", ""),
    ("cohort_database", ""),
    ("cds_index", ""),  # issue 19: reads every patient's findings
}
COHORT |= {("cohort_summary", ""), ("report_cohort", "")}
COHORT |= {
    ("cohort_members", f"cohort={c}")
    for c in (
        "clopidogrel_omop_cyp2c19",
        "cyp2c19_clopidogrel",
        "elderly_renal",
        "kras_colorectal",
        "stage4_nsclc_tier1",
    )
}
#: the tumour patients' feature matrix, the models trained on the history and the similarity network
TUMOUR_COHORT = {("ml_features", ""), ("ml_predict", ""), ("snf_similarity", "")}


def test_changing_a_variant_filter_reruns_only_what_depends_on_it(demo_run, tmp_path):
    """calling.min_qual feeds bcftools_call only: every sample's calls, what reads them
    (consequences, stats, truth comparison, cohort shards, primers, findings, reports, the
    tumour patients' features and models) and the run-wide summaries; no trimming, alignment,
    QC, somatic calling or PGx genotyping."""
    work = _copy_run(demo_run, tmp_path)
    assert _planned(work) == set()  # the copy is up to date
    config = work / "config/config.yaml"
    text = config.read_text()
    assert "  min_qual: 20\n" in text
    config.write_text(text.replace("  min_qual: 20\n", "  min_qual: 30\n"))
    per_sample = ("bcftools_call", "bcftools_csq", "bcftools_stats", "demo_compare_truth", "cohort_shard")
    per_patient = ("primer3_design", "findings_patient", "report_patient", "fhir_bundle")
    expected = {(rule, f"sample={s}") for rule in per_sample for s in SAMPLES}
    expected |= {(rule, f"patient={p}") for rule in per_patient for p in PATIENTS}
    expected |= COHORT | TUMOUR_COHORT | {("demo_truth_summary", "")}
    assert _planned(work) == expected
    assert len(expected) == 5 * 13 + 4 * 11 + 14 + 3  # 13 samples, 11 patients


def test_adding_a_sample_reruns_only_its_jobs_and_the_cohort_ones(demo_run, tmp_path):
    work = _copy_run(demo_run, tmp_path)
    sheet = work / "config/samples.tsv"
    row = "Q1\tQ1\tgermline\tdemo/reads/P2_R1.fastq.gz\tdemo/reads/P2_R2.fastq.gz\tmale\tNA\t\n"
    sheet.write_text(sheet.read_text() + row)
    per_sample = ("cutadapt_trim", "align_reads", "samtools_markdup", "bcftools_call", "samtools_stats",
                  "pgx_genotype_positions", "pgx_call", "bcftools_csq", "bcftools_stats", "cohort_shard",
                  "identity_check")  # fmt: skip
    per_patient = ("primer3_design", "findings_patient", "report_patient", "fhir_bundle")
    expected = {(rule, "sample=Q1") for rule in per_sample} | {(rule, "patient=Q1") for rule in per_patient} | COHORT
    # issue 15: a new germline sample joins the pooled CNVkit reference and the MSI baseline, so the
    # tumour-only tumours (P8-T, P9-T, P10-T) redo copy number, MSI and their actionability, and what
    # reads those: their cohort shards, the tumour models, and the tumour patients' findings and
    # reports (P7 and P11 for their predictions); P7-T's and P11-T's own copy number and MSI (against
    # their matched normals) stay
    tumour_only = ("P8-T", "P9-T", "P10-T")
    expected |= {("cnvkit_reference", ""), ("msi_baseline", "")} | TUMOUR_COHORT
    expected |= {(rule, f"sample={s}") for rule in ("cnvkit_copy_number", "msi_score", "actionability_tier",
                                                    "cohort_shard") for s in tumour_only}  # fmt: skip
    # issue 20: the clinical table is derived from the demo's OMOP CDM for the sheet's patients
    # (rules/ehr.smk), so a new patient derives it again, and every patient's findings read it
    expected |= {("ehr_clinical", "")}
    expected |= {
        (rule, f"patient={p}") for rule in ("findings_patient", "report_patient", "fhir_bundle") for p in PATIENTS
    }
    assert _planned(work) == expected


@pytest.mark.skipif(shutil.which("delly") is None, reason="delly is not installed (CI installs Debian's package)")
def test_delly_cross_check_agrees_on_the_demo(demo_run, tmp_path):
    """fusions.cross_check: delly runs delly beside our caller on every aligned tumour, without
    rerunning any fusion call; on the demo both find P11-T's EML4-ALK and nothing else."""
    work = _copy_run(demo_run, tmp_path)
    config = work / "config/config.yaml"
    text = config.read_text()
    assert "fusions:\n" in text
    config.write_text(text.replace("fusions:\n", "fusions:\n  cross_check: delly\n", 1))
    planned = _planned(work)
    assert {(r, w) for r, w in planned if r == "delly_cross_check"} == {
        ("delly_cross_check", f"sample={s}") for s in TUMOURS
    }
    assert not {r for r, _ in planned} & {"fusions_call", "actionability_tier", "cnvkit_copy_number"}
    snakemake(work)
    doc = json.loads((work / "results/fusions/P11-T.delly.json").read_text())
    assert doc["summary"]["our_fusions"] == doc["summary"]["our_fusions_agreed"] == 1, doc["summary"]
    assert doc["summary"]["kind_differs"] == []  # both see an inversion
    for sample in ("P7-T", "P8-T", "P9-T", "P10-T"):
        other = json.loads((work / f"results/fusions/{sample}.delly.json").read_text())["summary"]
        assert other["our_fusions"] == 0, (sample, other)


def test_cohort_report(demo_run):
    html = (demo_run / "results/reports/cohort.html").read_text()
    assert "11 patients" in html and "13 pass" in html  # every demo sample passes QC (11 patients since issue 15)
    assert "EGFR</td><td>L858R" in html and "BRAF</td><td>V600E" in html
    metrics = json.loads((demo_run / "results/ml/metrics.json").read_text())
    auc = metrics["cross_validation"]["response"]["roc_auc"]
    assert f"{auc['estimate']:.3f} ({auc['ci95'][0]:.3f}–{auc['ci95'][1]:.3f})" in html
    assert html.count("<svg") >= 10  # model (4), network (3), cohorts (3)
    assert "0.654" in html and "0.680" in html  # the measured real-data check of neighbour estimates
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # nothing fetched from elsewhere
