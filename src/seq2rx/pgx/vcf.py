"""Read a sample's genotypes at the allele-definition positions from a VCF.

Works on the workflow's own all-sites VCF (``results/pgx/{sample}.sites.vcf.gz``) and on VCFs
made elsewhere (gVCF-style reference blocks excepted: every definition position needs its own
record, as the reference tool also requires). Contigs may be named ``chr10`` or ``10``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.genome.builds import GRCH37_LENGTHS
from seq2rx.pgx.definitions import GeneDefinition
from seq2rx.pgx.matcher import Call, GeneGenotypes
from seq2rx.variants.inputs import NUMERIC_TAGS, check_declared, check_header_text

#: the genotypes read only FORMAT (GT, AD, DP, AF...): an undeclared INFO tag (INFO/AF is a
#: population frequency in cohort VCFs) does not change a diplotype
_PGX_NUMERIC = {"INFO": frozenset(), "FORMAT": NUMERIC_TAGS["FORMAT"]}


def _contig_key(name: str) -> str:
    return name[3:] if name.lower().startswith("chr") else name


def _minimal(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim a REF/ALT pair to its minimal form (shared suffix, then shared prefix)."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref.upper(), alt.upper()


def _translate(record_ref: str, allele: str, pos: int, def_ref: str, def_alts: tuple[str, ...]) -> str:
    """A record's allele in the definition's terms (its REF may be written differently)."""
    if record_ref.upper() == def_ref.upper():
        return def_ref if allele.upper() == def_ref.upper() else allele.upper()
    if allele.upper() == record_ref.upper():
        return def_ref
    want = _minimal(pos, record_ref, allele)
    for alt in def_alts:
        if _minimal(pos, def_ref, alt) == want:
            return alt
    return allele.upper()


#: FILTER values a record may carry and still be read (``.``, no filter applied, always passes)
DEFAULT_FILTERS = ("PASS",)
#: a homozygous genotype contradicts its allele fractions when its allele holds less than this
#: share of the reads; a heterozygous one when either of its alleles holds this share or less
HOM_MIN_FRACTION = 0.75
HET_MAX_ABSENT_FRACTION = 0.05
#: fewer reads than this in FORMAT/AD are too few to contradict a genotype
MIN_AD_READS = 8


def read_genotypes(
    vcf: str | Path, definitions: dict[str, GeneDefinition], *args, **kwargs
) -> dict[str, dict[str, GeneGenotypes]]:
    """sample → gene → genotypes at that gene's definition positions, every sample's at once
    (the arguments and what makes a position missing: :func:`read_cohort`)."""
    return dict(read_cohort(vcf, definitions, *args, **kwargs))


@dataclass
class _Column:
    """One record's entries at one definition position, for every sample: each sample's code
    into ``table`` (the distinct calls and reasons, shared), or one entry for all samples
    (``codes`` None: a REF mismatch or a failed FILTER says the same for everyone)."""

    table: list
    codes: array | None = None

    def entry(self, i: int):
        return self.table[0] if self.codes is None else self.table[self.codes[i]]


@dataclass
class CohortGenotypes:
    """Every sample's genotypes at the definition positions of one VCF, held compactly: per
    record and position, one small integer per sample into a table of the distinct calls, so a
    cohort of thousands costs a few bytes per sample and position. Iterating yields
    ``(sample, gene → GeneGenotypes)`` in the VCF's sample order, each built when asked for
    (see :func:`read_cohort` for what makes a position missing)."""

    samples: list[str]
    definitions: dict[str, GeneDefinition]
    #: (gene, position index) -> the columns of the records at it, in the order read
    columns: dict[tuple[str, int], list[_Column]]
    #: contigs (without ``chr``) the VCF holds records on
    has_records: set[str]
    absent_as_reference: bool

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[tuple[str, dict[str, GeneGenotypes]]]:
        for i, s in enumerate(self.samples):
            yield s, self.sample(i)

    def sample(self, i: int) -> dict[str, GeneGenotypes]:
        """The ``i``-th sample's genotypes, gene → :class:`GeneGenotypes`."""
        definitions = self.definitions
        out = {g: GeneGenotypes(g) for g in definitions}
        for (gene, k), columns in self.columns.items():
            g = out[gene]
            value = _merge([c.entry(i) for c in columns], definitions[gene].positions[k].ref)
            if isinstance(value, Call):
                g.calls[k] = value
                continue
            g.missing[k] = str(value)
            if isinstance(value, _Mismatch):
                g.warnings.append(
                    f"{value.chrom}:{value.pos}: reference allele {value.ref!r} does not match the definition's "
                    f"{value.expected!r} (is the VCF on GRCh38?); position treated as missing"
                )
            elif isinstance(value, _Unused):
                g.warnings.append(f"{value.chrom}:{value.pos}: {value.reason}; not used, position treated as missing")
        for gene, d in definitions.items():
            g = out[gene]
            absent = 0
            for k, p in enumerate(d.positions):
                if k in g.calls or k in g.missing:
                    continue
                if self.absent_as_reference and _contig_key(p.chrom) in self.has_records:
                    g.calls[k] = Call((p.ref, p.ref), phased=False)
                    absent += 1
                else:
                    g.missing[k] = "no record in the VCF"
            if absent:
                g.warnings.append(
                    f"{absent} definition position(s) without a record in the VCF taken as reference "
                    "(absent_as_reference is on)"
                )
        return out


