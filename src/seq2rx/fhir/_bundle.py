"""One patient's findings document as an HL7 FHIR R4 ``Bundle`` following the Genomics Reporting IG
(STU3): a genomic report over genotype, phenotype, variant, biomarker and therapeutic-implication
Observations, with medication recommendations as Tasks.

What the bundle holds and what it leaves out is decided here, from the findings alone:

- germline variants are those at a position that defines a star allele (the PGx knowledge base's
  positions table) and carry an alternate allele: they are what the genotypes derive from; the
  other calls of the targeted regions stay in the findings and the VCF (the report says so);
- a tumour's variants are its somatic calls and the alterations its tiered rows name; each says how
  it was called (``method.text``: tumour-normal, tumour-only or not known), and a tumour-only call
  carries a note that an inherited variant may remain among such calls;
- every PGx recommendation is a therapeutic implication; an actionable one also gets a Task;
- what was not assessed (a gene without a call, a tumour modality, a whole section) is said in the
  report's conclusion, and for TMB and MSI by an Observation with a ``dataAbsentReason``; the drugs
  without guidance come last there, grouped by their reason.

Resource ids are UUIDs derived from the patient and the resource's content, so the same findings
give the same bytes; the only date is the findings' own analysis date.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json
from seq2rx.fhir import _codes as C

#: the namespace of every resource UUID (uuid5 of the patient and the resource's content)
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://seq2rx.invalid/fhir/genomics-reporting")
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


# --- the code tables (resources/kb/fhir) ---------------------------------------------------------


@dataclass(frozen=True)
class CodeTables:
    """The knowledge the bundle codes with: HGNC IDs by gene symbol, RefSeq chromosome accessions
    by (build, chromosome without "chr"), LOINC answer codes by phenotype (lower case), and the PGx
    positions that define star alleles: (chromosome without "chr", position) -> (gene, rsID)."""

    hgnc: dict[str, str]
    refseq: dict[tuple[str, str], str]
    phenotypes: dict[str, tuple[str, str]]
    pgx_positions: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    pgx_build: str = "GRCh38"


def _read_tsv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise InputError(str(path), "not found (a code table of the FHIR output)",
                         hint="give the folder that holds it, or leave the option out for the shipped one") from None  # fmt: skip
    except UnicodeDecodeError:
        raise InputError(str(path), "not UTF-8 text", hint="save it as tab-separated UTF-8") from None
    reader = csv.DictReader(text.splitlines(), delimiter="\t")
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(str(path), f"missing column(s) {missing}", line=1, hint=f"expected {list(columns)}")
    rows = []
    for n, row in enumerate(reader, 2):
        empty = [c for c in columns if not (row.get(c) or "").strip()]
        if empty:
            raise InputError(str(path), "empty value", line=n, field=empty[0])
        rows.append(row)
    return rows


def load_tables(kb: str | Path | None = None, *, positions: str | Path | None = None) -> CodeTables:
    """Read ``hgnc_genes.tsv``, ``refseq_chromosomes.tsv`` and ``phenotype_codes.tsv`` from ``kb``
    (default: the packaged ``kb/fhir``) and the PGx positions table (default: the packaged
    ``kb/pgx/positions.tsv``). A bad row is a ``seq2rx:`` error naming file and line."""
    kb = Path(kb) if kb else data_path("kb", "fhir")
    hgnc = {r["gene"]: r["hgnc_id"] for r in _read_tsv(kb / "hgnc_genes.tsv", ("gene", "hgnc_id", "source", "date"))}
    for gene, hid in hgnc.items():
        if not re.fullmatch(r"HGNC:\d+", hid):
            raise InputError(str(kb / "hgnc_genes.tsv"), f"{gene}: {hid!r} is not an HGNC ID (HGNC:<digits>)")
    refseq = {
        (r["build"], _bare(r["chrom"])): r["accession"]
        for r in _read_tsv(kb / "refseq_chromosomes.tsv", ("build", "chrom", "accession", "source", "date"))
    }
    phen = {
        r["phenotype"].lower(): (r["loinc"], r["display"])
        for r in _read_tsv(kb / "phenotype_codes.tsv", ("phenotype", "loinc", "display", "source", "date"))
    }
    pos_path = Path(positions) if positions else data_path("kb", "pgx", "positions.tsv")
    pgx: dict[tuple[str, int], tuple[str, str]] = {}
    builds = set()
    for n, r in enumerate(_read_tsv(pos_path, ("gene", "chrom", "pos", "rsid", "build")), 2):
        if not r["pos"].isdigit():
            raise InputError(str(pos_path), f"position {r['pos']!r} is not a whole number", line=n, field="pos")
        pgx[(_bare(r["chrom"]), int(r["pos"]))] = (r["gene"], r["rsid"])
        builds.add(r["build"])
    if len(builds) > 1:
        raise InputError(str(pos_path), f"positions of several builds ({sorted(builds)})", hint="keep one build")
    return CodeTables(hgnc, refseq, phen, pgx, next(iter(builds), "GRCh38"))


def _bare(chrom: str) -> str:
    """``chr7`` -> ``7``, ``chrM``/``M`` -> ``MT``: the chromosome as the code tables name it."""
    c = chrom[3:] if chrom.lower().startswith("chr") else chrom
    return "MT" if c in ("M", "m") else c


# --- small FHIR datatypes --------------------------------------------------------------------------


def _coding(code: tuple[str, str, str]) -> dict:
    system, value, display = code
    return {"system": system, "code": value, "display": display}


def _cc(code: tuple[str, str, str] | None = None, text: str | None = None) -> dict:
    out: dict = {}
    if code:
        out["coding"] = [_coding(code)]
    if text:
        out["text"] = text
    return out


def _component(slice_name: str, **value) -> dict:
    return {"code": _cc(C.COMPONENT[slice_name]), **value}


def _quantity(value: float | int, unit: str, code: str | None = "1") -> dict:
    q = {"value": value, "unit": unit}
    if code:
        q.update(system=C.UCUM, code=code)
    return q


def _gene(gene: str, tables: CodeTables) -> dict:
    """The gene as the IG asks (HGNC ID as code, symbol as display), or the symbol as text alone
    when the table has no ID for it."""
    hid = tables.hgnc.get(gene)
    return _cc((C.HGNC, hid, gene)) if hid else _cc(text=gene)


# --- the builder ------------------------------------------------------------------------------------


class _Bundle:
    """Collects resources in a stable order; each gets a UUID from the patient and its key."""

    def __init__(self, patient: str, date: str | None) -> None:
        self.patient = patient
        self.date = date
        self.entries: list[dict] = []
        self.urls: dict[tuple, str] = {}

    def uid(self, key: tuple) -> str:
        return str(uuid.uuid5(NAMESPACE, json.dumps([self.patient, *key], sort_keys=True)))

    def add(self, key: tuple, resource: dict, *, rid: str | None = None) -> str:
        if key in self.urls:
            return self.urls[key]
        u = self.uid(key)
        url = f"urn:uuid:{u}"
        self.entries.append({"fullUrl": url, "resource": {"id": rid or u, **resource}})
        self.urls[key] = url
        return url

    def ref(self, url: str, display: str | None = None) -> dict:
        return {"reference": url, **({"display": display} if display else {})}

    def observation(self, profile: str, code: tuple, *, biomarker: bool = False, **fields) -> dict:
        category = [_cc(C.LABORATORY), _cc(C.GENETICS)]
        if biomarker:
            category.insert(1, _cc(C.BIOMARKER_CATEGORY))
        obs = {
            "resourceType": "Observation",
            "meta": {"profile": [profile]},
            "status": "final",
            "category": category,
            "code": _cc(code),
            "subject": self.ref(self.urls[("patient",)]),
        }
        if self.date:
            obs["effectiveDateTime"] = self.date
        obs.update({k: v for k, v in fields.items() if v not in (None, [], {})})
        return obs


def _alt_count(genotype: str) -> tuple[int, int]:
    """(alleles called, alternate alleles) of a VCF genotype: ``0/1`` -> (2, 1), ``1`` -> (1, 1)."""
    alleles = [a for a in re.split(r"[/|]", genotype) if a not in (".", "")]
    return len(alleles), sum(a != "0" for a in alleles)


def _variant_components(v: dict, *, gene: str | None, source: str, build: str, tables: CodeTables,
                        rsid: str | None = None) -> list[dict]:  # fmt: skip
    """The variant profile's components for one VCF record of the findings."""
    comps = []
    if gene:
        comps.append(_component("gene-studied", valueCodeableConcept=_gene(gene, tables)))
    comps.append(_component("reference-sequence-assembly", valueCodeableConcept=_cc(C.ASSEMBLY[build])))
    acc = tables.refseq.get((build, _bare(v["chrom"])))
    ref, alt, pos = v["ref"], v["alt"], int(v["pos"])
    if acc:
        comps.append(_component("genomic-ref-seq", valueCodeableConcept=_cc((C.REFSEQ, acc, acc))))
        if len(ref) == 1 and len(alt) == 1 and ref != alt and alt in "ACGT":
            g = f"{acc}:g.{pos}{ref}>{alt}"
            comps.append(_component("genomic-hgvs", valueCodeableConcept=_cc((C.HGVS, g, g))))
    comps.append(_component("coordinate-system", valueCodeableConcept=_cc(C.ONE_BASED)))
    comps.append(
        _component("exact-start-end", valueRange={"low": {"value": pos}, "high": {"value": pos + len(ref) - 1}})
    )
    comps.append(_component("ref-allele", valueString=ref))
    comps.append(_component("alt-allele", valueString=alt))
    comps.append(_component("genomic-source-class", valueCodeableConcept=_cc(C.SOURCE_CLASS[source])))
    if source == "germline":
        called, alts = _alt_count(v.get("genotype", ""))
        state = "hom" if called == 2 and alts == 2 else "het" if called == 2 and alts == 1 else None
        if state:
            comps.append(_component("allelic-state", valueCodeableConcept=_cc(C.ALLELIC_STATE[state])))
    support = v.get("support") or {}
    vaf = support.get("vaf", v.get("vaf"))
    if isinstance(vaf, (int, float)):
        comps.append(
            _component(
                "sample-allelic-frequency",
                valueQuantity=_quantity(vaf, "relative frequency of the allele in the specimen"),
            )
        )
    if isinstance(support.get("alt_reads"), int):
        comps.append(_component("allelic-read-depth", valueQuantity=_quantity(support["alt_reads"], "reads")))
    if rsid and rsid.startswith("rs"):
        comps.append(_component("variation-code", valueCodeableConcept=_cc((C.DBSNP, rsid, rsid))))
    protein = next((c for c in v.get("consequences") or [] if c.get("hgvs_p")), None)
    if protein:
        comps.append(
            _component(
                "representative-protein-hgvs",
                valueCodeableConcept=_cc((C.HGVS, protein["hgvs_p"], protein["hgvs_p"])),
            )
        )
        if protein.get("transcript") not in (None, "", "."):
            t = protein["transcript"]
            comps.append(_component("representative-transcript-ref-seq", valueCodeableConcept=_cc((C.ENSEMBL, t, t))))
    return comps


