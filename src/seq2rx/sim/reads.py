"""The demo's reads: 150 bp pairs with position-dependent errors, short inserts that read into the
adapter, and PCR duplicates."""

from __future__ import annotations

import bisect
import gzip
from pathlib import Path

import numpy as np

from seq2rx.core.io import atomic_output
from seq2rx.genome.sequence import revcomp
from seq2rx.sim.genome import Genome
from seq2rx.sim.model import ADAPTER_R1, ADAPTER_R2, Variant, random_bases


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
    island_depth: list[float] | None = None,
    junctions: list[tuple[str, int, float]] = (),
) -> dict:
    """Simulate paired reads for one sample; returns counts (fragments, duplicates, adapters).

    ``island_depth`` scales the coverage of each island (copies / 2: sex chromosomes, an
    amplification); ``junctions`` are rearranged sequences ``(seq, junction offset, depth)``
    from which fragments that span the junction are drawn at ``depth`` x the coverage.
    """
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
    for k_isl, isl in enumerate(genome.islands):
        seq = "".join(isl.seq)
        length = len(seq)
        depth = 1.0 if island_depth is None else island_depth[k_isl]
        n = int(round(spec["coverage"] * depth * length / (2 * rl)))
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
    for jseq, joff, jdepth in junctions:
        n = int(round(spec["coverage"] * jdepth * len(jseq) / (2 * rl)))
        sizes = np.clip(rng.normal(spec["insert_mean"], spec["insert_sd"], n), 150, 800).astype(int)
        uniform = rng.random(n)
        strands = rng.random(n) < 0.5
        for k in range(n):
            size = int(sizes[k])
            s = int(uniform[k] * (len(jseq) - size + 1))
            if not s + 20 < joff < s + size - 20:  # only fragments across the junction
                continue
            frag = jseq[s : s + size]
            frags.append((revcomp(frag) if strands[k] else frag, ""))
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
    fill = "".join(random_bases(rng, rl))
    r1, r2 = [], []
    for i in final:
        frag = picked[i]
        r1.append((frag + ADAPTER_R1 + fill)[:rl])
        r2.append((revcomp(frag) + ADAPTER_R2 + fill)[:rl])
    s1, q1 = _add_errors(r1, rng, rl)
    s2, q2 = _add_errors(r2, rng, rl)
    for path, seqs, quals, mate in ((r1_path, s1, q1, 1), (r2_path, s2, q2, 2)):
        with atomic_output(path) as tmp:
            # no file name in the gzip header (the temporary name carries the process id), no time;
            # level 1: the demo simulator runs alone at the start of the workflow, and level 6 took half its time
            with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", 1, raw, mtime=0) as gz:
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