def read_cohort(
    vcf: str | Path,
    definitions: dict[str, GeneDefinition],
    samples: list[str] | None = None,
    min_depth: int = 0,
    *,
    filters: tuple[str, ...] | list[str] = DEFAULT_FILTERS,
    absent_as_reference: bool = False,
) -> CohortGenotypes:
    """Read ``vcf`` once at the definition positions, for every sample (or ``samples``), into a
    :class:`CohortGenotypes`: compact, each sample's genotypes built when asked for. Bad input
    stops here, before any sample's result exists.

    A position is *missing* when the VCF has no record for it, the record's FILTER holds a
    value not in ``filters`` (``.`` passes: no filter was applied), the sample's genotype has a
    missing allele, FORMAT/DP is below ``min_depth`` (when given), the genotype contradicts the
    sample's own allele fractions (FORMAT/AD, else FORMAT/AF or VAF; INFO/AF is a cohort's
    frequency and is not used), or the record's REF does not agree with the definition. Each
    reason but the first is named in the gene's warnings.

    With ``absent_as_reference`` (for a cohort VCF that lists variant sites only, as the 1000
    Genomes and biobank exports do), a position without any record, on a contig the VCF holds
    records on, is taken as homozygous reference, and the gene's warnings count them (a
    per-chromosome file says nothing about the other chromosomes: their positions stay missing);
    off by default, as a position without a record may equally be a position without reads.
    """
    vcf = str(vcf)
    where: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for gene, d in definitions.items():
        for k, p in enumerate(d.positions):
            where.setdefault((_contig_key(p.chrom), p.pos), []).append((gene, k))
    chroms = {c for c, _ in where}
    check_header_text(vcf)
    indexed = any(Path(vcf + ext).exists() for ext in (".tbi", ".csi"))
    # without an index, htslib's "could not retrieve index" message is noise: a full pass follows
    verbosity = pysam.set_verbosity(0 if not indexed else pysam.get_verbosity())
    try:
        fh = pysam.VariantFile(vcf)
    except (OSError, ValueError) as exc:
        raise InputError(vcf, f"cannot be read as a VCF ({exc})") from None
    finally:
        pysam.set_verbosity(verbosity)
    with fh:
        _check_build(fh, vcf)
        header_samples = list(fh.header.samples)
        if not header_samples:
            raise InputError(vcf, "has no sample columns", hint="the VCF needs genotypes (FORMAT/GT)")
        if samples is None:
            samples = header_samples
        for s in samples:
            if s not in header_samples:
                raise InputError(vcf, f"sample {s!r} is not in the VCF; it has {', '.join(header_samples[:10])}")
        declared = set(fh.header.info), set(fh.header.formats)
        allowed = set(filters)
        wanted = ", ".join(sorted(allowed)) or "none"
        # per (gene, k): every record's column of calls (or the reasons they give none); merged per sample
        columns: dict[tuple[str, int], list[_Column]] = {}
        last = "the start"
        # contigs the VCF holds records on: only there can an absent position be reference
        has_records: set[str] = set()
        try:
            if absent_as_reference and indexed:
                for contig in fh.header.contigs:
                    if _contig_key(contig) in chroms and next(fh.fetch(contig), None) is not None:
                        has_records.add(_contig_key(contig))
            for rec in _records(fh, definitions, indexed):
                last = f"{rec.chrom}:{rec.pos}"
                has_records.add(_contig_key(rec.chrom))
                hits = where.get((_contig_key(rec.chrom), rec.pos))
                if not hits:
                    continue
                check_declared(rec, *declared, vcf, numeric=_PGX_NUMERIC)
                alleles = (rec.ref, *(rec.alts or ()))
                failed = sorted(set(rec.filter.keys()) - allowed)
                for gene, k in hits:
                    p = definitions[gene].positions[k]
                    if rec.ref[0].upper() != p.ref[0].upper():
                        column = _Column([_Mismatch(rec.chrom, rec.pos, rec.ref, p.ref)])
                    elif failed:
                        column = _Column(
                            [_Unused(rec.chrom, rec.pos, f"FILTER {';'.join(failed)} (not one of {wanted})")]
                        )
                    else:
                        column = _sample_column(rec, samples, alleles, p, min_depth)
                    columns.setdefault((gene, k), []).append(column)
        except (OSError, ValueError) as exc:
            raise InputError(vcf, f"cannot be read after {last} ({exc})") from None
    return CohortGenotypes(list(samples), definitions, columns, has_records, absent_as_reference)


