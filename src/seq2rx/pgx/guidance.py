"""Drug guidance as data: ``resources/kb/pgx/drug_guidance.tsv``, and matching it to a patient.

One row per (drug, condition). ``condition`` is ``;``-separated ``GENE=value`` terms that must
all hold, where ``value`` is a phenotype (``CYP2C19=Poor Metabolizer``), an activity score
(``DPYD=score:1.5``), or an allele a called diplotype does or does not carry
(``HLA-B=carrier:*57:01``, ``HLA-B=noncarrier:*15:02``). Recommendations are written in the
project's own words; each row cites its guideline, URL and date.

Two tables sit beside it: ``alert_levels.tsv`` marks the (drug, condition) rows whose card is
``critical`` (the guideline says the drug must not be given) and those whose advice is the usual
prescription (``none``: not actionable, no card), and ``drug_codes.tsv`` gives each
drug's RxNorm ingredient code. :func:`recommend` uses both to set a recommendation's
``indicator``, ``rxnorm`` and ``url``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from seq2rx.core.errors import InputError

GUIDANCE_COLUMNS = ("drug", "genes", "condition", "recommendation", "strength", "guideline", "source", "date")
STRENGTHS = ("Strong", "Moderate", "Optional", "No recommendation")
#: phenotypes that mean "this gene gives no reason to change the usual prescription" (CPIC advises
#: the usual aminoglycoside use for MT-RNR1 normal and uncertain risk alike)
NORMAL_PHENOTYPES = frozenset(
    {
        "Normal Metabolizer",
        "Normal Function",
        "normal risk of aminoglycoside-induced hearing loss",
        "uncertain risk of aminoglycoside-induced hearing loss",
    }
)
ALERT_COLUMNS = ("drug", "genes", "condition", "indicator", "reason", "source", "date")
#: what an alert-level row may set: ``critical`` (the drug must not be given), or ``none`` (the
#: guideline's advice for this genotype is the usual prescription, so it is not actionable and
#: makes no card); every other actionable row is a ``warning``
ALERT_INDICATORS = ("critical", "none")
CODE_COLUMNS = ("drug", "rxnorm", "source", "date")
UNCODED_COLUMNS = ("drug", "reason", "date")


@dataclass(frozen=True)
class Term:
    gene: str
    kind: str  # "phenotype", "score", "carrier", "noncarrier"
    value: str

    def holds(self, result: dict | None) -> bool:
        """Whether a gene result (as written to the PGx JSON) satisfies this term."""
        if not result or result.get("status") in (None, "not called"):
            return False
        if self.kind == "phenotype":
            return result.get("phenotype") == self.value
        if self.kind == "score":
            score = result.get("activity_score")
            return score is not None and abs(float(score) - float(self.value)) < 1e-9
        # an allele is carried only by a call made of named alleles (not a combination or partial)
        if result["status"] not in ("called", "incomplete", "ambiguous", "outside call") or not result["diplotypes"]:
            return False
        alleles = [set(d.split("/")) for d in result["diplotypes"]]
        if self.kind == "carrier":
            return all(self.value in a for a in alleles)
        return all(self.value not in a for a in alleles)


@dataclass(frozen=True)
class Guidance:
    drug: str
    genes: tuple[str, ...]
    terms: tuple[Term, ...]
    recommendation: str
    strength: str
    guideline: str
    source: str
    date: str

    @property
    def condition(self) -> str:
        return "; ".join(
            f"{t.gene} {t.value}" if t.kind == "phenotype" else f"{t.gene} {t.kind} {t.value}" for t in self.terms
        )


def parse_condition(text: str, path: str, lineno: int) -> tuple[Term, ...]:
    terms = []
    for part in text.split(";"):
        part = part.strip()
        gene, sep, value = part.partition("=")
        if not sep or not gene.strip() or not value.strip():
            raise InputError(path, f"condition term {part!r} is not GENE=value", line=lineno, field="condition")
        gene, value = gene.strip(), value.strip()
        kind = "phenotype"
        for prefix in ("score:", "carrier:", "noncarrier:"):
            if value.startswith(prefix):
                kind, value = prefix[:-1], value[len(prefix) :]
                break
        if kind == "score":
            try:
                float(value)
            except ValueError:
                raise InputError(path, f"score {value!r} is not a number", line=lineno, field="condition") from None
        terms.append(Term(gene, kind, value))
    return tuple(terms)


def read_guidance(path: str | Path) -> list[Guidance]:
    path = str(path)
    rows = []
    for lineno, row in _read_table(path, GUIDANCE_COLUMNS):
        if row["strength"] not in STRENGTHS:
            raise InputError(path, f"strength must be one of {', '.join(STRENGTHS)}", line=lineno, field="strength")
        genes, terms = _genes_and_terms(row, path, lineno)
        rows.append(
            Guidance(
                row["drug"],
                genes,
                terms,
                row["recommendation"],
                row["strength"],
                row["guideline"],
                row["source"],
                row["date"],
            )  # fmt: skip
        )
    return rows


def _genes_and_terms(row: dict, path: str, lineno: int) -> tuple[tuple[str, ...], tuple[Term, ...]]:
    """A row's ``genes`` and parsed ``condition``, every term naming one of the genes."""
    genes = tuple(g.strip() for g in row["genes"].split(";"))
    terms = parse_condition(row["condition"], path, lineno)
    for t in terms:
        if t.gene not in genes:
            raise InputError(path, f"condition names {t.gene}, not in genes", line=lineno, field="condition")
    return genes, terms


