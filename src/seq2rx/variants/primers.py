"""PCR primers for confirming a variant by Sanger sequencing, designed with primer3.

For each variant we cut the reference around it, mark the variant plus ``min_distance`` bases on
either side as primer3's ``SEQUENCE_TARGET`` (primers may not overlap a target and the product
must contain it), mark every other known variant as ``SEQUENCE_EXCLUDED_REGION`` (no primer may
cover one, so a patient's own SNP cannot spoil the primer's 3' end), and keep primer3's best pair.

Both melting temperatures are reported: primer3's own, and Biopython's nearest-neighbour
``Tm_NN`` under the same model and conditions (:data:`BIOPYTHON_TM`), as an independent check.

Limits, stated once here and again where they bite:

* primers are not checked for off-target binding elsewhere in the genome (primer3 has no genome
  index here); run Primer-BLAST or an in-silico PCR before ordering;
* the reference is upper-cased, so soft-masked repeats are not avoided;
* a variant too close to a contig end or to ``N`` bases, or where primer3 finds no pair, gets no
  primers and a reason instead (never an exception).
"""

from __future__ import annotations

import csv
import logging
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import primer3
import pysam
from Bio.SeqUtils import MeltingTemp

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output

log = logging.getLogger(__name__)

# Reaction conditions shared by primer3 and the Biopython check. Primer3's defaults (primer3 2.x
# manual): SantaLucia 1998 unified nearest-neighbour parameters and salt correction, 50 mM
# monovalent cations, 1.5 mM Mg2+, 0.6 mM dNTPs, 50 nM oligo. They are spelled out so that a
# change of primer3's defaults cannot change our primers silently.
PRIMER3_CONDITIONS: dict[str, float | int] = {
    "PRIMER_TM_FORMULA": 1,  # SantaLucia 1998
    "PRIMER_SALT_CORRECTIONS": 1,  # SantaLucia 1998
    "PRIMER_SALT_MONOVALENT": 50.0,  # mM
    "PRIMER_SALT_DIVALENT": 1.5,  # mM Mg2+
    "PRIMER_DNTP_CONC": 0.6,  # mM
    "PRIMER_DNA_CONC": 50.0,  # nM
}

# The same conditions in Biopython's terms. DNA_NN3 is Allawi & SantaLucia 1997, the table that
# SantaLucia 1998 unified; saltcorr=5 is the SantaLucia 1998 entropy correction, and Biopython
# folds Mg2+ and dNTPs into a sodium equivalent (von Ahsen 2001) as primer3 does. Primer3 treats
# its 50 nM as total oligo and uses C/4 in the Tm equation; Biopython's (dnac1 - dnac2/2) with
# 25 + 25 nM gives the same 12.5 nM (Biopython's Tm_NN docstring says so for Primer3Plus).
BIOPYTHON_TM: dict[str, object] = {
    "nn_table": MeltingTemp.DNA_NN3,
    "saltcorr": 5,
    "Na": 50.0,
    "K": 0.0,
    "Tris": 0.0,
    "Mg": 1.5,
    "dNTPs": 0.6,
    "dnac1": 25.0,
    "dnac2": 25.0,
}

# Primer shape: primer3's usual 18-25 nt, a little stricter on GC and runs than its defaults.
PRIMER3_SHAPE: dict[str, float | int] = {
    "PRIMER_MIN_SIZE": 18,
    "PRIMER_OPT_SIZE": 20,
    "PRIMER_MAX_SIZE": 25,
    "PRIMER_MIN_GC": 30.0,
    "PRIMER_MAX_GC": 70.0,
    "PRIMER_MAX_POLY_X": 4,
    "PRIMER_MAX_NS_ACCEPTED": 0,
    "PRIMER_NUM_RETURN": 1,
    "PRIMER_EXPLAIN_FLAG": 1,
    "PRIMER_PICK_INTERNAL_OLIGO": 0,
}

