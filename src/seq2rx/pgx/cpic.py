"""CPIC's published recommendations, compared with ``drug_guidance.tsv``.

CPIC publishes its recommendations openly (CC0) as the ``recommendation`` records of its database
(api.cpicpgx.org, and the release files built from it). A record names a drug and a guideline and,
per gene, a ``lookupkey``: a phenotype (``"Poor Metabolizer"``), an activity score (``"1.5"``,
``"≥5"``), an HLA allele status (``"*57:01 positive"``) or ``"No Result"`` for a gene not tested;
with it come ``phenotypes``, ``activityscore``, ``drugrecommendation``, ``classification`` (the
strength) and ``population``. PharmCAT's ``report.json`` carries the same records for the genotypes
it matched (``drugs`` -> ``CPIC Guideline Annotation`` -> drug -> ``guidelines[].annotations[]``,
camel-cased: ``lookupKey``, ``drugRecommendation``, ``activityScore``).

:func:`read_records` reads any of three shapes: a list of recommendation records (the API's, with
``drug`` and ``guideline`` embedded or ``drugname``/``guidelinename``/``url`` beside them), a list of
drugs each holding its ``recommendations`` (CPIC's per-drug export), or a PharmCAT report.
:func:`compare` puts each record to the knowledge base through :func:`~seq2rx.pgx.guidance.recommend`
(so a record "maps" exactly when a patient with that genotype would get a row) and lists what is
missing, where strengths differ, and, for a whole release, our rows no record reaches.
:func:`draft_rows` writes the missing ones in ``drug_guidance.tsv``'s columns with CPIC's own text
marked for a curator to paraphrase: the shipped knowledge base stays in seq2rx's words.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, write_json
from seq2rx.pgx.guidance import GUIDANCE_COLUMNS, STRENGTHS, Guidance, recommend

#: lookup values that mean "this gene was not tested / does not take part"
NOT_TESTED = frozenset({"no result", "n/a", ""})
#: the marker a draft row's recommendation starts with: CPIC's words, to be paraphrased
DRAFT_MARK = "CPIC TEXT, PARAPHRASE BEFORE USE:"
_HLA = re.compile(r"^\*(\d+:\d+)\s+(positive|negative)$", re.IGNORECASE)
_SCORE = re.compile(r"^(≥|>=)?\s*(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class CpicRecord:
    drug: str
    guideline: str
    url: str
    lookup: tuple[tuple[str, str], ...]  # (gene, lookup key), in the record's order
    phenotypes: tuple[tuple[str, str], ...]
    classification: str
    population: str
    text: str
    version: str
    where: str  # e.g. "[12]" or "drugs.CPIC Guideline Annotation.clopidogrel.guidelines[0].annotations[1]"
    tested: tuple[str, ...] = field(default=())

    @property
    def key_text(self) -> str:
        return "; ".join(f"{g}={v}" for g, v in self.lookup)


def _text(value, path: str, where: str, name: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InputError(path, "must be a non-empty string", field=f"{where}.{name}")
    return value.strip()


def _mapping(value, path: str, where: str, name: str, *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise InputError(path, "must be an object of gene -> text", field=f"{where}.{name}")
    out = {}
    for gene, v in value.items():
        if not isinstance(gene, str) or not isinstance(v, str):
            raise InputError(path, f"gene {gene!r}: value must be text", field=f"{where}.{name}")
        out[gene.strip()] = v.strip()
    return out


def _record(rec, path: str, where: str, drug: str, guideline: str, url: str, version: str) -> CpicRecord:
    if not isinstance(rec, dict):
        raise InputError(path, "a recommendation must be a JSON object", field=where)

    def get(*names):
        return next((rec[n] for n in names if n in rec), None)

    lookup = get("lookupkey", "lookupKey")
    if isinstance(lookup, list):  # PharmCAT: a list of keys, one per matched genotype; all share genes
        if len(lookup) > 1:
            raise InputError(
                path, "more than one lookup key in one annotation is not supported", field=f"{where}.lookupKey"
            )
        lookup = lookup[0] if lookup else {}
    lookup = _mapping(lookup, path, where, "lookupkey")
    phenotypes = _mapping(get("phenotypes"), path, where, "phenotypes", required=False)
    classification = _text(get("classification"), path, where, "classification", required=False) or "n/a"
    text = _text(get("drugrecommendation", "drugRecommendation"), path, where, "drugrecommendation")
    population = _text(get("population"), path, where, "population", required=False) or "general"
    tested = tuple(g for g, v in lookup.items() if v.lower() not in NOT_TESTED)
    return CpicRecord(drug, guideline, url, tuple(lookup.items()), tuple(phenotypes.items()), classification,
                      population, text, version, where, tested)  # fmt: skip


def read_records(path: str | Path) -> tuple[str, list[CpicRecord]]:
    """("cpic" or "pharmcat", the records) of a CPIC recommendation file or a PharmCAT report."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as e:
        raise InputError(path, f"is not JSON ({e.msg}, line {e.lineno})") from None
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text") from None
    if isinstance(data, dict) and "drugs" in data:
        return "pharmcat", _read_pharmcat(data, path)
    if not isinstance(data, list):
        raise InputError(path, "must be a JSON list of CPIC recommendation records, a list of drugs with "
                               "their recommendations, or a PharmCAT report (an object with 'drugs')")  # fmt: skip
    records = []
    for i, item in enumerate(data):
        where = f"[{i}]"
        if not isinstance(item, dict):
            raise InputError(path, "must be a JSON object", field=where)
        if "recommendations" in item:  # a drug with its recommendations
            drug = _text(item.get("drugname") or item.get("name"), path, where, "drugname").lower()
            guideline = _text(item.get("guidelinename"), path, where, "guidelinename")
            url = _text(item.get("url"), path, where, "url")
            recs = item["recommendations"]
            if not isinstance(recs, list):
                raise InputError(path, "must be a list", field=f"{where}.recommendations")
            version = str(item.get("cpicVersion") or item.get("version") or "")
            records += [_record(r, path, f"{where}.recommendations[{j}]", drug, guideline, url, version)
                        for j, r in enumerate(recs)]  # fmt: skip
            continue
        drug_obj, guide_obj = item.get("drug"), item.get("guideline")
        drug = (drug_obj or {}).get("name") if isinstance(drug_obj, dict) else item.get("drugname")
        drug = _text(drug, path, where, "drug.name").lower()
        if isinstance(guide_obj, dict):
            guideline = _text(guide_obj.get("name"), path, where, "guideline.name")
            url = _text(guide_obj.get("url"), path, where, "guideline.url")
        else:
            guideline = _text(item.get("guidelinename"), path, where, "guidelinename")
            url = _text(item.get("url"), path, where, "url")
        records.append(_record(item, path, where, drug, guideline, url, str(item.get("version") or "")))
    return "cpic", records


