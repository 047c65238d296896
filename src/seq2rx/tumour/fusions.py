"""Gene fusions from DNA: split reads and discordant pairs around the knowledge base's fusion genes.

Evidence comes from a coordinate-sorted, indexed BAM (BWA-MEM output), read only over the genes
of interest (their GFF3 span plus a flank), one record at a time:

- a *split read* is a record with an ``SA`` tag (primary or supplementary); its alignments, put
  in the order of the read as sequenced, give one junction per consecutive pair;
- a *spanning pair* is a primary record whose mate maps to another contig, or more than
  ``min_sv_length`` away on the same contig (in any orientation).

Each side of a junction is a :class:`Breakend`: the base next to the junction and the side of it
that the rearranged molecule keeps (``+``: the sequence up to the base, ``-``: from the base on).
Two ``+`` (or two ``-``) breakends on one contig are an inversion (EML4-ALK on 2p), ``+`` then
``-`` a deletion, ``-`` then ``+`` a tandem duplication, two contigs a translocation. Split-read
junctions within ``tolerance`` bases on both sides form one breakpoint pair, placed at their most
frequent positions; each spanning pair joins the breakpoint pair whose kept sides hold both
mates within ``max_insert`` bases; pairs that join none are clustered on their own (an imprecise
breakpoint pair, placed at the mates' innermost ends).

A breakend falls in a gene when the gene's span (over its coding transcripts) holds it. The 5′
partner is the gene whose transcription runs towards its breakend (its strand equals the kept
side), the 3′ partner the gene whose transcription runs away from its breakend (see
:func:`partners`). The fused transcript joins the 5′ partner's last exon before the break to the
3′ partner's first exon after it; it is in frame when the 5′ coding length up to that exon and the
3′ exon's CDS phase add up to whole codons, and no stop codon arises in the codon that spans the
junction (translated with Biopython). A kinase of ``resources/kb/actionability/kinase_domains.tsv``
(UniProt coordinates) is checked at the end of the fusion that carries it:

- as the 3′ partner (ALK in EML4::ALK, RET, ROS1, NTRK1-3): the domain is retained when the first
  codon wholly encoded by the 3′ partner comes at or before the domain's first codon;
- as the 5′ partner (FGFR3 in FGFR3::TACC3, FGFR2 in FGFR2::BICC1, where the break lies after the
  kinase and the 3′ partner adds a dimerisation domain): the domain is retained when its last
  codon lies within the whole codons of the 5′ coding part kept before the break. The product is
  only the fusion when the junction is also in frame (``in_frame``), reported separately; a note
  names the 5′ carrier and the last codon it keeps.

When both genes are kinases of the table, the 3′ one is checked.

Memory grows with the abnormal reads inside the scanned genes, never with the BAM's size.
"""

from __future__ import annotations

import bisect
import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

import pysam
from Bio.Seq import Seq

from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, write_json
from seq2rx.genome.sequence import revcomp
from seq2rx.variants.annotate import Transcript, load_transcripts

#: The PCGR fusion table's columns (as in STAR-Fusion's ``FusionGene`` naming, 5′--3′).
PCGR_COLUMNS = ("FusionGene", "LeftBreakpoint", "RightBreakpoint", "SplitReads")
KINASE_COLUMNS = ("gene", "transcript", "protein_length", "first_codon", "last_codon", "source", "release", "date")
CALLS = ("fusion", "rearrangement", "low_support")


