"""The demo's truth: germline variants planted per patient, the truth VCFs and the outside calls."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from seq2rx.core.io import atomic_output
from seq2rx.sim.genome import SEX_CHROMS, Genome, chrom_key
from seq2rx.sim.model import Variant, random_bases


def choose_common_snps(
    spec: dict, genome: Genome, sites: list[tuple[str, str, int, str]], rng: np.random.Generator
) -> list[Variant]:
    """``spec["common_snps"]`` SNVs that every patient carries at a 50% allele frequency (0/0, 0/1
    and 1/1 in Hardy-Weinberg proportions): the fingerprint panel of the identity check, in the
    autosomal islands, away from the named sites, exons and microsatellites."""
    n = int(spec.get("common_snps", 0))
    if not n:
        return []
    margin = spec["background"]["edge_margin"]
    avoid: dict[str, list[tuple[int, int]]] = {}
    for _g, chrom, pos, ref in sites:
        avoid.setdefault(chrom, []).append((pos - 60, pos + len(ref) + 60))
    for gm in genome.genes:
        avoid.setdefault(gm.chrom, []).extend((e.start - 60, e.end + 60) for e in gm.exons)
    for t in genome.tracts:
        avoid.setdefault(t.chrom, []).append((t.start - 60, t.end + 60))
    usable = [i for i in genome.islands if i.chrom not in SEX_CHROMS and len(i.seq) > 2 * margin + 50]
    weights = np.array([len(i.seq) - 2 * margin for i in usable], dtype=float)
    weights /= weights.sum()
    out: list[Variant] = []
    for _k in range(n):
        for _attempt in range(1000):
            isl = usable[rng.choice(len(usable), p=weights)]
            pos0 = isl.start + margin + int(rng.integers(0, len(isl.seq) - 2 * margin))
            if any(a <= pos0 < b for a, b in avoid.get(isl.chrom, [])):
                continue
            break
        else:  # pragma: no cover - the genome is large enough
            raise RuntimeError("could not place a common SNP")
        avoid.setdefault(isl.chrom, []).append((pos0 - 200, pos0 + 200))
        ref = isl.seq[pos0 - isl.start]
        alt = {"A": "G", "G": "A", "C": "T", "T": "C"}[ref]
        out.append(Variant(isl.chrom, pos0 + 1, ref, alt, "common SNP"))
    return sorted(out, key=lambda v: (chrom_key(v.chrom), v.pos))


def write_common_snps(snps: list[Variant], path: str | Path) -> None:
    """The fingerprint panel as a sites TSV (``chrom pos ref alt``, 1-based)."""
    rows = ["chrom\tpos\tref\talt"] + [f"{v.chrom}\t{v.pos}\t{v.ref}\t{v.alt}" for v in snps]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(rows) + "\n")


def plant_germline(
    spec: dict,
    genome: Genome,
    sites: list[tuple[str, str, int, str]],
    rng: np.random.Generator,
    common: list[Variant] = (),
) -> dict[str, list[tuple[Variant, tuple[int, int]]]]:
    """Per patient: (variant, (allele on hap 0, allele on hap 1)) for star alleles, the common
    SNPs of the fingerprint panel (``common``) and background variants."""
    stars = spec["star_alleles"]
    bg = spec["background"]
    guard = bg["min_distance_to_site"]
    protected: dict[str, list[int]] = {}
    for _g, chrom, pos, ref in sites:
        protected.setdefault(chrom, []).extend(range(pos - guard, pos + len(ref) + guard))
    for gm in genome.genes:
        # no random germline variant inside the cancer genes' coding exons: a background
        # frameshift in BRAF would be neither realistic nor what the demo is about
        for ex in gm.exons:
            protected.setdefault(gm.chrom, []).extend(range(ex.start - guard, ex.end + guard + 1))
    for t in genome.tracts:  # microsatellites keep their planted length in every germline
        protected.setdefault(t.chrom, []).extend(range(t.start - guard - 10, t.end + guard + 10))
    for v in common:  # no background variant next to a fingerprint SNP
        protected.setdefault(v.chrom, []).extend(range(v.pos - guard - 20, v.pos + guard + 20))
    protected_sets = {c: set(v) for c, v in protected.items()}
    total_kb = sum(len(i.seq) for i in genome.islands) / 1000
    out: dict[str, list[tuple[Variant, tuple[int, int]]]] = {}
    for patient in spec["patients"]:
        calls: dict[tuple[str, int, str, str], list[int]] = {}
        for gene, (a1, a2) in patient["diplotypes"].items():
            for hap, allele in enumerate((a1, a2)):
                for chrom, pos, ref, alt in stars[gene][allele]:
                    if genome.ref(chrom, pos - 1, len(ref)) != ref:
                        raise ValueError(f"{gene} {allele}: reference mismatch at {chrom}:{pos}")
                    calls.setdefault((chrom, pos, ref, alt), [0, 0])[hap] = 1
        for v in common:  # 50% allele frequency: each haplotype carries the alternate allele half the time
            calls[(v.chrom, v.pos, v.ref, v.alt)] = [int(rng.random() < 0.5), int(rng.random() < 0.5)]
        calls = {k: h for k, h in calls.items() if any(h)}
        n_snv = rng.poisson(bg["snv_per_kb"] * total_kb)
        n_indel = rng.poisson(bg["indel_per_kb"] * total_kb)
        used: set[tuple[str, int]] = set()
        margin = bg["edge_margin"]
        # none on chrX/chrY: their copy number depends on the patient's sex
        weights = np.array(
            [max(0, len(i.seq) - 2 * margin) * (i.chrom not in SEX_CHROMS) for i in genome.islands], dtype=float
        )
        weights /= weights.sum()
        for kind in ["snv"] * n_snv + ["indel"] * n_indel:
            for _attempt in range(100):
                isl = genome.islands[rng.choice(len(genome.islands), p=weights)]
                pos0 = isl.start + margin + int(rng.integers(0, len(isl.seq) - 2 * margin))
                if any(p in protected_sets.get(isl.chrom, ()) for p in range(pos0 - 5, pos0 + 20)):
                    continue
                if any((isl.chrom, p) in used for p in range(pos0 - 20, pos0 + 20)):
                    continue
                break
            else:  # pragma: no cover - the genome is large enough
                raise RuntimeError("could not place a background variant")
            used.add((isl.chrom, pos0))
            ref_base = isl.seq[pos0 - isl.start]
            if kind == "snv":
                # transitions twice as often as both transversions together (Ts/Tv about 2)
                transition = {"A": "G", "G": "A", "C": "T", "T": "C"}[ref_base]
                transversions = [b for b in "ACGT" if b not in (ref_base, transition)]
                alt = transition if rng.random() < 2 / 3 else str(rng.choice(transversions))
                v = (isl.chrom, pos0 + 1, ref_base, alt)
            elif rng.random() < 0.5:  # deletion of 1-12 bases
                n = int(rng.integers(1, 13))
                ref = "".join(isl.seq[pos0 - isl.start : pos0 - isl.start + n + 1])
                v = (isl.chrom, pos0 + 1, ref, ref_base)
            else:  # insertion of 1-10 random bases
                ins = "".join(random_bases(rng, int(rng.integers(1, 11))))
                v = (isl.chrom, pos0 + 1, ref_base, ref_base + ins)
            r = rng.random()
            calls[v] = [1, 1] if r < 0.3 else ([1, 0] if r < 0.65 else [0, 1])
        out[patient["id"]] = [(Variant(*k), (h[0], h[1])) for k, h in sorted(calls.items(), key=lambda kv: kv[0])]
    return out


def write_truth_vcf(
    path: str | Path,
    genome: Genome,
    sample: str,
    germline: list[tuple[Variant, tuple[int, int]]],
    somatic: list[tuple[Variant, float]],
    fasta: str | Path,
) -> None:
    """Bgzipped, indexed, left-normalised truth VCF for one sample."""
    header = ["##fileformat=VCFv4.2", "##source=seq2rx-demo"]
    for chrom in sorted(genome.lengths, key=chrom_key):
        header.append(f"##contig=<ID={chrom},length={genome.lengths[chrom]}>")
    header += [
        '##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Somatic variant planted in the tumour">',
        '##INFO=<ID=VAF,Number=1,Type=Float,Description="Planted variant allele fraction">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample,
    ]
    rows = []
    for v, hap in germline:
        gt = "1/1" if hap == (1, 1) else "0/1"
        rows.append((v.chrom, v.pos, v.ref, v.alt, ".", gt))
    for v, vaf in somatic:
        rows.append((v.chrom, v.pos, v.ref, v.alt, f"SOMATIC;VAF={vaf:g}", "0/1"))
    rows.sort(key=lambda r: (chrom_key(r[0]), r[1], r[2], r[3]))
    body = [f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t{info}\tGT\t{gt}" for c, p, r, a, info, gt in rows]
    path = Path(path)
    scratch = tempfile.TemporaryDirectory()
    raw = Path(scratch.name) / "truth.raw.vcf"
    raw.write_text("\n".join(header + body) + "\n")
    import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

    with atomic_output(path) as tmp:
        pysam.bcftools.norm(
            "--no-version",
            "-f",
            str(fasta),
            "-m",
            "-any",
            "-O",
            "z",
            "--write-index=tbi",
            "-o",
            str(tmp),
            str(raw),
            catch_stdout=False,
        )
        index = Path(str(tmp) + ".tbi")
    # moved after the data, so that the index is never older than the file it indexes
    index.replace(str(path) + ".tbi")
    scratch.cleanup()


def write_outside_calls(calls: dict[str, str], path: str | Path) -> None:
    """A patient's outside calls in the reference tool's format (GENE<TAB>DIPLOTYPE)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lines = ["# typed outside seq2rx (copy number and HLA typing are not callable from short reads here)"]
    lines += [f"{gene}\t{diplotype}" for gene, diplotype in calls.items()]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
