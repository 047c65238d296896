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

Beyond small variants (:func:`run` with ``cna``, ``fusions``, ``msi``): a gene-level copy-number
call matches ``amplification`` / ``deletion`` rows (genes and their coordinates in ``genes.tsv``);
a fusion matches ``fusion`` rows of either partner, or a pair row, with a note where the gene is
named at the end that loses its kinase, a partner is unnamed, or a breakpoint lies outside the gene
on this build; an MSI-H result matches the ``MSI-H`` rows. The knowledge base's README says which
criterion each signature rule uses.

Tiers follow AMP/ASCO/CAP 2017 (Li et al., J Mol Diagn 2017): level A evidence (FDA-approved or
guideline) in the patient's tumour type (the same OncoTree code or an ancestor) is tier I-A; the
same evidence in another tumour type, and investigational (clinical-trial) evidence in the
patient's tumour type, are tier II-C; case reports elsewhere and preclinical evidence are II-D.
Protein-altering variants of knowledge-base genes without a matching row are tier III.
Tier I-B (well-powered studies without approval or guideline) has no rows in the knowledge base.

Resistance is reconciled (:func:`reconcile`). A ``resistant`` row keeps its AMP tier (a tier I or II
finding) but has the role ``resistance``, not ``therapy``: it is never an option. A resistant row
stands only where its rule's tumour type is the patient's or an ancestor of it; a resistance seen in
another tumour type (cetuximab in colorectal cancer, for a pancreatic tumour) is not tiered at all.
A resistant row that stands overrides every sensitive row of the same sample for the same regimen
(compared as whole regimens: cetuximab alone does not override encorafenib + cetuximab), whichever
alteration the sensitive row is for: EGFR L858R's erlotinib in a tumour that also carries T790M. The
knowledge is the knowledge base's resistant rows, each with its source; the code names no gene.
"""

from __future__ import annotations

import csv
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.core.io import write_json as _atomic_json
from seq2rx.tumour.copynumber_io import CopyNumberThresholds, Gene, GeneCopyNumber, gene_calls
from seq2rx.tumour.fusions_io import FusionCall, read_fusions

KINDS = ("protein", "codon", "exon_deletion", "exon_insertion", "truncating", "oncogenic_mutation",
         "amplification", "deletion", "fusion", "signature")  # fmt: skip
GENE_COLUMNS = ("gene", "uses", "fusion_end", "grch38_chrom", "grch38_start", "grch38_end", "grch37_chrom",
                "grch37_start", "grch37_end", "source", "date")  # fmt: skip
GENE_USES = ("copy_number", "fusion", "fusion_partner")
FUSION_ENDS = ("3prime", "5prime", ".")
#: a fusion rule names the gene (``fusion``) or one pair, 5' gene first (``EML4::ALK fusion``)
_PAIR = re.compile(r"^([A-Za-z0-9._-]+)::([A-Za-z0-9._-]+) fusion$")
EVIDENCE = ("FDA-approved", "guideline", "clinical trial", "case report", "preclinical")
RESPONSES = ("sensitive", "resistant")
TIER_ORDER = ("I-A", "I-B", "II-C", "II-D", "III", "IV")
BIOMARKER_COLUMNS = ("id", "gene", "kind", "alteration", "exon", "grch38", "grch37", "tumor_type", "therapy",
                     "response", "evidence", "summary", "citation", "date")  # fmt: skip
TABLE_COLUMNS = ("sample", "chrom", "pos", "ref", "alt", "gene", "alteration", "vaf", "depth", "tier", "therapies",
                 "response", "evidence", "tumor_type_match", "rule_tumor_type", "rule", "source", "note", "role",
                 "overridden", "overridden_by")  # fmt: skip
#: a row's role: a therapy option (a sensitive rule), a resistance marker (a resistant rule), or no rule
ROLES = {"sensitive": "therapy", "resistant": "resistance"}
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


@dataclass(frozen=True)
class GeneRecord:
    """A gene of ``genes.tsv``: what it is listed for, which end a kinase fusion keeps, where it lies."""

    name: str
    uses: frozenset[str]
    #: ``3prime``: the gene's 3' part (with its kinase) is kept, as ALK's in EML4::ALK; ``5prime``: its
    #: 5' part, as FGFR3's in FGFR3::TACC3; ``.``: not a fusion driver of the knowledge base
    fusion_end: str
    #: build -> (chrom, first base, last base), one-based
    coords: dict[str, tuple[str, int, int]]


@dataclass
class Knowledge:
    biomarkers: list[Biomarker]
    parents: dict[str, str]
    names: dict[str, str]
    #: (gene, exon) -> (first codon, last codon)
    exons: dict[tuple[str, int], tuple[int, int]]
    #: the genes of ``genes.tsv``: coordinates for copy-number calls and fusion checks
    genes: dict[str, GeneRecord] = field(default_factory=dict)
    by_gene: dict[str, list[Biomarker]] = field(default_factory=dict)
    by_coord: dict[str, dict[tuple[str, int, str, str], list[Biomarker]]] = field(default_factory=dict)
    by_id: dict[str, Biomarker] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for b in self.biomarkers:
            self.by_id[b.id] = b
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
    genes = _load_genes(kb_dir / "genes.tsv") if (kb_dir / "genes.tsv").exists() else {}
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
        pair = _PAIR.match(row["alteration"])
        if row["kind"] == "fusion" and row["alteration"] != "fusion" and not (pair and row["gene"] in pair.groups()):
            raise InputError(str(path), f"{row['alteration']!r} is not 'fusion' or '5GENE::3GENE fusion' naming "
                             f"{row['gene']}", line=lineno, field="alteration", hint=_kb_fix(path))  # fmt: skip
        if row["kind"] in ("amplification", "deletion") and row["alteration"] != row["kind"]:
            raise InputError(str(path), f"a {row['kind']} rule's alteration is {row['kind']!r}", line=lineno,
                             field="alteration", hint=_kb_fix(path))  # fmt: skip
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
    return Knowledge(biomarkers, parents, names, exons, genes)


def _load_genes(path: Path) -> dict[str, GeneRecord]:
    genes = {}
    for lineno, row in _read_tsv(path, GENE_COLUMNS):
        uses = frozenset(row["uses"].split(","))
        if not uses <= set(GENE_USES) or row["fusion_end"] not in FUSION_ENDS:
            raise InputError(str(path), f"uses must be among {', '.join(GENE_USES)} and fusion_end one of "
                             f"{', '.join(FUSION_ENDS)}", line=lineno, field="uses", hint=_kb_fix(path))  # fmt: skip
        if row["gene"] in genes:
            raise InputError(str(path), f"gene {row['gene']} appears twice", line=lineno, field="gene")
        coords = {}
        for build in ("GRCh38", "GRCh37"):
            b = build.lower()
            try:
                start, end = int(row[f"{b}_start"]), int(row[f"{b}_end"])
            except ValueError:
                raise InputError(str(path), "start and end must be integers", line=lineno, field=f"{b}_start",
                                 hint=_kb_fix(path)) from None  # fmt: skip
            coords[build] = (row[f"{b}_chrom"].removeprefix("chr"), start, end)
        genes[row["gene"]] = GeneRecord(row["gene"], uses, row["fusion_end"], coords)
    return genes


# --------------------------------------------------------------------------- variants


@dataclass
class SomaticVariant:
    chrom: str
    pos: int
    ref: str
    alt: str
    vaf: float | None = None
    depth: int | None = None
    #: reads supporting the allele (of ``depth``); None when the VCF gives a VAF without allele depths
    alt_reads: int | None = None
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
                    vaf, depth, alt_reads = _vaf(rec, name, i)
                    out.append(SomaticVariant(rec.chrom, rec.pos, rec.ref, alt, vaf, depth, alt_reads, note=note))
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


def _vaf(rec, name: str | None, i: int) -> tuple[float | None, int | None, int | None]:
    """(allele fraction, depth, alt reads) of allele ``i``: from allele depths when the VCF has
    them (the depth is their sum), else a PCGR-style TVAF/TDP without the read count."""
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
        return round(ad[i] / sum(ad), 4), int(sum(ad)), int(ad[i])
    info = rec.info
    if "TVAF" in info:  # PCGR-style
        dp = info.get("TDP")
        return round(float(info["TVAF"]), 4), int(dp) if dp is not None else None, None
    return None, None, None


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
    with open(table, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [
            c for c in ("chrom", "pos", "ref", "alt", "gene", "consequence") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise InputError(str(table), f"no {', '.join(missing)} column", line=1,
                             hint="give the consequence table of seq2rx annotate --tsv")  # fmt: skip
        for row in reader:
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
    return False  # amplification, deletion, fusion, signature: matched from their own inputs (run)


def match(
    kb: Knowledge, variants: list[SomaticVariant], tumor_type: str, build: str, tmb: float | None = None
) -> list[dict]:
    """One row per (variant, matching rule), plus tier III rows; best tier first."""
    _check_tumour_type(kb, tumor_type)
    rows = []
    by_coord = kb.by_coord.get(build, {})
    matched = []
    for v in variants:
        hits: dict[str, tuple[Biomarker, str, str]] = {}  # rule id -> (rule, gene, alteration)
        for gene, effect in sorted(v.effects.items()):
            for b in kb.by_gene.get(gene, []):
                if _matches(b, effect, kb):
                    hits[b.id] = (b, gene, effect[1] or b.alteration)
        for b in by_coord.get(v.key, []):  # an unannotated VCF, or a change the annotation names otherwise
            hits.setdefault(b.id, (b, b.gene, b.alteration))
        matched.append((v, hits))
    # regimens offered on another tumour type's evidence: that type's resistance stands against them
    offered = {(regimen(b.therapy), b.tumor_type) for _v, hits in matched for b, _g, _a in hits.values()
               if b.response == "sensitive" and kb.relation(b.tumor_type, tumor_type) == "other type"}  # fmt: skip
    for v, hits in matched:
        tiered = _tiered(kb, [b for b, _g, _a in hits.values()], tumor_type, offered)
        for b, relation, tier_ in tiered:
            _b, gene, alteration = hits[b.id]
            if b.kind == "oncogenic_mutation" and tier_ == "I-A":
                tier_ = "II-C"  # "any mutation" of the gene is broader than the approved alteration
            rows.append(_row(v, gene, alteration, tier_, b, relation))
        if not tiered:  # no rule, or only another tumour type's resistance: a variant of a cancer gene
            for gene, (classes, protein, _pos) in sorted(v.effects.items()):
                if gene in kb.by_gene and classes & PROTEIN_ALTERING:
                    label = protein or "/".join(sorted(classes & PROTEIN_ALTERING))
                    rows.append(_row(v, gene, label, "III", None, "."))
    if tmb is not None:
        for b in kb.biomarkers:
            if b.kind == "signature" and b.gene == "TMB" and tmb >= _threshold(b.alteration):
                relation = kb.relation(b.tumor_type, tumor_type)
                rows.append(_row(None, "TMB", f"TMB {tmb:.1f}/Mb", tier(b.evidence, relation), b, relation))
    return reconcile(kb, rows)


def _check_tumour_type(kb: Knowledge, tumor_type: str) -> None:
    if tumor_type not in kb.parents:
        raise InputError("tumour type", f"{tumor_type!r} is not an OncoTree code the knowledge base knows")


def _best_first(rows: list[dict]) -> list[dict]:
    return sorted(
        rows, key=lambda r: (TIER_ORDER.index(r["tier"]), r["gene"], r["alteration"], r["therapies"], r["rule"])
    )


def _related(kb: Knowledge, a: str, b: str) -> bool:
    """One tumour type is the other or lies under it in OncoTree."""
    return kb.relation(a, b) in ("exact", "ancestor") or kb.relation(b, a) in ("exact", "ancestor")


def _tiered(
    kb: Knowledge, rules: list[Biomarker], tumor_type: str, offered: set[tuple[frozenset[str], str]] = frozenset()
) -> list[tuple[Biomarker, str, str]]:
    """(rule, tumour-type relation, tier) of the matched rules that stand.

    A tumour-agnostic row gives way where the patient's own tumour lineage has rows for the same
    gene (BRAF V600E in colorectal cancer is encorafenib + cetuximab, and the tumour-agnostic
    approval excludes it). A resistant rule of another tumour type does not stand (resistance is
    tiered in the tumour type it was shown in, or a descendant), except where the same regimen is
    offered on the evidence of that tumour type (``offered``: (regimen, rule tumour type) of the
    tumour's off-label sensitive rules): EGFR L858R's NSCLC erlotinib offered at II-C in a small-cell
    transformation is overridden by T790M's NSCLC resistance, not offered beside it.
    """
    lineage = {b.gene for b in rules if b.tumor_type != "TISSUE"
               and kb.relation(b.tumor_type, tumor_type) in ("exact", "ancestor")}  # fmt: skip
    out = []
    for b in rules:
        if b.tumor_type == "TISSUE" and b.gene in lineage:
            continue
        relation = kb.relation(b.tumor_type, tumor_type)
        if b.response == "resistant" and relation == "other type":
            if not any(rg == regimen(b.therapy) and _related(kb, t, b.tumor_type) for rg, t in offered):
                continue
        out.append((b, relation, tier(b.evidence, relation)))
    return out


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
        "alt_reads": v.alt_reads if v and v.alt_reads is not None else ".",
        "tier": tier_,
        "therapies": b.therapy if b else ".",
        "response": b.response if b else ".",
        "evidence": b.evidence if b else ".",
        "tumor_type_match": relation,
        "rule_tumor_type": b.tumor_type if b else ".",
        "rule": b.id if b else ".",
        "source": f"{b.citation} ({b.date})" if b else ".",
        "note": "; ".join(x for x in (v.note if v else "", _class_note(b)) if x) or ".",
        "role": ROLES[b.response] if b else ".",
        "overridden": False,
        "overridden_by": [],
    }


def _class_note(b: Biomarker | None) -> str:
    if b is not None and b.kind == "oncogenic_mutation":
        return f"rule covers only the {b.gene} alterations its source names; this variant needs confirming"
    return ""


# --------------------------------------------------------------------------- resistance


def regimen(therapy: str) -> frozenset[str]:
    """A therapy's drugs, order aside: a regimen is compared whole, never by substring.

    >>> sorted(regimen("encorafenib + cetuximab")) == sorted(regimen("cetuximab + encorafenib"))
    True
    >>> regimen("cetuximab") == regimen("encorafenib + cetuximab")
    False
    """
    return frozenset(d.strip().lower() for d in therapy.split("+") if d.strip())


def reconcile(kb: Knowledge, rows: list[dict]) -> list[dict]:
    """``rows`` with each therapy row that a resistance row of the same sample overrides marked.

    A ``resistance`` row (a resistant rule that stands for this tumour, :func:`_tiered`) overrides
    every ``therapy`` row for the same regimen (:func:`regimen`), whatever alteration it is for:
    with EGFR L858R and T790M, L858R's erlotinib, gefitinib, afatinib and dacomitinib rows are
    overridden by T790M's resistant rows, and osimertinib (sensitive for both) is not. The overridden
    row keeps its tier and gets ``overridden: true`` and ``overridden_by``: per resistance row, its
    rule, gene, alteration, tier, evidence, source and the knowledge base's reason. Rows without a
    resistance for their regimen get ``overridden: false`` and ``overridden_by: []``. Idempotent: a
    second call over more rows (another modality's) recomputes every mark. Best tier first.
    """
    against: dict[frozenset[str], list[dict]] = {}
    for r in rows:
        if r["role"] == "resistance":
            against.setdefault(regimen(r["therapies"]), []).append(r)
    out = []
    for r in rows:
        by: dict[tuple[str, str, str], dict] = {}
        if r["role"] == "therapy":
            for x in against.get(regimen(r["therapies"]), []):
                rule = kb.by_id.get(x["rule"])
                by[(x["rule"], x["gene"], x["alteration"])] = {
                    "rule": x["rule"], "gene": x["gene"], "alteration": x["alteration"], "tier": x["tier"],
                    "evidence": x["evidence"], "source": x["source"],
                    "reason": rule.summary if rule else f"{x['gene']} {x['alteration']} is resistant to {x['therapies']}",
                }  # fmt: skip
        out.append({**r, "overridden": bool(by), "overridden_by": [by[k] for k in sorted(by)]})
    return _best_first(out)


def alteration_label(row: dict) -> str:
    """``EGFR L858R``, ``ERBB2 amplification (9 copies)``; a fusion, MSI-H or TMB names itself."""
    gene, alteration = row["gene"], row["alteration"]
    return alteration if gene in alteration or gene in ("MSI", "TMB") else f"{gene} {alteration}"


def _strongest(rows: list[dict]) -> dict:
    return min(rows, key=lambda r: (TIER_ORDER.index(r["tier"]), EVIDENCE.index(r["evidence"]), r["rule"]))


def therapy_options(rows: list[dict]) -> list[dict]:
    """The tumour's options after :func:`reconcile`: one entry per regimen of a tier I or II therapy
    row that no resistance overrides, with its alterations, best tier and that row's evidence, rule
    ids and the rules' tumour types. Best tier first, then evidence, then the regimen backed for more
    of the tumour's alterations (osimertinib, for both EGFR L858R and T790M, before a regimen for
    L858R alone), then name. Empty when none."""
    groups: dict[frozenset[str], list[dict]] = {}
    for r in rows:
        if r["role"] == "therapy" and not r["overridden"] and r["tier"].startswith(("I-", "II-")):
            groups.setdefault(regimen(r["therapies"]), []).append(r)
    out = []
    for group in groups.values():
        best = _strongest(group)
        out.append({
            "therapy": best["therapies"], "tier": best["tier"], "evidence": best["evidence"],
            "tumor_type_match": best["tumor_type_match"],
            "alterations": sorted({alteration_label(r) for r in group}),
            "rules": sorted({r["rule"] for r in group}),
            "rule_tumor_types": sorted({r["rule_tumor_type"] for r in group}),
        })  # fmt: skip
    return sorted(out, key=lambda o: (TIER_ORDER.index(o["tier"]), EVIDENCE.index(o["evidence"]),
                                      -len(o["alterations"]), o["therapy"]))  # fmt: skip


def resistance_flags(rows: list[dict]) -> list[dict]:
    """The tumour's resistance markers after :func:`reconcile`: one entry per alteration with
    resistance rows, the regimens it is resistant to, its best tier and that row's evidence, its rule
    ids, and the therapy rows of other alterations it overrides (``overrides``: regimen, the
    alterations it was offered for, their rules). Best tier first. Empty when none."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["role"] == "resistance":
            groups.setdefault(alteration_label(r), []).append(r)
    out = []
    for label, group in groups.items():
        best, rules = _strongest(group), {r["rule"] for r in group}
        overridden: dict[frozenset[str], list[dict]] = {}
        for r in rows:
            if r["overridden"] and rules & {o["rule"] for o in r["overridden_by"]}:
                overridden.setdefault(regimen(r["therapies"]), []).append(r)
        out.append({
            "alteration": label, "gene": best["gene"], "tier": best["tier"], "evidence": best["evidence"],
            "therapies": sorted({r["therapies"] for r in group}), "rules": sorted(rules),
            "rule_tumor_types": sorted({r["rule_tumor_type"] for r in group}),
            "overrides": sorted(({"therapy": min(r["therapies"] for r in g),
                                  "alterations": sorted({alteration_label(r) for r in g}),
                                  "rules": sorted({r["rule"] for r in g})} for g in overridden.values()),
                                key=lambda o: o["therapy"]),
        })  # fmt: skip
    return sorted(out, key=lambda f: (TIER_ORDER.index(f["tier"]), EVIDENCE.index(f["evidence"]), f["alteration"]))


# --------------------------------------------------------------------------- copy number, fusions, MSI


def _event_row(where: tuple, gene: str, alteration: str, tier_: str, b: Biomarker | None, relation: str,
               note: str = "") -> dict:  # fmt: skip
    """A row for an alteration that is not a small variant: chrom/pos of its segment or breakpoint."""
    row = _row(None, gene, alteration, tier_, b, relation)
    row["chrom"], row["pos"] = where
    row["note"] = note or "."
    return row


def copy_number_genes(kb: Knowledge, build: str) -> list[Gene]:
    """The genes ``genes.tsv`` lists for copy number, with their coordinates on ``build``."""
    return [Gene(g.name, *g.coords[build]) for g in kb.genes.values() if "copy_number" in g.uses]


def match_copy_number(kb: Knowledge, calls: list[GeneCopyNumber], tumor_type: str) -> list[dict]:
    """Rows for amplified and deleted genes: each matching ``amplification`` / ``deletion`` rule,
    else tier III (no therapy is inferred for a loss the knowledge base has no rule for, e.g. CDKN2A).
    Neutral genes give no row."""
    _check_tumour_type(kb, tumor_type)
    rows = []
    for c in calls:
        if c.call not in ("amplification", "deletion"):
            continue
        label = f"{c.call} ({c.total_cn} {'copy' if c.total_cn == 1 else 'copies'})"
        tiered = _tiered(kb, [b for b in kb.by_gene.get(c.gene, []) if b.kind == c.call], tumor_type)
        for b, relation, tier_ in tiered:
            rows.append(_event_row((c.chrom, c.start), c.gene, label, tier_, b, relation))
        if not tiered:
            rows.append(_event_row((c.chrom, c.start), c.gene, label, "III", None, "."))
    return rows


def _fusion_rules(kb: Knowledge, f: FusionCall) -> list[Biomarker]:
    """The fusion rules of either partner: a gene rule (``fusion``) matches the gene in either place;
    a pair rule (``EML4::ALK fusion``) matches those two genes."""
    rules = []
    for gene in dict.fromkeys(f.genes):
        for b in kb.by_gene.get(gene, []):
            pair = _PAIR.match(b.alteration)
            if b.kind == "fusion" and (pair is None or set(pair.groups()) == set(f.genes)):
                rules.append(b)
    return rules


def _fusion_note(kb: Knowledge, f: FusionCall, gene: str, build: str, b: Biomarker | None) -> str:
    """What to check before acting on ``gene``'s part in ``f``: its place against the end its kinase
    sits at, an unnamed partner, a breakpoint outside the gene on this build."""
    notes = []
    here = "5'" if gene == f.five_prime else "3'"
    other = f.three_prime if here == "5'" else f.five_prime
    if other is None:
        notes.append("the 3' partner is not named" if here == "5'" else "the 5' partner is not named")
    pair = _PAIR.match(b.alteration) if b else None
    record = kb.genes.get(gene)
    keep = None
    if pair:
        keep = "5'" if gene == pair.group(1) else "3'"
    elif record and record.fusion_end != ".":
        keep = "3'" if record.fusion_end == "3prime" else "5'"
    if keep and keep != here:
        product = f"{other or '?'}::{gene}" if keep == "3'" else f"{gene}::{other or '?'}"
        notes.append(f"named {f.name}, {gene} as the {here} gene; {gene} keeps its kinase (signalling) domain "
                     f"as the {keep} gene ({product}): confirm that product (RNA, or the reciprocal junction) "
                     "before treating")  # fmt: skip
    if record and build in record.coords:
        chrom, start, end = record.coords[build]
        at_chrom, at = f.breakpoint_of(gene)
        if at_chrom != chrom or not start <= at <= end:
            notes.append(f"the {gene} breakpoint {at_chrom}:{at} lies outside {gene} ({chrom}:{start}-{end} on "
                         f"{build}): check the file's build and gene names")  # fmt: skip
    return "; ".join(notes)


def match_fusions(kb: Knowledge, fusions: list[FusionCall], tumor_type: str, build: str) -> list[dict]:
    """Rows for fusions with a knowledge-base gene: each matching fusion rule, else tier III for the
    first partner the knowledge base knows. Fusions of other genes give no row (the JSON lists them)."""
    _check_tumour_type(kb, tumor_type)
    rows = []
    for f in fusions:
        label = f"{f.name} fusion"
        tiered = _tiered(kb, _fusion_rules(kb, f), tumor_type)
        for b, relation, tier_ in tiered:
            note = _fusion_note(kb, f, b.gene, build, b)
            rows.append(_event_row(f.breakpoint_of(b.gene), b.gene, label, tier_, b, relation, note))
        if tiered:
            continue
        known = [g for g in f.genes if g in kb.by_gene or "fusion" in getattr(kb.genes.get(g), "uses", ())]
        if known:
            note = _fusion_note(kb, f, known[0], build, None)
            rows.append(_event_row(f.breakpoint_of(known[0]), known[0], label, "III", None, ".", note))
    return rows


MSI_STATUSES = ("MSI-H", "MSS")


#: the modalities a tumour is assessed for, in the order the document lists them
MODALITIES = ("small variants", "copy number", "fusions", "MSI", "TMB")
#: an MSI result without a status (too few sites, or only a VCF and no cutoff), with its reason
MSI_NOT_ASSESSED = "not assessed"


def check_msi(msi: dict) -> dict:
    """An MSI result ``{"status": "MSI-H" | "MSS", "score": float | None, "method": str}``, checked."""
    if not isinstance(msi, dict) or msi.get("status") not in MSI_STATUSES:
        got = msi.get("status") if isinstance(msi, dict) else msi
        raise InputError("MSI result", f"status must be one of {', '.join(MSI_STATUSES)}, got {got!r}")
    score = msi.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise InputError("MSI result", f"score must be a number or null, got {score!r}")
    if not isinstance(msi.get("method"), str) or not msi["method"].strip():
        raise InputError("MSI result", "method must name how the status was found (e.g. MSIsensor-pro)")
    return {"status": msi["status"], "score": score, "method": msi["method"]}


def match_msi(kb: Knowledge, msi: dict, tumor_type: str) -> list[dict]:
    """Rows for an MSI-H tumour: every ``MSI-H`` signature rule (none for MSS). Tumour-agnostic rows
    stand beside the lineage's own: pembrolizumab's MSI-H approval does not exclude any tumour type."""
    _check_tumour_type(kb, tumor_type)
    if msi["status"] != "MSI-H":
        return []
    note = f"MSI score {msi['score']:g} ({msi['method']})" if msi["score"] is not None else f"MSI by {msi['method']}"
    rows = []
    for b in kb.biomarkers:
        if b.kind == "signature" and b.gene == "MSI" and b.alteration == "MSI-H":
            relation = kb.relation(b.tumor_type, tumor_type)
            rows.append(_event_row((".", "."), "MSI", "MSI-H", tier(b.evidence, relation), b, relation, note))
    return rows


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
            w.writerow([sample] + [_cell(r, c) for c in TABLE_COLUMNS[1:]])


def _cell(row: dict, column: str) -> object:
    """A row's value as the TSV writes it: ``overridden`` as true/false, ``overridden_by`` as
    ``A029 EGFR T790M`` per resistance rule (``; `` between them) or ``.``."""
    if column == "overridden":
        return "true" if row["overridden"] else "false"
    if column == "overridden_by":
        return "; ".join(f"{o['rule']} {o['gene']} {o['alteration']}" for o in row["overridden_by"]) or "."
    return row[column]


def run(
    kb: Knowledge,
    vcf: str | Path,
    sample: str,
    tumor_type: str,
    build: str,
    consequences: str | Path | None = None,
    callable_bases: int | None = None,
    mode: str = "VCF from elsewhere",
    *,
    cna: str | Path | list[GeneCopyNumber] | None = None,
    fusions: str | Path | list[FusionCall] | None = None,
    msi: dict | None = None,
    cna_thresholds: CopyNumberThresholds | None = None,
    methods: dict[str, str] | None = None,
    not_assessed: dict[str, str] | None = None,
) -> dict:
    """The actionability document of one tumour: tiered rows, TMB and what they rest on.

    ``cna`` is a PCGR-format segment file (or gene-level calls already made), ``fusions`` a
    PCGR-format fusion file (or fusion calls), ``msi`` an MSI result (:func:`check_msi`, or one whose
    ``status`` is ``not assessed`` with its ``reason``, as :mod:`seq2rx.tumour.msi` returns it).
    ``methods`` names how an assessed modality was assessed and ``not_assessed`` why a modality
    without input was not (by modality name, :data:`MODALITIES`; see :func:`assessment_notes`).
    With any of these the document also lists each modality as assessed or not (with the reason)
    and the calls read; without them it is exactly what it was before these inputs existed.

    The rows are reconciled over every modality (:func:`reconcile`): each has a ``role``
    (``therapy``, ``resistance``, or ``.`` for a tier III row without a rule), ``overridden`` and
    ``overridden_by``. ``options`` lists the therapies left after reconciliation
    (:func:`therapy_options`) and ``resistance_flags`` the resistance markers (:func:`resistance_flags`).
    """
    if build not in ("GRCh38", "GRCh37"):
        raise InputError("build", f"must be GRCh38 or GRCh37, got {build!r}")
    for name in (*(methods or {}), *(not_assessed or {})):
        if name not in MODALITIES:
            raise ValueError(f"modality must be one of {list(MODALITIES)}, got {name!r}")
    msi_section = None
    if msi is not None and isinstance(msi, dict) and msi.get("status") == MSI_NOT_ASSESSED:
        msi_section = {"status": MSI_NOT_ASSESSED, "score": None, "method": msi.get("method") or "MSI",
                       "criterion": msi.get("criterion"), "reason": msi.get("reason") or "MSI not assessed"}  # fmt: skip
        msi = None
    elif msi is not None:
        criterion = msi.get("criterion") if isinstance(msi, dict) else None
        msi = check_msi(msi)
        msi_section = {**msi, "criterion": criterion} if criterion else msi
    variants = read_variants(vcf, sample)
    if consequences:
        add_consequences(variants, consequences)
    burden = tmb(variants, callable_bases) if consequences else {
        "coding_variants": None, "callable_mb": None, "tmb_per_mb": None, "reliable": False,
        "note": "no consequences: coding variants not known, TMB not computed",
    }  # fmt: skip
    rows = match(kb, variants, tumor_type, build, burden["tmb_per_mb"] if burden["reliable"] else None)
    extra: dict = {}
    if any(x is not None for x in (cna, fusions, msi_section, methods, not_assessed)):
        extra, more = _other_modalities(kb, tumor_type, build, cna, fusions, msi, cna_thresholds)
        extra["msi"] = msi_section
        extra = {"modalities": _modalities(vcf, len(variants), burden, extra, methods or {}, not_assessed or {}),
                 **extra}  # fmt: skip
        rows = reconcile(kb, rows + more)  # a resistance in one modality overrides a therapy of another
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
        "options": therapy_options(rows),
        "resistance_flags": resistance_flags(rows),
        "knowledge_base": {
            "rows": len(kb.biomarkers),
            "latest_date": max(b.date for b in kb.biomarkers),
        },
        **extra,
    }