@dataclass(frozen=True)
class FusionParams:
    """Evidence filters and the support a call needs (config section ``fusions``).

    - ``min_mapq`` (20): every alignment used (record, its ``SA`` entries, a mate's ``MQ``)
      must map this well; repeats and paralogues (the NTRK/FGFR families) give low MAPQ.
    - ``min_split_reads`` (2) and ``min_spanning_pairs`` (2): a ``fusion`` call needs both; a
      chimeric artefact of library preparation is one fragment (duplicates are not counted), so
      two independent fragments of each kind at one junction are not chance.
    - ``tolerance`` (10 bp): split-read junctions this close on both sides are one breakpoint
      (BWA places a junction anywhere within its microhomology).
    - ``max_insert`` (1000 bp): the furthest a spanning pair's mate may lie from the junction
      (a library's insert size plus a margin).
    - ``min_sv_length`` (1000 bp): mates or split alignments closer than this on one contig are
      an ordinary pair or a small indel, not a rearrangement.
    - ``flank`` (2000 bp): scanned on either side of each gene, for breaks in its promoter.
    - ``include_duplicates`` (False): count reads flagged as duplicates.
    """

    min_mapq: int = 20
    min_split_reads: int = 2
    min_spanning_pairs: int = 2
    tolerance: int = 10
    max_insert: int = 1000
    min_sv_length: int = 1000
    flank: int = 2000
    include_duplicates: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(f.default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"fusions.{f.name} must be true or false, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"fusions.{f.name} must be a whole number >= 0, got {value!r}")

    @classmethod
    def from_config(cls, section: dict) -> FusionParams:
        """The parameters of the config's ``fusions`` section (its other keys are not the caller's)."""
        return cls(**{f.name: section[f.name] for f in fields(cls)})


class Breakend(NamedTuple):
    """One side of a junction: 1-based ``pos`` is the base next to the junction on the kept
    ``side`` (``+``: the molecule keeps ``chrom`` up to ``pos``; ``-``: from ``pos`` on)."""

    chrom: str
    pos: int
    side: str

    def __str__(self) -> str:
        return f"{self.chrom}:{self.pos}"


@dataclass
class BreakpointPair:
    """Two breakends joined in the tumour, with the reads that say so."""

    a: Breakend
    b: Breakend
    split_reads: int = 0
    spanning_pairs: int = 0
    precise: bool = True

    @property
    def kind(self) -> str:
        if self.a.chrom != self.b.chrom:
            return "translocation"
        if self.a.side == self.b.side:
            return "inversion"
        first, second = sorted((self.a, self.b), key=lambda e: e.pos)
        return "deletion" if (first.side, second.side) == ("+", "-") else "duplication"


@dataclass(frozen=True)
class KinaseDomain:
    gene: str
    transcript: str
    protein_length: int
    first_codon: int
    last_codon: int
    source: str


@dataclass
class Fusion:
    """A breakpoint pair read as a fusion transcript (fields as written to JSON)."""

    five_prime: str | None
    three_prime: str | None
    five_prime_breakpoint: str
    three_prime_breakpoint: str
    kind: str
    split_reads: int
    spanning_pairs: int
    precise: bool
    call: str
    five_prime_transcript: str | None = None
    three_prime_transcript: str | None = None
    five_prime_location: str | None = None  # e.g. "intron 13", "exon 4", "upstream"
    three_prime_location: str | None = None
    five_prime_exon: int | None = None  # last kept exon (transcript order, 1-based)
    three_prime_exon: int | None = None  # first kept exon
    exons_joined: str | None = None
    in_frame: bool | None = None
    junction_stop: bool | None = None
    junction_peptide: str | None = None
    kinase_domain: str | None = None  # e.g. "1116-1392 (UniProtKB Q9UM73 ...)", of the 3′ or else the 5′ partner
    first_retained_codon: int | None = None  # a 3′ kinase's first codon wholly from the 3′ partner
    kinase_domain_retained: bool | None = None  # a 5′ carrier is named in ``notes``
    breakends: list[str] = field(default_factory=list)  # chrom:pos:side, as found
    genes: list[str] = field(default_factory=list)  # every gene at either breakend
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.five_prime}--{self.three_prime}"


@dataclass
class FusionCalls:
    """What :func:`call_fusions` found, and what it looked at."""

    fusions: list[Fusion]
    genes_scanned: list[str]
    genes_missing: list[str]  # asked for but without a coding transcript in the GFF3
    params: FusionParams
    #: usable reads over the scanned genes and flanks (:class:`Evidence`'s ``reads``)
    reads_scanned: int = 0

    @property
    def reason(self) -> str | None:
        """Why the tumour's fusions are not assessed (None when they are): a BAM without usable reads
        on any scanned gene shows no fusion because it shows nothing, which is not "no fusion"."""
        if self.genes_scanned and not self.reads_scanned:
            return (f"the tumour BAM has no usable reads (mapping quality >= {self.params.min_mapq}) on the "
                    f"{len(self.genes_scanned)} fusion genes scanned: check the capture covers them")  # fmt: skip
        return None


# --------------------------------------------------------------------------- knowledge


