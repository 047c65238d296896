"""Deterministic simulator of the demo data set.

The demo genome is simulated *around real coordinates*: contigs carry GRCh38 names and every base
named by a pharmacogene allele definition or a cancer hotspot is the true GRCh38 reference base
at its true position. The bases in between are random (drawn from the configured seed), and
everything outside the simulated islands is ``N``. Reads are 150 bp pairs with position-dependent
substitution errors, a spread of insert sizes (a few short enough to read into the adapter) and
some PCR duplicates.

The same specification and seed give the same bytes: gzip members carry no timestamp, nothing
depends on dictionaries' iteration order of unordered inputs, and every random draw comes from a
``numpy.random.Generator`` seeded from the spec.
"""

from __future__ import annotations

import bisect
import gzip
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
import yaml

from .io import atomic_output
from .sequtil import revcomp

ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
STOP_CODONS = {"TAA", "TAG", "TGA"}
BASES = np.array(list("ACGT"))
LINE = 60
CONTIG_PAD = 10_000


@dataclass
class Island:
    """A stretch of simulated sequence; ``start`` is 0-based, ``seq`` is mutable while building."""

    chrom: str
    start: int
    seq: list[str]
    fixed: dict[int, str] = field(default_factory=dict)  # 0-based pos -> true reference base

    @property
    def end(self) -> int:
        return self.start + len(self.seq)


@dataclass(frozen=True)
class Exon:
    start: int  # 0-based genomic, inclusive
    end: int  # exclusive
    cds_start: int  # offset of the exon's first coding base (transcript order) in the CDS


@dataclass
class GeneModel:
    gene: str
    gene_id: str
    transcript: str
    protein: str
    chrom: str
    strand: str
    cds: str
    exons: list[Exon]  # transcript order


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int  # 1-based VCF position
    ref: str
    alt: str
    label: str = ""


