"""The demo genome: random bases around the true GRCh38 bases of every pharmacogene and hotspot
position, simulated coding models for the cancer genes, and the FASTA, GFF3 and BED files."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from seq2rx.core.io import atomic_output
from seq2rx.genome.sequence import revcomp
from seq2rx.sim.model import CONTIG_PAD, LINE, STOP_CODONS, Exon, GeneModel, Island, random_bases


def _random_codons(rng: np.random.Generator, n: int) -> str:
    out = []
    while len(out) < n:
        codon = "".join(random_bases(rng, 3))
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
    if not gspec.get("anchors"):
        return _unanchored_model(gspec, "".join(cds), rng)
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


def _unanchored_model(gspec: dict, cds: str, rng: np.random.Generator) -> GeneModel:
    """A coding model without anchor codons, laid out from ``span_start`` (the model's lowest
    1-based genomic coordinate) upwards.

    Exons hold up to ``exon_length`` coding bases (default 150) and introns are ``intron_length``
    [min, max] bases (default 150-300), except that every ``breaks`` entry ``{codon: N, intron: L}`` starts an exon at codon N (CDS
    phase 0) after an intron of L bases in transcript order: the long introns where the demo's
    rearrangements break.
    """
    exon_len = int(gspec.get("exon_length", 150))
    forced = {3 * (int(b["codon"]) - 1): int(b["intron"]) for b in gspec.get("breaks", [])}
    cuts = sorted({0, len(cds), *forced})
    chunks: list[tuple[int, int]] = []  # CDS [start, end) of each exon, transcript order
    for c0, c1 in zip(cuts, cuts[1:], strict=False):
        n = math.ceil((c1 - c0) / exon_len)
        sizes = [(c1 - c0) // n + (1 if k < (c1 - c0) % n else 0) for k in range(n)]
        for size in sizes:
            chunks.append((c0, c0 + size))
            c0 += size
    # intron before chunk k (k >= 1), in transcript order
    lo, hi = gspec.get("intron_length", [150, 300])
    introns = [forced.get(c0, int(rng.integers(lo, hi + 1))) for c0, _c1 in chunks[1:]]
    exons: list[Exon] = []
    pos = int(gspec["span_start"]) - 1
    if gspec["strand"] == "+":
        for k, (c0, c1) in enumerate(chunks):
            if k:
                pos += introns[k - 1]
            exons.append(Exon(pos, pos + c1 - c0, c0))
            pos += c1 - c0
    else:  # the last coding bases sit lowest
        for k in range(len(chunks) - 1, -1, -1):
            c0, c1 = chunks[k]
            exons.append(Exon(pos, pos + c1 - c0, c0))
            pos += c1 - c0
            if k:
                pos += introns[k - 1]
        exons.reverse()
    return GeneModel(
        gene=gspec["gene"],
        gene_id=gspec["gene_id"],
        transcript=gspec["transcript"],
        protein=gspec["protein"],
        chrom=gspec["chrom"],
        strand=gspec["strand"],
        cds=cds,
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


@dataclass(frozen=True)
class Tract:
    """A microsatellite planted in the reference: ``count`` copies of ``unit`` from 0-based ``start``."""

    chrom: str
    start: int
    unit: str
    count: int

    @property
    def end(self) -> int:
        return self.start + len(self.unit) * self.count


@dataclass
class Genome:
    lengths: dict[str, int]
    islands: list[Island]
    genes: list[GeneModel]
    tracts: list[Tract] = field(default_factory=list)

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
    for g in spec["cancer_genes"]:
        if g.get("breaks"):  # the long introns where rearrangements break are simulated whole
            gm = next(m for m in genes if m.gene == g["gene"])
            lo, hi = min(e.start for e in gm.exons), max(e.end for e in gm.exons)
            windows.append((gm.chrom, lo - spec["exon_flank"], hi + spec["exon_flank"]))
    for extra in spec.get("extra_islands", []):  # BED-style: 0-based start, exclusive end
        windows.append((extra["chrom"], int(extra["start"]), int(extra["end"])))
    islands = []
    for chrom, s, e in _merge_windows(windows):
        islands.append(Island(chrom, s, random_bases(rng, e - s)))
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
    tracts = plant_tracts(spec.get("microsatellites"), islands, genes, rng)
    lengths = {}
    for isl in islands:
        lengths[isl.chrom] = max(lengths.get(isl.chrom, 0), isl.end + CONTIG_PAD)
    return Genome(lengths=lengths, islands=islands, genes=genes, tracts=tracts)


SEX_CHROMS = ("chrX", "chrY")


def plant_tracts(
    mspec: dict | None, islands: list[Island], genes: list[GeneModel], rng: np.random.Generator
) -> list[Tract]:
    """Write microsatellites into the autosomal islands, away from every fixed base and exon.

    ``mspec``: ``homopolymers`` (how many, ``homopolymer_length`` [min, max] bases) and
    ``dinucleotides`` (how many, ``dinucleotide_units`` [min, max] repeats). Each tract gets
    ``flank`` clean bases either side (bases not in its unit, so the repeat ends where planted),
    stays ``margin`` bases inside its island, clear of exons (60 bases) and fixed bases (40), and
    ``spacing`` bases from the next tract.
    """
    if not mspec:
        return []
    flank, margin, spacing = int(mspec.get("flank", 6)), int(mspec.get("margin", 300)), int(mspec.get("spacing", 800))
    kinds = [("homo", k) for k in range(int(mspec["homopolymers"]))]
    kinds += [("di", k) for k in range(int(mspec["dinucleotides"]))]
    usable = [i for i in islands if i.chrom not in SEX_CHROMS and len(i.seq) > 2 * margin + 200]
    weights = np.array([len(i.seq) - 2 * margin for i in usable], dtype=float)
    weights /= weights.sum()
    busy: dict[str, list[tuple[int, int]]] = {}
    for gm in genes:
        busy.setdefault(gm.chrom, []).extend((e.start - 60, e.end + 60) for e in gm.exons)
    for isl in usable:
        busy.setdefault(isl.chrom, []).extend((p - 40, p + 41) for p in isl.fixed)
    placed: dict[str, list[tuple[int, int]]] = {}
    tracts: list[Tract] = []
    for kind, _k in kinds:
        if kind == "homo":
            unit = str(rng.choice(list("ACGT"), p=[0.4, 0.1, 0.1, 0.4]))
            lo, hi = mspec["homopolymer_length"]
        else:
            unit = str(rng.choice(["CA", "AC", "TG", "GT", "AT", "TA", "AG", "GA", "CT", "TC"]))
            lo, hi = mspec["dinucleotide_units"]
        count = int(rng.integers(lo, hi + 1))
        size = len(unit) * count + 2 * flank
        for _attempt in range(1000):
            isl = usable[rng.choice(len(usable), p=weights)]
            s0 = isl.start + margin + int(rng.integers(0, len(isl.seq) - 2 * margin - size))
            e0 = s0 + size
            if any(a < e0 and b > s0 for a, b in busy.get(isl.chrom, [])):
                continue
            if any(a < e0 + spacing and b > s0 - spacing for a, b in placed.get(isl.chrom, [])):
                continue
            break
        else:  # pragma: no cover - the islands are large enough
            raise RuntimeError("could not place a microsatellite")
        others = [b for b in "ACGT" if b not in unit]
        left = [str(rng.choice(others)) for _ in range(flank)]
        right = [str(rng.choice(others)) for _ in range(flank)]
        seq = left + list(unit * count) + right
        for k, base in enumerate(seq):
            isl.seq[s0 - isl.start + k] = base
            isl.fixed[s0 + k] = base
        placed.setdefault(isl.chrom, []).append((s0, e0))
        tracts.append(Tract(isl.chrom, s0 + flank, unit, count))
    return sorted(tracts, key=lambda t: (chrom_key(t.chrom), t.start))


def chrom_key(chrom: str) -> tuple[int, str]:
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
            for chrom in sorted(genome.lengths, key=chrom_key):
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
    for chrom in sorted(genome.lengths, key=chrom_key):
        lines.append(f"##sequence-region   {chrom} 1 {genome.lengths[chrom]}")
    for gm in sorted(genome.genes, key=lambda g: (chrom_key(g.chrom), g.exons[0].start)):
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
    rows.sort(key=lambda r: (chrom_key(r[0]), r[1], r[2]))
    with atomic_output(path) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\t{g}\n" for c, s, e, g in rows))


def write_confident(genome: Genome, margin: int, path: str | Path) -> None:
    """BED of the regions where the truth is complete: islands minus ``margin`` at each end.

    Near an island's edge the N padding leaves only reads from one strand and low depth, much as
    at the edge of a real capture target, so truth comparisons are made inside this BED.
    """
    rows = sorted(
        ((i.chrom, i.start + margin, i.end - margin) for i in genome.islands if len(i.seq) > 2 * margin),
        key=lambda r: (chrom_key(r[0]), r[1]),
    )
    with atomic_output(path) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