def read_kinase_domains(path: str | Path | None = None) -> dict[str, KinaseDomain]:
    """The kinase domain table, by gene (default: the packaged ``kinase_domains.tsv``)."""
    path = Path(path) if path else data_path("kb", "actionability", "kinase_domains.tsv")
    out: dict[str, KinaseDomain] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [c for c in KINASE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(str(path), f"missing column(s) {missing}", line=1, hint=f"columns: {KINASE_COLUMNS}")
        for row_no, row in enumerate(reader, 2):
            try:
                dom = KinaseDomain(
                    row["gene"], row["transcript"].split(".")[0], int(row["protein_length"]),
                    int(row["first_codon"]), int(row["last_codon"]), row["source"],
                )  # fmt: skip
            except ValueError as exc:
                raise InputError(str(path), f"not a whole number: {exc}", line=row_no) from None
            if not 1 <= dom.first_codon <= dom.last_codon <= dom.protein_length:
                raise InputError(str(path), "needs 1 <= first_codon <= last_codon <= protein_length", line=row_no)
            out[dom.gene] = dom
    return out


# --------------------------------------------------------------------------- genes


@dataclass(frozen=True)
class _Gene:
    name: str
    chrom: str
    strand: str
    start: int  # 0-based span over the gene's coding transcripts
    end: int
    tx: Transcript  # the transcript the fusion is read on


def _canonical(gff3: str | Path) -> set[str]:
    """Transcripts the GFF3 tags ``Ensembl_canonical`` or ``MANE_Select`` (ids without ``transcript:``)."""
    out = set()
    with open(gff3) as fh:
        for line in fh:
            if "Ensembl_canonical" not in line and "MANE_Select" not in line:
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) == 9:
                attrs = dict(item.split("=", 1) for item in f[8].split(";") if "=" in item)
                tags = attrs.get("tag", "").split(",")
                if "Ensembl_canonical" in tags or "MANE_Select" in tags:
                    out.add(attrs.get("ID", "").removeprefix("transcript:"))
    return out


def gene_models(gff3: str | Path, kinases: dict[str, KinaseDomain]) -> dict[str, _Gene]:
    """Coding genes of the GFF3, each read on one transcript: the kinase table's, else the one
    tagged ``Ensembl_canonical`` or ``MANE_Select``, else the one with the longest coding sequence
    (ties: the smallest identifier). A gene's span covers its coding transcripts on that contig."""
    by_gene: dict[str, list[Transcript]] = defaultdict(list)
    for tx in load_transcripts(gff3).values():
        by_gene[tx.gene].append(tx)
    canonical = _canonical(gff3)
    out = {}
    for name, txs in by_gene.items():
        wanted = kinases[name].transcript if name in kinases else None
        chosen = next((t for t in txs if t.id.split(".")[0] == wanted), None)
        chosen = chosen or min(txs, key=lambda t: (t.id not in canonical, -sum(e - s for s, e, _p in t.cds), t.id))
        same = [t for t in txs if t.chrom == chosen.chrom]
        start = min(min(s for s, _e in t.exons) for t in same)
        end = max(max(e for _s, e in t.exons) for t in same)
        out[name] = _Gene(name, chosen.chrom, chosen.strand, start, end, chosen)
    return out


def gene_regions(genes: dict[str, _Gene], names: Iterable[str], flank: int) -> list[tuple[str, int, int]]:
    """Merged (chrom, 0-based start, end) of the named genes' spans plus ``flank`` on each side."""
    spans = sorted((g.chrom, max(0, g.start - flank), g.end + flank) for n in names if (g := genes.get(n)))
    merged: list[tuple[str, int, int]] = []
    for chrom, s, e in spans:
        if merged and merged[-1][0] == chrom and s <= merged[-1][2]:
            merged[-1] = (chrom, merged[-1][1], max(merged[-1][2], e))
        else:
            merged.append((chrom, s, e))
    return merged


# --------------------------------------------------------------------------- evidence

_CIGAR = re.compile(r"(\d+)([MIDNSHP=X])")


class _Segment(NamedTuple):
    chrom: str
    start: int  # 0-based reference start
    end: int  # reference end (exclusive)
    reverse: bool
    qstart: int  # query interval in the read as sequenced
    qend: int


def _segment(chrom: str, start: int, reverse: bool, ops: list[tuple[int, int]]) -> _Segment:
    """A segment from CIGAR (op, length) pairs, op as in pysam (0 M, 1 I, 2 D, 3 N, 4 S, 5 H, 7 =, 8 X)."""
    lead = trail = 0
    k = 0
    while k < len(ops) and ops[k][0] in (4, 5):
        lead += ops[k][1]
        k += 1
    j = len(ops) - 1
    while j >= k and ops[j][0] in (4, 5):
        trail += ops[j][1]
        j -= 1
    query = sum(n for op, n in ops[k : j + 1] if op in (0, 1, 7, 8))
    ref = sum(n for op, n in ops[k : j + 1] if op in (0, 2, 3, 7, 8))
    qstart = trail if reverse else lead
    return _Segment(chrom, start, start + ref, reverse, qstart, qstart + query)


def _ops(cigar: str) -> list[tuple[int, int]]:
    return [("MIDNSHP=X".index(op), int(n)) for n, op in _CIGAR.findall(cigar)]


def _junction(first: _Segment, second: _Segment) -> tuple[Breakend, Breakend]:
    """The breakends where the read leaves ``first`` and enters ``second`` (read order)."""
    a = Breakend(first.chrom, first.start + 1, "-") if first.reverse else Breakend(first.chrom, first.end, "+")
    b = Breakend(second.chrom, second.end, "+") if second.reverse else Breakend(second.chrom, second.start + 1, "-")
    return a, b