def _variant_gene(v: dict, fallback: str | None = None) -> str | None:
    genes = [c["gene"] for c in v.get("consequences") or [] if c.get("gene") not in (None, "", ".")]
    if genes:
        return genes[0]
    region = v.get("region")
    return fallback or (region if region and region != "other" else None)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _vkey(sample: str, v: dict) -> tuple:
    return ("variant", sample, str(v["chrom"]), int(v["pos"]), v["ref"], v["alt"])


#: how a tumour sample's somatic variants were called (the actionability section's ``mode``), as
#: Observation.method text; a mode not listed is a somatic VCF made elsewhere
CALLING_MODE = {
    "tumour-normal": "somatic calls made tumour-normal: against the patient's matched normal sample",
    "tumour-only": "somatic calls made tumour-only: no matched normal sample",
}
UNKNOWN_MODE = "somatic calls supplied as a VCF: whether they were made against a matched normal is not known"
#: the note on every somatic variant Observation of a tumour-only sample
TUMOUR_ONLY_NOTE = (
    "Called tumour-only, without a matched normal: germline variants were removed by their allele "
    "fraction (and by population frequency where a population database was given), not by comparison "
    "with the patient's normal DNA, so an inherited variant may remain among these calls. Confirm that a "
    "variant is somatic (e.g. in a normal sample) before acting on it as one."
)