def _sample_column(rec, samples: list[str], alleles: tuple[str, ...], p, min_depth: int) -> _Column:
    """Every sample's call at one record and position, each distinct call (or reason) kept once."""
    table: list = []
    index: dict = {}
    codes = []
    for s in samples:
        entry = _sample_call(rec, s, alleles, p, min_depth)
        key = (entry.alleles, entry.phased, entry.phase_set) if isinstance(entry, Call) else entry
        code = index.get(key)
        if code is None:
            code = index[key] = len(table)
            table.append(entry)
        codes.append(code)
    # one byte per sample while a record has at most 256 distinct calls (nearly always)
    return _Column(table, array("B" if len(table) <= 256 else "I", codes))


def _check_build(fh: pysam.VariantFile, vcf: str) -> None:
    for name, contig in fh.header.contigs.items():
        if contig.length and GRCH37_LENGTHS.get(_contig_key(name)) == contig.length:
            raise InputError(
                vcf,
                f"contig {name} has the GRCh37 length {contig.length}; the allele definitions are GRCh38",
                hint="lift the VCF over to GRCh38 or call it against a GRCh38 reference",
            )


@dataclass(frozen=True)
class _Mismatch:
    chrom: str
    pos: int
    ref: str
    expected: str

    def __str__(self) -> str:
        return f"REF {self.ref} in the VCF, {self.expected} in the definition"


@dataclass(frozen=True)
class _Unused:
    """A record (or a sample's genotype in it) that is read but not used, and why."""

    chrom: str
    pos: int
    reason: str

    def __str__(self) -> str:
        return self.reason


def _merge(entries: list, def_ref: str) -> Call | str | _Mismatch | _Unused:
    """One genotype from every record at a position (a split multiallelic site, or a one-base
    reference record beside an indel record): the alternate alleles they carry, filled up with
    the reference. More than two alternate alleles is a conflict and makes the position missing."""
    calls = [e for e in entries if isinstance(e, Call)]
    if not calls:
        return next((e for e in entries if isinstance(e, (_Mismatch, _Unused))), entries[0])
    if len(calls) == 1:
        return calls[0]
    carriers = [c for c in calls if any(a != def_ref for a in c.alleles)]
    if len(carriers) <= 1:
        return carriers[0] if carriers else calls[0]
    alts = [a for c in carriers for a in c.alleles if a != def_ref]
    if len(alts) > 2:
        return f"records at this position disagree ({len(alts)} alternate alleles in a diploid genotype)"
    alts += [def_ref] * (2 - len(alts))
    return Call((alts[0], alts[1]), phased=False)