class Evidence(NamedTuple):
    """What the scan found: split-read junctions and spanning pairs, each a pair of breakends in
    contig order (a pair's positions are its mates' ends nearest the junction)."""

    splits: list[tuple[Breakend, Breakend]]
    pairs: list[tuple[Breakend, Breakend]]
    #: usable records (past the filters below) in the regions: none means nothing could be seen
    reads: int = 0


def collect_evidence(bam: str | Path, regions: list[tuple[str, int, int]], params: FusionParams) -> Evidence:
    """Scan ``regions`` of a coordinate-sorted, indexed BAM for split reads and spanning pairs.

    Skipped: unmapped, secondary, QC-failed and (unless ``include_duplicates``) duplicate records,
    and any alignment below ``min_mapq``. A read or pair seen from two regions counts once. A region
    on a contig the BAM lacks is skipped; a BAM without an index, or one that has none of the
    regions' contigs (chr2 vs 2 naming), is an :class:`InputError`.
    """
    splits, pairs, reads = [], [], 0
    seen_reads: set[tuple[str, bool]] = set()
    seen_pairs: set[str] = set()
    skip = 0x4 | 0x100 | 0x200 | (0 if params.include_duplicates else 0x400)
    with pysam.AlignmentFile(str(bam), "rb") as fh:
        order = {name: k for k, name in enumerate(fh.references)}
        if not fh.has_index():
            raise InputError(str(bam), "has no index (.bai or .csi)", hint="run samtools index on it")
        if regions and not any(chrom in order for chrom, _s, _e in regions):
            contigs = sorted({chrom for chrom, _s, _e in regions})
            raise InputError(
                str(bam),
                f"none of the genes' contigs {contigs} is in the BAM header",
                field="@SQ SN",
                hint="the GFF3 and the BAM name contigs differently (chr2 vs 2?)",
            )

        def ordered(x: Breakend, y: Breakend) -> tuple[Breakend, Breakend]:
            return (x, y) if (order[x.chrom], x.pos) <= (order[y.chrom], y.pos) else (y, x)

        for chrom, start, end in regions:
            if chrom not in order:
                continue
            for rec in fh.fetch(chrom, start, end):
                if rec.flag & skip or rec.mapping_quality < params.min_mapq:
                    continue
                reads += 1
                if rec.has_tag("SA"):
                    key = (rec.query_name, rec.is_read1)
                    if key not in seen_reads:
                        seen_reads.add(key)
                        for x, y in _split_junctions(rec, params, order):
                            splits.append(ordered(x, y))
                if rec.is_supplementary or not rec.is_paired or rec.mate_is_unmapped:
                    continue
                pair = _spanning_pair(rec, params)
                if pair is not None and rec.query_name not in seen_pairs:
                    seen_pairs.add(rec.query_name)
                    pairs.append(ordered(*pair))
    return Evidence(splits, pairs, reads)


def _split_junctions(rec: pysam.AlignedSegment, params: FusionParams, order: dict[str, int]):
    segs = [_segment(rec.reference_name, rec.reference_start, rec.is_reverse, rec.cigartuples)]
    for item in rec.get_tag("SA").split(";"):
        parts = item.split(",")
        if len(parts) < 6 or parts[0] not in order or int(parts[4]) < params.min_mapq:
            continue
        segs.append(_segment(parts[0], int(parts[1]) - 1, parts[2] == "-", _ops(parts[3])))
    segs.sort(key=lambda s: (s.qstart, s.qend))
    for first, second in zip(segs, segs[1:], strict=False):
        x, y = _junction(first, second)
        if x.chrom != y.chrom or abs(x.pos - y.pos) >= params.min_sv_length:
            yield x, y


def _spanning_pair(rec: pysam.AlignedSegment, params: FusionParams) -> tuple[Breakend, Breakend] | None:
    same = rec.reference_id == rec.next_reference_id
    if same and abs(rec.next_reference_start - rec.reference_start) < params.min_sv_length:
        return None
    if rec.has_tag("MQ") and rec.get_tag("MQ") < params.min_mapq:
        return None
    here = (
        Breakend(rec.reference_name, rec.reference_start + 1, "-")
        if rec.is_reverse
        else Breakend(rec.reference_name, rec.reference_end, "+")
    )
    if rec.mate_is_reverse:
        mate = Breakend(rec.next_reference_name, rec.next_reference_start + 1, "-")
    else:
        length = _segment("", 0, False, _ops(rec.get_tag("MC"))).end if rec.has_tag("MC") else rec.query_length
        mate = Breakend(rec.next_reference_name, rec.next_reference_start + length, "+")
    return here, mate


# --------------------------------------------------------------------------- clustering