def _read_pharmcat(data: dict, path: str) -> list[CpicRecord]:
    drugs = data["drugs"]
    if not isinstance(drugs, dict):
        raise InputError(path, "must be an object of sources", field="drugs")
    cpic = drugs.get("CPIC Guideline Annotation")
    if not isinstance(cpic, dict):
        raise InputError(path, "has no CPIC annotations (drugs -> 'CPIC Guideline Annotation')", field="drugs")
    records = []
    for name, drug in sorted(cpic.items()):
        base = f"drugs.CPIC Guideline Annotation.{name}"
        if not isinstance(drug, dict) or not isinstance(drug.get("guidelines", []), list):
            raise InputError(path, "must be an object with a list of guidelines", field=base)
        for i, g in enumerate(drug.get("guidelines", [])):
            where = f"{base}.guidelines[{i}]"
            if not isinstance(g, dict) or not isinstance(g.get("annotations", []), list):
                raise InputError(path, "must be an object with a list of annotations", field=where)
            guideline = _text(g.get("name"), path, where, "name")
            url = _text(g.get("url"), path, where, "url")
            version = str(g.get("version") or drug.get("version") or "")
            for j, a in enumerate(g.get("annotations", [])):
                if isinstance(a, dict) and not (a.get("lookupKey") or a.get("lookupkey")):
                    continue  # an annotation with no genotype key (warfarin's dosing algorithm)
                records.append(_record(a, path, f"{where}.annotations[{j}]", name.lower(), guideline, url, version))
    return records