def _records(fh: pysam.VariantFile, definitions: dict[str, GeneDefinition], indexed: bool):
    """Records near the definition positions: by index where there is one, else a full pass."""
    if not indexed:
        yield from fh
        return
    contigs = {_contig_key(c): c for c in fh.header.contigs}
    seen = set()
    for d in definitions.values():
        by_chrom: dict[str, list[int]] = {}
        for p in d.positions:
            by_chrom.setdefault(p.chrom, []).append(p.pos)
        for chrom, pos in by_chrom.items():
            contig = contigs.get(_contig_key(chrom))
            if contig is None:
                continue
            for rec in fh.fetch(contig, min(pos) - 1, max(pos)):
                key = (rec.chrom, rec.pos, rec.ref, rec.alts)
                if key not in seen:
                    seen.add(key)
                    yield rec


def _fractions(call, n_alleles: int) -> tuple[list[float], str] | None:
    """The sample's read fraction of each allele (REF first) and where it comes from:
    FORMAT/AD (with at least :data:`MIN_AD_READS` reads), else FORMAT/AF or FORMAT/VAF (one value
    per ALT). None when the record has none of them, or they are not numbers."""
    keys = call.keys()
    ad = call.get("AD") if "AD" in keys else None
    if ad and len(ad) == n_alleles and all(isinstance(x, int) for x in ad):
        total = sum(ad)
        if total < MIN_AD_READS:
            return None
        return [x / total for x in ad], "AD " + ",".join(map(str, ad))
    for tag in ("AF", "VAF"):
        af = call.get(tag) if tag in keys else None
        if isinstance(af, float):
            af = (af,)
        if af and len(af) == n_alleles - 1 and all(isinstance(x, float) and 0 <= x <= 1 for x in af):
            return [max(0.0, 1 - sum(af)), *af], f"{tag} " + ",".join(f"{x:g}" for x in af)
    return None


def contradiction(gt: tuple[int, ...], fractions: list[float]) -> bool:
    """Whether a genotype contradicts the sample's allele fractions: a homozygous allele holding
    less than :data:`HOM_MIN_FRACTION` of the reads (0/0 with AF 0.5, 1/1 with AF 0.1), or a
    heterozygous genotype one of whose alleles holds :data:`HET_MAX_ABSENT_FRACTION` or less
    (0/1 with AF 1).

    >>> contradiction((0, 1), [0.0, 1.0]), contradiction((1, 1), [0.9, 0.1]), contradiction((0, 1), [0.5, 0.5])
    (True, True, False)
    """
    distinct = set(gt)
    if len(distinct) == 1:
        return fractions[gt[0]] < HOM_MIN_FRACTION
    return any(fractions[a] <= HET_MAX_ABSENT_FRACTION for a in distinct)


def _sample_call(rec, sample: str, alleles: tuple[str, ...], p, min_depth: int) -> Call | str | _Unused:
    call = rec.samples[sample]
    gt = call.get("GT") or ()
    if not gt or any(a is None for a in gt):
        return "no genotype"
    if any(a >= len(alleles) or alleles[a] in ("*", "<*>", "<NON_REF>") for a in gt):
        return f"genotype {'/'.join(map(str, gt))} names an allele the record does not have"
    if min_depth and "DP" in call.keys():
        dp = call["DP"]
        if dp is None or dp < min_depth:
            return f"depth {dp or 0} < {min_depth}"
    fractions = _fractions(call, len(alleles))
    if fractions and contradiction(tuple(gt), fractions[0]):
        shown = "/".join(map(str, gt))
        return _Unused(rec.chrom, rec.pos, f"genotype {shown} contradicts the sample's own {fractions[1]}")
    bases = [_translate(rec.ref, alleles[a], rec.pos, p.ref, p.alts) for a in gt]
    if len(bases) == 1:
        bases = bases * 2
    elif len(bases) > 2:
        return f"ploidy {len(bases)} is not supported"
    ps = call.get("PS") if "PS" in call.keys() else None
    return Call((bases[0], bases[1]), phased=bool(call.phased), phase_set=ps)