def _calling_mode(mode: str | None) -> str:
    """The calling mode of a tumour sample as a short label: tumour-normal, tumour-only or unknown."""
    return mode if mode in CALLING_MODE else "unknown"


def _grouped_without_guidance(drugs: list[dict]) -> str:
    """The drugs without guidance, grouped by their reason (largest group first): one clause per
    reason, ``"CYP2D6 not called (needs an outside call): codeine, tramadol"``, clauses joined by
    "; ". A reason of several genes (``"HLA-A ...; HLA-B ..."``) is joined by " and " in its clause."""
    groups: dict[str, list[str]] = {}
    for d in drugs:
        groups.setdefault(" and ".join(r.strip() for r in d["reason"].split("; ")), []).append(d["drug"])
    order = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return "; ".join(f"{reason}: {', '.join(sorted(names))}" for reason, names in order)


def build_bundle(findings: dict, tables: CodeTables | None = None) -> dict:
    """The Genomics Reporting bundle (a ``collection``) of one findings document.

    ``findings`` is assumed valid against the findings schema (:func:`read_findings` checks it).
    Recommendations may carry ``rxnorm``, ``url`` and ``indicator`` (added by a later schema);
    without them the medication is given as text and the guideline as a citation.
    """
    tables = tables or load_tables()
    patient = findings["patient"]
    build = findings["genome_build"]
    b = _Bundle(patient, (findings.get("provenance") or {}).get("analysis_date"))
    pid = patient if FHIR_ID.match(patient) else None
    patient_res = {"resourceType": "Patient", "gender": findings["sex"]}
    if pid is None:  # an id FHIR cannot carry: the resource gets a UUID, the name an identifier
        patient_res["identifier"] = [{"value": patient}]
    b.add(("patient",), patient_res, rid=pid)
    report_url = b.uid(("report",))  # reserved first so the report sits second in the bundle
    report_entry = {"fullUrl": f"urn:uuid:{report_url}", "resource": None}
    b.entries.append(report_entry)
    b.urls[("report",)] = report_entry["fullUrl"]

    specimens: dict[str, str] = {}
    for s in findings["samples"]:
        kind = {"tumor": "tumour DNA", "normal": "matched normal DNA", "germline": "germline DNA"}[s["type"]]
        spec = {
            "resourceType": "Specimen",
            "identifier": [{"value": s["sample"]}],
            "type": _cc(C.TUMOUR_SPECIMEN if s["type"] == "tumor" else None, kind),
            "subject": b.ref(b.urls[("patient",)]),
        }
        specimens[s["sample"]] = b.add(("specimen", s["sample"]), spec)
    samples = {s["sample"]: s for s in findings["samples"]}

    observations: list[str] = []
    conclusion: list[str] = []
    tasks: list[str] = []
    act = findings["actionability"]
    # how each tumour sample's somatic variants were called: tumour-normal, tumour-only or unknown
    modes = {ts["sample"]: _calling_mode(ts.get("mode")) for ts in act.get("samples") or []}

    def variant_obs(sample: str, v: dict, *, source: str, gene: str | None = None, rsid: str | None = None) -> str:
        key = _vkey(sample, v)
        if key in b.urls:
            return b.urls[key]
        gene = gene or _variant_gene(v)
        started = samples[sample]["started_from"] if sample in samples else "fastq"
        method = _cc(C.SEQUENCING) if started != "vcf" else _cc(text="variant calls supplied as a VCF")
        notes = []
        if source == "somatic":  # how it was called, so a tumour-only call is not read as a confirmed somatic one
            mode = modes.get(sample, "unknown")
            text = CALLING_MODE.get(mode, UNKNOWN_MODE)
            method["text"] = f"{method['text']}; {text}" if "text" in method and text != UNKNOWN_MODE else text
            if mode == "tumour-only":
                notes.append({"text": TUMOUR_ONLY_NOTE})
        obs = b.observation(
            C.PROFILES["variant"],
            C.VARIANT_CODE,
            valueCodeableConcept=_cc(C.PRESENT),
            method=method,
            specimen=b.ref(specimens[sample]) if sample in specimens else None,
            component=_variant_components(v, gene=gene, source=source, build=build, tables=tables, rsid=rsid),
            note=notes,
        )
        url = b.add(key, obs)
        observations.append(url)
        return url

    args = dict(
        b=b,
        tables=tables,
        build=build,
        samples=samples,
        specimens=specimens,
        variant_obs=variant_obs,
        observations=observations,
        conclusion=conclusion,
        tasks=tasks,
    )
    without_guidance = _pgx_section(findings, **args)
    _tumour_section(findings, **args)
    if without_guidance:  # after the tumour's lines: the long list last, grouped by reason
        conclusion.append(f"No guidance given for these drugs, by reason: {without_guidance}.")

    research = (findings.get("summary") or {}).get("research_use")
    if research:
        conclusion.append(research)
    report = {
        "resourceType": "DiagnosticReport",
        "id": report_url,
        "meta": {"profile": [C.PROFILES["report"]]},
        "status": "final",
        "category": [_cc(C.GENETICS)],
        "code": _cc(C.REPORT_CODE),
        "subject": b.ref(b.urls[("patient",)]),
        "specimen": [b.ref(u) for u in specimens.values()],
        "result": [b.ref(u) for u in dict.fromkeys(observations)],
        "conclusion": " ".join(_sentence(c) for c in conclusion) or "All analyses ran; nothing was left unassessed.",
    }
    if b.date:
        report["effectiveDateTime"] = b.date
    if tasks:
        report["extension"] = [{"url": C.RECOMMENDED_ACTION, "valueReference": b.ref(t)} for t in tasks]
    report_entry["resource"] = report
    return {
        "resourceType": "Bundle",
        "id": b.uid(("bundle",)),
        "type": "collection",
        "entry": b.entries,
    }


