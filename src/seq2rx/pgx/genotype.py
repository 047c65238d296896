"""Genotype every position a pharmacogene allele definition names, reference calls included.

A star-allele call is only as good as the positions it rests on: a position without reads must
be reported *missing*, never taken as reference. ``genotype_positions`` runs bcftools mpileup on
the knowledge base's positions (``-T``, so nothing else is piled up) and ``call -m`` without
``-v``, so reference genotypes are emitted too; ``position_table`` then lists every position
with its depth, genotype and status (``called`` or ``missing``, with the reason).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

from seq2rx.core.io import atomic_output, scratch_dir
from seq2rx.variants.bcftools import clean_header, run_bcftools

TABLE_COLUMNS = ("gene", "chrom", "pos", "ref", "rsid", "depth", "genotype", "alleles", "status")


def read_positions(positions_tsv: str | Path) -> list[dict[str, str]]:
    with open(positions_tsv, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def genotype_positions(
    bam: str | Path,
    fasta: str | Path,
    positions_tsv: str | Path,
    out_vcf: str | Path,
    sample: str,
    min_mapq: int = 20,
    min_baseq: int = 13,
) -> None:
    """Call every knowledge-base position in ``bam`` (all sites emitted) into a bgzipped VCF."""
    rows = read_positions(positions_tsv)
    with pysam.FastaFile(str(fasta)) as fa:
        contigs = set(fa.references)
    with scratch_dir(out_vcf) as td:
        targets = os.path.join(td, "targets.tsv")
        seen = set()
        with open(targets, "w") as fh:
            for r in rows:
                key = (r["chrom"], int(r["pos"]))
                if r["chrom"] in contigs and key not in seen:
                    seen.add(key)
                    fh.write(f"{key[0]}\t{key[1]}\n")
        groups = os.path.join(td, "groups.txt")
        Path(groups).write_text(f"* {bam} {sample}\n")
        pile = os.path.join(td, "pile.bcf")
        pysam.bcftools.mpileup(
            "--no-version", "-f", str(fasta), "-T", targets, "-a", "FORMAT/AD,FORMAT/DP", "-G", groups,
            "-q", str(min_mapq), "-Q", str(min_baseq), "-O", "b", "-o", pile, str(bam), catch_stdout=False,
        )  # fmt: skip
        called = os.path.join(td, "called.vcf.gz")
        pysam.bcftools.call("--no-version", "-m", "-O", "z", "-o", called, pile, catch_stdout=False)
        with atomic_output(out_vcf) as tmp:
            # MQ declared as the specification has it, ##reference without its folder
            clean_header(called, tmp)
            run_bcftools("index", "-t", "-o", str(tmp) + ".tbi", str(tmp))
            os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")


def position_table(positions_tsv: str | Path, sites_vcf: str | Path, min_depth: int = 8) -> list[dict]:
    """Every knowledge-base position with depth, genotype (as bases) and status.

    ``missing`` when the position has no record (no reads passed the filters), a depth below
    ``min_depth``, or no genotype; it is never silently taken as reference.
    """
    # bcftools may write two records at one position (the base, and an indel anchored on it):
    # keep both, keyed by REF, and pick the one that matches the definition's REF
    calls: dict[tuple[str, int], dict[str, tuple[int, str, str]]] = {}
    with pysam.VariantFile(str(sites_vcf)) as fh:
        sample = list(fh.header.samples)[0]
        for rec in fh:
            call = rec.samples[sample]
            gt = call.get("GT") or ()
            dp = call.get("DP") if "DP" in call else None
            alleles = (rec.ref, *(rec.alts or ()))
            bases = "/".join(alleles[a] if a is not None and a < len(alleles) else "." for a in gt) or "."
            text = "/".join("." if a is None else str(a) for a in gt) or "."
            calls.setdefault((rec.chrom, rec.pos), {})[rec.ref.upper()] = (int(dp or 0), text, bases)
    out = []
    for r in read_positions(positions_tsv):
        at = calls.get((r["chrom"], int(r["pos"])), {})
        ref = r["ref"].upper()
        # the exact REF (an indel the sample carries), else the one-base record: without an indel
        # record at an indel position, its reference genotype stands for the indel's too
        chosen = at.get(ref) or next((v for k, v in at.items() if len(k) == 1), None)
        depth, gt, bases = chosen or (0, ".", ".")
        if chosen is None:
            status = "missing: no reads"
        elif depth < min_depth:
            status = f"missing: depth {depth} < {min_depth}"
        elif "." in gt:
            status = "missing: no genotype"
        else:
            status = "called"
        out.append({**{k: r[k] for k in ("gene", "chrom", "pos", "ref", "rsid")}, "depth": depth,
                    "genotype": gt, "alleles": bases, "status": status})  # fmt: skip
    return out


def write_table(rows: list[dict], path: str | Path) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(TABLE_COLUMNS)
        for r in rows:
            w.writerow([r[c] for c in TABLE_COLUMNS])