def _other_modalities(
    kb: Knowledge,
    tumor_type: str,
    build: str,
    cna: str | Path | list[GeneCopyNumber] | None,
    fusions: str | Path | list[FusionCall] | None,
    msi: dict | None,
    thresholds: CopyNumberThresholds | None,
) -> tuple[dict, list[dict]]:
    """The ``copy_number``, ``fusions`` and ``msi`` sections (``None`` where not given) and their rows."""
    sections: dict = {"copy_number": None, "fusions": None, "msi": msi}
    rows: list[dict] = []
    if cna is not None:
        sections["copy_number"], calls = _copy_number_section(kb, build, cna, thresholds or CopyNumberThresholds())
        rows += match_copy_number(kb, calls, tumor_type)
    if fusions is not None:
        calls = fusions if isinstance(fusions, list) else read_fusions(fusions, build=build)
        source = "; ".join(sorted({f.source for f in calls})) if isinstance(fusions, list) else Path(fusions).name
        sections["fusions"] = {"source": source, "calls": [_fusion_entry(kb, f) for f in calls]}
        rows += match_fusions(kb, calls, tumor_type, build)
    if msi is not None:
        rows += match_msi(kb, msi, tumor_type)
    return sections, rows


def _copy_number_section(
    kb: Knowledge, build: str, cna: str | Path | list[GeneCopyNumber], thresholds: CopyNumberThresholds
) -> tuple[dict, list[GeneCopyNumber]]:
    """What was read and called. Calls made upstream (a list, e.g. the CNVkit engine's) keep their
    own thresholds, so none are stated for them."""
    genes = copy_number_genes(kb, build)
    if isinstance(cna, list):
        called = {c.gene for c in cna}
        calls, segments, used = cna, None, None
        uncalled = [g.name for g in genes if g.name not in called]
        source = "; ".join(sorted({c.source for c in cna})) or "gene-level calls"
    else:
        calls, uncalled, segments = gene_calls(cna, genes, thresholds, build=build)
        source, used = Path(cna).name, asdict(thresholds)
    section = {"source": source, "segments": segments, "thresholds": used, "calls": [asdict(c) for c in calls],
               "genes_without_call": uncalled}  # fmt: skip
    return section, calls


