"""Protein-level helpers: residue names, substitution scores and amino-acid change notation.

Everything here is a small pure function over one-letter residue codes (`*` is a stop). Distances
come from Grantham 1974 (table in `seq2rx.genome.grantham`) and scores from BLOSUM62 (Henikoff & Henikoff
1992, as shipped with Biopython). Notation follows HGVS v21 for proteins (three-letter codes) and
the compact amino-acid form that `bcftools csq` writes in its BCSQ field.
"""

from __future__ import annotations

from functools import cache

from seq2rx.genome.grantham import GRANTHAM, ORDER

#: One-letter → three-letter residue codes: the 20 standard residues, selenocysteine (U),
#: pyrrolysine (O), the ambiguity codes B and Z, an unknown residue (X) and the stop (*).
THREE_LETTER: dict[str, str] = {
    "A": "Ala",
    "R": "Arg",
    "N": "Asn",
    "D": "Asp",
    "C": "Cys",
    "Q": "Gln",
    "E": "Glu",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "L": "Leu",
    "K": "Lys",
    "M": "Met",
    "F": "Phe",
    "P": "Pro",
    "S": "Ser",
    "T": "Thr",
    "W": "Trp",
    "Y": "Tyr",
    "V": "Val",
    "U": "Sec",
    "O": "Pyl",
    "B": "Asx",
    "Z": "Glx",
    "X": "Xaa",
    "*": "Ter",
}

_STANDARD = frozenset(ORDER)
_LETTERS = frozenset(THREE_LETTER)


def grantham(a: str, b: str) -> int | None:
    """Grantham (1974) distance between two residues given as one-letter codes.

    Letters are case-insensitive. The same standard residue twice gives 0. Returns None when
    either argument is not one of the 20 standard residues: a stop (`*`), `X`, `B`, `Z`, `U`, an
    empty string or anything longer than one letter.
    """
    a, b = a.upper(), b.upper()
    if a not in _STANDARD or b not in _STANDARD:
        return None
    if a == b:
        return 0
    return GRANTHAM[frozenset({a, b})]


@cache
def _blosum62() -> dict[tuple[str, str], int]:
    """The BLOSUM62 matrix, loaded from Biopython once per process, as a plain lookup table."""
    from Bio.Align import substitution_matrices

    matrix = substitution_matrices.load("BLOSUM62")
    return {(a, b): int(matrix[a, b]) for a in matrix.alphabet for b in matrix.alphabet}


def blosum62(a: str, b: str) -> int | None:
    """BLOSUM62 score of substituting residue `a` by residue `b` (one-letter codes, symmetric).

    Letters are case-insensitive. Every letter of the matrix's own alphabet is scored as the matrix
    scores it, including the ambiguity codes B, Z, X and the stop `*` (`*` against any residue is
    -4, `*` against `*` is 1). Returns None for any other letter (e.g. `U`, `J`), an empty string
    or anything longer than one letter.
    """
    return _blosum62().get((a.upper(), b.upper()))


def _clean(residues: str, name: str) -> str:
    """Upper-case a residue string and check every letter is a known one-letter code."""
    residues = residues.upper()
    if _LETTERS.issuperset(residues):
        return residues
    unknown = sorted(set(residues) - THREE_LETTER.keys())
    if unknown:
        raise ValueError(f"{name} must use one-letter residue codes from {''.join(THREE_LETTER)}, got {unknown}")
    return residues


def _ref3(residue: str) -> str:
    """A reference residue in three-letter code (a stop is written `Ter`)."""
    return THREE_LETTER[residue]


def _alt3(residues: str) -> str:
    """Alternate residues in three-letter code (a stop is written `*`, as in `p.Arg213*`)."""
    return "".join("*" if r == "*" else THREE_LETTER[r] for r in residues)


def _span(first: str, start: int, last: str, end: int) -> str:
    """`Gly3` for one residue, `Gly3_Leu6` for a range."""
    if end == start:
        return f"{_ref3(first)}{start}"
    return f"{_ref3(first)}{start}_{_ref3(last)}{end}"