def _pgx_section(findings: dict, *, b: _Bundle, tables: CodeTables, build: str, samples: dict, specimens: dict,
                 variant_obs, observations: list[str], conclusion: list[str], tasks: list[str]) -> str:  # fmt: skip
    """The genotypes (from the star-allele positions' variants), phenotypes, one therapeutic
    implication per recommendation and a Task per actionable one; what was not called, in the
    conclusion. Returns the drugs without guidance grouped by reason ("" when none), for the
    caller to put after the tumour's lines."""
    pgx = findings["pgx"]
    gene_variants: dict[str, list[str]] = {}
    genotype_urls: dict[str, str] = {}
    phenotype_of: dict[str, str | None] = {}
    if pgx["status"] == "done":
        sample = pgx["sample"]
        germline = samples.get(sample, {"variants": []})
        shown = other = 0
        for v in germline["variants"]:
            called, alts = _alt_count(v.get("genotype", ""))
            if v.get("filter") != "PASS" or not alts:
                continue
            hit = (
                tables.pgx_positions.get((_bare(str(v["chrom"])), int(v["pos"]))) if build == tables.pgx_build else None
            )
            if not hit:
                other += 1
                continue
            gene, rsid = hit
            gene_variants.setdefault(gene, []).append(variant_obs(sample, v, source="germline", gene=gene, rsid=rsid))
            shown += 1
        if other:
            conclusion.append(
                f"Germline variants: the {shown} call(s) at positions that define star alleles are listed; "
                f"{other} other call(s) in the targeted regions are not reported here (see the findings "
                "document and the VCF)."
            )
        not_called = []
        for g in pgx["genes"]:
            gene = g["gene"]
            phenotype_of[gene] = g["phenotype"]
            diplos = g["diplotypes"]
            notes = [f"{gene}: {w}" for w in g["warnings"] + g["caveats"]]
            if g["missing_positions"]:
                notes.append(f"{gene}: positions without a call: {', '.join(g['missing_positions'])}")
            if g["status"] not in ("called", "outside call"):
                notes.append(f"{gene}: call status {g['status']}")
            value = {"valueCodeableConcept": _cc(text=f"{gene} {' or '.join(diplos)}")} if diplos else {
                "dataAbsentReason": _cc(C.UNKNOWN, f"{gene} not called ({g['status']})")
            }  # fmt: skip
            if not diplos:
                not_called.append(f"{gene} ({g['status']})")
            outside = g["source"] == "outside call"
            obs = b.observation(
                C.PROFILES["genotype"],
                C.GENOTYPE_CODE,
                **value,
                method=_cc(text="outside call supplied to seq2rx") if outside else _cc(C.SEQUENCING),
                specimen=None if outside else b.ref(specimens[sample]) if sample in specimens else None,
                derivedFrom=[b.ref(u) for u in gene_variants.get(gene, [])],
                component=[_component("gene-studied", valueCodeableConcept=_gene(gene, tables))],
                note=[{"text": n} for n in notes],
            )
            genotype_urls[gene] = b.add(("genotype", gene), obs)
            observations.append(genotype_urls[gene])
            if g["phenotype"]:
                code = tables.phenotypes.get(g["phenotype"].lower())
                comps = [
                    _component(
                        "therapeutic-implication",
                        valueCodeableConcept=_cc((C.LOINC, *code) if code else None, g["phenotype"]),
                    ),
                    _component("gene-studied", valueCodeableConcept=_gene(gene, tables)),
                ]
                if g["activity_score"] is not None:
                    comps.append(
                        _component("conclusion-string", valueString=f"{gene} activity score {g['activity_score']:g}")
                    )
                obs = b.observation(
                    C.PROFILES["implication"],
                    C.IMPLICATION_CODE,
                    derivedFrom=[b.ref(genotype_urls[gene], f"{gene} genotype")],
                    component=comps,
                )
                url = b.add(("phenotype", gene), obs)
                observations.append(url)
        if not_called:
            conclusion.append("Pharmacogenes not called: " + "; ".join(not_called) + ".")
        conclusion += [f"Pharmacogenomics warning: {w}" for w in pgx["warnings"]]
        medications = set()
        clinical = findings.get("clinical") or {}
        if clinical.get("status") == "done":
            medications = {m.lower() for m in clinical["medications"]}
        for rec in pgx["recommendations"]:
            drug = rec["drug"]
            med = _cc((C.RXNORM, str(rec["rxnorm"]), drug) if rec.get("rxnorm") else None, drug)
            codes = [tables.phenotypes.get((phenotype_of.get(gn) or "").lower()) for gn in rec["genes"]]
            code = codes[0] if len(codes) == 1 and codes[0] else None
            artifact = {"type": "citation", "citation": rec["source"]}
            if rec.get("url"):
                artifact["url"] = rec["url"]
            obs = b.observation(
                C.PROFILES["implication"],
                C.IMPLICATION_CODE,
                extension=[{"url": C.RELATED_ARTIFACT, "valueRelatedArtifact": artifact}],
                derivedFrom=[b.ref(genotype_urls[gn], f"{gn} genotype") for gn in rec["genes"] if gn in genotype_urls],
                component=[
                    _component(
                        "therapeutic-implication",
                        valueCodeableConcept=_cc((C.LOINC, *code) if code else None, rec["phenotype"]),
                    ),
                    _component("medication-assessed", valueCodeableConcept=med),
                    _component("evidence-level", valueCodeableConcept=_cc(text=f"CPIC {rec['strength']}")),
                    _component("conclusion-string", valueString=rec["recommendation"]),
                ],
                note=[{"text": c} for c in rec["caveats"]],
            )
            impl = b.add(("implication", drug, tuple(rec["genes"]), rec["phenotype"]), obs)
            observations.append(impl)
            if not rec["actionable"]:
                continue
            statement = {
                "resourceType": "MedicationStatement",
                "status": "active" if drug.lower() in medications else "unknown",
                "medicationCodeableConcept": med,
                "subject": b.ref(b.urls[("patient",)]),
            }
            med_url = b.add(("medication", drug), statement)
            task = {
                "resourceType": "Task",
                "meta": {"profile": [C.PROFILES["task"]]},
                "status": "requested",
                "intent": "proposal",
                "description": rec["recommendation"],
                "focus": b.ref(med_url, drug),
                "for": b.ref(b.urls[("patient",)]),
                "reasonReference": b.ref(impl, f"{drug}: {rec['phenotype']}"),
            }
            tasks.append(b.add(("task", drug, tuple(rec["genes"]), rec["phenotype"]), task))
        return _grouped_without_guidance(pgx["drugs_without_guidance"])
    conclusion.append(f"Pharmacogenomics: not run ({pgx['reason']}).")
    return ""