def _holds(end: Breakend, mate: Breakend, params: FusionParams) -> bool:
    """Whether a spanning mate lies on the kept side of ``end``, within ``max_insert``."""
    if end.chrom != mate.chrom or end.side != mate.side:
        return False
    gap = end.pos - mate.pos if end.side == "+" else mate.pos - end.pos
    return -params.tolerance <= gap <= params.max_insert


def _group(items: list[tuple[Breakend, Breakend]], tol: int) -> list[list[tuple[Breakend, Breakend]]]:
    """Group breakend pairs whose two ends lie within ``tol`` of a group's first pair (same
    contigs and sides). Sorted input means only the latest groups can still be near, so each item
    looks back only over groups whose first end is within ``tol``."""
    groups: list[list[tuple[Breakend, Breakend]]] = []
    open_groups: dict[tuple[str, str, str, str], list[list[tuple[Breakend, Breakend]]]] = defaultdict(list)
    for x, y in sorted(items):
        candidates = open_groups[(x.chrom, x.side, y.chrom, y.side)]
        home = None
        for g in reversed(candidates):
            if x.pos - g[0][0].pos > tol:
                break
            if abs(y.pos - g[0][1].pos) <= tol:
                home = g
                break
        if home is None:
            home = []
            candidates.append(home)
            groups.append(home)
        home.append((x, y))
    return groups


def cluster_evidence(evidence: Evidence, params: FusionParams) -> list[BreakpointPair]:
    """Breakpoint pairs from split-read junctions, with the spanning pairs that fit them.

    Junctions within ``tolerance`` of a cluster's first junction on both sides join it; the pair
    is placed at the most frequent (then leftmost) positions. A spanning pair joins the nearest
    precise pair it fits (:func:`_holds`), else clusters with other such pairs whose ends lie
    within ``max_insert``; those are imprecise, placed at the mates' innermost ends. Empty
    evidence gives an empty list.
    """
    out = []
    for g in _group(evidence.splits, params.tolerance):
        (a, b), _n = min(Counter(g).items(), key=lambda kv: (-kv[1], kv[0][0].pos, kv[0][1].pos))
        out.append(BreakpointPair(a, b, split_reads=len(g)))
    index: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)  # (chrom, side) of a -> (pos, k)
    for k, bp in enumerate(out):
        index[(bp.a.chrom, bp.a.side)].append((bp.a.pos, k))
    for entries in index.values():
        entries.sort()
    loose = []
    for x, y in evidence.pairs:
        fits = []
        for first, second in ((x, y), (y, x)):
            entries = index.get((first.chrom, first.side), [])
            lo = bisect.bisect_left(entries, (first.pos - params.max_insert, -1))
            hi = bisect.bisect_right(entries, (first.pos + params.max_insert, len(out)))
            for _pos, k in entries[lo:hi]:
                bp = out[k]
                if _holds(bp.a, first, params) and _holds(bp.b, second, params):
                    fits.append((abs(bp.a.pos - first.pos) + abs(bp.b.pos - second.pos), k))
        if fits:
            out[min(fits)[1]].spanning_pairs += 1
        else:
            loose.append((x, y))
    for g in _group(loose, params.max_insert):

        def inner(ends: list[Breakend]) -> Breakend:
            pick = max if ends[0].side == "+" else min
            return pick(ends, key=lambda e: e.pos)

        a, b = inner([p[0] for p in g]), inner([p[1] for p in g])
        out.append(BreakpointPair(a, b, spanning_pairs=len(g), precise=False))
    return out


# --------------------------------------------------------------------------- the fused transcript


def partners(a: Breakend, gene_a: _Gene | None, b: Breakend, gene_b: _Gene | None) -> tuple[int | None, int | None]:
    """Which breakend is the 5′ and which the 3′ partner: (0 or 1, 0 or 1), None where no gene fits.

    Read along the joined molecule towards the junction on a kept ``+`` side means reading the
    plus strand; leaving the junction into a kept ``-`` side also reads the plus strand. So the
    gene at a breakend is transcribed towards the junction (a 5′ partner) when its strand equals
    the kept side, and away from it (a 3′ partner) when it differs; a fusion needs one of each.

    >>> g = lambda s: _Gene("G", "c", s, 0, 10, None)
    >>> partners(Breakend("c", 5, "+"), g("+"), Breakend("c", 90, "+"), g("-"))  # inversion
    (0, 1)
    >>> partners(Breakend("c", 5, "+"), g("+"), Breakend("c", 90, "+"), g("+"))  # head to head
    (None, None)
    """
    five_a = gene_a is not None and gene_a.strand == a.side
    five_b = gene_b is not None and gene_b.strand == b.side
    three_a = gene_a is not None and not five_a
    three_b = gene_b is not None and not five_b
    if five_a and three_b:
        return 0, 1
    if five_b and three_a:
        return 1, 0
    if gene_a is not None and gene_b is not None:
        return None, None
    if gene_a is not None:
        return (0, None) if five_a else (None, 0)
    if gene_b is not None:
        return (1, None) if five_b else (None, 1)
    return None, None