def _stop_lost(pos: int, new: str) -> str:
    """Stop codon at `pos` replaced by residue `new` (`X` when unknown); the new stop is not known."""
    return f"p.Ter{pos}{THREE_LETTER[new]}ext*?"


def hgvs_p(start: int, ref: str, alt: str, frameshift: bool = False, next_residue: str | None = None) -> str:
    """HGVS (v21) protein notation, three-letter style, for a change of `ref` into `alt` at `start`.

    `start` is the 1-based protein position of the first residue of `ref`; `ref` and `alt` are the
    reference and alternate residues over the affected span, in one-letter codes (case-insensitive,
    `*` is a stop). `next_residue` is the reference residue right after `ref` (at `start + len(ref)`),
    needed only to name the right flank of an insertion or the first changed residue of a
    frameshift that leaves the whole of `ref` intact.

    Trimming (in-frame changes): residues shared at the start of `ref` and `alt` are removed first
    and shift the position right; residues then shared at the end are dropped. No further shifting
    along repeats outside the given span is done (HGVS's 3' rule is the caller's concern), and a
    duplication is written as an insertion (`p.Lys89_Leu90insLys`, not `p.Lys89dup`).

    What is returned, checked in this order:

    - `ref == alt`: synonymous, `p.Leu145=` (a longer span gives `p.Leu145_Ser146=`).
    - the first changed residue is at position 1: start lost, `p.Met1?` (the reference residue at
      position 1 is named, whatever it is).
    - frameshift: `p.Gly12fs`, short form, naming the first residue where `ref` and `alt` differ;
      when that residue becomes a stop at once it is a nonsense change, `p.Gly12*`; when it is the
      reference stop, a stop loss (below). If `alt` starts with all of `ref`, the first changed
      residue is `next_residue`; without it a ValueError is raised.
    - the first changed reference residue is the stop: `p.Ter260Glyext*?`, naming the first new
      residue (`Xaa` when `alt` is empty after trimming); the position of a new stop is not sought.
    - the first changed alternate residue is a stop: nonsense, `p.Arg213*` (whatever follows it).
      A stop inserted between two residues truncates before the right flank: `p.Leu90*`.
    - nothing left of `alt`: deletion, `p.Lys5del` or `p.Glu746_Ala750del`.
    - nothing left of `ref`: insertion between the last shared leading residue and the next one,
      `p.Lys89_Leu90insLysLysGluLysGly`. The right flank is the first shared trailing residue or,
      failing that, `next_residue`. When a flank is not known (no shared leading residue, or no
      `next_residue`), one shared residue is kept and the change is written as a (valid, though
      not preferred) delins instead: `hgvs_p(5, "K", "GK")` gives `p.Lys5delinsGlyLys`.
    - one residue for one: missense, `p.Val600Glu`.
    - otherwise: `p.Met146_Thr147delinsThrAsn`.

    Raises ValueError for `start < 1`, an empty `ref`, a letter outside `THREE_LETTER`, or a
    `next_residue` that is not exactly one such letter.
    """
    if start < 1:
        raise ValueError(f"start must be a 1-based protein position (>= 1), got {start}")
    ref, alt = _clean(ref, "ref"), _clean(alt, "alt")
    if not ref:
        raise ValueError("ref must hold at least one residue (the span's first reference residue)")
    if next_residue is not None:
        next_residue = _clean(next_residue, "next_residue")
        if len(next_residue) != 1:
            raise ValueError(f"next_residue must be one residue, got {next_residue!r}")

    if ref == alt:
        return f"p.{_span(ref[0], start, ref[-1], start + len(ref) - 1)}="

    if frameshift:
        return _hgvs_frameshift(start, ref, alt, next_residue)

    # Trim: shared leading residues move the start, then shared trailing residues are dropped.
    lead = 0
    while lead < len(ref) and lead < len(alt) and ref[lead] == alt[lead]:
        lead += 1
    trail = 0
    while trail < len(ref) - lead and trail < len(alt) - lead and ref[-1 - trail] == alt[-1 - trail]:
        trail += 1
    pos = start + lead
    core_ref = ref[lead : len(ref) - trail]
    core_alt = alt[lead : len(alt) - trail]

    if pos == 1:  # residue 1 itself changes (or something is inserted before it)
        return f"p.{_ref3(ref[0])}1?"
    if not core_ref:  # an insertion: name both flanks, or keep one shared residue as a delins
        right = ref[lead] if trail else next_residue
        if lead and right is not None:
            if core_alt[0] == "*":
                return f"p.{_ref3(right)}{pos}*"
            return f"p.{_span(ref[lead - 1], pos - 1, right, pos)}ins{_alt3(core_alt)}"
        if trail:  # no left flank: take in the first shared trailing residue
            core_ref, core_alt = ref[lead], core_alt + ref[lead]
        else:  # no right flank: take in the last shared leading residue
            pos -= 1
            core_ref, core_alt = ref[lead - 1], ref[lead - 1] + core_alt

    end = pos + len(core_ref) - 1
    if core_ref[0] == "*":
        return _stop_lost(pos, core_alt[0] if core_alt else "X")
    if core_alt and core_alt[0] == "*":
        return f"p.{_ref3(core_ref[0])}{pos}*"
    if not core_alt:
        return f"p.{_span(core_ref[0], pos, core_ref[-1], end)}del"
    if len(core_ref) == 1 and len(core_alt) == 1:
        return f"p.{_ref3(core_ref)}{pos}{_alt3(core_alt)}"
    return f"p.{_span(core_ref[0], pos, core_ref[-1], end)}delins{_alt3(core_alt)}"


