"""A simulated cohort VCF at every pharmacogene definition position, shaped like a 1000 Genomes
release: phased genotypes (``0|1``), variant sites only, bgzipped and indexed.

Each sample carries two named alleles per gene drawn with a seed (the gene's reference allele
with probability ``reference_share``, else any other named allele, uniformly), so the cohort
exercises the matcher on every allele the knowledge base defines. It is a workload for
``seq2rx pgx --all-samples`` (``benchmarks/bench_pgx.py --simulate N``), not a population model:
allele frequencies are not those of any population. Read it with ``absent_as_reference`` as a
1000 Genomes file is read, since positions where no sample carries a variant have no record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam

from seq2rx.core.io import atomic_output
from seq2rx.pgx.definitions import GeneDefinition
from seq2rx.pgx.matcher import IUPAC
from seq2rx.sim.genome import chrom_key


def _base(cell: str, ref: str) -> str:
    """An allele cell as a VCF allele: an ambiguity code (``R``) becomes its first base that is
    not the reference (``R`` at an ``A`` reference is ``G``)."""
    if len(cell) == 1 and cell.upper() in IUPAC and len(IUPAC[cell.upper()]) > 1:
        return next((b for b in IUPAC[cell.upper()] if b != ref.upper()), ref)
    return cell


def draw_diplotypes(
    definitions: dict[str, GeneDefinition], n_samples: int, seed: int, *, reference_share: float = 0.5
) -> dict[str, list[tuple[str, str]]]:
    """gene -> each sample's two named alleles (first and second haplotype), drawn with ``seed``:
    the gene's reference allele with probability ``reference_share``, else any other named
    allele, uniformly. Genes are drawn in name order, so the same seed gives the same cohort."""
    rng = np.random.default_rng(seed)
    out = {}
    for gene in sorted(definitions):
        d = definitions[gene]
        names = sorted(d.alleles)
        others = [a for a in names if a != d.reference_allele] or names
        ref_pick = rng.random((n_samples, 2)) < reference_share
        other_pick = rng.integers(0, len(others), (n_samples, 2))
        out[gene] = [
            tuple(
                d.reference_allele if ref_pick[s, h] and d.reference_allele else others[other_pick[s, h]]
                for h in (0, 1)
            )
            for s in range(n_samples)
        ]
    return out


def cohort_genotypes(
    definitions: dict[str, GeneDefinition], drawn: dict[str, list[tuple[str, str]]]
) -> dict[tuple[str, int], tuple[str, list[tuple[str, str]]]]:
    """(chrom, pos) -> (REF, each sample's two alleles as bases) at every definition position,
    from the alleles :func:`draw_diplotypes` drew (a position an allele does not name is the
    reference). Two genes that name the same position keep the first gene's (in name order)."""
    out: dict[tuple[str, int], tuple[str, list[tuple[str, str]]]] = {}
    for gene in sorted(drawn):
        d = definitions[gene]
        for k, p in enumerate(d.positions):
            if (p.chrom, p.pos) not in out:
                cells = [[d.alleles[name].get(k, p.ref) for name in pair] for pair in drawn[gene]]
                out[(p.chrom, p.pos)] = (p.ref, [(_base(a, p.ref), _base(b, p.ref)) for a, b in cells])
    return out


def write_cohort_vcf(
    definitions: dict[str, GeneDefinition],
    n_samples: int,
    path: str | Path,
    *,
    seed: int = 1,
    reference_share: float = 0.5,
) -> dict[str, list[tuple[str, str]]]:
    """Write a cohort drawn by :func:`draw_diplotypes` as ``path`` (``.vcf.gz``, with a ``.tbi``);
    samples are named ``S0001``, ``S0002``, ...; returns what was drawn (gene -> each sample's
    two alleles)."""
    path = Path(path)
    drawn = draw_diplotypes(definitions, n_samples, seed, reference_share=reference_share)
    cohort = cohort_genotypes(definitions, drawn)
    samples = [f"S{i + 1:04d}" for i in range(n_samples)]
    chroms = sorted({c for c, _ in cohort}, key=chrom_key)
    header = [
        "##fileformat=VCFv4.2",
        "##source=seq2rx.sim.cohort (simulated; not a population model)",
        *(f"##contig=<ID={c}>" for c in chroms),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples)),
    ]
    with atomic_output(path) as tmp:
        text = tmp.with_name(tmp.name + ".txt")
        try:
            _write_text(text, header, cohort)
            pysam.tabix_compress(str(text), str(tmp), force=True)
        finally:
            text.unlink(missing_ok=True)
        pysam.tabix_index(str(tmp), preset="vcf", force=True)
        Path(str(tmp) + ".tbi").replace(str(path) + ".tbi")
    return drawn


def _write_text(text: Path, header: list[str], cohort) -> None:
    with open(text, "w", encoding="ascii") as fh:
        fh.write("\n".join(header) + "\n")
        for chrom, pos in sorted(cohort, key=lambda k: (chrom_key(k[0]), k[1])):
            ref, bases = cohort[(chrom, pos)]
            alts = sorted({b for pair in bases for b in pair if b != ref})
            if not alts:
                continue  # variant sites only, as a 1000 Genomes release
            index = {ref: "0", **{a: str(i + 1) for i, a in enumerate(alts)}}
            gts = "\t".join(f"{index[a]}|{index[b]}" for a, b in bases)
            fh.write(f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t.\tGT\t{gts}\n")
