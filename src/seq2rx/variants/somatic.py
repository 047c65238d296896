"""Somatic SNV/indel calling from a tumour BAM, with or without its matched normal.

bcftools mpileup counts the reads for every allele at every covered position of the tumour (and
normal) in one pass; the decision is then made per alternate allele, in the spirit of VarScan 2's
somatic mode, so that sub-clonal variants are kept where bcftools' diploid germline model drops
them (EGFR T790M at 12% VAF at 40x is 4-5 reads):

* **tumour–normal**: at least ``min_alt_reads`` alternate reads and ``min_vaf`` in the tumour;
  the normal covered by ``min_normal_depth`` reads with at most ``max_normal_alt_reads`` and
  ``max_normal_vaf`` alternate support; a one-sided Fisher exact test of tumour against normal
  allele counts (``FISHER_P``) at most ``max_fisher_p`` (VarScan 2's default 0.05). Failing a
  check soft-filters the record (``NormalSupport``, ``LowNormalDepth``, ``WeakSomatic``) rather
  than dropping it.
* **tumour-only** (``TUMOR_ONLY`` in the header and every record): without a normal, a variant
  whose allele fraction is consistent with a heterozygous or homozygous germline call is
  filtered ``LikelyGermline`` (binomial test against 0.5, ``GERMLINE_P``; or VAF >= 0.85), and one
  with a population allele frequency above ``max_population_af`` in a local population VCF is
  filtered ``PopulationAF``. A variant at a known somatic hotspot of the actionability knowledge
  base is exempt from the germline-likelihood filter and flagged ``HOTSPOT``.

Every PASS record carries tumour VAF and depth (FORMAT AF, AD, DP). ``callable_bases`` counts the
positions with enough depth, the denominator of tumour mutational burden.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

from seq2rx.core.io import atomic_output, scratch_dir, write_json
from seq2rx.variants.bcftools import run_bcftools
from seq2rx.variants.germline import widened_regions


@dataclass(frozen=True)
class SomaticParams:
    min_mapq: int = 20
    min_baseq: int = 20
    max_depth: int = 2000
    min_alt_reads: int = 3
    min_vaf: float = 0.05
    min_depth: int = 10
    min_normal_depth: int = 8
    max_normal_alt_reads: int = 1
    max_normal_vaf: float = 0.03
    max_fisher_p: float = 0.05
    germline_p: float = 0.01
    germline_hom_vaf: float = 0.85
    max_population_af: float = 0.001

    @classmethod
    def from_config(cls, somatic: dict, calling: dict) -> SomaticParams:
        """The parameters of the config's ``somatic`` section, with the read filters of
        :data:`CALLING_KEYS` from its ``calling`` section (``calling`` may hold only those)."""
        return cls(**{f.name: (calling if f.name in CALLING_KEYS else somatic)[f.name] for f in fields(cls)})


#: the read filters somatic calling shares with germline calling (config section ``calling``)
CALLING_KEYS = ("min_mapq", "max_depth")


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_greater(t_alt: int, t_ref: int, n_alt: int, n_ref: int) -> float:
    """One-sided Fisher exact p that the tumour's alternate fraction exceeds the normal's.

    >>> round(fisher_greater(10, 30, 0, 40), 5)
    0.00056
    """
    alt, row1, n = t_alt + n_alt, t_alt + t_ref, t_alt + t_ref + n_alt + n_ref
    denom = _log_comb(n, row1)
    p = 0.0
    for a in range(t_alt, min(alt, row1) + 1):
        if row1 - a > n - alt:
            continue
        p += math.exp(_log_comb(alt, a) + _log_comb(n - alt, row1 - a) - denom)
    return min(1.0, p)


def binomial_two_sided(k: int, n: int, p: float = 0.5) -> float:
    """Two-sided binomial p of ``k`` successes in ``n`` (sum of outcomes no likelier than ``k``).

    >>> round(binomial_two_sided(20, 40), 3)
    1.0
    >>> binomial_two_sided(4, 40) < 1e-5
    True
    """
    if n == 0:
        return 1.0

    def logpmf(i: int) -> float:
        return _log_comb(n, i) + i * math.log(p) + (n - i) * math.log(1 - p)

    observed = logpmf(k)
    total = sum(math.exp(logpmf(i)) for i in range(n + 1) if logpmf(i) <= observed + 1e-9)
    return min(1.0, total)


def _population_af(vcf: pysam.VariantFile | None, chrom: str, pos: int, ref: str, alt: str) -> float | None:
    if vcf is None:
        return None
    contigs = vcf.header.contigs
    name = next((c for c in (chrom, chrom.removeprefix("chr"), "chr" + chrom) if c in contigs), None)
    if name is None:
        return None  # a contig the population VCF does not cover
    records = vcf.fetch(name, pos - 1, pos)
    for rec in records:
        if rec.pos == pos and rec.ref == ref and alt in (rec.alts or ()):
            af = rec.info.get("AF")
            if isinstance(af, tuple):
                af = af[(rec.alts or ()).index(alt)]
            return float(af) if af is not None else None
    return None


def call_somatic(
    tumour_bam: str | Path,
    fasta: str | Path,
    out_vcf: str | Path,
    tumour_name: str,
    params: SomaticParams = SomaticParams(),
    normal_bam: str | Path | None = None,
    normal_name: str | None = None,
    regions: str | Path | None = None,
    hotspots: set[tuple[str, int, str, str]] = frozenset(),
    population_vcf: str | Path | None = None,
    callable_targets: str | Path | None = None,
    margin: int = 0,
) -> dict:
    """Write the somatic calls of one tumour as a bgzipped, indexed VCF; return counts and callable bases.

    ``regions`` (a BED: the padded targets of an exome or panel, or one calling interval)
    restricts calling; ``callable_targets`` (a BED: the targets themselves) restricts the callable
    bases counted, the TMB denominator, which would otherwise be every well-covered position
    called. Calling each interval of a tiling then :func:`gather_somatic` gives the same bytes
    (with ``margin`` for a tile cut inside sequence, as :func:`seq2rx.variants.germline.pileup_call`).
    """
    if margin and callable_targets:
        raise ValueError("a margin is for tiles of a whole genome, callable_targets for targets: not both")
    paired = normal_bam is not None
    bams = [str(tumour_bam)] + ([str(normal_bam)] if paired else [])
    names = [tumour_name] + ([normal_name or f"{tumour_name}-normal"] if paired else [])
    Path(out_vcf).parent.mkdir(parents=True, exist_ok=True)
    with scratch_dir(out_vcf) as td:
        groups = os.path.join(td, "groups.txt")
        Path(groups).write_text("".join(f"* {b} {n}\n" for b, n in zip(bams, names, strict=True)))
        pile = os.path.join(td, "pile.bcf")
        args = ["--no-version", "-f", str(fasta), "-a", "FORMAT/AD,FORMAT/DP,FORMAT/ADF,FORMAT/ADR",
                "-q", str(params.min_mapq), "-Q", str(params.min_baseq), "-d", str(params.max_depth),
                "-L", str(params.max_depth),  # bcftools skips indels above 250x by default: panels need them
                "-G", groups, "-O", "b", "-o", pile]  # fmt: skip
        keep = []  # with a margin, the positions read before the interval are not its own
        if regions and margin:
            wide = os.path.join(td, "wide.bed")
            widened_regions(regions, margin, wide)
            args += ["-R", wide]
            keep = ["-T", str(regions)]
        elif regions:
            args += ["-R", str(regions)]
        run_bcftools("mpileup", *args, *bams)
        # the denominator of TMB: positions the tumour (and normal) cover well enough
        depth_ok = f"FMT/DP[0]>={params.min_depth}"
        if paired:
            depth_ok += f" && FMT/DP[1]>={params.min_normal_depth}"
        callable_txt = os.path.join(td, "callable.txt")
        within = ["-T", str(callable_targets)] if callable_targets else keep
        run_bcftools("query", "-i", depth_ok, *within, "-f", "%CHROM\t%POS\n", "-o", callable_txt, pile)
        # positions, not records: mpileup writes an indel at a position as a second record there
        callable_bases, prev = 0, b""
        with open(callable_txt, "rb") as fh:
            for line in fh:
                callable_bases += line != prev
                prev = line
        cand = os.path.join(td, "cand.bcf")
        # drop the positions with no alternate read at all (ALT is only <*>); bcftools matches ALT="<*>"
        # against any allele, so the count is needed to keep "T,<*>"
        run_bcftools("view", "--no-version", *keep, "-e", 'N_ALT=1 && ALT="<*>"', "-O", "b", "-o", cand, pile)
        counts = _decide(cand, out_vcf, names, paired, params, hotspots, population_vcf)
    counts["callable_bases"] = callable_bases
    counts["mode"] = "tumour-normal" if paired else "tumour-only"
    return counts


def _header(template: pysam.VariantHeader, names: list[str], paired: bool, params: SomaticParams):
    h = pysam.VariantHeader()
    for contig in template.contigs.values():
        h.contigs.add(contig.name, length=contig.length)
    mode = "tumour-normal" if paired else "tumour-only: no matched normal, germline variants filtered by likelihood"
    h.add_line(f"##seq2rx_somatic_mode={mode}")
    h.add_line('##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Somatic candidate">')
    h.add_line('##INFO=<ID=TUMOR_ONLY,Number=0,Type=Flag,Description="Called without a matched normal">')
    h.add_line('##INFO=<ID=HOTSPOT,Number=0,Type=Flag,Description="At a known somatic hotspot of the knowledge base">')
    h.add_line('##INFO=<ID=FISHER_P,Number=1,Type=Float,Description="One-sided Fisher p, tumour vs normal">')
    h.add_line('##INFO=<ID=GERMLINE_P,Number=1,Type=Float,Description="Binomial p of the tumour VAF against 0.5">')
    h.add_line('##INFO=<ID=POP_AF,Number=1,Type=Float,Description="Population allele frequency">')
    filters = {
        "NormalSupport": f"Normal has > {params.max_normal_alt_reads} alternate reads or VAF > {params.max_normal_vaf}",
        "LowNormalDepth": f"Normal depth < {params.min_normal_depth}",
        "WeakSomatic": f"Tumour vs normal Fisher p > {params.max_fisher_p}",
        "LikelyGermline": f"Tumour-only: VAF consistent with a germline genotype (binomial p > {params.germline_p}) "
        f"or >= {params.germline_hom_vaf}",
        "PopulationAF": f"Tumour-only: population allele frequency > {params.max_population_af}",
        "StrandBias": "All alternate reads on one strand (at least 6 of them)",
    }  # fmt: skip
    for name, desc in filters.items():
        h.filters.add(name, None, None, desc)
    h.formats.add("GT", 1, "String", "Genotype")
    h.formats.add("AD", "R", "Integer", "Reads supporting each allele")
    h.formats.add("DP", 1, "Integer", "Read depth")
    h.formats.add("AF", "A", "Float", "Alternate allele fraction")
    for n in names:
        h.add_sample(n)
    return h


def _decide(cand, out_vcf, names, paired, params, hotspots, population_vcf) -> dict:
    counts = {"pass": 0, "filtered": 0}
    pop = _open_population(population_vcf) if population_vcf else None
    verbosity = pysam.set_verbosity(0)  # the temporary BCF has no index, and needs none
    try:
        src = pysam.VariantFile(cand)
    finally:
        pysam.set_verbosity(verbosity)
    with src:
        header = _header(src.header, names, paired, params)
        try:
            with atomic_output(out_vcf) as tmp:
                plain = str(tmp) + ".vcf"
                try:
                    with pysam.VariantFile(plain, "w", header=header) as out:
                        for rec in src:
                            _emit(rec, out, names, paired, params, hotspots, pop, counts)
                    pysam.tabix_compress(plain, str(tmp), force=True)
                finally:
                    if os.path.exists(plain):
                        os.unlink(plain)
                pysam.tabix_index(str(tmp), preset="vcf", force=True)
        finally:
            if pop is not None:
                pop.close()
    # the index follows the VCF it indexes, never the other way round
    os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
    return counts


def _open_population(path: str | Path) -> pysam.VariantFile:
    """A bgzipped, indexed population VCF with INFO/AF, or an error naming it."""
    from seq2rx.core.errors import InputError

    if not any(Path(str(path) + ext).exists() for ext in (".tbi", ".csi")):
        raise InputError(str(path), "has no index (.tbi or .csi)", hint="bgzip it and run tabix -p vcf")
    try:
        vcf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot be read as a VCF ({exc})") from None
    if "AF" not in vcf.header.info:
        vcf.close()
        raise InputError(str(path), "has no INFO/AF field", field="AF")
    return vcf


def _emit(rec, out, names, paired, params, hotspots, pop, counts) -> None:
    t = rec.samples[names[0]]
    t_ad = [a or 0 for a in (t.get("AD") or ())]
    t_adf = [a or 0 for a in (t.get("ADF") or ())]
    t_adr = [a or 0 for a in (t.get("ADR") or ())]
    t_dp = sum(t_ad)
    if t_dp < params.min_depth:
        return
    n_ad = [a or 0 for a in (rec.samples[names[1]].get("AD") or ())] if paired else []
    n_dp = sum(n_ad)
    for i, alt in enumerate(rec.alts or (), start=1):
        if alt.startswith("<") or i >= len(t_ad):
            continue
        t_alt = t_ad[i]
        vaf = t_alt / t_dp
        if t_alt < params.min_alt_reads or vaf < params.min_vaf:
            continue
        filters, info = [], {"SOMATIC": True}
        if paired:
            n_alt = n_ad[i] if i < len(n_ad) else 0
            info["FISHER_P"] = float(f"{fisher_greater(t_alt, t_dp - t_alt, n_alt, n_dp - n_alt):.3g}")
            if info["FISHER_P"] > params.max_fisher_p:
                filters.append("WeakSomatic")
            if n_dp < params.min_normal_depth:
                filters.append("LowNormalDepth")
            elif n_alt > params.max_normal_alt_reads or (n_dp and n_alt / n_dp > params.max_normal_vaf):
                filters.append("NormalSupport")
        else:
            info["TUMOR_ONLY"] = True
            key = (rec.chrom.removeprefix("chr"), rec.pos, rec.ref.upper(), alt.upper())
            germline_p = binomial_two_sided(t_alt, t_dp)
            info["GERMLINE_P"] = float(f"{germline_p:.3g}")
            if key in hotspots:
                info["HOTSPOT"] = True
            elif germline_p > params.germline_p or vaf >= params.germline_hom_vaf:
                filters.append("LikelyGermline")
            af = _population_af(pop, rec.chrom, rec.pos, rec.ref, alt)
            if af is not None:
                info["POP_AF"] = af
                if af > params.max_population_af:
                    filters.append("PopulationAF")
        if t_alt >= 6 and i < len(t_adf) and i < len(t_adr) and (t_adf[i] == 0 or t_adr[i] == 0):
            filters.append("StrandBias")
        new = out.new_record(contig=rec.chrom, start=rec.start, alleles=(rec.ref, alt), filter=filters or ["PASS"])
        for k, v in info.items():
            new.info[k] = v
        ts = new.samples[names[0]]
        ts["GT"], ts["AD"], ts["DP"], ts["AF"] = (0, 1), (t_dp - t_alt, t_alt), t_dp, (round(vaf, 4),)
        if paired:
            n_alt = n_ad[i] if i < len(n_ad) else 0
            ns = new.samples[names[1]]
            ns["GT"], ns["AD"], ns["DP"] = (0, 0), (n_dp - n_alt, n_alt), n_dp
            ns["AF"] = (round(n_alt / n_dp, 4) if n_dp else 0.0,)
        out.write(new)
        counts["pass" if not filters else "filtered"] += 1


def gather_somatic(parts: list[tuple[str | Path, dict]], out_vcf: str | Path) -> dict:
    """Join the intervals' somatic calls (``(vcf, counts)`` of :func:`call_somatic`, in interval
    order) into one bgzipped, indexed VCF; return the summed counts and callable bases.

    Each part is the caller's own VCF of its interval, so the join is its records in order under
    the one header they share: the bytes of calling the whole genome at once.
    """
    if not parts:
        raise ValueError("no somatic calls to gather")
    header = None
    totals = {"pass": 0, "filtered": 0, "callable_bases": 0}
    modes = {counts["mode"] for _vcf, counts in parts}
    if len(modes) != 1:
        raise ValueError(f"the parts were called in different modes: {sorted(modes)}")
    with atomic_output(out_vcf) as tmp:
        plain = str(tmp) + ".vcf"
        try:
            with open(plain, "w") as out:
                for vcf, counts in parts:
                    with gzip.open(vcf, "rt") as fh:
                        head, body = [], []
                        for line in fh:
                            (head if line.startswith("#") and not body else body).append(line)
                    if header is None:
                        header = head
                        out.writelines(head)
                    elif head != header:
                        raise ValueError(f"{vcf}: its header differs from the first part's")
                    out.writelines(body)
                    for k in totals:
                        totals[k] += counts[k]
            pysam.tabix_compress(plain, str(tmp), force=True)
        finally:
            if os.path.exists(plain):
                os.unlink(plain)
        pysam.tabix_index(str(tmp), preset="vcf", force=True)
    os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
    return {**totals, "mode": modes.pop()}


def write_callable(counts: dict, path: str | Path) -> None:
    """The caller's counts (PASS, filtered, callable bases, mode) as JSON: TMB's denominator."""
    write_json(counts, path)