def _strength(classification: str) -> str | None:
    """CPIC's classification in our vocabulary; None for "n/a"."""
    for s in STRENGTHS:
        if classification.lower() == s.lower():
            return s
    return None


def _score_text(value: float) -> str:
    return f"{value:g}"


def genotype(record: CpicRecord) -> dict[str, dict]:
    """A gene result (as the PGx step writes it) for each tested gene of the record, so that
    :func:`~seq2rx.pgx.guidance.recommend` can be asked what a patient with that genotype gets."""
    phen = dict(record.phenotypes)
    genes = {}
    for gene, key in record.lookup:
        if gene not in record.tested:
            continue
        result = {"status": "called", "diplotypes": [], "phenotype": None, "activity_score": None, "caveats": []}
        hla, score = _HLA.match(key), _SCORE.match(key)
        if hla:
            allele = f"*{hla.group(1)}"
            result["status"] = "outside call"
            result["diplotypes"] = [f"{allele}/other" if hla.group(2).lower() == "positive" else "other/other"]
        elif score:
            result["activity_score"] = float(score.group(2))
            result["phenotype"] = phen.get(gene) or None
        else:
            result["phenotype"] = key
        genes[gene] = result
    return genes


def kb_condition(g: Guidance) -> str:
    """A guidance row's condition as ``drug_guidance.tsv`` writes it: ``GENE=value`` terms
    (``CYP2C19=Poor Metabolizer``, ``DPYD=score:1.5``, ``HLA-B=carrier:*57:01``) joined by "; ",
    the way a CPIC record's ``cpic_key`` is written too."""
    return "; ".join(f"{t.gene}={'' if t.kind == 'phenotype' else t.kind + ':'}{t.value}" for t in g.terms)


#: the record statuses a curator must look at: a covered gene whose drug or condition we lack
MISSING = ("drug missing", "condition missing")


