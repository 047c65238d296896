"""The FHIR output: a findings document as an R4 Genomics Reporting bundle (seq2rx.fhir).

The findings here are hand-built in the shape of the demo's P1 (germline, CYP2C19 *2/*2 on
clopidogrel) and P7 (lung adenocarcinoma with EGFR L858R), small enough to read."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET

import pytest

from seq2rx.core.errors import InputError
from seq2rx.fhir import build_bundle, load_tables, read_findings, unresolved_references, validate_bundle, write_bundle
from seq2rx.findings import first_screen, validate

IG = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"
PROVENANCE = {"seq2rx_version": "0.1.0", "analysis_date": "2026-11-25", "config_sha256": "0" * 64, "tools": {}}
QC = {"sample": "", "verdict": "pass", "reads": 1000, "mapped_fraction": 1.0, "duplicate_fraction": 0.0,
      "mean_target_coverage": 40.0, "reasons": []}  # fmt: skip


def variant(chrom, pos, ref, alt, genotype="0/1", *, region="other", alt_reads=10, depth=40, consequences=()):
    vaf = round(alt_reads / depth, 4)
    return {"chrom": chrom, "pos": pos, "ref": ref, "alt": alt, "filter": "PASS", "genotype": genotype, "qual": 99.0,
            "depth": depth, "allele_depths": [depth - alt_reads, alt_reads], "vaf": vaf, "region": region,
            "support": {"alt_reads": alt_reads, "depth": depth, "vaf": vaf, "ci95": [0.1, 0.9]},
            "consequences": list(consequences)}  # fmt: skip


def sample(name, kind, variants, somatic=None):
    return {"sample": name, "type": kind, "started_from": "fastq", "qc": {**QC, "sample": name},
            "variants": variants, "n_pass": len(variants), "coverage_by_gene": [], "somatic_calls": somatic}  # fmt: skip


def gene(name, diplotype, phenotype, status="called"):
    return {"gene": name, "source": "genotypes", "status": status, "diplotypes": [diplotype] if diplotype else [],
            "phenotype": phenotype, "activity_score": None, "missing_positions": [], "warnings": [], "caveats": []}  # fmt: skip


def recommendation(drug, gene_name, phenotype, text, strength="Strong", actionable=True):
    return {"drug": drug, "genes": [gene_name], "phenotype": f"{gene_name} {phenotype}", "recommendation": text,
            "strength": strength, "source": f"CPIC {gene_name}-{drug} guideline (2022-02)", "caveats": [],
            "actionable": actionable}  # fmt: skip


def not_run(reason):
    return {"status": "not run", "reason": reason}


def finish(doc: dict) -> dict:
    """The summary the findings step writes, so that the document is schema-valid."""
    doc.setdefault("predictions", not_run("no tumour sample"))
    doc.setdefault("similar_patients", not_run("no tumour sample"))
    doc["summary"] = first_screen(doc)
    return doc


def p1_like() -> dict:
    """P1 of the demo: germline, CYP2C19 *2/*2 (rs4244285 homozygous), on clopidogrel."""
    return finish({
        "schema_version": "0.2.0", "patient": "P1", "sex": "female", "tumor_type": "NA", "genome_build": "GRCh38",
        "samples": [sample("P1", "germline", [
            variant("chr10", 94781859, "G", "A", "1/1", region="CYP2C19", alt_reads=40),
            variant("chr1", 1000, "C", "T", region="other"),  # not at a star-allele position: not listed
        ])],
        "provenance": PROVENANCE,
        "pgx": {"status": "done", "sample": "P1", "sample_type": "germline",
                "genes": [gene("CYP2C19", "*2/*2", "Poor Metabolizer"), gene("HLA-A", None, None, "not called")],
                "recommendations": [
                    recommendation("clopidogrel", "CYP2C19", "Poor Metabolizer",
                                   "Avoid clopidogrel; use prasugrel or ticagrelor."),
                    recommendation("pantoprazole", "CYP2C19", "Poor Metabolizer", "Use the usual dose.",
                                   strength="Optional", actionable=False),
                ],
                "drugs_without_guidance": [{"drug": "carbamazepine", "genes": ["HLA-A"],
                                            "reason": "HLA-A not called (needs an outside call)"}],
                "warnings": [], "knowledge_base": {}},
        "actionability": not_run("no tumour sample"),
        "clinical": {"status": "done", "source": "clinical.tsv", "medications": ["clopidogrel"]},
    })  # fmt: skip


def p7_like() -> dict:
    """P7 of the demo: lung adenocarcinoma, EGFR L858R (somatic, 9 of 36 reads), TMB not assessed."""
    l858r = variant("chr7", 55191822, "T", "G", region="EGFR", alt_reads=9, depth=36, consequences=[
        {"gene": "EGFR", "transcript": "ENST00000275493", "consequence": "missense", "hgvs_p": "p.Leu858Arg",
         "aa_change": "858L>858R"}])  # fmt: skip
    row = {"gene": "EGFR", "alteration": "L858R", "chrom": "chr7", "pos": 55191822, "ref": "T", "alt": "G",
           "tier": "I-A", "therapies": "osimertinib", "response": "sensitive", "evidence": "FDA-approved",
           "tumor_type_match": "ancestor", "source": "FDA label, osimertinib (2018-04)", "role": "therapy",
           "overridden": False, "overridden_by": [], "rule": "A016", "rule_tumor_type": "NSCLC", "note": ".",
           "alt_reads": 9, "depth": 36, "vaf": 0.25, "support": l858r["support"]}  # fmt: skip
    modalities = [
        {"modality": "small variants", "status": "assessed", "source": "somatic caller", "reason": None},
        {"modality": "copy number", "status": "not assessed", "source": None, "reason": "no copy-number input"},
        {"modality": "fusions", "status": "not assessed", "source": None, "reason": "no fusion input"},
        {"modality": "MSI", "status": "assessed", "source": "msisensor-paired", "reason": None},
        {"modality": "TMB", "status": "not assessed", "source": "coding somatic variants per callable megabase",
         "reason": "callable region 0.21 Mb < 1 Mb: too small for TMB-based therapy"},
    ]  # fmt: skip
    return finish({
        "schema_version": "0.2.0", "patient": "P7", "sex": "male", "tumor_type": "LUAD", "genome_build": "GRCh38",
        "samples": [sample("P7-N", "normal", []), sample("P7-T", "tumor", [l858r], somatic=[l858r])],
        "provenance": PROVENANCE,
        "pgx": not_run("no genotypes"),
        "actionability": {"status": "done", "samples": [{
            "sample": "P7-T", "tumor_type": "LUAD", "tumor_type_name": "Lung Adenocarcinoma",
            "lineage": ["LUAD", "NSCLC"], "build": "GRCh38", "mode": "tumour-normal", "annotated": True,
            "somatic_variants": 1,
            "tmb": {"coding_variants": 2, "callable_mb": 0.21, "tmb_per_mb": 9.69, "reliable": False,
                    "note": "too small", "ci95": None},
            "tiers": {"I-A": 1}, "rows": [row], "resistance_flags": [], "knowledge_base": {},
            "options": [{"therapy": "osimertinib", "tier": "I-A", "evidence": "FDA-approved",
                         "tumor_type_match": "ancestor", "alterations": ["EGFR L858R"], "rules": ["A016"],
                         "rule_tumor_types": ["NSCLC"]}],
            "modalities": modalities, "copy_number": None, "fusions": None,
            "msi": {"status": "MSS", "score": 0.0, "method": "msisensor-paired"},
        }]},
        "clinical": not_run("no clinical table"),
    })  # fmt: skip


@pytest.fixture(scope="module")
def tables():
    return load_tables()


def resources(bundle, kind=None):
    return [e["resource"] for e in bundle["entry"] if kind is None or e["resource"]["resourceType"] == kind]


def by_url(bundle):
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def profiled(bundle, name):
    return [r for r in resources(bundle, "Observation") if r["meta"]["profile"] == [IG + name]]


def component(obs, code):
    return [c for c in obs.get("component", []) if any(x["code"] == code for x in c["code"]["coding"])]


def codes(concept):
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_the_hand_built_findings_are_valid_findings_documents():
    for doc in (p1_like(), p7_like()):
        validate(doc)  # the shape the bundle is built from is the schema's, not one made up here


@pytest.mark.parametrize("make", [p1_like, p7_like], ids=["germline", "tumour"])
def test_every_bundle_parses_as_r4b_and_every_reference_resolves_inside_it(make, tables):
    from fhir.resources.R4B.bundle import Bundle

    bundle = build_bundle(make(), tables)
    Bundle.model_validate(bundle)  # every resource, and no field R4B does not know
    assert bundle["type"] == "collection"
    assert unresolved_references(bundle) == []
    refs = json.dumps(bundle).count('"reference": ')
    assert refs > 10  # the check above looked at real references
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls)) and all(u.startswith("urn:uuid:") for u in urls)
    report = resources(bundle, "DiagnosticReport")[0]
    assert report["code"]["coding"][0]["code"] == "81247-9"
    # the report's results are every Observation of the bundle
    observations = {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"}
    assert {r["reference"] for r in report["result"]} == observations


def test_a_broken_reference_is_found():
    bundle = build_bundle(p1_like())
    broken = copy.deepcopy(bundle)
    broken["entry"][1]["resource"]["subject"]["reference"] = "urn:uuid:00000000-0000-0000-0000-000000000000"
    assert unresolved_references(broken) == ["urn:uuid:00000000-0000-0000-0000-000000000000"]
    with pytest.raises(ValueError, match="outside it"):
        validate_bundle(broken)


def test_p1_gives_the_cyp2c19_genotype_poor_metabolizer_and_the_clopidogrel_implication_and_task(tables):
    bundle = build_bundle(p1_like(), tables)
    urls = by_url(bundle)
    patient = resources(bundle, "Patient")[0]
    assert patient["id"] == "P1" and patient["gender"] == "female"
    genotypes = [o for o in profiled(bundle, "genotype") if "CYP2C19" in json.dumps(o)]
    assert len(genotypes) == 1
    genotype = genotypes[0]
    assert genotype["valueCodeableConcept"]["text"] == "CYP2C19 *2/*2"
    assert codes(component(genotype, "48018-6")[0]["valueCodeableConcept"]) == {
        ("http://www.genenames.org", "HGNC:2621")
    }
    # the genotype derives from the *2 variant (rs4244285, homozygous), the only listed germline call
    (derived,) = [urls[r["reference"]] for r in genotype["derivedFrom"]]
    assert derived["meta"]["profile"] == [IG + "variant"]
    assert codes(component(derived, "81252-9")[0]["valueCodeableConcept"]) == {
        ("http://www.ncbi.nlm.nih.gov/projects/SNP", "rs4244285")}  # fmt: skip
    assert codes(component(derived, "53034-5")[0]["valueCodeableConcept"]) == {("http://loinc.org", "LA6705-3")}
    assert len(profiled(bundle, "variant")) == 1  # the call outside the star-allele positions is not listed
    # the phenotype, with the gene, derived from the genotype
    implications = profiled(bundle, "therapeutic-implication")
    phenotypes = [o for o in implications if not component(o, "51963-7")]
    (phenotype,) = [o for o in phenotypes if "CYP2C19" in json.dumps(component(o, "48018-6"))]
    assert codes(component(phenotype, "therapeutic-implication")[0]["valueCodeableConcept"]) == {
        ("http://loinc.org", "LA9657-3")}  # fmt: skip
    assert component(phenotype, "therapeutic-implication")[0]["valueCodeableConcept"]["text"] == "Poor Metabolizer"
    assert [urls[r["reference"]] for r in phenotype["derivedFrom"]] == [genotype]
    # the clopidogrel implication: the medication, the CPIC strength, derived from the genotype
    (clopidogrel,) = [o for o in implications if "clopidogrel" in json.dumps(component(o, "51963-7"))]
    assert clopidogrel["code"]["coding"][0] == {"system": TBD, "code": "therapeutic-implication",
                                                "display": "Therapeutic Implication"}  # fmt: skip
    assert [urls[r["reference"]] for r in clopidogrel["derivedFrom"]] == [genotype]
    assert component(clopidogrel, "93044-6")[0]["valueCodeableConcept"]["text"] == "CPIC Strong"
    assert "prasugrel" in component(clopidogrel, "conclusion-string")[0]["valueString"]
    # one Task: the actionable clopidogrel recommendation (pantoprazole's usual dose gets none)
    (task,) = resources(bundle, "Task")
    assert task["meta"]["profile"] == [IG + "medication-recommendation"]
    assert (task["status"], task["intent"]) == ("requested", "proposal")
    assert urls[task["reasonReference"]["reference"]] is clopidogrel
    statement = urls[task["focus"]["reference"]]
    assert statement["resourceType"] == "MedicationStatement"
    assert statement["medicationCodeableConcept"] == {"text": "clopidogrel"}  # no RxNorm code yet: text alone
    assert statement["status"] == "active"  # clopidogrel is on the clinical table's list
    report = resources(bundle, "DiagnosticReport")[0]
    assert [x["valueReference"]["reference"] for x in report["extension"]] == [
        e["fullUrl"] for e in bundle["entry"] if e["resource"] is task]  # fmt: skip


def test_rxnorm_and_the_guideline_url_are_used_when_the_findings_carry_them(tables):
    doc = p1_like()
    rec = doc["pgx"]["recommendations"][0]
    rec.update(rxnorm="32968", url="https://cpicpgx.org/guidelines/guideline-for-clopidogrel-and-cyp2c19/",
               indicator="warning")  # fmt: skip
    bundle = build_bundle(doc, tables)
    (statement,) = resources(bundle, "MedicationStatement")
    assert codes(statement["medicationCodeableConcept"]) == {("http://www.nlm.nih.gov/research/umls/rxnorm", "32968")}
    (clopidogrel,) = [o for o in profiled(bundle, "therapeutic-implication") if "32968" in json.dumps(o)]
    artifact = clopidogrel["extension"][0]["valueRelatedArtifact"]
    assert artifact["url"] == rec["url"] and artifact["type"] == "citation"
    validate_bundle(bundle)


def test_a_tumour_gives_variants_with_hgvs_and_vaf_and_an_implication_with_the_amp_tier(tables):
    bundle = build_bundle(p7_like(), tables)
    urls = by_url(bundle)
    (l858r,) = profiled(bundle, "variant")
    assert codes(component(l858r, "48005-3")[0]["valueCodeableConcept"]) == {
        ("http://varnomen.hgvs.org", "p.Leu858Arg")
    }
    assert codes(component(l858r, "51958-7")[0]["valueCodeableConcept"]) == {
        ("http://www.ensembl.org", "ENST00000275493")
    }
    assert codes(component(l858r, "81290-9")[0]["valueCodeableConcept"]) == {
        ("http://varnomen.hgvs.org", "NC_000007.14:g.55191822T>G")}  # fmt: skip
    assert component(l858r, "81258-6")[0]["valueQuantity"]["value"] == pytest.approx(0.25)
    assert component(l858r, "82121-5")[0]["valueQuantity"]["value"] == 9
    assert codes(component(l858r, "48002-0")[0]["valueCodeableConcept"]) == {("http://loinc.org", "LA6684-0")}
    assert not component(l858r, "53034-5")  # no zygosity claimed for a somatic call
    assert urls[l858r["specimen"]["reference"]]["identifier"] == [{"value": "P7-T"}]
    (implication,) = profiled(bundle, "therapeutic-implication")
    assert [urls[r["reference"]] for r in implication["derivedFrom"]] == [l858r]
    assert (
        component(implication, "93044-6")[0]["valueCodeableConcept"]["text"] == "AMP/ASCO/CAP tier I-A (FDA-approved)"
    )
    assert component(implication, "51963-7")[0]["valueCodeableConcept"]["text"] == "osimertinib"
    assert codes(component(implication, "therapeutic-implication")[0]["valueCodeableConcept"]) == {
        ("http://loinc.org", "LA6677-4")}  # fmt: skip
    msi = [o for o in profiled(bundle, "molecular-biomarker") if o["code"]["coding"][0]["code"] == "81695-9"]
    assert codes(msi[0]["valueCodeableConcept"]) == {("http://loinc.org", "LA14122-8")}  # MSS: stable


def test_what_was_not_assessed_is_stated_not_omitted(tables):
    bundle = build_bundle(p7_like(), tables)
    conclusion = resources(bundle, "DiagnosticReport")[0]["conclusion"]
    assert "P7-T: TMB not assessed (callable region 0.21 Mb < 1 Mb: too small for TMB-based therapy)." in conclusion
    assert "P7-T: copy number not assessed (no copy-number input)." in conclusion
    assert "Pharmacogenomics: not run (no genotypes)." in conclusion
    (tmb,) = [o for o in profiled(bundle, "molecular-biomarker") if o["code"]["coding"][0]["code"] == "94076-7"]
    assert "valueQuantity" not in tmb  # the unreliable 9.69/Mb is not reported as a value
    assert codes(tmb["dataAbsentReason"]) == {
        ("http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed")
    }
    assert "too small for TMB-based therapy" in tmb["dataAbsentReason"]["text"]
    p1 = build_bundle(p1_like(), tables)
    conclusion = resources(p1, "DiagnosticReport")[0]["conclusion"]
    assert "Tumour profiling: not run (no tumour sample)." in conclusion
    assert "HLA-A not called (needs an outside call): carbamazepine." in conclusion
    assert "1 other call(s) in the targeted regions are not reported here" in conclusion
    (hla,) = [o for o in profiled(p1, "genotype") if "HLA-A" in json.dumps(o)]
    assert "valueCodeableConcept" not in hla and hla["dataAbsentReason"]["text"] == "HLA-A not called (not called)"


def test_same_findings_give_the_same_bytes_and_ids_follow_the_content(tmp_path, tables):
    doc = p7_like()
    a, b = (json.dumps(build_bundle(copy.deepcopy(doc), tables), sort_keys=True) for _ in range(2))
    assert a == b
    assert "2026-11-25" in a and "T00:" not in a  # the findings' own date, no timestamp
    other = copy.deepcopy(doc)
    other["patient"] = "P70"
    ids = {e["fullUrl"] for e in build_bundle(doc, tables)["entry"]}
    assert not ids & {e["fullUrl"] for e in build_bundle(other, tables)["entry"]}
    # written twice through the schema check and the atomic writer: byte-identical files
    src = tmp_path / "P7.json"
    src.write_text(json.dumps(doc))
    write_bundle(src, tmp_path / "one.json", tables=tables)
    write_bundle(src, tmp_path / "two.json", tables=tables)
    assert (tmp_path / "one.json").read_bytes() == (tmp_path / "two.json").read_bytes()


def test_a_patient_id_fhir_cannot_carry_becomes_an_identifier(tables):
    doc = p1_like()
    doc["patient"] = "patient_1/x"
    patient = resources(build_bundle(doc, tables), "Patient")[0]
    assert patient["identifier"] == [{"value": "patient_1/x"}] and patient["id"] != "patient_1/x"


def test_invalid_findings_are_a_seq2rx_error_and_write_nothing(tmp_path, tables):
    bad = p1_like()
    del bad["patient"]
    src = tmp_path / "P1.json"
    src.write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"P1\.json: findings document breaks findings\.schema\.yaml"):
        write_bundle(src, tmp_path / "out.json", tables=tables)
    assert not (tmp_path / "out.json").exists()
    src.write_text("[1, 2]")
    with pytest.raises(InputError, match="not a findings document"):
        read_findings(src)


def test_a_bad_code_table_row_is_named(tmp_path):
    kb = tmp_path / "fhir"
    kb.mkdir()
    from seq2rx.core.data import data_path

    for name in ("refseq_chromosomes.tsv", "phenotype_codes.tsv"):
        (kb / name).write_text(data_path("kb", "fhir", name).read_text())
    (kb / "hgnc_genes.tsv").write_text("gene\thgnc_id\tsource\tdate\nCYP2C19\t2621\tHGNC\t2026-12\n")
    with pytest.raises(InputError, match="CYP2C19: '2621' is not an HGNC ID"):
        load_tables(kb)


def _example_profiles_and_codes(folder) -> tuple[set[str], set[str]]:
    """The profile URLs and the codes the IG's examples use (JSON, XML and FSH alike)."""
    import re

    profiles, found = set(), set()
    for path in sorted(folder.iterdir()):
        text = path.read_text(errors="replace")
        profiles |= set(re.findall(r"http://hl7\.org/fhir/uv/genomics-reporting/StructureDefinition/[a-z-]+", text))
        if path.suffix == ".json":
            found |= set(re.findall(r'"code"\s*:\s*"([^"]+)"', text))
        elif path.suffix == ".xml":
            ns = "{http://hl7.org/fhir}"
            found |= {el.get("value") for el in ET.parse(path).iter(ns + "code")}
        elif path.suffix == ".fsh":
            found |= set(re.findall(r"#([A-Za-z0-9.-]+)", text))
    return profiles, found


def test_our_observations_use_the_profiles_and_codes_of_the_igs_examples(shared_data, tables):
    folder = shared_data / "fhir" / "genomics-reporting"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    profiles, example_codes = _example_profiles_and_codes(folder)
    ours = build_bundle(p1_like(), tables)["entry"] + build_bundle(p7_like(), tables)["entry"]
    seen = set()
    for e in ours:
        r = e["resource"]
        if r["resourceType"] != "Observation":
            continue
        (profile,) = r["meta"]["profile"]
        kind = profile.rsplit("/", 1)[1]
        if kind not in ("genotype", "variant", "therapeutic-implication"):
            continue  # molecular-biomarker (TMB, MSI) has no example in the folder
        seen.add(kind)
        assert profile in profiles, f"{profile} is used by no example"
        (code,) = r["code"]["coding"]
        assert code["code"] in example_codes, f"{kind}: {code['code']} is used by no example"
        if kind == "therapeutic-implication" and component(r, "51963-7"):
            assert "51963-7" in example_codes  # medication assessed, as the PGx example codes it
    assert seen == {"genotype", "variant", "therapeutic-implication"}


def test_copy_number_and_fusion_rows_derive_from_one_observation_each(tables):
    doc = p7_like()
    ts = doc["actionability"]["samples"][0]
    base = ts["rows"][0]
    ts["copy_number"] = {
        "source": "cnvkit",
        "genes_without_call": [],
        "calls": [
            {
                "gene": "ERBB2",
                "chrom": "chr17",
                "start": 1,
                "end": 2,
                "total_cn": 9,
                "call": "amplification",
                "source": "cnvkit",
            },
            {
                "gene": "EGFR",
                "chrom": "chr7",
                "start": 1,
                "end": 2,
                "total_cn": 2,
                "call": "neutral",
                "source": "cnvkit",
            },
        ],
    }
    ts["fusions"] = {
        "source": "P7-T.tsv",
        "calls": [{"fusion": "EML4::ALK", "five_prime": "EML4", "three_prime": "ALK", "split_reads": 24}],
    }
    ts["rows"] = [
        {**base, "gene": "ERBB2", "alteration": "amplification (9 copies)", "chrom": "chr17", "pos": 39700001,
         "ref": ".", "alt": ".", "therapies": "trastuzumab deruxtecan", "rule": "A1"},
        {**base, "gene": "ALK", "alteration": "EML4::ALK fusion", "chrom": "2", "pos": 29224669, "ref": ".",
         "alt": ".", "therapies": "alectinib", "rule": "A2"},
    ]  # fmt: skip
    bundle = build_bundle(doc, tables)
    validate_bundle(bundle)
    urls = by_url(bundle)
    variants = profiled(bundle, "variant")
    (cn,) = [v for v in variants if component(v, "82155-3")]  # the neutral EGFR call is not a variant
    assert component(cn, "82155-3")[0]["valueQuantity"]["value"] == 9
    (fusion,) = [v for v in variants if "EML4::ALK" in json.dumps(v)]
    genes = [codes(c["valueCodeableConcept"]) for c in component(fusion, "48018-6")]
    assert genes == [{("http://www.genenames.org", "HGNC:1316")}, {("http://www.genenames.org", "HGNC:427")}]
    derived = {
        component(o, "51963-7")[0]["valueCodeableConcept"]["text"]: [urls[r["reference"]] for r in o["derivedFrom"]]
        for o in profiled(bundle, "therapeutic-implication")
    }
    assert derived == {"trastuzumab deruxtecan": [cn], "alectinib": [fusion]}


TUMOUR_DNA = ("genotypes come from tumour DNA: somatic changes and loss of heterozygosity can distort them; "
              "a matched normal or germline sample is preferred")  # fmt: skip


def tumour_only(mode="tumour-only") -> dict:
    """P7 as P8 and P9 of the demo are: a tumour without its normal (``mode``), the genotypes from the
    tumour's own DNA with the warning the PGx step gives them."""
    doc = p7_like()
    doc["samples"] = [s for s in doc["samples"] if s["type"] == "tumor"]
    doc["samples"][0]["variants"].append(variant("chr10", 94781859, "G", "A", "1/1", region="CYP2C19", alt_reads=40))
    doc["samples"][0]["n_pass"] = 2
    doc["actionability"]["samples"][0]["mode"] = mode
    pgx = p1_like()["pgx"]
    pgx.update(sample="P7-T", sample_type="tumor", warnings=[TUMOUR_DNA])
    doc["pgx"] = pgx
    del doc["summary"]
    return finish(doc)


def test_a_tumour_only_call_is_labelled_on_each_somatic_variant_and_in_the_conclusion(tables):
    doc = tumour_only()
    validate(doc)
    bundle = build_bundle(doc, tables)
    validate_bundle(bundle)
    somatic = [v for v in profiled(bundle, "variant")
               if codes(component(v, "48002-0")[0]["valueCodeableConcept"]) == {("http://loinc.org", "LA6684-0")}]  # fmt: skip
    assert len(somatic) == 1  # EGFR L858R
    (l858r,) = somatic
    assert l858r["method"]["text"] == "somatic calls made tumour-only: no matched normal sample"
    assert codes(l858r["method"]) == {("http://loinc.org", "LA26398-0")}  # still sequencing
    (note,) = l858r["note"]
    assert note["text"].startswith("Called tumour-only, without a matched normal")
    assert "an inherited variant may remain" in note["text"]
    conclusion = resources(bundle, "DiagnosticReport")[0]["conclusion"]
    assert "P7-T: somatic variants called tumour-only (no matched normal)" in conclusion
    assert "so some calls may be germline" in conclusion
    # the genotypes' own caveat (tumour DNA) stays in the conclusion as the PGx step wrote it
    assert f"Pharmacogenomics warning: {TUMOUR_DNA}." in conclusion
    # the germline variants of the genotypes are not given the somatic note
    (germline,) = [v for v in profiled(bundle, "variant") if v is not l858r]  # CYP2C19 *2, from the tumour DNA
    assert "rs4244285" in json.dumps(germline)
    assert "note" not in germline and "text" not in germline["method"]


def test_a_tumour_normal_call_says_so_and_gets_no_tumour_only_note(tables):
    bundle = build_bundle(p7_like(), tables)
    (l858r,) = profiled(bundle, "variant")
    assert l858r["method"]["text"] == "somatic calls made tumour-normal: against the patient's matched normal sample"
    assert "note" not in l858r
    assert "tumour-only" not in json.dumps(bundle)
    # somatic calls from elsewhere: the mode is not known, and the bundle says that rather than guess
    doc = tumour_only(mode="VCF from elsewhere")
    bundle = build_bundle(doc, tables)
    (l858r,) = [v for v in profiled(bundle, "variant") if "L858R" in json.dumps(v) or "Leu858Arg" in json.dumps(v)]
    assert "not known" in l858r["method"]["text"] and "note" not in l858r
    assert "P7-T: somatic calls supplied as a VCF: whether they were made against a matched normal is not known." in (
        resources(bundle, "DiagnosticReport")[0]["conclusion"])  # fmt: skip


def test_drugs_without_guidance_are_grouped_by_reason_after_the_tumour_lines(tables):
    doc = tumour_only()
    cyp2d6 = "CYP2D6 not called (needs an outside call)"
    doc["pgx"]["drugs_without_guidance"] = [
        {"drug": "carbamazepine", "genes": ["HLA-A", "HLA-B"],
         "reason": "HLA-A not called (needs an outside call); HLA-B not called (needs an outside call)"},
        {"drug": "codeine", "genes": ["CYP2D6"], "reason": cyp2d6},
        {"drug": "abacavir", "genes": ["HLA-B"], "reason": "HLA-B not called (needs an outside call)"},
        {"drug": "tramadol", "genes": ["CYP2D6"], "reason": cyp2d6},
        {"drug": "atomoxetine", "genes": ["CYP2D6"], "reason": cyp2d6},
    ]  # fmt: skip
    conclusion = resources(build_bundle(doc, tables), "DiagnosticReport")[0]["conclusion"]
    listing = (
        "No guidance given for these drugs, by reason: "
        f"{cyp2d6}: atomoxetine, codeine, tramadol; "  # the largest group first, its drugs sorted
        "HLA-A not called (needs an outside call) and HLA-B not called (needs an outside call): carbamazepine; "
        "HLA-B not called (needs an outside call): abacavir."
    )
    assert listing in conclusion
    assert conclusion.count(cyp2d6) == 1  # said once, not once per drug
    # the tumour's lines (calling mode, modalities not assessed) come before the drug list
    assert conclusion.index("P7-T: somatic variants called tumour-only") < conclusion.index(listing)
    assert conclusion.index("P7-T: TMB not assessed") < conclusion.index(listing)
    assert conclusion.index("P7-T: copy number not assessed") < conclusion.index(listing)


def test_a_medication_statement_is_active_only_for_a_current_medication(tables):
    """``active``: the drug is on the clinical table's list; ``unknown``: guidance for a drug the
    patient may be given, whether they take it being unknown to seq2rx."""
    doc = p1_like()
    doc["pgx"]["recommendations"].append(
        recommendation("voriconazole", "CYP2C19", "Poor Metabolizer", "Choose another antifungal.", strength="Moderate")
    )
    status = {s["medicationCodeableConcept"]["text"]: s["status"] for s in resources(build_bundle(doc, tables),
                                                                                       "MedicationStatement")}  # fmt: skip
    assert status == {"clopidogrel": "active", "voriconazole": "unknown"}
    doc["clinical"] = not_run("no clinical table")
    doc = finish(doc)
    status = {s["status"] for s in resources(build_bundle(doc, tables), "MedicationStatement")}
    assert status == {"unknown"}