def _ordered(tx: Transcript) -> tuple[list[tuple[int, int]], list[tuple[int, int, int]]]:
    """Exons and CDS segments in transcript order."""
    if tx.strand == "+":
        return list(tx.exons), list(tx.cds)
    return tx.exons[::-1], tx.cds[::-1]


def _cut(end: Breakend) -> int:
    """The junction as a 0-based boundary: kept ``+`` is [.., cut), kept ``-`` is [cut, ..)."""
    return end.pos if end.side == "+" else end.pos - 1


def _kept(end: Breakend, s: int, e: int) -> bool:
    """Whether genomic [s, e) lies wholly on the kept side of ``end``."""
    return e <= _cut(end) if end.side == "+" else s >= _cut(end)


def _location(tx: Transcript, exons: list[tuple[int, int]], end: Breakend) -> str:
    """Where the break falls on ``tx`` (exons in transcript order): ``exon N``, ``intron N``
    (after exon N), ``upstream`` of the first exon or ``downstream`` of the last."""
    cut = _cut(end)
    upstream = 0
    for k, (s, e) in enumerate(exons, 1):
        if s < cut < e:
            return f"exon {k}"
        upstream += e <= cut if tx.strand == "+" else s >= cut
    if upstream == 0:
        return "upstream"
    return "downstream" if upstream == len(exons) else f"intron {upstream}"


def _cds_seq(fa: pysam.FastaFile, tx: Transcript, segs: list[tuple[int, int, int]]) -> str:
    parts = [fa.fetch(tx.chrom, s, e).upper() for s, e, _p in segs]
    return "".join(p if tx.strand == "+" else revcomp(p) for p in parts)


def _translate(seq: str) -> str:
    return str(Seq(seq[: len(seq) - len(seq) % 3]).translate())


def describe(
    bp: BreakpointPair,
    genes_at: tuple[list[_Gene], list[_Gene]],
    fa: pysam.FastaFile,
    kinases: dict[str, KinaseDomain],
    params: FusionParams,
) -> Fusion:
    """Read one breakpoint pair as a fusion transcript: partners, exons, frame, kinase domain."""
    choice = (None, None, None, None)
    options = [(ga, gb) for ga in genes_at[0] or [None] for gb in genes_at[1] or [None]]
    for ga, gb in options:  # prefer a pair of genes that makes a fusion, then a kinase 3′, then 5′ partner
        i5, i3 = partners(bp.a, ga, bp.b, gb)
        score = (
            i5 is not None and i3 is not None,
            i3 is not None and (ga, gb)[i3].name in kinases,
            i5 is not None and (ga, gb)[i5].name in kinases,
        )
        if choice[0] is None or score > choice[0]:
            choice = (score, ga, gb, (i5, i3))
    _score, ga, gb, (i5, i3) = choice
    ends, genes = (bp.a, bp.b), (ga, gb)
    g5 = genes[i5] if i5 is not None else None
    g3 = genes[i3] if i3 is not None else None
    e5 = ends[i5] if i5 is not None else (ends[1 - i3] if i3 is not None else bp.a)
    e3 = ends[i3] if i3 is not None else ends[1 - ends.index(e5)]
    supported = bp.split_reads >= params.min_split_reads and bp.spanning_pairs >= params.min_spanning_pairs
    is_fusion = g5 is not None and g3 is not None and g5.name != g3.name
    call = "low_support" if not supported else ("fusion" if is_fusion else "rearrangement")
    fusion = Fusion(
        five_prime=g5.name if g5 else None,
        three_prime=g3.name if g3 else None,
        five_prime_breakpoint=str(e5),
        three_prime_breakpoint=str(e3),
        kind=bp.kind,
        split_reads=bp.split_reads,
        spanning_pairs=bp.spanning_pairs,
        precise=bp.precise,
        call=call,
        breakends=[f"{e.chrom}:{e.pos}:{e.side}" for e in ends],
        genes=sorted({g.name for g in genes_at[0] + genes_at[1]}),
    )
    carrier = g3 if g3 is not None and g3.name in kinases else g5 if g5 is not None and g5.name in kinases else None
    if carrier is not None:
        dom = kinases[carrier.name]
        fusion.kinase_domain = f"{dom.first_codon}-{dom.last_codon} ({dom.source})"
    if not bp.precise:
        fusion.notes.append("imprecise: no split read; breakpoints are the mates' innermost ends")
    if g5 is not None:
        _five_prime_side(fusion, g5, e5, kinases if carrier is g5 and carrier is not g3 else {})
    if g3 is not None:
        _three_prime_side(fusion, g3, e3, kinases if carrier is g3 else {})
    if g5 is not None and g3 is not None and is_fusion:
        _frame(fusion, g5, e5, g3, e3, fa)
    return fusion