def _hgvs_frameshift(start: int, ref: str, alt: str, next_residue: str | None) -> str:
    """The frameshift branch of `hgvs_p` (arguments already checked; `ref != alt`)."""
    k = 0
    while k < len(ref) and k < len(alt) and ref[k] == alt[k]:
        k += 1
    if k < len(ref):
        residue = ref[k]
    elif next_residue is not None:
        residue = next_residue
    else:
        raise ValueError(
            f"frameshift at {start}: alt {alt!r} keeps all of ref {ref!r}, so the first changed residue "
            "lies after the span; pass next_residue"
        )
    pos = start + k
    new = alt[k] if k < len(alt) else None
    if pos == 1:
        return f"p.{_ref3(residue)}1?"
    if residue == "*":
        return _stop_lost(pos, new or "X")
    if new == "*":
        return f"p.{_ref3(residue)}{pos}*"
    return f"p.{_ref3(residue)}{pos}fs"


def csq_notation(start: int, ref: str, alt: str, *, indel: bool = False) -> str:
    """The amino-acid change as `bcftools csq` writes it in BCSQ: `600V>600E`.

    `start` is the 1-based protein position of the first residue of `ref`; `ref` and `alt` are
    one-letter residues (case-insensitive, `*` is a stop), written untrimmed. When they are equal
    (synonymous) only the position and the residues are written (`278S`); otherwise
    `{start}{ref}>{start}{alt}`, e.g. `3GLGLW>3W`, `89K>89KKKEKG`, `260*>260G`. An empty `alt`
    gives `5K>5`. For an insertion or deletion (`indel`) csq never calls the change synonymous,
    so equal residues are still written as a change: an in-frame insertion after the stop codon
    gives `96*>96*`.

    Raises ValueError for `start < 1`, an empty `ref` or a letter outside `THREE_LETTER`.
    """
    if start < 1:
        raise ValueError(f"start must be a 1-based protein position (>= 1), got {start}")
    ref, alt = _clean(ref, "ref"), _clean(alt, "alt")
    if not ref:
        raise ValueError("ref must hold at least one residue")
    if ref == alt and not indel:
        return f"{start}{ref}"
    return f"{start}{ref}>{start}{alt}"
