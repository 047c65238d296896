"""The per-patient findings document: the one thing every report renders.

``results/findings/{patient}.json`` collects, per patient, the samples, their QC, their variant
calls and the provenance of the run. Later stages (pharmacogenomics, actionability, predictions,
similar patients) add sections; a section whose analysis has not run is present with
``"status": "not run"`` so that a report can say so instead of silently omitting it.
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path

import pysam

from seq2rx.core.bed import read_bed_named
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.findings.summary import first_screen, tmb_support, vaf_support
from seq2rx.variants.inputs import input_notes

SCHEMA_VERSION = "0.2.0"
#: which sample's PGx result speaks for the patient: germline DNA first, a tumour only if alone
PGX_SOURCE_ORDER = ("germline", "normal", "tumor")


def coverage_by_gene(table: str | Path) -> list[dict]:
    """Length-weighted mean depth and fraction of bases at >= 20x per target gene."""
    totals: dict[str, list[float]] = {}
    with open(table) as fh:
        cols = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            row = dict(zip(cols, line.rstrip("\n").split("\t"), strict=True))
            length = int(row["end"]) - int(row["start"])
            for gene in row["name"].split(","):
                t = totals.setdefault(gene, [0.0, 0.0, 0.0])
                t[0] += length
                t[1] += length * float(row["mean_depth"])
                t[2] += length * float(row["pct_20x"])
    return [
        {"gene": g, "mean_depth": round(d / n, 1), "pct_20x": round(p / n, 4)}
        for g, (n, d, p) in sorted(totals.items())
        if n and g != "other"
    ]


def actionability_section(rows: list[dict], docs: dict[str, str | Path] | None) -> dict:
    """Each tumour sample's tiered biomarkers, TMB and how its somatic calls were made; its rows
    reconciled (``role``, ``overridden``, ``overridden_by``), the therapy ``options`` left after
    reconciliation and its ``resistance_flags``."""
    if not docs:
        reason = "no tumour sample" if not any(r["type"] == "tumor" for r in rows) else "not run"
        return {"status": "not run", "reason": reason}
    samples = []
    for sample in sorted(docs):
        doc = json.loads(Path(docs[sample]).read_text())
        if "options" not in doc:
            raise InputError(str(docs[sample]), "has no reconciled options (written by an older seq2rx)",
                             hint="rerun the actionability step for this sample")  # fmt: skip
        entry = {k: doc[k] for k in ("sample", "tumor_type", "tumor_type_name", "lineage", "build", "mode",
                                     "annotated", "somatic_variants", "tmb", "tiers", "rows", "options",
                                     "resistance_flags", "knowledge_base")}  # fmt: skip
        # what was assessed beyond small variants (present when the step was given the other modalities)
        entry.update({k: doc[k] for k in ("modalities", "copy_number", "fusions", "msi") if k in doc})
        entry["tmb"] = tmb_support(entry["tmb"])
        entry["rows"] = [{**r, "support": _row_support(r)} for r in entry["rows"]]
        samples.append(entry)
    return {"status": "done", "samples": samples}


def _row_support(row: dict) -> dict | None:
    """The reads behind a tiered row's allele fraction: its ``alt_reads`` of ``depth`` (allele
    depths of the tumour), with the 95% interval; None for a biomarker that is not a variant."""
    depth, alt = row.get("depth"), row.get("alt_reads")
    if not isinstance(depth, int) or not isinstance(alt, int):
        return None
    return vaf_support(alt, depth)


def identity_summary(doc: dict) -> dict:
    """The identity check of one sample (:func:`seq2rx.tumour.sample_identity`) without its per-site
    and per-region detail: the verdict and its reasons, the sex check and the fingerprint's scores."""
    sex = doc.get("sex")
    inference = (sex or {}).get("inference") or {}
    fp = doc.get("fingerprint")
    return {
        "verdict": doc["verdict"],
        "reasons": list(doc["reasons"]),
        "sex": None if sex is None else {
            "sheet_sex": sex["sheet_sex"], "inferred_sex": sex["inferred_sex"], "verdict": sex["verdict"],
            "reason": sex["reason"], "x_ratio": inference.get("x_ratio"), "y_ratio": inference.get("y_ratio"),
        },
        "fingerprint": None if fp is None else {
            k: fp.get(k) for k in ("normal", "tumour", "status", "same_person", "verdict", "reason", "n_sites",
                                   "n_called_both", "n_hom", "hom_concordance", "af_correlation")
        },
    }  # fmt: skip


