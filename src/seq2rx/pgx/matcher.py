"""Star-allele (named-allele) matching: from genotypes at the definition positions to diplotypes.

The rules, in the spirit of the reference tool's Named Allele Matcher, written for seq2rx:

* **Definitions.** Each named allele gives a base (or indel allele, or IUPAC code) at some of the
  gene's positions; a blank cell means "as the reference allele". A sample haplotype *is* an
  allele when every called position agrees with the allele's cell (or the reference cell).
* **Missing positions** are dropped from every allele. An allele that can no longer be told
  apart from the reference allele on the remaining positions is dropped too, and named in the
  warnings: a missing position can hide a variant, so it is never taken as reference.
* **Candidates.** Every pair of alleles that explains the genotypes is a candidate diplotype.
  Unphased heterozygous positions may be split either way; phased positions of one phase set
  must keep their orientation together.
* **Score.** An allele scores the number of called positions its definition names (the
  reference allele names them all), and a diplotype the sum of its two alleles, so the most
  specific explanation wins. Candidates tied at the top score are reported together as an
  ambiguous call: never one of them picked silently.
* **No exact pair.** When no pair of named alleles explains the data, each haplotype is
  described as a *combination* of named alleles (``[*6 + *28]``) and/or a *partial* allele:
  a named allele (or the reference) plus variants no allele explains (``*6 + g.233760973C>T``,
  or just ``g.41012316T>G`` on a reference background). Such calls are flagged and carry no
  confident phenotype, except for DPYD, where CPIC's rule takes the two lowest-function
  variant alleles found.
* **VCF checks.** A record whose REF disagrees with the definition's reference is a warning and
  the position is treated as missing (a VCF on another build, or a different representation);
  a one-base reference-only record at an indel position counts as reference. An allele the
  definition does not know at that position makes the haplotype partial.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from seq2rx.pgx.definitions import GeneDefinition

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip

#: genes where CPIC assigns the phenotype from the two lowest-function variant alleles when more
#: than two are found (DPYD guideline, 2017 update)
LOWEST_FUNCTION_GENES = frozenset({"DPYD"})

#: how many unphased heterozygous positions the combination search will split both ways
MAX_COMBINATION_HETS = 12


def _cell_set(cell: str) -> frozenset[str]:
    if len(cell) == 1 and cell.upper() in IUPAC:
        return frozenset(IUPAC[cell.upper()])
    return frozenset({cell})


@dataclass
class Call:
    """A sample's genotype at one definition position."""

    alleles: tuple[str, str]
    phased: bool = False
    phase_set: int | str | None = None


@dataclass
class GeneGenotypes:
    """Genotypes at a gene's definition positions (index → call), and what could not be read."""

    gene: str
    calls: dict[int, Call] = field(default_factory=dict)
    #: index → reason the position is missing
    missing: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Haplotype:
    name: str
    #: named alleles it is made of (one for an exact match, several for a combination)
    components: tuple[str, ...]
    #: variants no named allele explains, as g. names
    extra: tuple[str, ...] = ()
    score: int = 0

    @property
    def exact(self) -> bool:
        return len(self.components) == 1 and not self.extra


@dataclass
class Diplotype:
    haplotypes: tuple[Haplotype, Haplotype]
    score: int
    kind: str  # "exact", "combination", "lowest-function"
    #: for "lowest-function": every variant allele found (a homozygous one twice)
    found: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.haplotypes[0].name}/{self.haplotypes[1].name}"


@dataclass
class MatchResult:
    gene: str
    diplotypes: list[Diplotype]
    #: every exact candidate that explains the data, best first (ties included)
    candidates: list[Diplotype]
    missing_positions: list[str]
    warnings: list[str]
    #: alleles none of whose variant positions was called: the data cannot show them
    untestable: list[str] = field(default_factory=list)
    #: allele -> its variant positions that were not called (``chrom:pos (rsid)``), for every
    #: allele with at least one: the data may hide it (``untestable`` ones included)
    partly_tested: dict[str, list[str]] = field(default_factory=dict)


def natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


