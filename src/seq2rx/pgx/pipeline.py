"""The whole PGx step for one or many samples: genotypes → diplotypes → phenotypes → guidance.

``PgxKnowledge.load`` reads ``resources/kb/pgx/`` once; ``call_sample`` turns one sample's
genotypes (and optional outside calls, e.g. CYP2D6 and HLA typed elsewhere) into the document
written to ``results/pgx/{sample}.json``; ``write_json`` / ``write_tsv`` write it atomically.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..io import atomic_output
from . import definitions as defs
from . import phenotypes as phen
from .guidance import Guidance, read_guidance, recommend
from .matcher import Diplotype, GeneGenotypes, GeneMatcher, MatchResult
from .vcf import read_genotypes

#: genes that enter only as outside calls (copy number and HLA typing are not callable here)
OUTSIDE_ONLY = ("CYP2D6", "HLA-A", "HLA-B")
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


@dataclass
class PgxKnowledge:
    definitions: dict[str, defs.GeneDefinition]
    phenotypes: dict[str, phen.GenePhenotypes]
    guidance: list[Guidance]
    matchers: dict[str, GeneMatcher]
    provenance: dict

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
        return cls(definitions, phenotypes, guidance, matchers, provenance)

    @property
    def known_genes(self) -> set[str]:
        genes = set(self.definitions) | set(self.phenotypes) | set(OUTSIDE_ONLY)
        for g in self.guidance:
            genes.update(g.genes)
        return genes

    # -- phenotype -------------------------------------------------------------------------------
    def activity(self, gene: str, allele: str) -> float | None:
        p = self.phenotypes.get(gene)
        if p is None:
            return None
        if allele in p.activity:
            return p.activity[allele]
        m = re.fullmatch(r"(.+?)x(\d+)", allele)  # a duplication written as *2x2
        if m and m.group(1) in p.activity:
            return p.activity[m.group(1)] * int(m.group(2))
        return None

    def function(self, gene: str, allele: str) -> str | None:
        p = self.phenotypes.get(gene)
        if p is None:
            return None
        if allele in p.functions:
            return p.functions[allele]
        m = re.fullmatch(r"(.+?)x(\d+)", allele)
        if m and m.group(1) in p.functions and (self.activity(gene, allele) or 0) > 1:
            return "Increased function"
        return None

    def phenotype(self, gene: str, a1: str, a2: str) -> tuple[str | None, float | None]:
        p = self.phenotypes.get(gene)
        if p is None or not p.rules:
            return None, None
        if p.activity:
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
    top = [_diplotype_entry(kb, gene, d) for d in match.diplotypes]
    warnings = list(match.warnings)
    phenotypes = {e["phenotype"] for e in top}
    scores = {e["activity_score"] for e in top}
    if not top:
        status, phenotype, score = "not called", None, None
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
    candidates = [_diplotype_entry(kb, gene, d) for d in match.candidates[:MAX_CANDIDATES]] or top
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
    }


def read_outside_calls(path: str | Path, kb: PgxKnowledge) -> tuple[dict[str, dict], list[str]]:
    """Outside calls in the reference tool's format: ``GENE<TAB>DIPLOTYPE[<TAB>PHENOTYPE[<TAB>SCORE]]``.

    Returns (gene → result, warnings). Unknown genes are reported in the warnings, not fatal.
    """
    path = str(path)
    results: dict[str, dict] = {}
    warnings: list[str] = []
    known = kb.known_genes
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise InputError(path, "expected GENE<TAB>DIPLOTYPE", line=lineno, hint="columns are tab-separated")
            gene, diplotype = fields[0].strip(), fields[1].strip()
            given_phenotype = fields[2].strip() if len(fields) > 2 and fields[2].strip() else None
            if gene not in known:
                warnings.append(f"{path}, line {lineno}: outside call for {gene!r}, a gene seq2rx has no knowledge of")
                continue
            if gene in results:
                raise InputError(path, f"{gene} is called twice", line=lineno, field="gene")
            if diplotype and diplotype.count("/") != 1:
                raise InputError(path, f"diplotype {diplotype!r} is not ALLELE/ALLELE", line=lineno, field="diplotype")
            if not diplotype and not given_phenotype:
                raise InputError(path, "a diplotype or a phenotype is required", line=lineno, field="diplotype")
            entry_warnings = []
            phenotype, score = given_phenotype, None
            if diplotype:
                a1, a2 = (a.strip() for a in diplotype.split("/"))
                derived, score = kb.phenotype(gene, a1, a2)
                if given_phenotype and derived and derived != given_phenotype:
                    entry_warnings.append(f"outside phenotype {given_phenotype!r}; seq2rx derives {derived!r}")
                phenotype = given_phenotype or derived
                if phenotype == "Indeterminate":
                    entry_warnings.append(f"an allele of {diplotype} has no known function")
            if len(fields) > 3 and fields[3].strip():
                try:
                    score = float(fields[3])
                except ValueError:
                    raise InputError(path, f"activity score {fields[3]!r} is not a number", line=lineno,
                                     field="activity score") from None  # fmt: skip
            results[gene] = {
                "gene": gene,
                "source": "outside call",
                "status": "outside call",
                "diplotypes": [diplotype] if diplotype else [],
                "phenotype": phenotype,
                "activity_score": score,
                "candidates": [],
                "missing_positions": [],
                "warnings": entry_warnings,
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
        calls, outside_warnings = outside
        warnings.extend(outside_warnings)
        for gene, result in calls.items():
            if gene in genes:
                result["warnings"].append(
                    f"outside call replaces seq2rx's own call ({'|'.join(genes[gene]['diplotypes']) or 'not called'})"
                )
            genes[gene] = result
    genes = dict(sorted(genes.items()))
    recommendations, unmatched = recommend(kb.guidance, genes)
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
) -> list[dict]:
    genotypes = read_genotypes(vcf, kb.definitions, samples, min_depth=min_depth)
    outside = read_outside_calls(outside_calls, kb) if outside_calls else None
    return [call_sample(kb, s, g, outside) for s, g in genotypes.items()]


def call_workflow_sample(
    kb: PgxKnowledge, vcf: str | Path, sample: str, outside_calls: str | Path | None, min_depth: int
) -> dict:
    """One sheet sample: its VCF column, or the only column of a single-sample VCF made elsewhere."""
    import pysam

    with pysam.VariantFile(str(vcf)) as fh:
        columns = list(fh.header.samples)
    column = sample if sample in columns or len(columns) != 1 else columns[0]
    (doc,) = call_vcf(kb, vcf, [column], outside_calls, min_depth)
    if column != sample:
        doc["warnings"].append(f"the VCF's only sample column is named {column!r}; used for sample {sample!r}")
        doc["sample"] = sample
    return doc


def write_json(doc: dict, path: str | Path) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def _fmt(v) -> str:
    if v is None:
        return "."
    if isinstance(v, float):
        return f"{v:g}"
    return str(v).replace("\t", " ").replace("\n", " ")


def write_tsv(docs: list[dict], genes_path: str | Path, drugs_path: str | Path | None = None) -> None:
    with atomic_output(genes_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(GENE_COLUMNS)
        for doc in docs:
            for gene, r in doc["genes"].items():
                w.writerow([doc["sample"], gene, r["status"], "|".join(r["diplotypes"]) or ".", _fmt(r["phenotype"]),
                            _fmt(r["activity_score"]), len(r["missing_positions"]),
                            _fmt("; ".join(r["warnings"]) or None)])  # fmt: skip
    if drugs_path is None:
        return
    with atomic_output(drugs_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(DRUG_COLUMNS)
        for doc in docs:
            for r in doc["recommendations"]:
                w.writerow([doc["sample"], r["drug"], ";".join(r["genes"]), _fmt(r["phenotype"]),
                            _fmt(r["recommendation"]), r["strength"], _fmt(r["source"])])  # fmt: skip