def compare(kind: str, records: list[CpicRecord], guidance: list[Guidance], covered: set[str]) -> dict:
    """Each record's fate in our knowledge base, and a summary. ``covered``: the genes seq2rx
    calls or takes as outside calls.

    A record's ``our_conditions`` are the conditions of the rows it reaches, in
    ``drug_guidance.tsv``'s own syntax (:func:`kb_condition`). ``needs_review`` is true when its
    drug or condition is missing for a covered gene, or when our strength differs from CPIC's and no
    record of another population with the same drug and lookup key agrees (clopidogrel's Moderate
    non-ACS/PCI populations beside its Strong ACS/PCI one need no review)."""
    by_drug: dict[str, list[Guidance]] = {}
    for g in guidance:
        by_drug.setdefault(g.drug, []).append(g)
    reached: set[tuple[str, str]] = set()  # (drug, condition display) of our rows some record reaches
    rows = []
    uncovered: set[str] = set()  # the genes of the records no covered gene is tested in
    for rec in records:
        tested = [g for g in rec.tested if g in covered]
        out = {"drug": rec.drug, "cpic_key": rec.key_text, "population": rec.population,
               "cpic_strength": rec.classification, "guideline": rec.guideline, "where": rec.where,
               "our_conditions": [], "our_strengths": [], "strength_agrees": None}  # fmt: skip
        if not rec.tested:
            out["status"] = "no genotype"
        elif not tested:
            out["status"] = "gene not covered"
            uncovered.update(rec.tested)
        elif rec.drug not in by_drug:
            out["status"] = "drug missing"
        else:
            genes = {g: r for g, r in genotype(rec).items() if g in covered}
            applied, _ = recommend(by_drug[rec.drug], genes)
            if not applied:
                out["status"] = "condition missing"
            else:
                out["status"] = "matched"
                syntax = {g.condition: kb_condition(g) for g in by_drug[rec.drug]}
                out["our_conditions"] = [syntax[r["phenotype"]] for r in applied]
                out["our_strengths"] = sorted({r["strength"] for r in applied})
                reached.update((rec.drug, r["phenotype"]) for r in applied)
                cpic = _strength(rec.classification)
                out["strength_agrees"] = None if cpic is None else cpic in out["our_strengths"]
        rows.append(out)
    # a drug-condition with several populations (clopidogrel ACS/PCI vs other indications) agrees
    # when our strength is that of one of its populations
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        if r["status"] == "matched" and r["strength_agrees"] is not None:
            groups.setdefault((r["drug"], r["cpic_key"]), []).append(r)
    for r in rows:
        differs = r["strength_agrees"] is False and not any(
            o["strength_agrees"] for o in groups.get((r["drug"], r["cpic_key"]), [])
        )
        r["needs_review"] = r["status"] in MISSING or differs
    summary = {"records": len(rows)}
    for r in rows:
        summary[r["status"]] = summary.get(r["status"], 0) + 1
    summary["strength_agrees"] = sum(1 for r in rows if r["strength_agrees"] is True)
    summary["strength_differs"] = sum(1 for r in rows if r["strength_agrees"] is False)
    summary["conditions_compared"] = len(groups)
    summary["conditions_agreeing_for_some_population"] = sum(
        1 for rs in groups.values() if any(r["strength_agrees"] for r in rs)
    )
    summary["needs_review"] = sum(1 for r in rows if r["needs_review"])
    summary["genes_not_covered"] = sorted(uncovered)
    result = {"input": kind, "summary": summary, "records": rows}
    if kind == "cpic":  # a whole release: our rows that no record of a drug it covers reaches
        drugs = {r.drug for r in records}
        result["kb_rows_not_in_cpic"] = [
            {"drug": g.drug, "condition": kb_condition(g), "strength": g.strength}
            for g in guidance
            if g.drug in drugs and (g.drug, g.condition) not in reached
        ]
        result["kb_drugs_not_in_cpic"] = sorted(set(by_drug) - drugs)
    else:
        result["kb_rows_not_in_cpic"] = None  # a report holds only the patient's records: not assessed
        result["kb_drugs_not_in_cpic"] = None
    return result


def _condition(rec: CpicRecord, gene: str, *, by_score: bool) -> str:
    key = dict(rec.lookup)[gene]
    hla, score = _HLA.match(key), _SCORE.match(key)
    if hla:
        return f"{gene}={'carrier' if hla.group(2).lower() == 'positive' else 'noncarrier'}:*{hla.group(1)}"
    if score:
        phenotype = dict(rec.phenotypes).get(gene)
        if by_score and not score.group(1):
            return f"{gene}=score:{_score_text(float(score.group(2)))}"
        if phenotype:
            return f"{gene}={phenotype}"
        return f"{gene}=score:{_score_text(float(score.group(2)))}"
    return f"{gene}={key}"


def draft_rows(records: list[CpicRecord], comparison: dict, *, date: str) -> list[dict]:
    """Rows in ``drug_guidance.tsv``'s columns for the records our knowledge base lacks. Activity
    scores are written as phenotypes unless two scores of one phenotype get different advice."""
    missing = [rec for rec, row in zip(records, comparison["records"], strict=True)
               if row["status"] in MISSING]  # fmt: skip
    by_phenotype: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    for rec in missing:
        cond = "; ".join(_condition(rec, g, by_score=False) for g in rec.tested)
        by_phenotype.setdefault((rec.drug, cond), set()).add((rec.text, rec.classification, rec.population))
    out, seen = [], set()
    for rec in missing:
        cond = "; ".join(_condition(rec, g, by_score=False) for g in rec.tested)
        if len(by_phenotype[(rec.drug, cond)]) > 1:
            cond = "; ".join(_condition(rec, g, by_score=True) for g in rec.tested)
        text = " ".join(rec.text.split())
        if rec.population.lower() != "general":
            text += f" [CPIC population: {rec.population}]"
        row = {
            "drug": rec.drug,
            "genes": ";".join(rec.tested),
            "condition": cond,
            "recommendation": f"{DRAFT_MARK} {text}",
            "strength": _strength(rec.classification) or "No recommendation",
            "guideline": f"CPIC: {rec.guideline}",
            "source": rec.url,
            "date": date or _date(rec.version) or "unknown",
        }
        key = tuple(row.values())
        if key not in seen:
            seen.add(key)
            out.append(row)
    out.sort(key=lambda r: (r["drug"], r["condition"], r["recommendation"]))
    return out