AMPLICON_LIMITS = (50, 5000)  # allowed product sizes, bp
TM_LIMITS = (40.0, 80.0)  # allowed Tm window, degrees C
SETTINGS = ("amplicon", "min_distance", "tm", "opt_tm")

COLUMNS = (
    "variant_id",
    "chrom",
    "pos",
    "ref",
    "alt",
    "status",
    "left_seq",
    "right_seq",
    "left_start",
    "left_end",
    "right_start",
    "right_end",
    "amplicon_start",
    "amplicon_end",
    "amplicon_length",
    "left_distance",
    "right_distance",
    "left_tm_primer3",
    "right_tm_primer3",
    "left_tm_biopython",
    "right_tm_biopython",
    "left_gc",
    "right_gc",
    "penalty",
)
_DECIMALS = {"penalty": 4}  # every other float column gets 2

_BASES = re.compile(r"[ACGTN]+", re.IGNORECASE)
_N = re.compile(r"N", re.IGNORECASE)


@dataclass(frozen=True)
class PrimerPair:
    """One primer pair around one variant. Coordinates are 1-based and inclusive.

    ``right_seq`` is written 5'->3' as ordered, i.e. the reverse complement of the reference at
    ``right_start..right_end``. ``left_distance`` is the number of bases strictly between the
    left primer's 3' end and the variant's first reference base; ``right_distance`` likewise
    between the variant's last reference base and the right primer. Both are at least the
    ``min_distance`` the pair was designed with.
    """

    variant_id: str
    chrom: str
    left_seq: str
    right_seq: str
    left_start: int
    left_end: int
    right_start: int
    right_end: int
    amplicon_start: int
    amplicon_end: int
    amplicon_length: int
    left_distance: int
    right_distance: int
    left_tm_primer3: float
    right_tm_primer3: float
    left_tm_biopython: float
    right_tm_biopython: float
    left_gc: float
    right_gc: float
    penalty: float


def biopython_tm(seq: str) -> float:
    """Biopython's nearest-neighbour Tm of ``seq`` under :data:`BIOPYTHON_TM` (primer3's conditions)."""
    return float(MeltingTemp.Tm_NN(seq, **BIOPYTHON_TM))


def variant_id(chrom: str, pos: int, ref: str, alt: str) -> str:
    """``chrom:pos:ref>alt``, e.g. ``chr7:140753336:A>T``."""
    return f"{chrom}:{pos}:{ref}>{alt}"


def design_primers(
    fasta_path: str | os.PathLike,
    chrom: str,
    pos: int,
    ref: str,
    alt: str,
    known_variants: Iterable[Sequence] = (),
    amplicon: tuple[int, int] = (300, 600),
    min_distance: int = 50,
    tm: tuple[float, float] = (57.0, 63.0),
    opt_tm: float = 60.0,
) -> PrimerPair | None:
    """The best primer3 pair whose product contains the variant, or None (the reason is logged).

    ``pos`` and ``ref`` are VCF-style (1-based; ``ref`` may span several bases, e.g. a deletion
    with its anchor base). Each primer ends at least ``min_distance`` bases from the variant, the
    product is ``amplicon`` = (min, max) bp long, both primers' Tm lie within ``tm`` = (min, max)
    aiming at ``opt_tm``. ``known_variants`` holds ``(chrom, pos)`` or ``(chrom, pos, ref)``
    tuples; none of them lies under either primer (the variant itself is skipped if listed).

    Edge cases, each returning None with a logged reason:

    * the contig is not in the reference, ``pos`` is past its end, or ``ref`` disagrees with it;
    * the variant is so close to a contig end that ``min_distance`` plus a shortest primer does
      not fit (e.g. a SNV 20 bp from the start with ``min_distance=50``);
    * an ``N`` lies within ``min_distance`` plus a shortest primer of the variant. ``N`` bases
      farther away only shorten the template, so no primer or product ever contains an ``N``;
      if what is left is shorter than ``amplicon`` min, that is the reason;
    * primer3 finds no pair (its own explanation is the reason).

    Raises ValueError for malformed arguments (the value and the allowed range are named), and
    InputError if the FASTA or its ``.fai`` is missing. Same inputs give the same pair.
    """
    pair, reason = _design_one(fasta_path, chrom, pos, ref, alt, known_variants, amplicon, min_distance, tm, opt_tm)
    if pair is None:
        log.warning("no primers for %s: %s", variant_id(chrom, pos, ref, alt), reason)
    return pair