def _tumour_section(findings: dict, *, b: _Bundle, tables: CodeTables, build: str, samples: dict,
                    specimens: dict, variant_obs, observations: list[str], conclusion: list[str],
                    tasks: list[str]) -> None:  # fmt: skip
    """Each tumour sample's somatic variants, biomarkers and one therapeutic implication per tiered
    row with a therapy (AMP/ASCO/CAP tier as the level of evidence); modalities not assessed, in the
    conclusion."""
    act = findings["actionability"]
    if act["status"] == "done":
        for ts in act["samples"]:
            sample = ts["sample"]
            mode = _calling_mode(ts.get("mode"))
            if mode == "tumour-only":
                conclusion.append(
                    f"{sample}: somatic variants called tumour-only (no matched normal): germline variants were "
                    "filtered by allele fraction (and population frequency where a population database was "
                    "given), not against the patient's normal DNA, so some calls may be germline; confirm a "
                    "variant is somatic before acting on it as one"
                )
            elif mode == "unknown":
                conclusion.append(f"{sample}: {UNKNOWN_MODE}")
            tsample = samples.get(sample, {"variants": [], "somatic_calls": None})
            by_pos = {_vkey(sample, v): v for v in tsample["variants"]}
            for v in tsample.get("somatic_calls") or []:
                if v.get("filter", "PASS") == "PASS":
                    variant_obs(sample, v, source="somatic")
            biomarkers = _tumour_biomarkers(b, ts, specimens.get(sample), tables, observations)
            for m in ts.get("modalities") or []:
                if m["status"] == "not assessed":
                    conclusion.append(f"{sample}: {m['modality']} not assessed ({m['reason']}).")
            cn = ts.get("copy_number")
            if cn and cn.get("genes_without_call"):
                conclusion.append(f"{sample}: copy number not called for {', '.join(cn['genes_without_call'])}.")
            if ts.get("fusions") is not None and not ts["fusions"]["calls"]:
                conclusion.append(f"{sample}: no fusion found among the genes assessed.")
            for row in ts["rows"]:
                finding = _row_finding(b, row, sample, by_pos, biomarkers, specimens.get(sample), tables, variant_obs,
                                       observations)  # fmt: skip
                if row["role"] not in ("therapy", "resistance"):
                    continue
                notes = [f"Overridden by {o['gene']} {o['alteration']}: {o['reason']}" for o in row["overridden_by"]]
                if row.get("note") not in (None, "", "."):
                    notes.append(row["note"])
                context = f"{row['rule_tumor_type']} (match to the tumour type: {row['tumor_type_match']})"
                obs = b.observation(
                    C.PROFILES["implication"],
                    C.IMPLICATION_CODE,
                    extension=[
                        {
                            "url": C.RELATED_ARTIFACT,
                            "valueRelatedArtifact": {"type": "citation", "citation": row["source"]},
                        }
                    ],
                    derivedFrom=[b.ref(finding, f"{row['gene']} {row['alteration']}")],
                    component=[
                        _component(
                            "therapeutic-implication", valueCodeableConcept=_cc(C.RESPONSE.get(row["response"]))
                        ),
                        _component("medication-assessed", valueCodeableConcept=_cc(text=row["therapies"])),
                        _component(
                            "evidence-level",
                            valueCodeableConcept=_cc(text=f"AMP/ASCO/CAP tier {row['tier']} ({row['evidence']})"),
                        ),
                        _component("phenotypic-treatment-context", valueCodeableConcept=_cc(text=context)),
                    ],
                    note=[{"text": n} for n in notes],
                )
                key = ("implication", sample, row["rule"], row["gene"], row["alteration"], row["therapies"])
                observations.append(b.add(key, obs))
    else:
        conclusion.append(f"Tumour profiling: not run ({act['reason']}).")