def _date(version: str) -> str | None:
    m = re.match(r"^(\d{4})-(\d{2})", version)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def release_month(text: str) -> str:
    """``--date`` checked: a real month written ``YYYY-MM`` (``2026-01``; not ``2026-13``,
    ``2026-1`` or ``2026-01-15``). A bad one is a ``seq2rx:`` error naming ``--date``."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        raise InputError("--date", f"{text!r} is not a month written YYYY-MM",
                         hint="give the CPIC release's month, e.g. --date 2026-01, or leave it out to use the "
                              "records' version")  # fmt: skip
    return text.strip()


def summary_line(kind: str, comparison: dict, drafts: list[dict], drafts_path: str | Path) -> str:
    """What the import found, in plain words, for the command to print (one line)."""
    s = comparison["summary"]
    missing = sum(s.get(status, 0) for status in MISSING)
    covered = s["records"] - s.get("gene not covered", 0) - s.get("no genotype", 0)
    parts = [f"{kind} input: {s['records']} records"]
    if covered:
        parts.append(f"{s.get('matched', 0)} of the {covered} records of a covered gene map to a knowledge-base "
                     "row" + (f", {missing} do not (drug or condition missing)" if missing else ""))  # fmt: skip
    if s.get("gene not covered"):
        genes = s["genes_not_covered"]
        shown = ", ".join(genes[:6]) + (", ..." if len(genes) > 6 else "")
        parts.append(f"{s['gene not covered']} are for genes seq2rx does not cover ({shown})")
    if s.get("no genotype"):
        parts.append(f"{s['no genotype']} name no tested gene")
    parts.append(f"strengths: {s['strength_agrees']} agree, {s['strength_differs']} differ")
    n = s["needs_review"]
    parts.append(f"{n} record{'' if n == 1 else 's'} need{'s' if n == 1 else ''} review (the needs_review column)")
    if drafts:
        parts.append(f"{len(drafts)} draft rows for what is missing, in {drafts_path} (CPIC's words: paraphrase "
                     "them before use)")  # fmt: skip
    elif covered:
        parts.append("no draft rows: every record of a covered gene maps to a knowledge-base row")
    else:
        parts.append("no draft rows: no record names a gene seq2rx covers")
    return "; ".join(parts)


COMPARISON_COLUMNS = ("drug", "cpic_key", "population", "cpic_strength", "status", "our_conditions", "our_strengths",
                      "strength_agrees", "needs_review", "guideline", "where")  # fmt: skip


def write_outputs(comparison: dict, drafts: list[dict], out_dir: str | Path) -> dict[str, Path]:
    """``comparison.json``, ``comparison.tsv`` and ``draft_guidance.tsv`` in ``out_dir``. In the
    TSV a list (``our_conditions``, ``our_strengths``) is joined by " | ", so the "; " between the
    terms of one condition stays unambiguous."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "comparison.json", "tsv": out_dir / "comparison.tsv",
             "drafts": out_dir / "draft_guidance.tsv"}  # fmt: skip
    write_json(comparison, paths["json"])

    def cell(v) -> str:
        if isinstance(v, list):
            v = " | ".join(v)
        return "" if v is None else " ".join(str(v).split())

    with atomic_output(paths["tsv"]) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(COMPARISON_COLUMNS)
        for r in comparison["records"]:
            w.writerow([cell(r[c]) for c in COMPARISON_COLUMNS])
    with atomic_output(paths["drafts"]) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(GUIDANCE_COLUMNS)
        for r in drafts:
            w.writerow([cell(r[c]) for c in GUIDANCE_COLUMNS])
    return paths