def design_all(
    fasta_path: str | os.PathLike,
    variants: Iterable[Sequence],
    known_variants: Iterable[Sequence] = (),
    **settings,
) -> list[dict]:
    """One row per ``(chrom, pos, ref, alt)`` variant, in input order, with :data:`COLUMNS` as keys.

    ``status`` is ``designed`` or the reason no pair was found (see :func:`design_primers`); the
    primer columns of a failed row are None. ``settings`` are those of :func:`design_primers`
    (``amplicon``, ``min_distance``, ``tm``, ``opt_tm``); they are checked before any design, so
    a bad value raises ValueError rather than failing every row. Variants of the same sample
    should also be passed in ``known_variants`` if primers must not cover them.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown primer setting(s) {unknown}; allowed: {list(SETTINGS)}")
    opts = {"amplicon": (300, 600), "min_distance": 50, "tm": (57.0, 63.0), "opt_tm": 60.0, **settings}
    _check_settings(**opts)
    known = list(known_variants)
    for k in known:  # fail on a malformed entry before designing anything
        _check_known(k)
    rows = []
    for i, variant in enumerate(variants):
        if isinstance(variant, str | bytes) or len(variant) != 4:
            raise ValueError(f"variant {i + 1} must be (chrom, pos, ref, alt), got {variant!r}")
        chrom, pos, ref, alt = variant
        pair, reason = _design_one(fasta_path, chrom, pos, ref, alt, known, **opts)
        row = dict.fromkeys(COLUMNS)
        if pair is None:
            log.warning("no primers for %s: %s", variant_id(chrom, pos, ref, alt), reason)
        else:
            row.update(asdict(pair))
        row.update(
            variant_id=variant_id(chrom, pos, ref, alt),
            chrom=chrom,
            pos=pos,
            ref=ref,
            alt=alt,
            status="designed" if pair else reason,
        )
        rows.append(row)
    return rows


def write_tsv(rows: Iterable[Mapping], path: str | os.PathLike) -> None:
    """Write ``rows`` as a TSV with a header and :data:`COLUMNS` in that order.

    Missing values (None) become empty cells; floats get 2 decimals (``penalty`` 4), so the same
    rows give the same bytes. A row with a key outside :data:`COLUMNS` raises ValueError. The file
    is written under a temporary name and renamed when complete, so a failure leaves no output.
    An empty ``rows`` writes the header alone.
    """
    rows = list(rows)
    for i, row in enumerate(rows):
        extra = sorted(set(row) - set(COLUMNS))
        if extra:
            raise ValueError(f"row {i + 1} has unknown column(s) {extra}; allowed: {list(COLUMNS)}")
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_cell(col, row.get(col)) for col in COLUMNS])


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{_DECIMALS.get(column, 2)}f}"
    return str(value)


# --- checks -------------------------------------------------------------------------------------


def _is_int(x: object) -> bool:
    """A whole number (Python or NumPy integer), but not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check_settings(amplicon, min_distance, tm, opt_tm) -> None:
    """Raise ValueError naming the first bad setting, its value and what is allowed."""
    lo, hi = AMPLICON_LIMITS
    if not (isinstance(amplicon, Sequence) and len(amplicon) == 2 and all(_is_int(a) for a in amplicon)):
        raise ValueError(f"amplicon must be two whole numbers (min, max) of bp, got {amplicon!r}")
    if not lo <= amplicon[0] <= amplicon[1] <= hi:
        raise ValueError(f"amplicon must satisfy {lo} <= min <= max <= {hi} bp, got {tuple(amplicon)!r}")
    if not _is_int(min_distance) or min_distance < 0:
        raise ValueError(f"min_distance must be a whole number of bp >= 0, got {min_distance!r}")
    shortest = 2 * PRIMER3_SHAPE["PRIMER_MIN_SIZE"] + 2 * min_distance + 1
    if amplicon[1] < shortest:
        raise ValueError(
            f"amplicon max {amplicon[1]} bp cannot hold two {PRIMER3_SHAPE['PRIMER_MIN_SIZE']}-bp primers and a SNV "
            f"padded by min_distance={min_distance}; it must be >= {shortest} bp (or lower min_distance)"
        )
    t_lo, t_hi = TM_LIMITS
    if not (isinstance(tm, Sequence) and len(tm) == 2 and all(_is_number(t) for t in tm)):
        raise ValueError(f"tm must be two numbers (min, max) in degrees C, got {tm!r}")
    if not t_lo <= tm[0] < tm[1] <= t_hi:
        raise ValueError(f"tm must satisfy {t_lo} <= min < max <= {t_hi} degrees C, got {tuple(tm)!r}")
    if not _is_number(opt_tm) or not tm[0] <= opt_tm <= tm[1]:
        raise ValueError(f"opt_tm must lie within tm {tuple(tm)!r}, got {opt_tm!r}")