def _fusion_entry(kb: Knowledge, f: FusionCall) -> dict:
    return {
        "fusion": f.name,
        "five_prime": f.five_prime,
        "three_prime": f.three_prime,
        "five_prime_breakpoint": "{}:{}".format(*f.five_prime_breakpoint),
        "three_prime_breakpoint": "{}:{}".format(*f.three_prime_breakpoint),
        "split_reads": f.split_reads,
        "knowledge_base_genes": [g for g in f.genes if g in kb.by_gene or g in kb.genes],
    }


def _modalities(vcf: str | Path, n_variants: int, burden: dict, sections: dict, methods: dict[str, str],
                not_assessed: dict[str, str]) -> list[dict]:  # fmt: skip
    """Each modality, assessed or not, with the reason: a negative statement names what it covers."""

    def entry(modality: str, source: str | None, reason: str | None = None) -> dict:
        status = "not assessed" if reason else "assessed"
        if not reason:
            source = methods.get(modality, source)
        return {"modality": modality, "status": status, "source": source, "reason": reason}

    cn, fu, msi = sections["copy_number"], sections["fusions"], sections["msi"]
    msi_reason = (msi["reason"] if msi["status"] == MSI_NOT_ASSESSED else None) if msi else None
    return [
        entry("small variants", f"{Path(vcf).name}: {n_variants} somatic variants"),
        entry("copy number", cn and cn["source"],
              None if cn else not_assessed.get("copy number", "no copy-number input")),
        entry("fusions", fu and fu["source"], None if fu else not_assessed.get("fusions", "no fusion input")),
        entry("MSI", msi and msi["method"], msi_reason if msi else not_assessed.get("MSI", "no MSI result")),
        entry("TMB", "coding somatic variants per callable megabase", None if burden["reliable"] else burden["note"]),
    ]  # fmt: skip


