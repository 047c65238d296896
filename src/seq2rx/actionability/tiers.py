"""Actionable tumour biomarkers: match somatic variants to the knowledge base and tier them.

The knowledge base (``resources/kb/actionability/``) holds biomarker → therapy rows in the
project's own words, each with an OncoTree tumour type, a response (sensitive / resistant), an
evidence level and a citation; ``oncotree.tsv`` holds the tree so that a rule for ``NSCLC``
applies to a ``LUAD`` tumour. A variant matches a row

* by protein change from the consequence table (``V600E``), or by build-specific coordinates
  when the VCF is not annotated (a VCF made elsewhere, GRCh37 or GRCh38);
* by codon (``G12``: any missense change at codon 12), by exon class (an in-frame deletion in
  EGFR exon 19, an in-frame insertion in exon 20; exon bounds in codons in ``exons.tsv``), or as
  any truncating or any protein-altering variant of the gene;
* by tumour mutational burden for ``TMB>=10`` rows.

Tiers follow AMP/ASCO/CAP 2017 (Li et al., J Mol Diagn 2017): level A evidence (FDA-approved or
guideline) in the patient's tumour type (the same OncoTree code or an ancestor) is tier I-A; the
same evidence in another tumour type, and investigational (clinical-trial) evidence in the
patient's tumour type, are tier II-C; case reports elsewhere and preclinical evidence are II-D.
Protein-altering variants of knowledge-base genes without a matching row are tier III.
Tier I-B (well-powered studies without approval or guideline) has no rows in the knowledge base.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _atomic_json

KINDS = ("protein", "codon", "exon_deletion", "exon_insertion", "truncating", "oncogenic_mutation",
         "amplification", "fusion", "signature")  # fmt: skip
EVIDENCE = ("FDA-approved", "guideline", "clinical trial", "case report", "preclinical")
RESPONSES = ("sensitive", "resistant")
TIER_ORDER = ("I-A", "I-B", "II-C", "II-D", "III", "IV")
BIOMARKER_COLUMNS = ("id", "gene", "kind", "alteration", "exon", "grch38", "grch37", "tumor_type", "therapy",
                     "response", "evidence", "summary", "citation", "date")  # fmt: skip
TABLE_COLUMNS = ("sample", "chrom", "pos", "ref", "alt", "gene", "alteration", "vaf", "depth", "tier", "therapies",
                 "response", "evidence", "tumor_type_match", "rule_tumor_type", "rule", "source", "note")  # fmt: skip
TRUNCATING = frozenset({"stop_gained", "frameshift", "splice_donor", "splice_acceptor", "start_lost"})
PROTEIN_ALTERING = TRUNCATING | {"missense", "inframe_deletion", "inframe_insertion", "inframe_altering", "stop_lost"}
CODING = PROTEIN_ALTERING | {"synonymous", "stop_retained", "start_retained"}


@dataclass(frozen=True)
class Biomarker:
    id: str
    gene: str
    kind: str
    alteration: str
    exon: int | None
    coords: dict[str, frozenset[tuple[str, int, str, str]]]
    tumor_type: str
    therapy: str
    response: str
    evidence: str
    summary: str
    citation: str
    date: str


@dataclass
class Knowledge:
    biomarkers: list[Biomarker]
    parents: dict[str, str]
    names: dict[str, str]
    #: (gene, exon) -> (first codon, last codon)
    exons: dict[tuple[str, int], tuple[int, int]]
    by_gene: dict[str, list[Biomarker]] = field(default_factory=dict)
    by_coord: dict[str, dict[tuple[str, int, str, str], list[Biomarker]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for b in self.biomarkers:
            self.by_gene.setdefault(b.gene, []).append(b)
            for build, coords in b.coords.items():
                for c in coords:
                    self.by_coord.setdefault(build, {}).setdefault(c, []).append(b)

    def ancestors(self, code: str) -> list[str]:
        """``code`` and every ancestor up to the root (``LUAD`` -> LUAD, NSCLC, LUNG, TISSUE)."""
        out = []
        while code and code != "." and code not in out:
            out.append(code)
            code = self.parents.get(code, "")
        return out

    def relation(self, rule_type: str, tumor_type: str) -> str:
        if rule_type == tumor_type:
            return "exact"
        if rule_type in self.ancestors(tumor_type):
            return "ancestor"
        return "other type"

    @property
    def hotspots(self) -> dict[str, set[tuple[str, int, str, str]]]:
        return {build: set(coords) for build, coords in self.by_coord.items()}


def _kb_fix(path: Path) -> str:
    return f"correct the row in {path.name}; its columns and allowed values are in the README.md beside it"


def _read_tsv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})", hint="give the knowledge-base folder") from None
    with fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(str(path), f"missing column(s) {', '.join(missing)}", line=1, hint=_kb_fix(path))
        rows = []
        for lineno, row in enumerate(reader, 2):
            for c in columns:
                if not (row.get(c) or "").strip():
                    raise InputError(
                        str(path), "a value is required (write '.' for none)", line=lineno, field=c, hint=_kb_fix(path)
                    )
            rows.append((lineno, {k: v.strip() for k, v in row.items() if k}))
        return rows


def _coords(text: str, path: Path, lineno: int, col: str) -> frozenset[tuple[str, int, str, str]]:
    if text == ".":
        return frozenset()
    out = set()
    for part in text.split("|"):
        m = re.fullmatch(r"(?:chr)?([0-9XYM]+):(\d+):([ACGTN]+):([ACGTN]+)", part.strip(), re.I)
        if not m:
            raise InputError(
                str(path), f"{part!r} is not chrom:pos:ref:alt", line=lineno, field=col, hint=_kb_fix(path)
            )
        out.add((m.group(1), int(m.group(2)), m.group(3).upper(), m.group(4).upper()))
    return frozenset(out)


def load(kb_dir: str | Path) -> Knowledge:
    kb_dir = Path(kb_dir)
    tree = kb_dir / "oncotree.tsv"
    parents, names = {}, {}
    for lineno, row in _read_tsv(tree, ("code", "parent", "name", "source", "date")):
        if row["code"] in parents:
            raise InputError(str(tree), f"code {row['code']} appears twice", line=lineno, field="code")
        parents[row["code"]], names[row["code"]] = row["parent"], row["name"]
    for code, parent in parents.items():
        if parent != "." and parent not in parents:
            raise InputError(str(tree), f"{code}'s parent {parent} is not in the tree", field="parent")
    exons: dict[tuple[str, int], tuple[int, int]] = {}
    if (kb_dir / "exons.tsv").exists():
        cols = ("gene", "exon", "first_codon", "last_codon", "transcript", "source", "date")
        for lineno, row in _read_tsv(kb_dir / "exons.tsv", cols):
            try:
                exons[(row["gene"], int(row["exon"]))] = (int(row["first_codon"]), int(row["last_codon"]))
            except ValueError:
                raise InputError(str(kb_dir / "exons.tsv"), "exon and codons must be integers", line=lineno) from None
    path = kb_dir / "biomarkers.tsv"
    biomarkers = []
    seen = set()
    for lineno, row in _read_tsv(path, BIOMARKER_COLUMNS):
        for col, allowed in (("kind", KINDS), ("evidence", EVIDENCE), ("response", RESPONSES)):
            if row[col] not in allowed:
                raise InputError(
                    str(path),
                    f"{row[col]!r} is not allowed; must be one of {', '.join(allowed)}",
                    line=lineno,
                    field=col,
                    hint=_kb_fix(path),
                )
        if row["tumor_type"] not in parents:
            raise InputError(
                str(path),
                f"{row['tumor_type']} is not in oncotree.tsv",
                line=lineno,
                field="tumor_type",
                hint="use an OncoTree code listed in oncotree.tsv, or add the code there with its parent",
            )
        if row["id"] in seen:
            raise InputError(
                str(path), f"id {row['id']} appears twice", line=lineno, field="id", hint="give each row its own id"
            )
        seen.add(row["id"])
        exon = None
        if row["kind"] in ("exon_deletion", "exon_insertion"):
            try:
                exon = int(row["exon"])
            except ValueError:
                raise InputError(
                    str(path), "an exon rule needs the exon number", line=lineno, field="exon", hint=_kb_fix(path)
                ) from None
        biomarkers.append(
            Biomarker(
                row["id"], row["gene"], row["kind"], row["alteration"], exon,
                {"GRCh38": _coords(row["grch38"], path, lineno, "grch38"),
                 "GRCh37": _coords(row["grch37"], path, lineno, "grch37")},
                row["tumor_type"], row["therapy"], row["response"], row["evidence"], row["summary"],
                row["citation"], row["date"],
            )
        )  # fmt: skip
    return Knowledge(biomarkers, parents, names, exons)


# --------------------------------------------------------------------------- variants


@dataclass
class SomaticVariant:
    chrom: str
    pos: int
    ref: str
    alt: str
    vaf: float | None = None
    depth: int | None = None
    #: gene -> (consequence classes, short protein change like V600E or None, protein position)
    effects: dict[str, tuple[frozenset[str], str | None, int | None]] = field(default_factory=dict)
    #: why the variant is reported with reservations (e.g. possibly germline in tumour-only calling)
    note: str = ""

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.chrom.removeprefix("chr"), self.pos, self.ref.upper(), self.alt.upper())


_AA = re.compile(r"^(\d+)([A-Z*]+)>(\d+)([A-Z*]+)$")


def short_protein(aa_change: str) -> tuple[str | None, int | None]:
    """csq notation to a short protein change: ``600V>600E`` -> (``V600E``, 600)."""
    m = _AA.match(aa_change or "")
    if not m:
        return None, None
    pos, ref, alt = int(m.group(1)), m.group(2), m.group(4)
    if len(ref) == 1 and len(alt) == 1 and ref != alt:
        return f"{ref}{pos}{alt}", pos
    return None, pos


def read_variants(vcf: str | Path, sample: str | None = None, pass_only: bool = True) -> list[SomaticVariant]:
    """PASS variants with tumour VAF and depth (FORMAT AF/AD/DP, or Mutect2/Strelka-like fields)."""
    vcf = str(vcf)
    try:
        fh = pysam.VariantFile(vcf)
    except (OSError, ValueError) as exc:
        raise InputError(vcf, f"cannot be read as a VCF ({exc})") from None
    out = []
    with fh:
        name = tumour_column(fh, sample)
        try:
            for rec in fh:
                filters = set(rec.filter.keys()) - {"PASS"}
                # tumour-only calling filters a driver at a germline-like VAF as LikelyGermline; it is
                # still matched, with that reservation, rather than silently lost
                note = ""
                if filters == {"LikelyGermline"}:
                    note = "VAF fits a germline genotype (tumour-only calling): confirm it is somatic"
                elif pass_only and filters:
                    continue
                for i, alt in enumerate(rec.alts or (), start=1):
                    if alt.startswith("<") or alt == "*":
                        continue
                    vaf, depth = _vaf(rec, name, i)
                    out.append(SomaticVariant(rec.chrom, rec.pos, rec.ref, alt, vaf, depth, note=note))
        except (OSError, ValueError) as exc:
            raise InputError(vcf, f"cannot be read to the end ({exc})") from None
    return out


def tumour_column(fh: pysam.VariantFile, sample: str | None) -> str | None:
    """The tumour's sample column: the one asked for; Mutect2's ``##tumor_sample``; Strelka's
    ``TUMOR``; else the first."""
    samples = list(fh.header.samples)
    if sample in samples:
        return sample
    for rec in fh.header.records:
        if rec.key == "tumor_sample" and rec.value in samples:
            return rec.value
    if "TUMOR" in samples:
        return "TUMOR"
    if len(samples) > 1:
        raise InputError(
            fh.filename.decode() if isinstance(fh.filename, bytes) else str(fh.filename),
            f"has {len(samples)} sample columns and none is marked as the tumour",
            hint="name it with --sample, a ##tumor_sample= header line, or a TUMOR column",
        )
    return samples[0] if samples else None


def _strelka(call, ref: str, alt: str) -> list[int] | None:
    """Strelka2 tier-1 counts: ``AU``/``CU``/``GU``/``TU`` for SNVs, ``TAR``/``TIR`` for indels."""
    keys = call.keys()
    if len(ref) == 1 and len(alt) == 1 and f"{ref}U" in keys and f"{alt}U" in keys:
        r, a = call[f"{ref}U"], call[f"{alt}U"]
        return [int(r[0]), int(a[0])] if r and a and None not in (r[0], a[0]) else None
    if "TAR" in keys and "TIR" in keys and call["TAR"] and call["TIR"]:
        return [int(call["TAR"][0]), int(call["TIR"][0])]
    return None


def _vaf(rec, name: str | None, i: int) -> tuple[float | None, int | None]:
    call = rec.samples[name] if name else None
    ad = None
    if call is not None:
        for key in ("AD", "ADT"):  # ADT: PCGR-style tumour allele depths (declared as a string there)
            if key in call.keys():
                ad = _ints(call[key])
                if ad:
                    break
        if not ad:
            pair = _strelka(call, rec.ref.upper(), (rec.alts or ("",))[i - 1].upper())
            if pair:
                ad, i = pair, 1
    if ad and len(ad) > i and sum(ad):
        return round(ad[i] / sum(ad), 4), int(sum(ad))
    info = rec.info
    if "TVAF" in info:  # PCGR-style
        dp = info.get("TDP")
        return round(float(info["TVAF"]), 4), int(dp) if dp is not None else None
    return None, None


def _ints(value) -> list[int] | None:
    """Allele depths as integers, whether the header declares them Integer or String ('112,32')."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        return [int(x) for x in items]
    except (TypeError, ValueError):
        return None