def _table_isoform(fusion: Fusion, g: _Gene, dom: KinaseDomain, segs: list[tuple[int, int, int]]) -> bool:
    """Whether ``g`` is read on the kinase table's isoform (its transcript and protein length);
    if not, a note says so and domain retention is left unassessed."""
    phase0 = segs[0][2] if segs else 0
    length = (sum(e - s for s, e, _p in segs) - phase0) // 3 - 1  # residues, without the stop codon
    if dom.transcript != g.tx.id.split(".")[0] or length != dom.protein_length:
        fusion.notes.append(
            f"{g.name}: the kinase domain table describes {dom.transcript} ({dom.protein_length} residues), "
            f"the GFF3 gives {g.tx.id} ({length} residues); domain retention not assessed"
        )
        return False
    return True


def _five_prime_side(fusion: Fusion, g: _Gene, end: Breakend, kinases: dict[str, KinaseDomain]) -> None:
    exons, segs = _ordered(g.tx)
    kept = [_kept(end, s, e) for s, e in exons]
    fusion.five_prime_transcript = g.tx.id
    fusion.five_prime_location = _location(g.tx, exons, end)
    n = 0
    while n < len(kept) and kept[n]:
        n += 1
    fusion.five_prime_exon = n or None
    if n == 0:
        fusion.notes.append(f"{g.name}: the break lies before its first exon; no 5′ exon is kept")
    dom = kinases.get(g.name)
    if dom is None or not _table_isoform(fusion, g, dom, segs):
        return
    kept_bases = max(0, sum(e - s for s, e, _p in segs if _kept(end, s, e)) - segs[0][2])
    last = kept_bases // 3  # the last codon wholly from the 5′ partner (0: none)
    fusion.kinase_domain_retained = dom.last_codon <= last
    fusion.notes.append(
        f"{g.name} carries the kinase domain as the 5′ partner: its coding part keeps codons 1-{last} "
        f"before the break, the domain spans {dom.first_codon}-{dom.last_codon}"
    )


def _three_prime_side(fusion: Fusion, g: _Gene, end: Breakend, kinases: dict[str, KinaseDomain]) -> None:
    exons, segs = _ordered(g.tx)
    kept = [_kept(end, s, e) for s, e in exons]
    fusion.three_prime_transcript = g.tx.id
    fusion.three_prime_location = _location(g.tx, exons, end)
    first = next((k for k in range(len(kept)) if all(kept[k:])), len(kept))
    fusion.three_prime_exon = first + 1 if first < len(kept) else None
    dom = kinases.get(g.name)
    if dom is None or not _table_isoform(fusion, g, dom, segs):
        return
    lost = sum(e - s for s, e, _p in segs if not _kept(end, s, e)) - segs[0][2]
    lost = max(0, lost)
    codon = lost // 3 + (1 if lost % 3 == 0 else 2)  # first codon wholly from the 3′ partner
    fusion.first_retained_codon = codon
    fusion.kinase_domain_retained = codon <= dom.first_codon


def _frame(fusion: Fusion, g5: _Gene, e5: Breakend, g3: _Gene, e3: Breakend, fa: pysam.FastaFile) -> None:
    """Frame of the joined coding sequence (CDS phases), and Biopython's reading of the junction."""
    fusion.exons_joined = (
        f"{g5.name} exon {fusion.five_prime_exon} -> {g3.name} exon {fusion.three_prime_exon}"
        if fusion.five_prime_exon and fusion.three_prime_exon
        else None
    )
    _exons5, segs5 = _ordered(g5.tx)
    _exons3, segs3 = _ordered(g3.tx)
    kept5 = [seg for seg in segs5 if _kept(e5, seg[0], seg[1])]
    kept3 = [seg for seg in segs3 if _kept(e3, seg[0], seg[1])]
    if not kept5 or len(kept5) == len(segs5) or not kept3 or len(kept3) == len(segs3):
        fusion.notes.append("the junction does not join two coding sequences; reading frame not applicable")
        return
    if fusion.five_prime_location and fusion.five_prime_location.startswith("exon"):
        fusion.notes.append(f"{g5.name}: the break is inside an exon; read as if the exon before it were spliced on")
    if fusion.three_prime_location and fusion.three_prime_location.startswith("exon"):
        fusion.notes.append(f"{g3.name}: the break is inside an exon; read from the next whole exon")
    phase0 = segs5[0][2]
    seq5 = _cds_seq(fa, g5.tx, kept5)[phase0:]
    seq3 = _cds_seq(fa, g3.tx, kept3)
    phase3 = kept3[0][2]
    before = sum(e - s for s, e, _p in segs3[: len(segs3) - len(kept3)]) - segs3[0][2]
    if phase3 != (3 - before % 3) % 3:
        fusion.notes.append(
            f"{g3.name}: the GFF3 gives CDS phase {phase3} at the first kept exon, but {before} coding "
            f"bases come before it (phase {(3 - before % 3) % 3}); the GFF3's phase is used"
        )
    frame_ok = (len(seq5) + phase3) % 3 == 0
    protein = _translate(seq5 + seq3)
    j = len(seq5) // 3  # the codon holding the first 3′ base (or the first 3′ codon)
    fusion.junction_stop = len(seq5) % 3 != 0 and protein[j : j + 1] == "*"
    after = protein[j:]
    after = after[: after.index("*") + 1] if "*" in after else after
    fusion.junction_peptide = f"{protein[max(0, j - 10) : j]}|{after[:10]}"
    fusion.in_frame = frame_ok and not fusion.junction_stop
    if frame_ok and fusion.junction_stop:
        fusion.notes.append("in frame, but the codon across the junction is a stop")