def assessment_methods(
    *,
    copy_number: dict | None = None,
    cna_file: str | Path | None = None,
    fusions: dict | None = None,
    fusions_file: str | Path | None = None,
) -> dict[str, str]:
    """How each modality with input was assessed, for :func:`run`'s ``methods``.

    ``copy_number`` is the CNVkit engine's JSON (:func:`seq2rx.tumour.copy_number`), ``cna_file``
    another caller's segment file from the sheet (it wins over CNVkit); ``fusions`` the fusion
    caller's JSON (:func:`seq2rx.tumour.write_fusions`), ``fusions_file`` the sheet's fusion file
    (it wins). MSI says for itself how it was read (its result's ``method`` and ``criterion``).

    >>> assessment_methods(cna_file="/data/T1.cna.tsv")
    {'copy number': "another caller's segments (PCGR format): T1.cna.tsv"}
    """
    methods: dict[str, str] = {}
    if cna_file:
        methods["copy number"] = f"another caller's segments (PCGR format): {Path(cna_file).name}"
    elif copy_number:
        methods["copy number"] = (
            f"CNVkit {copy_number['cnvkit_version']} ({copy_number['segmentation']} segmentation, "
            f"{copy_number['protocol']} bins), reference: {copy_number['reference']}; "
            f"{copy_number['purity_ploidy_note']}"
        )
    if fusions_file:
        methods["fusions"] = f"another caller's fusions (PCGR format): {Path(fusions_file).name}"
    elif fusions:
        scanned, missing = len(fusions["genes_scanned"]), len(fusions.get("genes_missing", []))
        methods["fusions"] = (
            f"seq2rx DNA fusion caller: split reads and discordant pairs over {scanned} of the knowledge base's "
            f"{scanned + missing} fusion genes and partners"
            + (f" ({missing} not in the gene models)" if missing else "")
            + ", frame and kinase domain checked"
        )
    return methods


def fusion_genes(kb: Knowledge) -> list[str]:
    """The genes a fusion caller scans: every gene of a ``fusion`` rule and every gene that
    ``genes.tsv`` lists for fusions (drivers and partners, e.g. EML4), sorted."""
    genes = {b.gene for b in kb.biomarkers if b.kind == "fusion"}
    genes |= {g.name for g in kb.genes.values() if g.uses & {"fusion", "fusion_partner"}}
    return sorted(genes)


def write_json(doc: dict, path: str | Path) -> None:
    _atomic_json(doc, path, sort_keys=False, ensure_ascii=False)