def add_consequences(variants: list[SomaticVariant], table: str | Path) -> None:
    """Attach gene, consequence classes and protein change from a seq2rx consequence table."""
    index = {v.key: v for v in variants}
    with open(table, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["gene"] == ".":
                continue
            v = index.get((row["chrom"].removeprefix("chr"), int(row["pos"]), row["ref"].upper(), row["alt"].upper()))
            if v is None:
                continue
            classes = frozenset(c for c in row["consequence"].split("&") if c and c != ".")
            aa = row["aa_change"] if row.get("aa_change", ".") != "." else row.get("aa_change_csq", ".")
            protein, pos = short_protein(aa)
            old = v.effects.get(row["gene"])
            if (
                old is None
                or (protein and not old[1])
                or (classes & PROTEIN_ALTERING and not old[0] & PROTEIN_ALTERING)
            ):
                v.effects[row["gene"]] = (classes, protein, pos)


# --------------------------------------------------------------------------- matching


def tier(evidence: str, relation: str) -> str:
    same = relation in ("exact", "ancestor")
    if evidence in ("FDA-approved", "guideline"):
        return "I-A" if same else "II-C"
    if evidence in ("clinical trial", "case report"):
        return "II-C" if same else "II-D"
    return "II-D"


def _matches(b: Biomarker, effect: tuple[frozenset[str], str | None, int | None], kb: Knowledge) -> bool:
    classes, protein, pos = effect
    if b.kind == "protein":
        return protein == b.alteration
    if b.kind == "codon":
        return protein is not None and "missense" in classes and protein[:-1] == b.alteration
    if b.kind in ("exon_deletion", "exon_insertion"):
        span = kb.exons.get((b.gene, b.exon or 0))
        want = "inframe_deletion" if b.kind == "exon_deletion" else "inframe_insertion"
        return span is not None and pos is not None and want in classes and span[0] <= pos <= span[1]
    if b.kind == "truncating":
        return bool(classes & TRUNCATING)
    if b.kind == "oncogenic_mutation":
        return bool(classes & PROTEIN_ALTERING)
    return False  # amplification, fusion, signature: not from a VCF of small variants


def match(
    kb: Knowledge, variants: list[SomaticVariant], tumor_type: str, build: str, tmb: float | None = None
) -> list[dict]:
    """One row per (variant, matching rule), plus tier III rows; best tier first."""
    if tumor_type not in kb.parents:
        raise InputError("tumour type", f"{tumor_type!r} is not an OncoTree code the knowledge base knows")
    rows = []
    by_coord = kb.by_coord.get(build, {})
    for v in variants:
        hits: dict[str, tuple[str, str]] = {}  # rule id -> (gene, alteration)
        for gene, effect in sorted(v.effects.items()):
            for b in kb.by_gene.get(gene, []):
                if _matches(b, effect, kb):
                    hits[b.id] = (b, gene, effect[1] or b.alteration)
        for b in by_coord.get(v.key, []):  # an unannotated VCF, or a change the annotation names otherwise
            hits.setdefault(b.id, (b, b.gene, b.alteration))
        matched = list(hits.values())
        # a tumour-agnostic row gives way where the patient's own tumour lineage has rows for the
        # same gene (BRAF V600E in colorectal cancer is encorafenib + cetuximab, and the
        # tumour-agnostic approval excludes it)
        lineage = {(b.gene) for b, _g, _a in matched if b.tumor_type != "TISSUE"
                   and kb.relation(b.tumor_type, tumor_type) in ("exact", "ancestor")}  # fmt: skip
        for b, gene, alteration in matched:
            if b.tumor_type == "TISSUE" and b.gene in lineage:
                continue
            relation = kb.relation(b.tumor_type, tumor_type)
            tier_ = tier(b.evidence, relation)
            if b.kind == "oncogenic_mutation" and tier_ == "I-A":
                tier_ = "II-C"  # "any mutation" of the gene is broader than the approved alteration
            rows.append(_row(v, gene, alteration, tier_, b, relation))
        if not hits:
            for gene, (classes, protein, _pos) in sorted(v.effects.items()):
                if gene in kb.by_gene and classes & PROTEIN_ALTERING:
                    label = protein or "/".join(sorted(classes & PROTEIN_ALTERING))
                    rows.append(_row(v, gene, label, "III", None, "."))
    if tmb is not None:
        for b in kb.biomarkers:
            if b.kind == "signature" and b.gene == "TMB" and tmb >= _threshold(b.alteration):
                relation = kb.relation(b.tumor_type, tumor_type)
                rows.append(_row(None, "TMB", f"TMB {tmb:.1f}/Mb", tier(b.evidence, relation), b, relation))
    rows.sort(key=lambda r: (TIER_ORDER.index(r["tier"]), r["gene"], r["alteration"], r["therapies"], r["rule"]))
    return rows


def _threshold(alteration: str) -> float:
    m = re.search(r"(\d+(?:\.\d+)?)", alteration)
    return float(m.group(1)) if m else float("inf")


def _row(v: SomaticVariant | None, gene: str, alteration: str, tier_: str, b: Biomarker | None, relation: str) -> dict:
    return {
        "chrom": v.chrom if v else ".",
        "pos": v.pos if v else ".",
        "ref": v.ref if v else ".",
        "alt": v.alt if v else ".",
        "gene": gene,
        "alteration": alteration,
        "vaf": v.vaf if v and v.vaf is not None else ".",
        "depth": v.depth if v and v.depth is not None else ".",
        "tier": tier_,
        "therapies": b.therapy if b else ".",
        "response": b.response if b else ".",
        "evidence": b.evidence if b else ".",
        "tumor_type_match": relation,
        "rule_tumor_type": b.tumor_type if b else ".",
        "rule": b.id if b else ".",
        "source": f"{b.citation} ({b.date})" if b else ".",
        "note": "; ".join(x for x in (v.note if v else "", _class_note(b)) if x) or ".",
    }


def _class_note(b: Biomarker | None) -> str:
    if b is not None and b.kind == "oncogenic_mutation":
        return f"rule covers only the {b.gene} alterations its source names; this variant needs confirming"
    return ""


#: below this many callable megabases a TMB is too noisy to act on (panels used for the FDA TMB
#: approval cover about 0.8-1.1 Mb); it is still reported, but no TMB rule is matched
MIN_TMB_MB = 1.0


def tmb(variants: list[SomaticVariant], callable_bases: int | None) -> dict:
    """Tumour mutational burden: coding somatic variants per callable megabase."""
    coding = sum(1 for v in variants if not v.note and any(c & CODING for c, _p, _q in v.effects.values()))
    mb = callable_bases / 1e6 if callable_bases else None
    reliable = bool(mb) and mb >= MIN_TMB_MB
    return {
        "coding_variants": coding,
        "callable_mb": round(mb, 4) if mb else None,
        "tmb_per_mb": round(coding / mb, 2) if mb else None,
        "reliable": reliable,
        "note": None
        if reliable
        else (
            f"callable region {mb:.2f} Mb < {MIN_TMB_MB:g} Mb: too small for TMB-based therapy"
            if mb
            else "no callable-region size: TMB not computed"
        ),
    }


def write_table(rows: list[dict], sample: str, path: str | Path) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(TABLE_COLUMNS)
        for r in rows:
            w.writerow([sample] + [r[c] for c in TABLE_COLUMNS[1:]])


def run(
    kb: Knowledge,
    vcf: str | Path,
    sample: str,
    tumor_type: str,
    build: str,
    consequences: str | Path | None = None,
    callable_bases: int | None = None,
    mode: str = "VCF from elsewhere",
) -> dict:
    """The actionability document of one tumour: tiered rows, TMB and what they rest on."""
    if build not in ("GRCh38", "GRCh37"):
        raise InputError("build", f"must be GRCh38 or GRCh37, got {build!r}")
    variants = read_variants(vcf, sample)
    if consequences:
        add_consequences(variants, consequences)
    burden = tmb(variants, callable_bases) if consequences else {
        "coding_variants": None, "callable_mb": None, "tmb_per_mb": None, "reliable": False,
        "note": "no consequences: coding variants not known, TMB not computed",
    }  # fmt: skip
    rows = match(kb, variants, tumor_type, build, burden["tmb_per_mb"] if burden["reliable"] else None)
    tiers = {t: sum(r["tier"] == t for r in rows) for t in TIER_ORDER}
    return {
        "sample": sample,
        "tumor_type": tumor_type,
        "tumor_type_name": kb.names.get(tumor_type, ""),
        "lineage": kb.ancestors(tumor_type),
        "build": build,
        "mode": mode,
        "annotated": bool(consequences),
        "somatic_variants": len(variants),
        "tmb": burden,
        "tiers": tiers,
        "rows": rows,
        "knowledge_base": {
            "rows": len(kb.biomarkers),
            "latest_date": max(b.date for b in kb.biomarkers),
        },
    }


def write_json(doc: dict, path: str | Path) -> None:
    _atomic_json(doc, path, sort_keys=False, ensure_ascii=False)