def _tumour_biomarkers(b: _Bundle, ts: dict, specimen: str | None, tables: CodeTables,
                       observations: list[str]) -> dict[str, str]:  # fmt: skip
    """TMB and MSI of one tumour sample as molecular-biomarker Observations (a value when assessed,
    a ``dataAbsentReason`` with the reason when not). Returns {"TMB"|"MSI": fullUrl}."""
    sample = ts["sample"]
    spec = b.ref(specimen) if specimen else None
    modality = {m["modality"]: m for m in ts.get("modalities") or []}
    out = {}
    tmb, m = ts["tmb"], modality.get("TMB")
    assessed = m["status"] == "assessed" if m else bool(tmb.get("reliable"))
    if assessed and isinstance(tmb.get("tmb_per_mb"), (int, float)):
        value = {"valueQuantity": _quantity(tmb["tmb_per_mb"], "mutations per megabase", None)}
        notes = [f"{tmb['coding_variants']} coding somatic variant(s) over {tmb['callable_mb']} callable Mb"]
    else:
        reason = (m or {}).get("reason") or tmb.get("note") or "not assessed"
        value = {"dataAbsentReason": _cc(C.NOT_PERFORMED, reason)}
        notes = []
    obs = b.observation(C.PROFILES["biomarker"], C.TMB_CODE, biomarker=True, specimen=spec,
                        note=[{"text": n} for n in notes], **value)  # fmt: skip
    out["TMB"] = b.add(("tmb", sample), obs)
    observations.append(out["TMB"])
    msi = ts.get("msi")
    m = modality.get("MSI")
    if msi and msi["status"] in C.MSI_STATUS:
        value = {"valueCodeableConcept": _cc(C.MSI_STATUS[msi["status"]], msi["status"])}
        notes = [f"score {msi['score']}" + (f"; {msi['criterion']}" if msi.get("criterion") else "")]
        method = _cc(text=msi["method"])
    else:
        reason = (m or {}).get("reason") or "not assessed"
        value = {"dataAbsentReason": _cc(C.NOT_PERFORMED, reason)}
        notes, method = [], None
    obs = b.observation(C.PROFILES["biomarker"], C.MSI_CODE, biomarker=True, specimen=spec, method=method,
                        note=[{"text": n} for n in notes], **value)  # fmt: skip
    out["MSI"] = b.add(("msi", sample), obs)
    observations.append(out["MSI"])
    cn = ts.get("copy_number") or {}
    for call in cn.get("calls") or []:
        if call["call"] != "neutral":
            out[f"cn:{call['gene']}"] = _copy_number_obs(b, sample, call["gene"], call["total_cn"], call["call"], spec,
                                                         tables, observations)  # fmt: skip
    for call in (ts.get("fusions") or {}).get("calls") or []:
        out[f"fusion:{call['fusion']}"] = _fusion_obs(b, sample, call, spec, tables, observations)
    return out