def _check_variant(chrom, pos, ref, alt) -> None:
    if not isinstance(chrom, str) or not chrom:
        raise ValueError(f"chrom must be a non-empty contig name, got {chrom!r}")
    if not _is_int(pos) or pos < 1:
        raise ValueError(f"pos must be a 1-based position >= 1, got {pos!r}")
    for name, allele in (("ref", ref), ("alt", alt)):
        if not isinstance(allele, str) or not _BASES.fullmatch(allele):
            raise ValueError(f"{name} must be one or more of A, C, G, T, N, got {allele!r}")


def _check_known(item) -> tuple[str, int, int]:
    """A known variant as (chrom, first, last) 1-based inclusive; the span is len(ref) if given."""
    if isinstance(item, str | bytes) or not isinstance(item, Sequence) or len(item) not in (2, 3):
        raise ValueError(f"a known variant must be (chrom, pos) or (chrom, pos, ref), got {item!r}")
    chrom, pos = item[0], item[1]
    ref = item[2] if len(item) == 3 else "N"
    if not isinstance(chrom, str) or not _is_int(pos) or pos < 1:
        raise ValueError(f"a known variant needs a contig name and a position >= 1, got {item!r}")
    if not isinstance(ref, str) or not _BASES.fullmatch(ref):
        raise ValueError(f"a known variant's ref must be one or more of A, C, G, T, N, got {item!r}")
    return chrom, int(pos), int(pos) + len(ref) - 1


# --- design -------------------------------------------------------------------------------------


