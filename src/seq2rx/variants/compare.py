"""Compare a query VCF with a truth VCF: SNV and indel TP/FP/FN, precision, recall, F1.

Both sides are normalised the same way before they are matched, so equal variants written
differently still match: multiallelic records are split, MNVs and complex records are atomised,
and with a reference FASTA indels are left-aligned (bcftools norm). Without a reference, alleles
are trimmed of shared leading and trailing bases, which cannot left-shift an indel in a repeat;
pass ``--reference`` for that.

A record counts when its genotype carries an alternate allele; query records must PASS unless
``pass_only=False``. Matching is on (contig, position, REF, ALT); the genotype agreement of the
matches is reported separately.
"""

from __future__ import annotations

import bisect
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401

from seq2rx.core.errors import InputError

Key = tuple[str, int, str, str]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def as_dict(self) -> dict:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
        rnd = lambda x: None if x is None else round(x, 6)  # noqa: E731
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": rnd(p), "recall": rnd(r), "f1": rnd(f1)}


def read_bed(path: str | Path) -> dict[str, list[tuple[int, int]]]:
    """BED intervals per contig, sorted and merged (0-based, half-open)."""
    raw: dict[str, list[tuple[int, int]]] = {}
    opener = __import__("gzip").open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.split("\t")
            try:
                raw.setdefault(f[0], []).append((int(f[1]), int(f[2])))
            except (IndexError, ValueError):
                raise InputError(str(path), "a BED line needs contig, start and end", line=lineno) from None
    merged = {}
    for c, iv in raw.items():
        out: list[tuple[int, int]] = []
        for s, e in sorted(iv):
            if out and s <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
        merged[c] = out
    return merged


def _in_regions(regions: dict[str, list[tuple[int, int]]], chrom: str, pos0: int, length: int) -> bool:
    iv = regions.get(chrom)
    if not iv:
        return False
    k = bisect.bisect_right(iv, (pos0, float("inf"))) - 1
    return k >= 0 and iv[k][0] <= pos0 and pos0 + length <= iv[k][1]


def trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop shared trailing, then leading, bases while keeping one anchor base (VCF style).

    >>> trim(100, "CAT", "CGT")
    (101, 'A', 'G')
    >>> trim(100, "CTT", "CT")
    (100, 'CT', 'C')
    """
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _minimal_copy(vcf: str | Path, td: str, tag: str) -> str:
    """A copy of ``vcf`` with only what the comparison reads: CHROM to FILTER and GT.

    Truth sets often use INFO tags or contigs their header does not declare, which htslib can
    read but not write; dropping INFO and all FORMAT fields but GT, and declaring every contig
    and filter used, makes any such file safe to normalise.
    """
    import gzip

    opener = gzip.open if str(vcf).endswith((".gz", ".bgz")) else open
    contigs: dict[str, str] = {}
    filters: set[str] = set()
    with opener(vcf, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("##contig=<ID="):
                contigs.setdefault(line[13:].split(",")[0].split(">")[0], line)
            elif not line.startswith("#"):
                f = line.split("\t", 7)
                if len(f) < 8:
                    raise InputError(
                        str(vcf), f"a VCF record needs 8 tab-separated columns, found {len(f)}", line=lineno
                    )
                contigs.setdefault(f[0], f"##contig=<ID={f[0]}>\n")
                filters.update(x for x in f[6].split(";") if x not in (".", "PASS"))
    out = os.path.join(td, f"{tag}.minimal.vcf")
    with opener(vcf, "rt") as fh, open(out, "w") as dst:
        dst.write("##fileformat=VCFv4.2\n")
        dst.writelines(contigs.values())
        dst.writelines(f'##FILTER=<ID={x},Description="{x}">\n' for x in sorted(filters))
        dst.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        for line in fh:
            if line.startswith("##"):
                continue
            f = line.rstrip("\n").split("\t")
            if line.startswith("#CHROM"):
                dst.write("\t".join(f[:8] + (["FORMAT", *f[9:]] if len(f) > 9 else [])) + "\n")
                continue
            f[7] = "."
            if len(f) > 9:
                keys = f[8].split(":")
                gt = keys.index("GT") if "GT" in keys else None
                calls = [c.split(":")[gt] if gt is not None and gt < len(c.split(":")) else "./." for c in f[9:]]
                f = f[:8] + ["GT", *calls]
            dst.write("\t".join(f[:8] + f[8:]) + "\n")
    return out


def _normalise(vcf: str | Path, reference: str | Path | None, td: str, tag: str) -> str:
    source = str(vcf)
    try:
        vcf = _minimal_copy(vcf, td, tag)
    except UnicodeDecodeError:  # BCF or another binary format: let bcftools turn it into text
        text = os.path.join(td, f"{tag}.text.vcf")
        try:
            pysam.bcftools.view("--no-version", "-O", "v", "-o", text, source, catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            raise InputError(source, f"cannot be read as VCF/BCF: {str(exc).strip()[-300:]}") from None
        vcf = _minimal_copy(text, td, tag)
    out = os.path.join(td, f"{tag}.vcf")
    args = ["--no-version", "-m", "-any", "-a", "--atom-overlaps", ".", "-o", out]
    if reference:
        args += ["-f", str(reference), "-c", "w"]
    try:
        pysam.bcftools.norm(*args, str(vcf), catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        raise InputError(source, f"bcftools norm could not read it: {str(exc).strip()[-300:]}") from None
    return out


def load_variants(
    vcf: str | Path,
    reference: str | Path | None = None,
    sample: str | None = None,
    pass_only: bool = True,
    regions: dict[str, list[tuple[int, int]]] | None = None,
) -> dict[Key, tuple[int, ...]]:
    """Normalised non-reference variants of one sample: key -> genotype (allele indices)."""
    if not Path(vcf).exists():
        raise InputError(str(vcf), "the VCF does not exist")
    with tempfile.TemporaryDirectory() as td:
        norm = _normalise(vcf, reference, td, "n")
        out: dict[Key, tuple[int, ...]] = {}
        with pysam.VariantFile(norm) as fh:
            samples = list(fh.header.samples)
            if sample is None and samples:
                sample = samples[0]
            if sample is not None and sample not in samples:
                raise InputError(str(vcf), f"sample {sample!r} is not in the VCF; it has {samples}")
            for rec in fh:
                if pass_only and rec.filter.keys() and "PASS" not in rec.filter.keys():
                    continue
                if not rec.alts or rec.alts[0] in ("*", "<*>", "<NON_REF>") or rec.alts[0].startswith("<"):
                    continue
                gt: tuple[int, ...] = (0, 1)
                if sample is not None:
                    gt = tuple(a for a in (rec.samples[sample].get("GT") or ()) if a is not None)
                    if not any(a and a > 0 for a in gt):
                        continue
                pos, ref, alt = trim(rec.pos, rec.ref.upper(), rec.alts[0].upper())
                if regions is not None and not _in_regions(regions, rec.chrom, pos - 1, len(ref)):
                    continue
                out[(rec.chrom, pos, ref, alt)] = tuple(sorted(1 if a else 0 for a in gt))
    return out


def kind(key: Key) -> str:
    return "snv" if len(key[2]) == len(key[3]) else "indel"


def compare(
    truth: str | Path,
    query: str | Path,
    reference: str | Path | None = None,
    regions: str | Path | None = None,
    truth_sample: str | None = None,
    query_sample: str | None = None,
    pass_only: bool = True,
) -> dict:
    """Return SNV and indel counts and metrics, genotype agreement, and the mismatched records."""
    bed = read_bed(regions) if regions else None
    t = load_variants(truth, reference, truth_sample, pass_only=False, regions=bed)
    q = load_variants(query, reference, query_sample, pass_only=pass_only, regions=bed)
    counts = {"snv": Counts(), "indel": Counts()}
    gt_match = 0
    for key in t.keys() | q.keys():
        c = counts[kind(key)]
        if key in t and key in q:
            c.tp += 1
            gt_match += t[key] == q[key]
        elif key in q:
            c.fp += 1
        else:
            c.fn += 1
    tp = sum(c.tp for c in counts.values())

    def fmt(keys) -> list[str]:
        return [f"{c}:{p}:{r}>{a}" for c, p, r, a in sorted(keys)]

    return {
        "truth": os.path.basename(str(truth)),
        "query": os.path.basename(str(query)),
        "regions": os.path.basename(str(regions)) if regions else None,
        "normalised_with_reference": reference is not None,
        "snv": counts["snv"].as_dict(),
        "indel": counts["indel"].as_dict(),
        "genotype_concordance": round(gt_match / tp, 6) if tp else None,
        "false_negatives": fmt(t.keys() - q.keys()),
        "false_positives": fmt(q.keys() - t.keys()),
    }


def format_table(result: dict) -> str:
    lines = ["type\tTP\tFP\tFN\tprecision\trecall\tF1"]
    for k in ("snv", "indel"):
        r = result[k]
        vals = [r["tp"], r["fp"], r["fn"]] + [
            "NA" if r[x] is None else f"{r[x]:.4f}" for x in ("precision", "recall", "f1")
        ]
        lines.append(k.upper() + "\t" + "\t".join(map(str, vals)))
    if result["genotype_concordance"] is not None:
        lines.append(f"genotype concordance of matches: {result['genotype_concordance']:.4f}")
    return "\n".join(lines)