# --------------------------------------------------------------------------- the caller


def call_fusions(
    bam: str | Path,
    fasta: str | Path,
    gff3: str | Path,
    genes: Iterable[str],
    *,
    params: FusionParams | None = None,
    kinase_domains: str | Path | None = None,
) -> FusionCalls:
    """Fusions of the named genes (e.g. the knowledge base's fusion genes) in a tumour BAM.

    Scans each named gene's span plus ``params.flank``, clusters the evidence
    (:func:`cluster_evidence`), and reads each breakpoint pair against every coding gene of the
    GFF3 (:func:`describe`). Returns every breakpoint pair that meets either support threshold,
    ``fusion`` calls first, then by support. Named genes without a coding transcript in the GFF3
    are listed in ``genes_missing``; with none found, nothing is scanned and the list is empty.
    """
    params = params or FusionParams()
    names = sorted(set(genes))
    kinases = read_kinase_domains(kinase_domains)
    models = gene_models(gff3, kinases)
    regions = gene_regions(models, names, params.flank)
    evidence = collect_evidence(bam, regions, params)
    pairs = cluster_evidence(evidence, params)
    by_chrom: dict[str, list[_Gene]] = defaultdict(list)
    for g in models.values():
        by_chrom[g.chrom].append(g)

    def at(end: Breakend) -> list[_Gene]:
        return sorted((g for g in by_chrom.get(end.chrom, ()) if g.start < end.pos <= g.end), key=lambda g: g.name)

    wanted = set(names)
    out = []
    with pysam.FastaFile(str(fasta)) as fa:
        for bp in pairs:
            if bp.split_reads < params.min_split_reads and bp.spanning_pairs < params.min_spanning_pairs:
                continue
            fusion = describe(bp, (at(bp.a), at(bp.b)), fa, kinases, params)
            if fusion.call == "fusion" and not {fusion.five_prime, fusion.three_prime} & wanted:
                continue
            out.append(fusion)
    out.sort(key=lambda f: (CALLS.index(f.call), -(f.split_reads + f.spanning_pairs), f.breakends))
    return FusionCalls(out, [n for n in names if n in models], [n for n in names if n not in models], params,
                       evidence.reads)  # fmt: skip


# --------------------------------------------------------------------------- output


def pcgr_rows(calls: FusionCalls) -> Iterator[tuple[str, str, str, int]]:
    """PCGR's fusion table rows (``FusionGene LeftBreakpoint RightBreakpoint SplitReads``), one per
    ``fusion`` call: 5′--3′ genes, the 5′ and the 3′ breakpoint as ``chrom:pos``."""
    for f in calls.fusions:
        if f.call == "fusion":
            yield f.name, f.five_prime_breakpoint, f.three_prime_breakpoint, f.split_reads


def write_fusions(calls: FusionCalls, tsv: str | Path, json_path: str | Path, sample: str | None = None) -> int:
    """Write the PCGR-format TSV (``fusion`` calls only) and the full JSON; returns the fusion count."""
    rows = list(pcgr_rows(calls))
    with atomic_output(tsv) as tmp, open(tmp, "w") as out:
        out.write("\t".join(PCGR_COLUMNS) + "\n")
        for row in rows:
            out.write("\t".join(map(str, row)) + "\n")
    doc = {
        "sample": sample,
        "genes_scanned": calls.genes_scanned,
        "genes_missing": calls.genes_missing,
        "reads_scanned": calls.reads_scanned,
        "status": "not assessed" if calls.reason else "assessed",
        "reason": calls.reason,
        "params": asdict(calls.params),
        "fusions": [asdict(f) for f in calls.fusions],
    }
    write_json(doc, json_path)
    return len(rows)