class GeneMatcher:
    """Matches genotypes against one gene's definitions; build once, reuse for every sample."""

    def __init__(self, definition: GeneDefinition, activity: dict[str, float] | None = None):
        self.gene = definition.gene
        self.activity = activity or {}
        self.definition = definition
        self.positions = definition.positions
        self.reference = definition.reference_allele
        n = len(self.positions)
        ref_cells = definition.alleles[self.reference]
        self.ref_base = [ref_cells.get(k, self.positions[k].ref) for k in range(n)]
        #: allele → full cell sets at every position (blank = reference cell)
        self.cells: dict[str, list[frozenset[str]]] = {}
        #: allele → positions it names (its score before missing positions are dropped)
        self.named: dict[str, frozenset[int]] = {}
        #: allele → positions where its cell excludes the reference base
        self.variant_at: dict[str, frozenset[int]] = {}
        self.known: list[set[str]] = [{self.ref_base[k]} for k in range(n)]
        for name, defined in definition.alleles.items():
            cells = [_cell_set(defined.get(k, self.ref_base[k])) for k in range(n)]
            self.cells[name] = cells
            self.named[name] = frozenset(range(n)) if name == self.reference else frozenset(defined)
            self.variant_at[name] = frozenset(k for k in range(n) if self.ref_base[k] not in cells[k])
            for k in defined:
                self.known[k] |= cells[k]
        self.order = sorted(self.cells, key=natural_key)

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _sort_pair(a: Haplotype, b: Haplotype) -> tuple[Haplotype, Haplotype]:
        """Named alleles before combinations, then natural order (``*2/*17``, ``Reference/c.1156G>T``)."""
        ka = (not a.exact, natural_key(a.name))
        kb = (not b.exact, natural_key(b.name))
        return (a, b) if ka <= kb else (b, a)

    def _g_name(self, k: int, allele: str) -> str:
        # indels stay in VCF terms (anchored), which is unambiguous within one gene
        return f"g.{self.positions[k].pos}{self.ref_base[k]}>{allele}"

    def _where(self, k: int) -> str:
        p = self.positions[k]
        return f"{p.chrom}:{p.pos}" + (f" ({p.rsid})" if p.rsid not in ("", ".") else "")

    def describe_missing(self, k: int, reason: str) -> str:
        p = self.positions[k]
        rsid = f" ({p.rsid})" if p.rsid not in ("", ".") else ""
        return f"{p.chrom}:{p.pos}{rsid}: {reason}"

    # -- matching ------------------------------------------------------------------------------
    def match(self, genotypes: GeneGenotypes) -> MatchResult:
        calls = genotypes.calls
        warnings = list(genotypes.warnings)
        missing = sorted(genotypes.missing)
        missing_text = [self.describe_missing(k, genotypes.missing[k]) for k in missing]
        called = frozenset(calls)
        untestable = [a for a in self.order if self.variant_at[a] and not self.variant_at[a] & called]
        partly = {
            a: [self._where(k) for k in sorted(self.variant_at[a] - called)]
            for a in self.order
            if self.variant_at[a] - called
        }
        if not calls:
            return MatchResult(
                self.gene, [], [], missing_text, warnings + ["no definition position was called"], untestable, partly
            )
        # alleles still distinguishable from the reference on the called positions
        # an allele that looks like the reference allele on the called positions, with a lower score,
        # can never win: it cannot be assessed. One that names as many positions (CYP2C19 *1 beside
        # the reference *38 when rs3758581 is missing) stays, and ties with it are reported.
        alleles = []
        hidden = []
        for a in self.order:
            like_reference = not (self.variant_at[a] & called) and all(
                self.cells[a][k] == frozenset({self.ref_base[k]}) for k in self.named[a] & called
            )
            if a == self.reference or not like_reference or len(self.named[a] & called) >= len(called):
                alleles.append(a)
            else:
                hidden.append(a)
        if hidden:
            warnings.append(
                f"{len(hidden)} allele(s) cannot be assessed because their positions are missing: "
                + ", ".join(hidden[:10])
                + (" …" if len(hidden) > 10 else "")
            )
        score = {a: len(self.named[a] & called) for a in alleles}
        variant = [k for k in sorted(calls) if set(calls[k].alleles) != {self.ref_base[k]}]
        homref = called.difference(variant)
        unknown = [(k, b) for k in variant for b in sorted(set(calls[k].alleles)) if b not in self.known[k]]
        for k, b in unknown:
            warnings.append(
                f"{self.positions[k].chrom}:{self.positions[k].pos} carries {b!r}, an allele no definition names"
            )
        fits = [
            a
            for a in alleles
            if not (self.variant_at[a] & homref) and all(self.cells[a][k] & set(calls[k].alleles) for k in variant)
        ]
        groups = self._phase_groups(calls, variant)
        candidates = []
        for i, a in enumerate(fits):
            for b in fits[i:]:
                if self._pair_explains(a, b, calls, groups):
                    ha = Haplotype(a, (a,), score=score[a])
                    hb = Haplotype(b, (b,), score=score[b])
                    candidates.append(Diplotype(self._sort_pair(ha, hb), score[a] + score[b], "exact"))
        candidates.sort(key=lambda d: (-d.score, natural_key(d.name)))
        if candidates:
            top = [d for d in candidates if d.score == candidates[0].score]
            return MatchResult(self.gene, top, candidates, missing_text, warnings, untestable, partly)
        if (
            self.gene in LOWEST_FUNCTION_GENES
            and not unknown
            and any(not c.phased for c in calls.values() if c.alleles[0] != c.alleles[1])
        ):
            found = self._lowest_function(calls, alleles, score)
            if found:
                warnings.append(
                    f"{len(found[0].found)} variant alleles on unphased data: as CPIC advises for {self.gene}, the two "
                    "lowest-function ones are assumed to lie on different chromosomes ("
                    + ", ".join(found[0].found)
                    + ")"
                )
                return MatchResult(self.gene, found, [], missing_text, warnings, untestable, partly)
        combos = self._combinations(calls, variant, alleles, score, groups)
        if not combos:
            warnings.append(
                f"more than {MAX_COMBINATION_HETS} unphased heterozygous positions: too many ways to split them"
            )
        return MatchResult(self.gene, combos, [], missing_text, warnings, untestable, partly)

    @staticmethod
    def _phase_groups(calls: dict[int, Call], variant: list[int]) -> list[list[int]]:
        """Heterozygous positions that must keep one orientation together."""
        groups: dict[object, list[int]] = {}
        singles = []
        for k in variant:
            c = calls[k]
            if c.alleles[0] == c.alleles[1]:
                continue
            if c.phased:
                groups.setdefault(("ps", c.phase_set), []).append(k)
            else:
                singles.append([k])
        return list(groups.values()) + singles

    def _pair_explains(self, a: str, b: str, calls: dict[int, Call], groups: list[list[int]]) -> bool:
        ca, cb = self.cells[a], self.cells[b]
        for group in groups:
            straight = all(calls[k].alleles[0] in ca[k] and calls[k].alleles[1] in cb[k] for k in group)
            if not straight and not all(calls[k].alleles[1] in ca[k] and calls[k].alleles[0] in cb[k] for k in group):
                return False
        # homozygous positions: both alleles must carry that base (already true for fitting alleles)
        return True

    # -- no exact pair ---------------------------------------------------------------------------
    def _strand_splits(self, calls: dict[int, Call], variant: list[int], groups: list[list[int]]):
        """Yield the two strands (index → allele) of every way to orient the phase groups."""
        if len(groups) > MAX_COMBINATION_HETS:
            return
        base = [{}, {}]
        for k in variant:
            c = calls[k]
            if c.alleles[0] == c.alleles[1]:
                base[0][k] = base[1][k] = c.alleles[0]
        # fix the first group's orientation: the two strands are unordered
        for flips in itertools.product((False, True), repeat=max(len(groups) - 1, 0)):
            s1, s2 = dict(base[0]), dict(base[1])
            for group, flip in zip(groups, (False, *flips), strict=False):  # no groups: one empty split
                for k in group:
                    x, y = calls[k].alleles
                    if flip:
                        x, y = y, x
                    s1[k], s2[k] = x, y
            yield s1, s2

    def _explain_strand(self, strand: dict[int, str], alleles: list[str], score: dict[str, int],
                        called: frozenset[int]) -> tuple[tuple[int, int], Haplotype]:  # fmt: skip
        nonref = {k: b for k, b in strand.items() if b != self.ref_base[k]}
        # exact named allele
        for a in alleles:
            if all(
                (strand.get(k, self.ref_base[k]) in self.cells[a][k]) for k in (self.named[a] | nonref.keys()) & called
            ):
                return (0, 1), Haplotype(a, (a,), score=score[a])
        # named alleles whose variants this strand carries, largest first
        contained = [
            a
            for a in alleles
            if a != self.reference
            and self.variant_at[a] & called
            and all(k in nonref and nonref[k] in self.cells[a][k] for k in self.variant_at[a] & called)
        ]
        contained.sort(key=lambda a: (-len(self.variant_at[a] & called), natural_key(a)))
        used: set[int] = set()
        parts = []
        for a in contained:
            ks = self.variant_at[a] & called
            if ks & used:
                continue
            used |= ks
            parts.append(a)
        extra = tuple(self._g_name(k, nonref[k]) for k in sorted(nonref) if k not in used)
        parts.sort(key=lambda a: min(self.variant_at[a] & called))
        if len(parts) > 1:
            name = "[" + " + ".join(parts) + "]"
        elif parts:
            name = parts[0]
        else:
            name = ""
        name = " + ".join(x for x in (name, *extra) if x)
        return (len(extra), len(parts)), Haplotype(name, tuple(parts), extra, sum(score[a] for a in parts))

    def _combinations(self, calls, variant, alleles, score, groups) -> list[Diplotype]:
        called = frozenset(calls)
        best: dict[str, tuple[tuple[int, int], Diplotype]] = {}
        for s1, s2 in self._strand_splits(calls, variant, groups):
            c1, h1 = self._explain_strand(s1, alleles, score, called)
            c2, h2 = self._explain_strand(s2, alleles, score, called)
            cost = (c1[0] + c2[0], c1[1] + c2[1])
            d = Diplotype(self._sort_pair(h1, h2), h1.score + h2.score, "combination")
            best.setdefault(d.name, (cost, d))
        if not best:
            return []
        low = min(c for c, _ in best.values())
        return sorted((d for c, d in best.values() if c == low), key=lambda d: natural_key(d.name))

    def _lowest_function(self, calls, alleles, score) -> list[Diplotype]:
        """DPYD, unphased, no pair explains it: the two lowest-activity variant alleles found.

        Each alternate allele copy (one for a heterozygous, two for a homozygous position) is
        used once, the alleles naming the most positions first, so an allele nested in another
        (HapB3's intronic marker inside HapB3) is not counted twice.
        """
        called = frozenset(calls)
        copies = {
            k: sum(b != self.ref_base[k] for b in c.alleles)
            for k, c in calls.items()
            if c.alleles != (self.ref_base[k],) * 2
        }
        candidates = [a for a in alleles if a != self.reference and self.variant_at[a] & called]
        candidates.sort(key=lambda a: (-len(self.variant_at[a] & called), natural_key(a)))
        hits = []
        for a in candidates:
            ks = self.variant_at[a] & called
            while all(copies.get(k, 0) > 0 and any(b in self.cells[a][k] for b in calls[k].alleles) for k in ks):
                for k in ks:
                    copies[k] -= 1
                hits.append(a)
        if not hits or any(copies.values()):
            return []  # nothing found, or a variant no allele explains: not this rule's case
        hits.sort(key=lambda a: (self.activity.get(a, float("inf")), natural_key(a)))
        pair = hits[:2] if len(hits) > 1 else [self.reference, hits[0]]
        h = [Haplotype(a, (a,), score=score[a]) for a in pair]
        return [Diplotype(self._sort_pair(*h), h[0].score + h[1].score, "lowest-function", tuple(hits))]
