"""The whole PGx step for one or many samples: genotypes → diplotypes → phenotypes → guidance.

``PgxKnowledge.load`` reads ``resources/kb/pgx/`` once; ``call_sample`` turns one sample's
genotypes (and optional outside calls, e.g. CYP2D6 and HLA typed elsewhere) into the document
written to ``results/pgx/{sample}.json``; ``write_json`` / ``write_tsv`` write it atomically.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _atomic_json
from seq2rx.pgx import definitions as defs
from seq2rx.pgx import phenotypes as phen
from seq2rx.pgx.guidance import AlertLevel, Guidance, read_alert_levels, read_drug_codes, read_guidance, recommend
from seq2rx.pgx.matcher import Diplotype, GeneGenotypes, GeneMatcher, MatchResult
from seq2rx.pgx.vcf import DEFAULT_FILTERS, CohortGenotypes, read_cohort

#: genes that enter only as outside calls (copy number, HLA typing and the mitochondrial genome
#: are not callable here)
OUTSIDE_ONLY = ("CYP2D6", "HLA-A", "HLA-B", "MT-RNR1")
GENE_COLUMNS = (
    "sample",
    "gene",
    "status",
    "diplotypes",
    "phenotype",
    "activity_score",
    "missing_positions",
    "warnings",
)
DRUG_COLUMNS = ("sample", "drug", "genes", "phenotype", "recommendation", "strength", "source")
MAX_CANDIDATES = 10


def _duplication(allele: str) -> tuple[str | None, int]:
    """``*2x2`` -> (``*2``, 2); (None, 1) for an allele not written as a duplication."""
    m = re.fullmatch(r"(.+?)x(\d+)", allele)
    return (m.group(1), int(m.group(2))) if m else (None, 1)


@dataclass
class PgxKnowledge:
    definitions: dict[str, defs.GeneDefinition]
    phenotypes: dict[str, phen.GenePhenotypes]
    guidance: list[Guidance]
    matchers: dict[str, GeneMatcher]
    provenance: dict
    #: gene -> the AMP minimum-panel (tier-1) alleles a clinical lab must be able to see
    tier1: dict[str, list[str]]
    #: the (drug, condition) rows whose CDS Hooks card is critical (``alert_levels.tsv``)
    alert_levels: list[AlertLevel] = field(default_factory=list)
    #: drug -> RxNorm ingredient code (``drug_codes.tsv``)
    drug_codes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, kb_dir: str | Path) -> PgxKnowledge:
        kb_dir = Path(kb_dir)
        definitions = defs.read_kb(kb_dir)
        phenotypes = phen.read_kb(kb_dir)
        guidance = read_guidance(kb_dir / "drug_guidance.tsv")
        matchers = {
            g: GeneMatcher(d, phenotypes[g].activity if g in phenotypes else None) for g, d in definitions.items()
        }
        provenance = {
            "definitions": sorted({f"{d.source} ({d.date})" for d in definitions.values()}),
            "phenotypes": sorted({f"{p.source} ({p.date})" for p in phenotypes.values()}),
            "guidance_rows": len(guidance),
            "guidance_latest_date": max((g.date for g in guidance), default=""),
        }
        # alert levels and drug codes are optional: a knowledge-base folder without them gives
        # "warning" for every actionable row and no RxNorm codes
        alerts = read_alert_levels(kb_dir / "alert_levels.tsv") if (kb_dir / "alert_levels.tsv").exists() else []
        codes = read_drug_codes(kb_dir / "drug_codes.tsv") if (kb_dir / "drug_codes.tsv").exists() else {}
        return cls(definitions, phenotypes, guidance, matchers, provenance, defs.read_tier1(kb_dir), alerts, codes)

    @property
    def known_genes(self) -> set[str]:
        genes = set(self.definitions) | set(self.phenotypes) | set(OUTSIDE_ONLY)
        for g in self.guidance:
            genes.update(g.genes)
        return genes

    def reference_phenotypes(self) -> dict[str, str]:
        """Gene -> the phenotype of its reference diplotype (the reference allele twice): what is
        normal for the gene, in the gene's own words: "Normal Metabolizer" (CYP2C19, DPYD),
        "Normal Function" (SLCO1B1), "Rapid Metabolizer" (NAT2, whose reference allele is rapid),
        "-1639 GG" (VKORC1). The reference allele is the one the allele definitions mark; a gene
        without definitions (an outside-call gene such as CYP2D6) takes ``*1``, the reference of
        star-allele nomenclature, or the allele its function table calls ``Reference`` (MT-RNR1,
        whose one allele gives its phenotype). Genes without phenotype rules (CYP4F2, IFNL3, HLA)
        are left out.
        """
        out = {}
        for gene in sorted(self.known_genes):
            d = self.definitions.get(gene)
            p = self.phenotypes.get(gene)
            ref = d.reference_allele if d is not None and d.reference_allele else "*1"
            if d is None and p is not None and "Reference" in p.functions:
                ref = "Reference"
            phenotype, _ = self.phenotype(gene, ref) if p is not None and p.haploid else self.phenotype(gene, ref, ref)
            if phenotype not in (None, "Indeterminate"):
                out[gene] = phenotype
        return out

    def risk_alleles(self) -> dict[str, list[str]]:
        """Gene -> the alleles whose carriage a drug-guidance row turns on (``carrier:`` and
        ``noncarrier:`` conditions: HLA-B *57:01, HLA-A *31:01, CYP4F2 *3, ...), sorted."""
        out: dict[str, set[str]] = {}
        for g in self.guidance:
            for t in g.terms:
                if t.kind in ("carrier", "noncarrier"):
                    out.setdefault(t.gene, set()).add(t.value)
        return {gene: sorted(alleles) for gene, alleles in sorted(out.items())}

    # -- phenotype -------------------------------------------------------------------------------
    def activity(self, gene: str, allele: str) -> float | None:
        p = self.phenotypes.get(gene)
        if p is None:
            return None
        if allele in p.activity:
            return p.activity[allele]
        base, copies = _duplication(allele)
        return p.activity[base] * copies if base in p.activity else None

    def function(self, gene: str, allele: str) -> str | None:
        p = self.phenotypes.get(gene)
        if p is None:
            return None
        if allele in p.functions:
            return p.functions[allele]
        base, _copies = _duplication(allele)
        if base in p.functions and (self.activity(gene, allele) or 0) > 1:
            return "Increased function"
        return None

    def phenotype(self, gene: str, a1: str, a2: str | None = None) -> tuple[str | None, float | None]:
        """(phenotype, activity score) of a diplotype, or of one allele for a haploid gene (MT-RNR1)."""
        p = self.phenotypes.get(gene)
        if p is None or not p.rules:
            return None, None
        if p.activity and a2 is not None:
            v1, v2 = self.activity(gene, a1), self.activity(gene, a2)
            if v1 is None or v2 is None:
                return "Indeterminate", None
            score = v1 + v2
            return p.rules.get(("score", phen._score_key(score)), "Indeterminate"), score
        return p.phenotype(a1, a2)


def _diplotype_entry(kb: PgxKnowledge, gene: str, d: Diplotype) -> dict:
    a, b = d.haplotypes
    if d.kind == "combination":
        phenotype, score = "Indeterminate", None
    else:
        phenotype, score = kb.phenotype(gene, a.name, b.name)
    return {
        "diplotype": d.name,
        "kind": d.kind,
        "score": d.score,
        "functions": [kb.function(gene, h.name) if h.exact else None for h in (a, b)],
        "phenotype": phenotype,
        "activity_score": score,
    }


def gene_result(kb: PgxKnowledge, gene: str, match: MatchResult) -> dict:
    """The JSON entry of one gene: the call, its phenotype, and what limits it.

    Missing positions lower or block a call. When an AMP tier-1 allele (the minimum panel a
    clinical lab tests) cannot be seen because any of its variant positions is missing, the call is
    ``incomplete`` and carries a caveat; when half or more of them cannot be seen, it is blocked
    (``not called``). On unphased data, a lower-scoring candidate with another phenotype is named
    in a caveat too: the reported diplotype is the most specific, not the only one.
    """
    top = [_diplotype_entry(kb, gene, d) for d in match.diplotypes]
    warnings = list(match.warnings)
    caveats: list[str] = []
    phenotypes = {e["phenotype"] for e in top}
    scores = {e["activity_score"] for e in top}
    tier1 = kb.tier1.get(gene, [])
    untested = [a for a in tier1 if a in match.untestable]
    if top and tier1 and 2 * len(untested) >= len(tier1):
        warnings.append(
            f"blocked: {len(untested)} of {len(tier1)} AMP tier-1 alleles cannot be tested "
            f"({', '.join(untested)}): their positions are missing"
        )
        top, phenotypes, scores = [], set(), set()
    if not top:
        status, phenotype, score = "not called", None, None
        if not any(w.startswith("blocked") for w in warnings):
            warnings.append("no pair of named alleles explains the genotypes")
    else:
        kinds = {e["kind"] for e in top}
        phenotype = phenotypes.pop() if len(phenotypes) == 1 else "Indeterminate"
        score = scores.pop() if len(scores) == 1 else None
        if "combination" in kinds:
            status = "combination"
            warnings.append(
                "no pair of named alleles explains the genotypes; shown as combination/partial alleles, "
                "which have no CPIC phenotype"
            )
        elif len(top) > 1:
            status = "ambiguous"
            if len({e["phenotype"] for e in top}) > 1:
                warnings.append(
                    f"{len(top)} diplotypes explain the data equally well and their phenotypes differ; "
                    "phasing or a targeted assay would resolve it"
                )
        else:
            status = "called"
        # a tier-1 allele with any of its variant positions missing (CYP2C19 *17 without
        # rs12248560, its other position called) may be hidden: the call is incomplete
        partly = {a: match.partly_tested[a] for a in tier1 if a in match.partly_tested and a not in untested}
        if untested or partly:
            status = "incomplete" if status == "called" else status
        if untested:
            caveats.append(f"{gene} {', '.join(untested)} not tested (positions missing)")
        for allele, where in partly.items():
            caveats.append(f"{gene} {allele} only partly tested ({', '.join(where)} missing)")
    candidates = [_diplotype_entry(kb, gene, d) for d in match.candidates[:MAX_CANDIDATES]] or top
    if top and phenotype not in (None, "Indeterminate"):
        others = [c for c in candidates if c["diplotype"] not in {e["diplotype"] for e in top}]
        differing = [c for c in others if c["phenotype"] not in (phenotype, None)]
        if differing:
            c = differing[0]
            caveats.append(
                f"{gene}: the genotypes also fit {c['diplotype']} ({c['phenotype']}); "
                f"{top[0]['diplotype']} is reported as the more specific explanation"
            )
    return {
        "gene": gene,
        "source": "genotypes",
        "status": status,
        "diplotypes": [e["diplotype"] for e in top],
        "phenotype": phenotype,
        "activity_score": score,
        "candidates": candidates,
        "missing_positions": match.missing_positions,
        "warnings": warnings,
        "caveats": caveats,
    }


HLA_ALLELE = re.compile(r"^(?:HLA-)?(?:[A-Z]+\d?)?\*(\d{2,3}:\d{2,3})(?::\d{2,3}){0,2}[A-Z]?$")


#: an outside call's phenotype for an HLA gene: an allele and whether it is carried
HLA_PHENOTYPE = re.compile(r"^(?:HLA-[A-Z]+\d?)?\*\d{2,3}:\d{2,3} (?:positive|negative|carrier|noncarrier)$")
#: a star allele or haplotype name where the knowledge base holds no allele list for the gene
STAR_ALLELE = re.compile(r"^\*\d+(?:\.\d+)?[A-Z]?(?:x\d+)?$")
#: where the alleles of the outside-call-only genes are listed (named in messages)
OUTSIDE_ALLELES = "resources/kb/pgx/outside_allele_functions.tsv"
#: the characters of a phenotype for a gene without a vocabulary (no markup, no control characters)
PLAIN_TERM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,:;*+/()-]*$")


def _check_outside_value(path, lineno: int, gene: str, alleles: list[str], phenotype: str | None,
                         kb: PgxKnowledge) -> None:  # fmt: skip
    """An outside call's alleles and phenotype from the knowledge base's vocabulary, or stop:
    HLA alleles are checked by :func:`normalise_hla` and an HLA phenotype must read
    ``*57:01 positive`` (or ``negative``, ``carrier``, ``noncarrier``); another gene's alleles must
    be the knowledge base's (``*2x2``, a duplication of one, too; ``*36+*10``, a tandem of them),
    or star alleles when it lists none; a phenotype of a gene without phenotype rules must be
    plain words. What is not in the vocabulary is a typo or worse (markup in a report), never a
    call."""
    known = kb.phenotypes[gene].functions if gene in kb.phenotypes else {}
    if not gene.startswith("HLA-"):
        for allele in alleles:
            for part in allele.split("+"):
                base = _duplication(part)[0] or part
                if (base not in known) if known else not STAR_ALLELE.match(part):
                    hint = f"write {gene} star alleles such as *1, *4 or *2x2, as listed in {OUTSIDE_ALLELES}"
                    raise InputError(str(path), f"{allele!r} is not a {gene} allele seq2rx knows", line=lineno,
                                     field="diplotype", hint=hint)  # fmt: skip
    if phenotype is None or (gene in kb.phenotypes and kb.phenotypes[gene].rules):
        return  # none given, or checked against the gene's phenotype rules
    if gene.startswith("HLA-"):
        if not HLA_PHENOTYPE.match(phenotype) or normalise_hla(phenotype.split()[0]) is None:
            raise InputError(str(path), f"{phenotype!r} is not an {gene} phenotype", line=lineno, field="phenotype",
                             hint="write the allele and whether it is carried, e.g. *57:01 positive or "
                             "*57:01 negative")  # fmt: skip
    elif not PLAIN_TERM.match(phenotype):
        raise InputError(str(path), f"{phenotype!r} is not a {gene} phenotype (only letters, digits, spaces and "
                         ".,:;*+/()- are allowed)", line=lineno, field="phenotype")  # fmt: skip


def _one_allele(path, lineno: int, gene: str, text: str, kb: PgxKnowledge) -> str:
    """The one allele of an outside call for a haploid (mitochondrial) gene, as the knowledge
    base names it (``m.1555A>G``, or ``Reference``), or stop: a diplotype, a heteroplasmy level or
    an unlisted variant is not a call seq2rx can read."""
    known = kb.phenotypes[gene].functions
    example = min(a for a in known if a != "Reference")
    hint = (f"write one variant as CPIC names it (e.g. {example}) or Reference, without a heteroplasmy level; "
            f"the variants are listed in {OUTSIDE_ALLELES}")  # fmt: skip
    if "/" in text:
        raise InputError(str(path), f"{gene} is mitochondrial (one allele), so {text!r} is not a call", line=lineno,
                         field="diplotype", hint=hint)  # fmt: skip
    if text not in known:
        raise InputError(str(path), f"{text!r} is not an {gene} variant seq2rx knows", line=lineno, field="diplotype",
                         hint=hint)  # fmt: skip
    return text


def normalise_hla(allele: str) -> str | None:
    """``HLA-B*57:01:01``, ``B*57:01`` or ``*57:01`` -> ``*57:01`` (two fields); None if not HLA."""
    m = HLA_ALLELE.match(allele.strip())
    return f"*{m.group(1)}" if m else None


def read_outside_calls(path: str | Path, kb: PgxKnowledge) -> tuple[dict[str, dict], list[str]]:
    """Outside calls in the reference tool's format: ``GENE<TAB>DIPLOTYPE[<TAB>PHENOTYPE[<TAB>SCORE]]``.

    Returns (gene → result, warnings). Unknown genes are reported in the warnings, not fatal.
    HLA alleles are brought to two fields (``HLA-B*57:01:01`` -> ``*57:01``); a haploid
    (mitochondrial) gene takes one allele, not a pair (``MT-RNR1<TAB>m.1555A>G``); a phenotype must
    be one seq2rx knows for that gene; an activity score must be a finite number.
    """
    name = Path(path).name
    results: dict[str, dict] = {}
    warnings: list[str] = []
    known = kb.known_genes
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot be read as a UTF-8 text file ({exc.__class__.__name__})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 2:
            raise InputError(str(path), "expected GENE<TAB>DIPLOTYPE", line=lineno, hint="columns are tab-separated")
        gene, diplotype = fields[0], fields[1]
        given_phenotype = fields[2] if len(fields) > 2 and fields[2] else None
        if gene not in known:
            warnings.append(f"{name}, line {lineno}: outside call for {gene!r}, a gene seq2rx has no knowledge of")
            continue
        if gene in results:
            raise InputError(str(path), f"{gene} is called twice", line=lineno, field="gene")
        haploid = gene in kb.phenotypes and kb.phenotypes[gene].haploid
        if haploid and diplotype:
            diplotype = _one_allele(path, lineno, gene, diplotype, kb)
        elif diplotype and diplotype.count("/") != 1:
            raise InputError(str(path), f"diplotype {diplotype!r} is not ALLELE/ALLELE", line=lineno, field="diplotype",
                             hint="write two alleles separated by one '/', e.g. *1/*4")  # fmt: skip
        if not diplotype and not given_phenotype:
            raise InputError(str(path), "a diplotype or a phenotype is required", line=lineno, field="diplotype")
        alleles = [a.strip() for a in diplotype.split("/")] if diplotype else []
        if gene.startswith("HLA-"):
            hla = [normalise_hla(a) for a in alleles]
            if None in hla:
                raise InputError(
                    str(path), f"{diplotype!r} is not an HLA diplotype such as *57:01/*07:02", line=lineno,
                    field="diplotype",
                )  # fmt: skip
            alleles = hla
        vocabulary = set(kb.phenotypes[gene].rules.values()) if gene in kb.phenotypes else set()
        if given_phenotype and vocabulary and given_phenotype not in vocabulary:
            raise InputError(
                str(path), f"{given_phenotype!r} is not a {gene} phenotype; expected one of "
                + ", ".join(sorted(vocabulary)), line=lineno, field="phenotype",
            )  # fmt: skip
        _check_outside_value(path, lineno, gene, alleles, given_phenotype, kb)
        entry_warnings = []
        phenotype, score = given_phenotype, None
        if alleles:
            derived, score = kb.phenotype(gene, *alleles)
            if given_phenotype and derived and derived != given_phenotype:
                entry_warnings.append(f"outside phenotype {given_phenotype!r}; seq2rx derives {derived!r}")
            phenotype = given_phenotype or derived
            if phenotype == "Indeterminate":
                entry_warnings.append(f"an allele of {diplotype} has no known function")
        if len(fields) > 3 and fields[3]:
            try:
                given_score = float(fields[3])
            except ValueError:
                given_score = float("nan")
            if not math.isfinite(given_score):
                raise InputError(str(path), f"activity score {fields[3]!r} is not a number", line=lineno,
                                 field="activity score")  # fmt: skip
            if score is not None and abs(score - given_score) > 1e-9:
                entry_warnings.append(f"outside activity score {given_score:g}; seq2rx derives {score:g}")
            score = given_score if score is None else score
        results[gene] = {
            "gene": gene,
            "source": "outside call",
            "status": "outside call",
            "diplotypes": ["/".join(alleles)] if alleles else [],
            "phenotype": phenotype,
            "activity_score": score,
            "candidates": [],
            "missing_positions": [],
            "warnings": entry_warnings,
            "caveats": [],
        }
    return results, warnings


def call_sample(
    kb: PgxKnowledge,
    sample: str,
    genotypes: dict[str, GeneGenotypes],
    outside: tuple[dict[str, dict], list[str]] | None = None,
) -> dict:
    genes = {g: gene_result(kb, g, kb.matchers[g].match(genotypes[g])) for g in sorted(kb.matchers)}
    warnings: list[str] = []
    if outside:
        calls, outside_warnings = copy.deepcopy(outside)
        warnings.extend(outside_warnings)
        for gene, result in calls.items():
            if gene in genes:
                result["warnings"].append(
                    f"outside call replaces seq2rx's own call ({'|'.join(genes[gene]['diplotypes']) or 'not called'})"
                )
            genes[gene] = result
    genes = dict(sorted(genes.items()))
    recommendations, unmatched = recommend(kb.guidance, genes, alert_levels=kb.alert_levels, drug_codes=kb.drug_codes)
    return {
        "sample": sample,
        "genes": genes,
        "recommendations": recommendations,
        "drugs_without_guidance": unmatched,
        "warnings": warnings,
        "knowledge_base": kb.provenance,
    }


def call_vcf(
    kb: PgxKnowledge,
    vcf: str | Path,
    samples: list[str] | None = None,
    outside_calls: str | Path | None = None,
    min_depth: int = 0,
    *,
    filters: tuple[str, ...] | list[str] = DEFAULT_FILTERS,
    absent_as_reference: bool = False,
) -> list[dict]:
    """Every sample (or ``samples``) of ``vcf``: see :func:`~seq2rx.pgx.vcf.read_cohort` for
    ``filters`` and ``absent_as_reference``. A result read with other than the default settings
    says so: a top-level warning and its ``vcf_reading`` entry. For a cohort, :func:`call_cohort`
    gives the same documents one at a time."""
    cohort = read_cohort(
        vcf, kb.definitions, samples, min_depth=min_depth, filters=filters, absent_as_reference=absent_as_reference
    )
    outside = read_outside_calls(outside_calls, kb) if outside_calls else None
    return list(call_cohort(kb, cohort, outside, filters=filters))


def call_cohort(
    kb: PgxKnowledge,
    cohort: CohortGenotypes,
    outside: tuple[dict[str, dict], list[str]] | None = None,
    *,
    filters: tuple[str, ...] | list[str] = DEFAULT_FILTERS,
) -> Iterator[dict]:
    """Each sample's document (as :func:`call_vcf` makes it) from a cohort read once by
    :func:`~seq2rx.pgx.vcf.read_cohort`, built when asked for and not kept: memory holds the
    cohort's compact genotypes and one sample's result, however many samples there are.
    ``filters`` are those the cohort was read with (named in the result when not the default)."""
    for sample, genotypes in cohort:
        doc = call_sample(kb, sample, genotypes, outside)
        _note_reading(doc, filters, cohort.absent_as_reference)
        yield doc


def _note_reading(doc: dict, filters, absent_as_reference: bool) -> None:
    if sorted(filters) == sorted(DEFAULT_FILTERS) and not absent_as_reference:
        return
    doc["vcf_reading"] = {"filters": sorted(filters), "absent_as_reference": absent_as_reference}
    if absent_as_reference:
        doc["warnings"].append(
            "absent_as_reference was used: definition positions without a record in the VCF were taken as "
            "homozygous reference, as for a cohort VCF that lists variant sites only; a position without reads "
            "would be taken as reference too"
        )
    if sorted(filters) != sorted(DEFAULT_FILTERS):
        doc["warnings"].append(f"records were read with FILTER {', '.join(sorted(filters))} (or '.')")


def call_workflow_sample(
    kb: PgxKnowledge,
    vcf: str | Path,
    sample: str,
    outside_calls: str | Path | None,
    min_depth: int,
    *,
    filters: tuple[str, ...] | list[str] = DEFAULT_FILTERS,
    absent_as_reference: bool = False,
) -> dict:
    """One sheet sample: its VCF column, or the only column of a single-sample VCF made elsewhere."""
    import pysam

    try:
        with pysam.VariantFile(str(vcf)) as fh:
            columns = list(fh.header.samples)
    except (OSError, ValueError) as exc:
        raise InputError(str(vcf), f"cannot be read as a VCF ({exc})") from None
    column = sample if sample in columns or len(columns) != 1 else columns[0]
    (doc,) = call_vcf(
        kb, vcf, [column], outside_calls, min_depth, filters=filters, absent_as_reference=absent_as_reference
    )
    if column != sample:
        doc["warnings"].append(f"the VCF's only sample column is named {column!r}; used for sample {sample!r}")
        doc["sample"] = sample
    return doc


def write_json(doc: dict, path: str | Path) -> None:
    _atomic_json(doc, path, sort_keys=False, ensure_ascii=False)


def _fmt(v) -> str:
    if v is None:
        return "."
    if isinstance(v, float):
        return f"{v:g}"
    return str(v).replace("\t", " ").replace("\n", " ")


def _gene_rows(doc: dict) -> Iterator[list]:
    for gene, r in doc["genes"].items():
        yield [doc["sample"], gene, r["status"], "|".join(r["diplotypes"]) or ".", _fmt(r["phenotype"]),
               _fmt(r["activity_score"]), len(r["missing_positions"]), _fmt("; ".join(r["warnings"]) or None)]  # fmt: skip


def _drug_rows(doc: dict) -> Iterator[list]:
    for r in doc["recommendations"]:
        yield [doc["sample"], r["drug"], ";".join(r["genes"]), _fmt(r["phenotype"]), _fmt(r["recommendation"]),
               r["strength"], _fmt(r["source"])]  # fmt: skip


def write_tsv(docs: list[dict], genes_path: str | Path, drugs_path: str | Path | None = None) -> None:
    with ResultsWriter(None, genes_tsv=genes_path, drugs_tsv=drugs_path) as out:
        for doc in docs:
            out.add(doc)


class ResultsWriter:
    """Write sample documents as they come, each file atomically: the JSON (one document alone
    when ``single``, else ``{"samples": [...]}``, byte for byte what :func:`write_json` writes for
    the whole list), the gene table and the drug table (``None``: not written). Each document is
    written when added and not kept, so a cohort's results never sit in memory together. Files
    appear only when the ``with`` block ends cleanly; on any error inside it none does.
    """

    def __init__(self, json_path: str | Path | None, *, single: bool = False, genes_tsv: str | Path | None = None,
                 drugs_tsv: str | Path | None = None) -> None:  # fmt: skip
        self._paths = (json_path, genes_tsv, drugs_tsv)
        self._single = single
        self._stack = contextlib.ExitStack()
        self._json = self._genes = self._drugs = None
        #: documents written so far
        self.written = 0

    def __enter__(self) -> ResultsWriter:
        handles = []
        with self._stack as stack:
            for path in self._paths:
                tmp = stack.enter_context(atomic_output(path)) if path is not None else None
                handles.append(stack.enter_context(open(tmp, "w", newline="", encoding="utf-8")) if tmp else None)
            self._stack = stack.pop_all()  # opened: kept open until __exit__
        self._json, genes, drugs = handles
        self._genes = csv.writer(genes, delimiter="\t", lineterminator="\n") if genes else None
        self._drugs = csv.writer(drugs, delimiter="\t", lineterminator="\n") if drugs else None
        if self._genes:
            self._genes.writerow(GENE_COLUMNS)
        if self._drugs:
            self._drugs.writerow(DRUG_COLUMNS)
        return self

    def add(self, doc: dict) -> None:
        """Write one sample's document to every output."""
        if self._json is not None:
            if self._single and self.written:
                raise ValueError("a single-sample result holds one document")
            text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False)
            if not self._single:
                # a member of {"samples": [...]} sits two levels deep: every line 4 more spaces in
                text = ('{\n  "samples": [\n' if not self.written else ",\n") + "    " + text.replace("\n", "\n    ")
            self._json.write(text)
        if self._genes:
            self._genes.writerows(_gene_rows(doc))
        if self._drugs:
            self._drugs.writerows(_drug_rows(doc))
        self.written += 1

    def _finish(self) -> None:
        if self._json is None:
            return
        if self._single:
            if not self.written:
                raise ValueError("a single-sample result needs its document")
            self._json.write("\n")
        else:
            self._json.write("\n  ]\n}\n" if self.written else '{\n  "samples": []\n}\n')

    def __exit__(self, kind, value, tb) -> bool:
        if kind is None:
            try:
                self._finish()
            except BaseException:
                if not self._stack.__exit__(*sys.exc_info()):
                    raise
                return False
        return self._stack.__exit__(kind, value, tb)