def _design_one(
    fasta_path, chrom, pos, ref, alt, known_variants, amplicon, min_distance, tm, opt_tm
) -> tuple[PrimerPair | None, str]:
    """The pair and "" on success, or None and the reason. Arguments are checked first."""
    _check_settings(amplicon, min_distance, tm, opt_tm)
    _check_variant(chrom, pos, ref, alt)
    pos = int(pos)
    known = [_check_known(k) for k in known_variants]
    fasta = str(fasta_path)
    if not os.path.exists(fasta):
        raise InputError(fasta, "the reference FASTA does not exist")
    if not os.path.exists(fasta + ".fai"):
        raise InputError(fasta, "the FASTA has no .fai index", hint="run 'samtools faidx' on it")
    min_size = PRIMER3_SHAPE["PRIMER_MIN_SIZE"]
    first, last = pos, pos + len(ref) - 1  # the variant's reference bases
    with pysam.FastaFile(fasta) as fa:
        if chrom not in fa.references:
            return None, f"contig {chrom!r} is not in the reference"
        length = fa.get_reference_length(chrom)
        if last > length:
            return None, f"{chrom}:{first}-{last} runs past the contig end ({length})"
        # Enough template for any product of at most amplicon max that contains the variant.
        t_start = max(1, first - amplicon[1])
        t_end = min(length, last + amplicon[1])
        template = fa.fetch(chrom, t_start - 1, t_end).upper()
    seen = template[first - t_start : last - t_start + 1]
    if seen != ref.upper():
        return None, f"ref {ref!r} disagrees with the reference {seen!r} at {chrom}:{first} (another genome build?)"

    need = min_distance + min_size  # bases a primer needs between the variant and a boundary
    if first - 1 < need:
        return None, (
            f"variant is {first - 1} bp from the contig start; a primer needs min_distance ({min_distance}) "
            f"+ {min_size} bp"
        )
    if length - last < need:
        return None, (
            f"variant is {length - last} bp from the contig end; a primer needs min_distance ({min_distance}) "
            f"+ {min_size} bp"
        )
    # Cut the template at the nearest N on either side; an N too close leaves no room for a primer.
    lo = t_start
    for m in _N.finditer(template, 0, first - t_start):
        lo = t_start + m.start() + 1
    hi = t_end
    m = _N.search(template, last - t_start + 1)
    if m:
        hi = t_start + m.start() - 1
    if first - lo < need or hi - last < need:
        n_at = lo - 1 if first - lo < need else hi + 1
        return None, (
            f"N in the reference at {chrom}:{n_at}, within min_distance ({min_distance}) + {min_size} bp of the variant"
        )
    if hi - lo + 1 < amplicon[0]:
        return None, (
            f"only {hi - lo + 1} bp of sequence without N around the variant ({chrom}:{lo}-{hi}); "
            f"amplicon min is {amplicon[0]}"
        )
    if last - first + 1 + 2 * need > amplicon[1]:
        return None, (
            f"the variant ({last - first + 1} bp) padded by min_distance ({min_distance}) and two primers "
            f"does not fit in amplicon max {amplicon[1]}"
        )
    template = template[lo - t_start : hi - t_start + 1]

    excluded = []
    for k_chrom, k_first, k_last in known:
        if k_chrom != chrom or k_first == pos:
            continue  # another contig, or the variant itself
        a, b = max(k_first, lo), min(k_last, hi)
        if a <= b:
            excluded.append((a - lo, b - a + 1))
    seq_args = {
        "SEQUENCE_ID": variant_id(chrom, pos, ref, alt),
        "SEQUENCE_TEMPLATE": template,
        "SEQUENCE_TARGET": [first - min_distance - lo, last - first + 1 + 2 * min_distance],
    }
    if excluded:
        seq_args["SEQUENCE_EXCLUDED_REGION"] = [list(x) for x in sorted(set(excluded))]
    global_args = {
        **PRIMER3_CONDITIONS,
        **PRIMER3_SHAPE,
        "PRIMER_MIN_TM": float(tm[0]),
        "PRIMER_OPT_TM": float(opt_tm),
        "PRIMER_MAX_TM": float(tm[1]),
        "PRIMER_PRODUCT_SIZE_RANGE": [[int(amplicon[0]), int(amplicon[1])]],
    }
    res = primer3.bindings.design_primers(seq_args, global_args)
    if not res.get("PRIMER_PAIR_NUM_RETURNED"):
        explain = "; ".join(
            f"{side} {res[key]}"
            for side, key in (
                ("left", "PRIMER_LEFT_EXPLAIN"),
                ("right", "PRIMER_RIGHT_EXPLAIN"),
                ("pair", "PRIMER_PAIR_EXPLAIN"),
            )
            if key in res
        )
        return None, f"primer3 found no pair ({explain})"

    l_off, l_len = res["PRIMER_LEFT_0"]
    r_off, r_len = res["PRIMER_RIGHT_0"]  # primer3 gives the right primer's 3' end, 0-based
    left_start, left_end = lo + l_off, lo + l_off + l_len - 1
    right_start, right_end = lo + r_off - r_len + 1, lo + r_off
    left_seq, right_seq = res["PRIMER_LEFT_0_SEQUENCE"], res["PRIMER_RIGHT_0_SEQUENCE"]
    pair = PrimerPair(
        variant_id=variant_id(chrom, pos, ref, alt),
        chrom=chrom,
        left_seq=left_seq,
        right_seq=right_seq,
        left_start=left_start,
        left_end=left_end,
        right_start=right_start,
        right_end=right_end,
        amplicon_start=left_start,
        amplicon_end=right_end,
        amplicon_length=right_end - left_start + 1,
        left_distance=first - left_end - 1,
        right_distance=right_start - last - 1,
        left_tm_primer3=float(res["PRIMER_LEFT_0_TM"]),
        right_tm_primer3=float(res["PRIMER_RIGHT_0_TM"]),
        left_tm_biopython=biopython_tm(left_seq),
        right_tm_biopython=biopython_tm(right_seq),
        left_gc=float(res["PRIMER_LEFT_0_GC_PERCENT"]),
        right_gc=float(res["PRIMER_RIGHT_0_GC_PERCENT"]),
        penalty=float(res["PRIMER_PAIR_0_PENALTY"]),
    )
    # What primer3 promised, checked on our own coordinates: a mistake here would be silent.
    covered = [
        (c, a, b)
        for c, a, b in known
        if c == chrom
        and a != pos
        and any(a <= e and b >= s for s, e in ((left_start, left_end), (right_start, right_end)))
    ]
    if (
        pair.amplicon_length != res["PRIMER_PAIR_0_PRODUCT_SIZE"]
        or min(pair.left_distance, pair.right_distance) < min_distance
        or covered
    ):
        raise RuntimeError(f"primer coordinates inconsistent with primer3's result for {pair.variant_id}: {pair}")
    return pair, ""