def qc_with_identity(qc: dict, identity: dict) -> dict:
    """A sample's QC summary with its identity check under ``identity``: a ``fail`` there (a sex
    mismatch, a tumour and normal from two people) makes the QC verdict ``fail`` with the reason; a
    ``warn`` makes a ``pass`` a ``warn``. The run goes on either way: the report shows it first."""
    out = {**qc, "identity": identity_summary(identity)}
    verdict = identity["verdict"]
    if verdict in ("fail", "warn"):
        out["reasons"] = [*qc["reasons"], *(f"identity: {r}" for r in identity["reasons"])]
        if verdict == "fail" or qc["verdict"] == "pass":
            out["verdict"] = verdict if qc["verdict"] != "fail" else "fail"
    return out


def pgx_section(rows: list[dict], pgx: dict[str, str | Path] | None) -> dict:
    """The patient's pharmacogenomics: the PGx result of the germline (or normal) sample."""
    if not pgx:
        return {"status": "not run", "reason": "no PGx result for this patient's samples"}
    by_type = sorted(
        (r for r in rows if r["sample"] in pgx), key=lambda r: (PGX_SOURCE_ORDER.index(r["type"]), r["sample"])
    )
    row = by_type[0]
    doc = json.loads(Path(pgx[row["sample"]]).read_text())
    keep = ("gene", "source", "status", "diplotypes", "phenotype", "activity_score", "missing_positions", "warnings")
    genes = [{**{k: r[k] for k in keep}, "caveats": r.get("caveats", [])} for r in doc["genes"].values()]
    return {
        "status": "done",
        "sample": row["sample"],
        "sample_type": row["type"],
        "genes": genes,
        "recommendations": doc["recommendations"],
        "drugs_without_guidance": doc["drugs_without_guidance"],
        "warnings": doc["warnings"],
        "knowledge_base": doc["knowledge_base"],
    }