def load_spec(path: str | Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_pgx_sites(path: str | Path) -> list[tuple[str, str, int, str]]:
    """The knowledge base's ``positions.tsv`` as (gene, chrom, 1-based pos, ref) per position."""
    from .pgx.genotype import read_positions

    return [(r["gene"], r["chrom"], int(r["pos"]), r["ref"]) for r in read_positions(path)]


# --------------------------------------------------------------------------- genome


def _random_bases(rng: np.random.Generator, n: int) -> list[str]:
    # GC content about 41%, as in the human genome
    return list(BASES[rng.choice(4, size=n, p=[0.295, 0.205, 0.205, 0.295])])


def _random_codons(rng: np.random.Generator, n: int) -> str:
    out = []
    while len(out) < n:
        codon = "".join(_random_bases(rng, 3))
        if codon not in STOP_CODONS:
            out.append(codon)
    return "".join(out)


def build_gene_model(gspec: dict, rng: np.random.Generator) -> GeneModel:
    """Lay out a simulated coding model whose anchor codons sit at their real coordinates.

    Positions are handled in *transcript order* ``t``: ``t = pos`` on the plus strand and
    ``t = -pos`` on the minus strand, so coding bases always run towards increasing ``t``.
    """
    strand = gspec["strand"]
    sign = 1 if strand == "+" else -1
    n_codons = gspec["protein_length"] + 1  # including the stop codon
    cds_len = 3 * n_codons
    cds = list("ATG" + _random_codons(rng, n_codons - 2) + rng.choice(sorted(STOP_CODONS)))
    anchors = sorted(gspec["anchors"], key=lambda a: a["codon"])
    # (cds_start, cds_end, t_start) of the anchor blocks, merging blocks that are contiguous
    blocks: list[list[int]] = []
    for a in anchors:
        s = 3 * (a["codon"] - 1)
        seq = a["seq"].upper()
        if s + len(seq) > cds_len - 3 or s < 3:
            raise ValueError(f"{gspec['gene']}: anchor codon {a['codon']} outside the CDS")
        cds[s : s + len(seq)] = list(seq)
        t = sign * a["pos"]
        if blocks and t - blocks[-1][2] == s - blocks[-1][0]:
            blocks[-1][1] = max(blocks[-1][1], s + len(seq))
            continue
        if blocks and t - blocks[-1][2] - (blocks[-1][1] - blocks[-1][0]) <= s - blocks[-1][1]:
            raise ValueError(f"{gspec['gene']}: anchors at codons too close for their positions")
        blocks.append([s, s + len(seq), t])

    ext, intron_min, exon_len = 45, 120, 150
    exons_t: list[tuple[int, int, int]] = []  # (t_start, t_end, cds_start)

    def exon_from_block(cs: int, ce: int, t0: int, left: int, right: int) -> tuple[int, int, int]:
        return (t0 - left, t0 + (ce - cs) + right, cs - left)

    # extensions of each block into the coding gap on either side
    lefts = []
    rights = []
    for i, (cs, ce, _t) in enumerate(blocks):
        prev_end = blocks[i - 1][1] if i else 0
        next_start = blocks[i + 1][0] if i + 1 < len(blocks) else cds_len
        lefts.append(min(ext, (cs - prev_end) // 2 if i else cs))
        rights.append(min(ext, (next_start - ce) // 2 if i + 1 < len(blocks) else cds_len - ce))
    core = [exon_from_block(b[0], b[1], b[2], lefts[i], rights[i]) for i, b in enumerate(blocks)]

    def fill(cds_from: int, cds_to: int, t_from: int, t_to: int | None, backwards: bool) -> None:
        """Place exons holding coding bases [cds_from, cds_to) between t_from and t_to."""
        remaining = cds_to - cds_from
        if remaining <= 0:
            return
        n = math.ceil(remaining / exon_len)
        sizes = [remaining // n + (1 if k < remaining % n else 0) for k in range(n)]
        if t_to is None:  # open-ended: space the exons with random introns
            introns = [int(rng.integers(250, 700)) for _ in range(n)]
        else:
            slack = (t_to - t_from) - remaining
            if slack < (n + 1) * intron_min:
                raise ValueError("not enough genomic room for the simulated exons")
            introns = [slack // (n + 1)] * n
        if backwards:  # walk upstream from t_from
            t_end = t_from
            c_end = cds_to
            for size, intr in zip(sizes[::-1], introns, strict=True):
                t_end -= intr
                exons_t.append((t_end - size, t_end, c_end - size))
                t_end -= size
                c_end -= size
        else:
            t = t_from
            c = cds_from
            for size, intr in zip(sizes, introns, strict=True):
                t += intr
                exons_t.append((t, t + size, c))
                t += size
                c += size

    fill(0, core[0][2], core[0][0], None, backwards=True)
    for i, ex in enumerate(core):
        exons_t.append(ex)
        if i + 1 < len(core):
            nxt = core[i + 1]
            fill(ex[2] + (ex[1] - ex[0]), nxt[2], ex[1], nxt[0], backwards=False)
    last = core[-1]
    fill(last[2] + (last[1] - last[0]), cds_len, last[1], None, backwards=False)
    exons_t.sort()
    exons = []
    for t0, t1, c0 in exons_t:
        if sign == 1:
            exons.append(Exon(t0 - 1, t1 - 1, c0))  # t is 1-based position
        else:
            exons.append(Exon(-t1, -t0, c0))
    return GeneModel(
        gene=gspec["gene"],
        gene_id=gspec["gene_id"],
        transcript=gspec["transcript"],
        protein=gspec["protein"],
        chrom=gspec["chrom"],
        strand=strand,
        cds="".join(cds),
        exons=exons,
    )


def _merge_windows(windows: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    merged: list[tuple[str, int, int]] = []
    for chrom, s, e in sorted(windows):
        if merged and merged[-1][0] == chrom and s <= merged[-1][2] + 50:
            merged[-1] = (chrom, merged[-1][1], max(merged[-1][2], e))
        else:
            merged.append((chrom, s, e))
    return merged


@dataclass
class Genome:
    lengths: dict[str, int]
    islands: list[Island]
    genes: list[GeneModel]

    def ref(self, chrom: str, pos0: int, n: int = 1) -> str:
        """Reference bases at 0-based ``pos0`` (from the simulated islands)."""
        for isl in self.islands:
            if isl.chrom == chrom and isl.start <= pos0 and pos0 + n <= isl.end:
                return "".join(isl.seq[pos0 - isl.start : pos0 - isl.start + n])
        raise KeyError(f"{chrom}:{pos0 + 1} is not in a simulated island")


def build_genome(spec: dict, sites: list[tuple[str, str, int, str]], rng: np.random.Generator) -> Genome:
    flank = spec["island_flank"]
    genes = [build_gene_model(g, rng) for g in spec["cancer_genes"]]
    windows = []
    for _gene, chrom, pos, ref in sites:
        windows.append((chrom, pos - 1 - flank, pos - 1 + len(ref) + flank))
    for gm in genes:
        for ex in gm.exons:
            windows.append((gm.chrom, ex.start - spec["exon_flank"], ex.end + spec["exon_flank"]))
    islands = []
    for chrom, s, e in _merge_windows(windows):
        islands.append(Island(chrom, s, _random_bases(rng, e - s)))
    by_chrom: dict[str, list[Island]] = {}
    for isl in islands:
        by_chrom.setdefault(isl.chrom, []).append(isl)

    def put(chrom: str, pos0: int, base: str) -> None:
        for isl in by_chrom[chrom]:
            if isl.start <= pos0 < isl.end:
                old = isl.fixed.get(pos0)
                if old is not None and old != base:
                    raise ValueError(f"conflicting reference bases at {chrom}:{pos0 + 1}")
                isl.fixed[pos0] = base
                isl.seq[pos0 - isl.start] = base
                return
        raise ValueError(f"{chrom}:{pos0 + 1} falls outside every island")

    for gm in genes:
        for ex in gm.exons:
            exon_cds = gm.cds[ex.cds_start : ex.cds_start + (ex.end - ex.start)]
            genomic = exon_cds if gm.strand == "+" else revcomp(exon_cds)
            for k, base in enumerate(genomic):
                put(gm.chrom, ex.start + k, base)
        # canonical splice sites around every intron
        ordered = sorted(gm.exons, key=lambda e: e.start)
        for a, b in zip(ordered, ordered[1:], strict=False):
            donor, acceptor = ("GT", "AG") if gm.strand == "+" else ("CT", "AC")
            for k, base in enumerate(donor):
                put(gm.chrom, a.end + k, base)
            for k, base in enumerate(acceptor):
                put(gm.chrom, b.start - 2 + k, base)
    for _gene, chrom, pos, ref in sites:
        for k, base in enumerate(ref):
            put(chrom, pos - 1 + k, base)
    lengths = {}
    for isl in islands:
        lengths[isl.chrom] = max(lengths.get(isl.chrom, 0), isl.end + CONTIG_PAD)
    return Genome(lengths=lengths, islands=islands, genes=genes)


def _chrom_key(chrom: str) -> tuple[int, str]:
    name = chrom.removeprefix("chr")
    return (int(name), "") if name.isdigit() else (1000, name)


def write_fasta(genome: Genome, path: str | Path) -> None:
    """Write the N-padded genome as bgzipped FASTA (60 columns) and index it."""
    path = Path(path)
    n_line = b"N" * LINE + b"\n"
    block_lines = 100_000
    n_block = n_line * block_lines
    with atomic_output(path) as tmp:
        with pysam.BGZFile(str(tmp), "wb") as out:
            for chrom in sorted(genome.lengths, key=_chrom_key):
                length = genome.lengths[chrom]
                isl = sorted((i for i in genome.islands if i.chrom == chrom), key=lambda i: i.start)
                out.write(f">{chrom}\n".encode())
                block_bases = LINE * block_lines
                for b0 in range(0, length, block_bases):
                    b1 = min(length, b0 + block_bases)
                    hits = [i for i in isl if i.start < b1 and i.end > b0]
                    if not hits and b1 - b0 == block_bases:
                        out.write(n_block)
                        continue
                    buf = bytearray(b"N" * (b1 - b0))
                    for i in hits:
                        s, e = max(i.start, b0), min(i.end, b1)
                        buf[s - b0 : e - b0] = "".join(i.seq[s - i.start : e - i.start]).encode()
                    lines = [bytes(buf[k : k + LINE]) for k in range(0, len(buf), LINE)]
                    out.write(b"\n".join(lines) + b"\n")
        pysam.faidx(str(tmp))
        Path(str(tmp) + ".fai").replace(str(path) + ".fai")
        Path(str(tmp) + ".gzi").replace(str(path) + ".gzi")


def write_gff3(genome: Genome, path: str | Path) -> None:
    """Ensembl-style GFF3 (gene / mRNA / exon / CDS with phase) of the simulated coding models."""
    lines = ["##gff-version 3"]
    for chrom in sorted(genome.lengths, key=_chrom_key):
        lines.append(f"##sequence-region   {chrom} 1 {genome.lengths[chrom]}")
    for gm in sorted(genome.genes, key=lambda g: (_chrom_key(g.chrom), g.exons[0].start)):
        start = min(e.start for e in gm.exons) + 1
        end = max(e.end for e in gm.exons)
        src = "seq2rx_demo"
        lines.append(
            f"{gm.chrom}\t{src}\tgene\t{start}\t{end}\t.\t{gm.strand}\t.\t"
            f"ID=gene:{gm.gene_id};Name={gm.gene};biotype=protein_coding;gene_id={gm.gene_id}"
        )
        lines.append(
            f"{gm.chrom}\t{src}\tmRNA\t{start}\t{end}\t.\t{gm.strand}\t.\t"
            f"ID=transcript:{gm.transcript};Parent=gene:{gm.gene_id};Name={gm.gene}-201;"
            f"biotype=protein_coding;transcript_id={gm.transcript};tag=Ensembl_canonical"
        )
        for k, ex in enumerate(sorted(gm.exons, key=lambda e: e.start)):
            lines.append(
                f"{gm.chrom}\t{src}\texon\t{ex.start + 1}\t{ex.end}\t.\t{gm.strand}\t.\t"
                f"Parent=transcript:{gm.transcript};Name={gm.transcript}.exon{k + 1}"
            )
        for ex in sorted(gm.exons, key=lambda e: e.start):
            phase = (3 - ex.cds_start % 3) % 3
            lines.append(
                f"{gm.chrom}\t{src}\tCDS\t{ex.start + 1}\t{ex.end}\t.\t{gm.strand}\t{phase}\t"
                f"ID=CDS:{gm.protein};Parent=transcript:{gm.transcript};protein_id={gm.protein}"
            )
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- variants


def plant_germline(
    spec: dict, genome: Genome, sites: list[tuple[str, str, int, str]], rng: np.random.Generator
) -> dict[str, list[tuple[Variant, tuple[int, int]]]]:
    """Per patient: (variant, (allele on hap 0, allele on hap 1)) for star alleles + background."""
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
        n_snv = rng.poisson(bg["snv_per_kb"] * total_kb)
        n_indel = rng.poisson(bg["indel_per_kb"] * total_kb)
        used: set[tuple[str, int]] = set()
        margin = bg["edge_margin"]
        weights = np.array([max(0, len(i.seq) - 2 * margin) for i in genome.islands], dtype=float)
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
                ins = "".join(_random_bases(rng, int(rng.integers(1, 11))))
                v = (isl.chrom, pos0 + 1, ref_base, ref_base + ins)
            r = rng.random()
            calls[v] = [1, 1] if r < 0.3 else ([1, 0] if r < 0.65 else [0, 1])
        out[patient["id"]] = [(Variant(*k), (h[0], h[1])) for k, h in sorted(calls.items(), key=lambda kv: kv[0])]
    return out


# --------------------------------------------------------------------------- reads


def _apply(ref: str, offset: int, variants: list[Variant]) -> str:
    """Apply non-overlapping ``variants`` to ``ref`` (which starts at 0-based ``offset``)."""
    out = []
    cur = 0
    for v in variants:
        p = v.pos - 1 - offset
        if p < cur or p + len(v.ref) > len(ref):
            continue
        out.append(ref[cur:p])
        out.append(v.alt)
        cur = p + len(v.ref)
    out.append(ref[cur:])
    return "".join(out)


QUAL_BASE = 33


def _add_errors(reads: list[str], rng: np.random.Generator, read_length: int) -> tuple[list[str], list[str]]:
    """Substitution errors that grow towards the 3' end, with matching Phred qualities."""
    n = len(reads)
    pos = np.arange(read_length)
    perr = 0.0008 + 0.012 * (pos / (read_length - 1)) ** 3
    noise = rng.normal(0, 0.35, size=(n, read_length))
    p = np.clip(perr[None, :] * np.exp(noise), 1e-4, 0.25)
    err = rng.random((n, read_length)) < p
    qual = np.clip(np.round(-10 * np.log10(p)), 2, 41).astype(np.uint8)
    qual[err] = np.minimum(qual[err], rng.integers(8, 25, size=int(err.sum())).astype(np.uint8))
    arr = np.frombuffer("".join(reads).encode(), dtype=np.uint8).reshape(n, read_length).copy()
    shift = rng.integers(1, 4, size=int(err.sum()))
    code = {ord("A"): 0, ord("C"): 1, ord("G"): 2, ord("T"): 3}
    lut = np.zeros(256, dtype=np.uint8)
    for k, v in code.items():
        lut[k] = v
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    arr[err] = letters[(lut[arr[err]] + shift) % 4]
    seqs = [row.tobytes().decode() for row in arr]
    quals = [(row + QUAL_BASE).tobytes().decode() for row in qual]
    return seqs, quals


def simulate_reads(
    sample_id: str,
    genome: Genome,
    germline: list[tuple[Variant, tuple[int, int]]],
    somatic: list[tuple[Variant, float]],
    spec: dict,
    rng: np.random.Generator,
    r1_path: str | Path,
    r2_path: str | Path,
) -> dict:
    """Simulate paired reads for one sample; returns counts (fragments, duplicates, adapters)."""
    rl = spec["read_length"]
    by_chrom: dict[str, list[tuple[Variant, int, float]]] = {}
    for v, hap in germline:
        for h in (0, 1):
            if hap[h]:
                by_chrom.setdefault(v.chrom, []).append((v, h, 1.0))
    for v, vaf in somatic:
        by_chrom.setdefault(v.chrom, []).append((v, -1, vaf))
    for lst in by_chrom.values():
        lst.sort(key=lambda x: x[0].pos)
    starts = {c: [x[0].pos for x in lst] for c, lst in by_chrom.items()}

    frags: list[tuple[str, str]] = []
    n_adapter = 0
    for isl in genome.islands:
        seq = "".join(isl.seq)
        length = len(seq)
        n = int(round(spec["coverage"] * length / (2 * rl)))
        sizes = np.clip(rng.normal(spec["insert_mean"], spec["insert_sd"], n), 90, 800).astype(int)
        short = rng.random(n) < 0.02
        sizes[short] = rng.integers(90, rl, int(short.sum()))
        haps = rng.integers(0, 2, n)
        strands = rng.random(n) < 0.5
        uniform = rng.random(n)
        somatic_draw = rng.random((n, 4))
        vars_here = by_chrom.get(isl.chrom, [])
        pos_here = starts.get(isl.chrom, [])
        for k in range(n):
            size = int(sizes[k])
            if size > length:
                continue
            s = isl.start + int(uniform[k] * (length - size + 1))
            e = s + size
            lo = bisect.bisect_left(pos_here, s - 50)
            hi = bisect.bisect_right(pos_here, e + 50)
            chosen = []
            n_som = 0
            for v, h, vaf in vars_here[lo:hi]:
                if h == -1:
                    if somatic_draw[k, n_som % 4] < vaf:
                        chosen.append(v)
                    n_som += 1
                elif h == haps[k]:
                    chosen.append(v)
            window = seq[s - isl.start : min(length, e - isl.start + 60)]
            frag = _apply(window, s, chosen)[:size] if chosen else window[:size]
            if len(frag) < size:
                continue
            if strands[k]:
                frag = revcomp(frag)
            frags.append((frag, ""))
            n_adapter += size < rl
    order = rng.permutation(len(frags))
    n_dup = int(round(spec["duplicate_fraction"] * len(frags)))
    dup_of = np.sort(rng.choice(len(frags), size=n_dup, replace=False))
    source = list(order) + list(dup_of)  # fragment index behind each picked read pair
    picked = [frags[i][0] for i in source]
    final = rng.permutation(len(picked))
    # read number (1-based, in output order) of every pair; a duplicate and its original
    # share the fragment index
    number = {int(p): k + 1 for k, p in enumerate(final)}
    first_of: dict[int, int] = {}
    for p in range(len(order)):
        first_of[int(source[p])] = number[p]
    dup_pairs = sorted((first_of[int(source[p])], number[p]) for p in range(len(order), len(source)))
    fill = "".join(_random_bases(rng, rl))
    r1, r2 = [], []
    for i in final:
        frag = picked[i]
        r1.append((frag + ADAPTER_R1 + fill)[:rl])
        r2.append((revcomp(frag) + ADAPTER_R2 + fill)[:rl])
    s1, q1 = _add_errors(r1, rng, rl)
    s2, q2 = _add_errors(r2, rng, rl)
    for path, seqs, quals, mate in ((r1_path, s1, q1, 1), (r2_path, s2, q2, 2)):
        with atomic_output(path) as tmp:
            # no file name in the gzip header (the temporary name carries the process id), no time
            with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", 6, raw, mtime=0) as gz:
                chunk = []
                for k, (sq, qq) in enumerate(zip(seqs, quals, strict=True)):
                    chunk.append(f"@{sample_id}:{k + 1:07d} {mate}:N:0:1\n{sq}\n+\n{qq}\n")
                    if len(chunk) == 10_000:
                        gz.write("".join(chunk).encode())
                        chunk = []
                gz.write("".join(chunk).encode())
    return {
        "pairs": len(final),
        "duplicates": n_dup,
        "adapter_pairs": n_adapter,
        "duplicate_pairs": [(f"{sample_id}:{a:07d}", f"{sample_id}:{b:07d}") for a, b in dup_pairs],
    }


# --------------------------------------------------------------------------- truth and sheets


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
    for chrom in sorted(genome.lengths, key=_chrom_key):
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
    rows.sort(key=lambda r: (_chrom_key(r[0]), r[1], r[2], r[3]))
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


def demo_layout(outdir: str | Path, spec: dict) -> dict[str, Path | dict]:
    """Every file the simulator writes, without touching the disk (used by the workflow)."""
    outdir = Path(outdir)
    samples = [s["id"] for p in spec["patients"] for s in p["samples"]]
    return {
        "fasta": outdir / "genome.fa.gz",
        "gff3": outdir / "genes.gff3",
        "targets": outdir / "targets.bed",
        "confident": outdir / "confident.bed",
        "sheet": outdir / "samples.tsv",
        "reads": {s: (outdir / "reads" / f"{s}_R1.fastq.gz", outdir / "reads" / f"{s}_R2.fastq.gz") for s in samples},
        "truth": {s: outdir / "truth" / f"{s}.vcf.gz" for s in samples},
        "duplicates": {s: outdir / "truth" / f"{s}.duplicates.tsv" for s in samples},
        # calls "made elsewhere" (CYP2D6, HLA) for the patients whose spec lists them
        "outside": {
            s["id"]: outdir / "outside_calls" / f"{s['id']}.tsv"
            for p in spec["patients"]
            if p.get("outside_calls")
            for s in p["samples"]
        },
    }


def write_targets(genome: Genome, sites: list[tuple[str, str, int, str]], path: str | Path) -> None:
    """BED of the target regions: every simulated island, named by the genes it holds."""
    names: dict[int, set[str]] = {}
    for k, isl in enumerate(genome.islands):
        names[k] = {g for g, c, p, _r in sites if c == isl.chrom and isl.start < p <= isl.end}
        for gm in genome.genes:
            if gm.chrom == isl.chrom and any(e.start < isl.end and e.end > isl.start for e in gm.exons):
                names[k].add(gm.gene)
    rows = [
        (isl.chrom, isl.start, isl.end, ",".join(sorted(names[k])) or "other") for k, isl in enumerate(genome.islands)
    ]
    rows.sort(key=lambda r: (_chrom_key(r[0]), r[1], r[2]))
    with atomic_output(path) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\t{g}\n" for c, s, e, g in rows))


def write_confident(genome: Genome, margin: int, path: str | Path) -> None:
    """BED of the regions where the truth is complete: islands minus ``margin`` at each end.

    Near an island's edge the N padding leaves only reads from one strand and low depth, much as
    at the edge of a real capture target, so truth comparisons are made inside this BED.
    """
    rows = sorted(
        ((i.chrom, i.start + margin, i.end - margin) for i in genome.islands if len(i.seq) > 2 * margin),
        key=lambda r: (_chrom_key(r[0]), r[1]),
    )
    with atomic_output(path) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))


def write_outside_calls(calls: dict[str, str], path: str | Path) -> None:
    """A patient's outside calls in the reference tool's format (GENE<TAB>DIPLOTYPE)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lines = ["# typed outside seq2rx (copy number and HLA typing are not callable from short reads here)"]
    lines += [f"{gene}\t{diplotype}" for gene, diplotype in calls.items()]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def simulate(spec_path: str | Path, sites_path: str | Path, outdir: str | Path, seed: int | None = None) -> dict:
    """Write the whole demo data set under ``outdir``; returns a summary of what was planted."""
    spec = load_spec(spec_path)
    if seed is not None:
        spec["seed"] = seed
    sites = load_pgx_sites(sites_path)
    layout = demo_layout(outdir, spec)
    Path(outdir, "reads").mkdir(parents=True, exist_ok=True)
    Path(outdir, "truth").mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(spec["seed"])
    genome_rng, variant_rng, *sample_seeds = ss.spawn(2 + sum(len(p["samples"]) for p in spec["patients"]))
    genome = build_genome(spec, sites, np.random.default_rng(genome_rng))
    write_fasta(genome, layout["fasta"])
    write_gff3(genome, layout["gff3"])
    write_targets(genome, sites, layout["targets"])
    write_confident(genome, spec["background"]["edge_margin"], layout["confident"])
    germline = plant_germline(spec, genome, sites, np.random.default_rng(variant_rng))
    summary = {"samples": {}}
    sheet = ["sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\toutside_calls"]
    k = 0
    for patient in spec["patients"]:
        for sample in patient["samples"]:
            somatic = []
            for gene, change, chrom, pos, ref, alt, vaf in sample.get("somatic", []):
                if genome.ref(chrom, pos - 1, len(ref)) != ref:
                    raise ValueError(f"{gene} {change}: reference mismatch at {chrom}:{pos}")
                somatic.append((Variant(chrom, pos, ref, alt, f"{gene} {change}"), float(vaf)))
            r1, r2 = layout["reads"][sample["id"]]
            counts = simulate_reads(
                sample["id"],
                genome,
                germline[patient["id"]],
                somatic,
                spec,
                np.random.default_rng(sample_seeds[k]),
                r1,
                r2,
            )
            k += 1
            write_truth_vcf(
                layout["truth"][sample["id"]], genome, sample["id"], germline[patient["id"]], somatic, layout["fasta"]
            )
            dups = counts.pop("duplicate_pairs")
            with atomic_output(layout["duplicates"][sample["id"]]) as tmp:
                Path(tmp).write_text("original\tduplicate\n" + "".join(f"{a}\t{b}\n" for a, b in dups))
            summary["samples"][sample["id"]] = counts
            outside = layout["outside"].get(sample["id"])
            if outside:
                write_outside_calls(patient["outside_calls"], outside)
            sheet.append(
                f"{sample['id']}\t{patient['id']}\t{sample['type']}\t{r1.as_posix()}\t{r2.as_posix()}\t"
                f"{patient['sex']}\t{patient['tumor_type']}\t{outside.as_posix() if outside else ''}"
            )
    with atomic_output(layout["sheet"]) as tmp:
        Path(tmp).write_text("\n".join(sheet) + "\n")
    return summary