__all__ = [
    "BIOPYTHON_TM",
    "COLUMNS",
    "PRIMER3_CONDITIONS",
    "PRIMER3_SHAPE",
    "PrimerPair",
    "biopython_tm",
    "design_all",
    "design_primers",
    "variant_id",
    "write_tsv",
]


#: csq consequences that make a variant worth confirming by Sanger sequencing before it is
#: reported (protein-altering or splice-site changes). Pharmacogene-defining positions join
#: this list when the pharmacogenomics stage lands.
REPORTABLE_CONSEQUENCES = frozenset(
    {
        "missense", "stop_gained", "stop_lost", "start_lost", "frameshift", "inframe_deletion",
        "inframe_insertion", "inframe_altering", "splice_donor", "splice_acceptor",
    }
)  # fmt: skip


def reportable_variants(
    consequence_table: str | os.PathLike, vcf: str | os.PathLike
) -> list[tuple[str, int, str, str]]:
    """PASS variants of ``vcf`` whose consequence in ``consequence_table`` is reportable.

    A consequence string such as ``missense&splice_region`` counts when any of its parts is in
    :data:`REPORTABLE_CONSEQUENCES`. Returns (chrom, pos, ref, alt) in file order, once each.
    """
    import pysam

    passing = set()
    with pysam.VariantFile(str(vcf)) as fh:
        for rec in fh:
            if not rec.filter.keys() or "PASS" in rec.filter.keys():
                passing.add((rec.chrom, rec.pos, rec.ref, rec.alts[0] if rec.alts else "."))
    out: list[tuple[str, int, str, str]] = []
    with open(consequence_table) as fh:
        cols = fh.readline().rstrip("\n").split("\t")
        for line in fh:
            row = dict(zip(cols, line.rstrip("\n").split("\t"), strict=True))
            key = (row["chrom"], int(row["pos"]), row["ref"], row["alt"])
            parts = set(row["consequence"].lstrip("*").split("&"))
            if key in passing and parts & REPORTABLE_CONSEQUENCES and key not in out:
                out.append(key)
    return out


def all_calls(vcf: str | os.PathLike) -> list[tuple[str, int, str]]:
    """Every call of ``vcf`` as (chrom, pos, ref): the known variants primers must avoid."""
    import pysam

    with pysam.VariantFile(str(vcf)) as fh:
        return [(rec.chrom, rec.pos, rec.ref) for rec in fh]