def _read_table(path: str, columns: tuple[str, ...]):
    """(line number, row) of a tab-separated table whose every listed column is filled."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            missing = [c for c in columns if c not in (reader.fieldnames or ())]
            if missing:
                raise InputError(path, f"missing column(s) {', '.join(missing)}", line=1)
            for lineno, row in enumerate(reader, 2):
                for col in columns:
                    if not (row.get(col) or "").strip():
                        raise InputError(path, "a value is required", line=lineno, field=col)
                yield lineno, {c: row[c].strip() for c in columns}
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"is not a UTF-8 tab-separated table ({exc.__class__.__name__})") from None


@dataclass(frozen=True)
class AlertLevel:
    drug: str
    genes: tuple[str, ...]
    terms: tuple[Term, ...]
    indicator: str
    reason: str
    source: str
    date: str


def read_alert_levels(path: str | Path) -> list[AlertLevel]:
    """``alert_levels.tsv``: (drug, condition) rows whose CDS Hooks card is ``critical``, or that
    make no card (``none``: the usual prescription, though the phenotype is not the normal one). The
    condition is written as in ``drug_guidance.tsv`` and matches a guidance row whose terms are the
    same (in any order)."""
    path = str(path)
    rows, seen = [], set()
    for lineno, row in _read_table(path, ALERT_COLUMNS):
        if row["indicator"] not in ALERT_INDICATORS:
            raise InputError(path, f"indicator must be one of {', '.join(ALERT_INDICATORS)}", line=lineno,
                             field="indicator")  # fmt: skip
        genes, terms = _genes_and_terms(row, path, lineno)
        key = (row["drug"], frozenset(terms))
        if key in seen:
            raise InputError(path, f"{row['drug']} {row['condition']!r} is listed twice", line=lineno)
        seen.add(key)
        rows.append(AlertLevel(row["drug"], genes, terms, row["indicator"], row["reason"], row["source"],
                               row["date"]))  # fmt: skip
    return rows


def read_drug_codes(path: str | Path) -> dict[str, str]:
    """``drug_codes.tsv``: drug -> its RxNorm ingredient code (RxCUI, digits only), one row a drug."""
    path = str(path)
    codes: dict[str, str] = {}
    for lineno, row in _read_table(path, CODE_COLUMNS):
        if not row["rxnorm"].isdigit():
            raise InputError(path, f"RxCUI {row['rxnorm']!r} is not a number", line=lineno, field="rxnorm")
        if row["drug"] in codes:
            raise InputError(path, f"{row['drug']} is listed twice", line=lineno, field="drug")
        codes[row["drug"]] = row["rxnorm"]
    return codes


def read_uncoded(path: str | Path) -> dict[str, str]:
    """``drug_codes_missing.tsv``: drug -> why it has no RxNorm code in ``drug_codes.tsv``."""
    return {row["drug"]: row["reason"] for _, row in _read_table(str(path), UNCODED_COLUMNS)}


def _is_normal(term: Term, result: dict | None) -> bool:
    if term.kind == "noncarrier":
        return True
    if term.kind == "carrier":
        return False
    return bool(result) and result.get("phenotype") in NORMAL_PHENOTYPES


def recommend(
    guidance: list[Guidance],
    genes: dict[str, dict],
    *,
    alert_levels: list[AlertLevel] | tuple[AlertLevel, ...] = (),
    drug_codes: dict[str, str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """(recommendations that apply, drugs with no applicable row and why), sorted by drug.

    Each recommendation carries its CDS Hooks card ``indicator``: ``critical`` where an
    ``alert_levels`` row names the same drug and condition, ``warning`` for any other actionable
    row, None when the row is not actionable (no card: a normal phenotype, no recommendation, or an
    ``alert_levels`` row ``none``); ``rxnorm``, the drug's ingredient code from
    ``drug_codes`` (None when it has none); and ``url``, the guideline URL alone.

    A drug without guidance gets a ``reason`` naming each of its genes: ``not called`` (with
    "needs an outside call" when the results lack the gene), its phenotype, or, for a gene typed
    without a phenotype (HLA), its diplotype and that no row of the drug applies to it alone, e.g.
    ``"HLA-A not called (needs an outside call); HLA-B typed *57:01/*07:02 (no carbamazepine row
    applies to it alone)"``."""
    critical = {(a.drug, frozenset(a.terms)) for a in alert_levels if a.indicator == "critical"}
    usual = {(a.drug, frozenset(a.terms)) for a in alert_levels if a.indicator == "none"}
    drug_codes = drug_codes or {}
    applied = []
    drugs: dict[str, set[str]] = {}
    matched: set[str] = set()
    normal_rows: dict[str, set[str]] = {}
    for g in guidance:
        drugs.setdefault(g.drug, set()).update(g.genes)
    for g in guidance:
        if all(t.holds(genes.get(t.gene)) for t in g.terms):
            matched.add(g.drug)
            caveats = [c for gene in g.genes for c in (genes.get(gene) or {}).get("caveats", [])]
            # another gene the drug's guideline uses, not called: this row may not be the whole answer
            for other in sorted(drugs[g.drug] - set(g.genes)):
                r = genes.get(other)
                if not r or r.get("status") == "not called":
                    caveats.append(f"{other} not tested; the guideline also uses it for {g.drug}")
            normal = all(_is_normal(t, genes.get(t.gene)) for t in g.terms)
            if normal:
                normal_rows.setdefault(g.drug, set()).add(g.condition)
            applied.append(
                {
                    "_normal": normal,
                    "drug": g.drug,
                    "genes": list(g.genes),
                    "phenotype": g.condition,
                    "recommendation": g.recommendation,
                    "strength": g.strength,
                    "source": f"{g.guideline}; {g.source} ({g.date})",
                    "url": g.source,
                    "rxnorm": drug_codes.get(g.drug),
                    "_critical": (g.drug, frozenset(g.terms)) in critical,
                    "_usual": (g.drug, frozenset(g.terms)) in usual,
                    "caveats": caveats,
                }
            )
    # a drug whose guideline uses two genes (thiopurines, tricyclics, phenytoin, warfarin): when
    # one gene calls for a change, the other gene's "usual dose" row is not the answer
    changed = {r["drug"] for r in applied if not r["_normal"]}
    applied = [r for r in applied if r["drug"] not in changed or r["phenotype"] not in normal_rows.get(r["drug"], ())]
    for r in applied:  # actionable: the genotype calls for something other than the usual prescription
        usual_care = r.pop("_usual")
        r["actionable"] = not r.pop("_normal") and r["strength"] != "No recommendation" and not usual_care
        is_critical = r.pop("_critical")
        r["indicator"] = ("critical" if is_critical else "warning") if r["actionable"] else None
    applied.sort(key=lambda r: (r["drug"], r["genes"], r["phenotype"]))
    unmatched = []
    for drug in sorted(set(drugs) - matched):
        reasons = []
        for gene in sorted(drugs[drug]):
            r = genes.get(gene)
            if not r or r.get("status") == "not called":
                reasons.append(f"{gene} not called" + (" (needs an outside call)" if r is None else ""))
            elif not r.get("phenotype") and r.get("diplotypes"):
                # typed but phenotype-free (HLA): the drug's rows need another gene, or none fits
                fits = "applies to it alone" if len(drugs[drug]) > 1 else "fits it"
                reasons.append(f"{gene} typed {' or '.join(r['diplotypes'])} (no {drug} row {fits})")
            else:
                reasons.append(f"{gene} {r.get('phenotype') or 'no phenotype'}")
        unmatched.append({"drug": drug, "genes": sorted(drugs[drug]), "reason": "; ".join(reasons)})
    return applied, unmatched