def _copy_number_obs(b: _Bundle, sample: str, gene: str, total_cn, call: str, spec: dict | None,
                     tables: CodeTables, observations: list[str]) -> str:  # fmt: skip
    comps = [_component("gene-studied", valueCodeableConcept=_gene(gene, tables)),
             _component("genomic-source-class", valueCodeableConcept=_cc(C.SOURCE_CLASS["somatic"]))]  # fmt: skip
    if isinstance(total_cn, (int, float)):
        comps.append(_component("copy-number", valueQuantity=_quantity(total_cn, "copies")))
    obs = b.observation(C.PROFILES["variant"], C.VARIANT_CODE, valueCodeableConcept=_cc(C.PRESENT),
                        method=_cc(C.SEQUENCING), specimen=spec, component=comps,
                        note=[{"text": f"{gene} {call}"}])  # fmt: skip
    url = b.add(("copy-number", sample, gene), obs)
    observations.append(url)
    return url


def _fusion_obs(b: _Bundle, sample: str, call: dict, spec: dict | None, tables: CodeTables,
                observations: list[str]) -> str:  # fmt: skip
    genes = [g for g in (call.get("five_prime"), call.get("three_prime")) if g]
    comps = [_component("gene-studied", valueCodeableConcept=_gene(g, tables)) for g in genes]
    comps.append(_component("genomic-source-class", valueCodeableConcept=_cc(C.SOURCE_CLASS["somatic"])))
    reads = call.get("split_reads")
    text = f"{call['fusion']} fusion" + (f" ({reads} split reads)" if reads is not None else "")
    obs = b.observation(C.PROFILES["variant"], C.VARIANT_CODE, valueCodeableConcept=_cc(C.PRESENT),
                        method=_cc(C.SEQUENCING), specimen=spec, component=comps, note=[{"text": text}])  # fmt: skip
    url = b.add(("fusion", sample, call["fusion"]), obs)
    observations.append(url)
    return url