def _targets(path: str | Path | None) -> dict[str, list[tuple[int, int, str]]]:
    """Named target regions per contig, sorted, for :func:`_region_name`."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    for chrom, start, end, name in read_bed_named(path) if path else ():
        out.setdefault(chrom, []).append((start, end, name))
    for v in out.values():
        v.sort()
    return out


def _region_name(targets: dict[str, list[tuple[int, int, str]]], chrom: str, pos0: int) -> str:
    iv = targets.get(chrom, [])
    k = bisect.bisect_right(iv, (pos0, float("inf"), "")) - 1
    if k >= 0 and iv[k][0] <= pos0 < iv[k][1]:
        return iv[k][2]
    return ""


def read_variants(vcf: str | Path, sample: str, targets: str | Path | None = None) -> list[dict]:
    """Variant records of one sample, with genotype, depth, allele depths and VAF."""
    regions = _targets(targets)
    out = []
    with pysam.VariantFile(str(vcf)) as fh:
        has_info_dp = "DP" in fh.header.info
        samples = list(fh.header.samples)
        name = sample if sample in samples else (samples[0] if samples else None)
        for rec in fh:
            call = rec.samples[name] if name else None
            gt = call.get("GT") if call else None
            ad = call.get("AD") if call and "AD" in call else None
            dp = call.get("DP") if call and "DP" in call else (rec.info.get("DP") if has_info_dp else None)
            alt = rec.alts[0] if rec.alts else "."
            vaf = support = None
            if ad and len(ad) > 1 and all(a is not None for a in ad) and sum(ad):
                vaf = round(ad[1] / sum(ad), 4)
                support = vaf_support(ad[1], sum(ad))
            out.append(
                {
                    "chrom": rec.chrom,
                    "pos": rec.pos,
                    "ref": rec.ref,
                    "alt": alt,
                    "qual": None if rec.qual is None else round(float(rec.qual), 2),
                    "filter": ";".join(rec.filter.keys()) or ".",
                    "genotype": "/".join("." if a is None else str(a) for a in gt) if gt else ".",
                    "depth": dp,
                    "allele_depths": list(ad) if ad else None,
                    "vaf": vaf,
                    "support": support,
                    "region": _region_name(regions, rec.chrom, rec.pos - 1),
                }
            )
    return out


def read_consequences(table: str | Path) -> dict[tuple[str, int, str, str], list[dict]]:
    """Coding consequences from a consequence table, keyed by (chrom, pos, ref, alt)."""
    out: dict[tuple[str, int, str, str], list[dict]] = {}
    with open(table) as fh:
        cols = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            row = dict(zip(cols, line.rstrip("\n").split("\t"), strict=True))
            if row["gene"] == ".":
                continue
            out.setdefault((row["chrom"], int(row["pos"]), row["ref"], row["alt"]), []).append(
                {
                    "gene": row["gene"],
                    "transcript": row["transcript"],
                    "consequence": row["consequence"],
                    "hgvs_p": None if row["hgvs_p"] == "." else row["hgvs_p"],
                    "aa_change": None if row["aa_change_csq"] == "." else row["aa_change_csq"],
                }
            )
    return out


def patient_entry_section(patient: str, path: str | Path | None, reason: str) -> dict:
    """The patient's entry of a per-patient JSON of the ML steps (predictions: response, benefit and
    progression with intervals and contributions; or similar past patients), or why there is none."""
    if path is not None:
        entries = json.loads(Path(path).read_text())
        if patient in entries:
            return {"status": "ok", **entries[patient]}
        reason = reason or "the prediction step did not include this patient"
    return {"status": "not run", "reason": reason or "no prediction model is configured (ml.history)"}


_FROM_VCF = "sample started from a VCF"


def build(patient: str, plan: dict, *, settings: dict) -> dict:
    """Assemble the findings document of one patient from the outputs its plan names.

    ``plan`` is the patient's findings plan, computed once per patient by the workflow
    (``findings_plan`` in ``rules/common.smk``; the findings job's inputs are its files)::

        {
            "samples": [row, ...],  # the patient's sample-sheet rows, by sample ID; the first
                                    # one's sex and tumor_type speak for the patient
            "files": {              # per sample ID: the outputs it contributes, a key only
                "P7-T": {           # where its step runs for that sample
                    "vcf": "results/calls/P7-T.vcf.gz",                    # every sample
                    "pgx": "results/pgx/P7-T.json",                        # every sample
                    "qc": "results/qc/summary/P7-T.json",                  # aligned samples
                    "coverage": "results/qc/coverage/P7-T.tsv",            # aligned samples
                    "actionability": "results/actionability/P7-T.json",    # tumour samples
                    "consequences": "results/annotate/P7-T.consequences.tsv",  # with a GFF3
                },
            },
            "targets": "results/qc/targets.bed",          # or None: names the variants' regions
            "predictions": "results/ml/patients.json",     # or None: the ML step's patients
            "similarity": "results/similarity/patients.json",  # or None: similar past patients
        }

    ``settings`` holds what is not a file: ``genome_build``; ``qc_thresholds``,
    ``config_sha256``, ``analysis_date`` (empty or None when unset) and ``tools`` (the merged
    version records, ``{step: {tool: version}}``) for the provenance section; and
    ``predictions_reason``, why the patient has no predictions ("" when it has), which the
    predictions and similar-patients sections give when the plan has no file for them or the
    file has no entry for this patient.
    """
    from seq2rx import __version__

    rows = plan["samples"]
    files = plan["files"]
    targets = plan.get("targets")

    def per_sample(key: str) -> dict[str, str | Path]:
        return {s: f[key] for s, f in files.items() if key in f}

    first = rows[0]
    samples = []
    for row in sorted(rows, key=lambda r: r["sample"]):
        s = row["sample"]
        f = files.get(s, {})
        variants = read_variants(f["vcf"], s, targets) if "vcf" in f else []
        if "consequences" in f:
            csq = read_consequences(f["consequences"])
            for v in variants:
                v["consequences"] = csq.get((v["chrom"], v["pos"], v["ref"], v["alt"]), [])
        qc = json.loads(Path(f["qc"]).read_text()) if "qc" in f else {"status": "not run", "reason": _FROM_VCF}
        if "identity" in f and "qc" in f:
            qc = qc_with_identity(qc, json.loads(Path(f["identity"]).read_text()))
        somatic = None
        if "somatic_vcf" in f:
            somatic = [v for v in read_variants(f["somatic_vcf"], s, targets) if v["filter"] == "PASS"]
            if "somatic_consequences" in f:
                csq = read_consequences(f["somatic_consequences"])
                for v in somatic:
                    v["consequences"] = csq.get((v["chrom"], v["pos"], v["ref"], v["alt"]), [])
        samples.append(
            {
                "sample": s,
                "type": row["type"],
                "started_from": row["stage"],
                "calls": calls_method(
                    row,
                    settings.get("calling") or {},
                    _somatic_mode(rows, row) if somatic is not None else None,
                    input_notes(f["vcf"]) if row["stage"] == "vcf" and "vcf" in f else (),
                ),
                "somatic_calls": somatic,
                "qc": qc,
                "variants": variants,
                "n_pass": sum(v["filter"] == "PASS" for v in variants),
                "coverage_by_gene": coverage_by_gene(f["coverage"]) if "coverage" in f else [],
            }
        )
    provenance = {
        "thresholds": settings["qc_thresholds"],
        "seq2rx_version": __version__,
        "analysis_date": settings["analysis_date"] or None,
        "config_sha256": settings["config_sha256"],
        "tools": settings["tools"],
    }
    reason = settings["predictions_reason"]
    doc = {
        "schema_version": SCHEMA_VERSION,
        "patient": patient,
        "sex": first["sex"],
        "tumor_type": first["tumor_type"],
        "genome_build": settings["genome_build"],
        "samples": samples,
        "provenance": provenance,
        "pgx": pgx_section(rows, per_sample("pgx")),
        "actionability": actionability_section(rows, per_sample("actionability")),
        "predictions": patient_entry_section(patient, plan.get("predictions"), reason),
        "similar_patients": patient_entry_section(patient, plan.get("similarity"), reason),
        "clinical": clinical_section(patient, plan.get("clinical")),
    }
    doc["summary"] = first_screen(doc)
    return doc


def _somatic_mode(rows: list[dict], tumour: dict) -> str:
    paired = any(r["type"] in ("normal", "germline") and r["stage"] != "vcf" for r in rows if r is not tumour)
    return "against its matched normal" if paired else "tumour-only, without a matched normal"


def calls_method(row: dict, calling: dict, somatic: str | None, notes: list[str] | tuple = ()) -> dict:
    """How a sample's variant calls were made, for the report's method notes: our callers and
    their settings, or the VCF the sample started from (with what seq2rx changed in it, such as
    sorting it: ``notes``)."""
    if row["stage"] == "vcf":
        vcf = Path(str(row.get("vcf") or "")).name or "the sample sheet's VCF"
        text = f"from the supplied VCF ({vcf}); not called by seq2rx" + "".join(f"; {n}" for n in notes)
        return {"source": "supplied VCF", "text": text, "settings": None}
    germline = calling.get("germline") or {}
    text = "bcftools mpileup + call (multiallelic model, germline)"
    if germline:
        text += " with " + ", ".join(f"{k} {v}" for k, v in sorted(germline.items()))
    out = {"source": "seq2rx", "text": text, "settings": germline or None}
    if somatic:
        som = calling.get("somatic") or {}
        out["somatic_text"] = f"seq2rx somatic caller ({somatic})" + (
            " with " + ", ".join(f"{k} {v}" for k, v in sorted(som.items())) if som else ""
        )
    return out


def clinical_section(patient: str, path: str | Path | None) -> dict:
    """The patient's current medications from the clinical table, which the PGx alerts check."""
    if not path:
        return {"status": "not run", "reason": "no clinical table is configured (clinical)"}
    from seq2rx.inputs.clinical import read_clinical

    table = read_clinical(path)
    rows = table[table["patient"] == patient]
    if rows.empty:
        return {"status": "not run", "reason": f"the clinical table {Path(path).name} has no row for {patient}"}
    meds = rows.iloc[0]["medications"]
    if not isinstance(meds, str) or not meds.strip():  # NA or empty: not recorded, which is not "none"
        return {"status": "not run", "reason": f"{Path(path).name} records no medications for {patient} (NA)"}
    meds = [m.strip() for m in meds.split(";") if m.strip() and m.strip().lower() != "none"]
    return {"status": "done", "source": Path(path).name, "medications": meds}


SCHEMA = data_path("schemas", "findings.schema.yaml")


def validate(doc: dict, schema_path: str | Path = SCHEMA) -> None:
    """Raise ValueError naming the first place where ``doc`` breaks the findings schema."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        # inside a oneOf, the branch that got furthest names the real problem
        best = max(e.context, key=lambda x: len(x.absolute_path)) if e.context else e
        where = "/".join(map(str, best.absolute_path)) or "(top)"
        raise ValueError(f"findings document breaks {Path(schema_path).name} at {where}: {best.message[:300]}")


def write(doc: dict, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