def _row_finding(b: _Bundle, row: dict, sample: str, by_pos: dict, biomarkers: dict, specimen: str | None,
                 tables: CodeTables, variant_obs, observations: list[str]) -> str:  # fmt: skip
    """The Observation a tiered row derives from: its variant, copy-number change, fusion or
    biomarker (made here when the sections above did not list it)."""
    gene, alteration = row["gene"], row["alteration"]
    spec = b.ref(specimen) if specimen else None
    if gene in ("MSI", "TMB"):
        return biomarkers[gene]
    if "fusion" in alteration:
        name = alteration.replace(" fusion", "")
        if f"fusion:{name}" not in biomarkers:
            five, _, three = name.partition("::")
            biomarkers[f"fusion:{name}"] = _fusion_obs(
                b, sample, {"fusion": name, "five_prime": five or gene, "three_prime": three or None}, spec, tables,
                observations,
            )  # fmt: skip
        return biomarkers[f"fusion:{name}"]
    if row.get("ref") in (None, ".") or alteration.startswith(("amplification", "deletion")):
        if f"cn:{gene}" not in biomarkers:
            call = "deletion" if alteration.startswith("deletion") else "amplification"
            n = re.search(r"(\d+) cop", alteration)
            biomarkers[f"cn:{gene}"] = _copy_number_obs(b, sample, gene, int(n.group(1)) if n else None, call, spec,
                                                        tables, observations)  # fmt: skip
        return biomarkers[f"cn:{gene}"]
    v = {"chrom": str(row["chrom"]), "pos": int(row["pos"]), "ref": row["ref"], "alt": row["alt"]}
    found = by_pos.get(_vkey(sample, v))
    if found is None:  # a row's variant not among the sample's calls: described by the row itself
        found = {**v, "genotype": "", "support": row.get("support"), "vaf": row.get("vaf"), "consequences": []}
    return variant_obs(sample, found, source="somatic", gene=gene)


# --- checking, reading and writing ------------------------------------------------------------------


def unresolved_references(bundle: dict) -> list[str]:
    """Every ``reference`` in the bundle that names no entry's ``fullUrl`` (empty when all resolve)."""
    urls = {e["fullUrl"] for e in bundle.get("entry", [])}
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref not in urls:
                found.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(bundle.get("entry", []))
    return found


def validate_bundle(bundle: dict) -> None:
    """Parse the bundle with the ``fhir.resources`` R4B models (every resource, no unknown field)
    and check that every reference resolves inside it. Raises ValueError naming the first problem:
    a bundle that fails here is a bug in seq2rx, not bad input."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise ValueError(f"the FHIR bundle does not parse as R4B: {str(exc)[:500]}") from None
    missing = unresolved_references(bundle)
    if missing:
        raise ValueError(f"the FHIR bundle has {len(missing)} reference(s) outside it, e.g. {missing[0]}")


def read_findings(path: str | Path) -> dict:
    """A findings document, checked against its schema; a ``seq2rx:`` error when it is not one."""
    from seq2rx.findings import validate

    try:
        doc = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"not JSON ({exc.msg})", line=exc.lineno,
                         hint="give results/findings/{patient}.json") from None  # fmt: skip
    except UnicodeDecodeError:
        raise InputError(str(path), "not a text file", hint="give results/findings/{patient}.json") from None
    if not isinstance(doc, dict):
        raise InputError(str(path), "not a findings document (a JSON object)")
    try:
        validate(doc)
    except ValueError as exc:
        raise InputError(str(path), str(exc), hint="rebuild it with this seq2rx (snakemake findings_patient)") from None
    return doc


def write_bundle(findings: str | Path, out: str | Path, *, tables: CodeTables | None = None) -> dict:
    """Read, check, convert, validate and write one patient's bundle atomically; returns it."""
    bundle = build_bundle(read_findings(findings), tables)
    validate_bundle(bundle)
    write_json(bundle, out)
    return bundle


def count_resources(bundle: dict) -> dict[str, int]:
    """How many resources of each type the bundle holds (for logs and messages)."""
    counts: dict[str, int] = {}
    for e in bundle["entry"]:
        t = e["resource"]["resourceType"]
        counts[t] = counts.get(t, 0) + 1
    return dict(sorted(counts.items()))
