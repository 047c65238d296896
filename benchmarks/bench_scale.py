"""Reads to VCF at scale, side by side with BWA-MEM alone (issue 18, item 6).

Simulates (seeded, numpy) a genome of ``--genome-mb`` Mb of non-N sequence in a few contigs, one
germline sample carrying a sprinkle of SNVs and small indels, and ``--pairs`` read pairs from it
(150 bp, fragments about 350 bp: 30x at 5M pairs on 50 Mb; fewer pairs give less depth, reported
as ``depth``). Then, in the same run:

* ``end_to_end_s``: ``snakemake --cores 2 results/calls/S1.vcf.gz`` (cutadapt_trim, align_reads,
  samtools_markdup, bcftools_call_interval per interval, bcftools_call's gather) on a config with
  ``demo.simulate: false``, no GFF3, no targets and ``calling.intervals: --intervals``. The aligner index is built once beforehand with `seq2rx index` (not timed) and reused.
* ``bwa_alone_s``: BWA-MEM on the same raw reads with the same 2 threads: pybwa (the workflow's
  engine) with the least Python that writes a BAM (``pybwa_alone_s``), and the ``bwa mem -t 2``
  binary writing SAM when one is installed (``bwa_cli_s``). The ratio's denominator is the CLI
  when it is there (``ratio_denominator`` says which), pybwa otherwise.
* ``calling_1_interval_s`` / ``calling_scattered_s``: the library's ``call_variants`` on the
  workflow's BAM for the whole genome, and split into ``--intervals`` balanced intervals called
  two at a time (2 processes) and concatenated; ``scatter_speedup`` is their ratio.
* ``peak_rss_mb``: every rule's ``max_rss`` from Snakemake's ``logs/benchmarks/*/*.tsv``, and each
  side measurement's own peak (``os.wait4``).

    python benchmarks/bench_scale.py --pairs 1000000 --json scale-1M.json --workdir /tmp/scale
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
READ_LEN = 150
ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"
_COMP = np.frombuffer(bytes.maketrans(b"ACGTN", b"TGCAN"), dtype=np.uint8)
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


# ---------------------------------------------------------------- simulation


def simulate_genome(data: Path, genome_mb: float, seed: int) -> tuple[list[str], list[np.ndarray]]:
    """Write genome.fa (+ .fai): 5 contigs of random sequence, GC 41%, no N. Returns names, arrays."""
    rng = np.random.default_rng(seed)
    total = int(genome_mb * 1_000_000)
    weights = np.array([0.28, 0.24, 0.2, 0.16, 0.12])
    lengths = (weights * total).astype(int)
    names = [f"chr{k + 1}" for k in range(len(lengths))]
    p = np.array([0.295, 0.205, 0.205, 0.295])
    seqs = [_BASES[rng.choice(4, size=n, p=p)] for n in lengths]
    fa = data / "genome.fa"
    if not fa.exists():
        with open(str(fa) + ".tmp", "wb") as fh:
            for name, seq in zip(names, seqs, strict=True):
                fh.write(f">{name}\n".encode())
                width = 60
                full = len(seq) // width * width
                block = np.empty((len(seq) // width, width + 1), dtype=np.uint8)
                block[:, :width] = seq[:full].reshape(-1, width)
                block[:, width] = ord("\n")
                fh.write(block.tobytes())
                if full < len(seq):
                    fh.write(seq[full:].tobytes() + b"\n")
        os.replace(str(fa) + ".tmp", fa)
        import pysam

        pysam.faidx(str(fa))
    return names, seqs


def sample_haplotypes(seqs: list[np.ndarray], seed: int) -> tuple[list[list[np.ndarray]], list[tuple]]:
    """Two haplotypes per contig: one SNV per ~5 kb and one 1-6 bp indel per ~50 kb, a third homozygous."""
    rng = np.random.default_rng(seed + 1)
    haps: list[list[np.ndarray]] = [[], []]
    truth = []
    for ci, seq in enumerate(seqs):
        n = len(seq)
        n_snv, n_indel = n // 5000, n // 50_000
        pos = np.unique(rng.integers(1000, n - 1000, size=n_snv + n_indel))
        rng.shuffle(pos)
        kinds = np.zeros(len(pos), dtype=int)
        kinds[:n_indel] = 1
        order = np.argsort(pos)
        pos, kinds = pos[order], kinds[order]
        # keep variants at least 20 bp apart
        keep = np.concatenate([[True], np.diff(pos) > 20])
        pos, kinds = pos[keep], kinds[keep]
        gts = rng.choice(3, size=len(pos), p=[1 / 3, 1 / 3, 1 / 3])  # 0: hap0, 1: hap1, 2: both
        for h in (0, 1):
            pieces, last = [], 0
            for p_, k, g in zip(pos, kinds, gts, strict=True):
                if not (g == 2 or g == h):
                    continue
                pieces.append(seq[last:p_])
                if k == 0:
                    ref = seq[p_]
                    alt = _BASES[(np.searchsorted(_BASES, ref) + 1 + (p_ % 3)) % 4]
                    pieces.append(np.array([alt], dtype=np.uint8))
                    last = p_ + 1
                elif p_ % 2:  # deletion of 1-6 bp after the anchor
                    pieces.append(seq[p_ : p_ + 1])
                    last = p_ + 1 + 1 + p_ % 6
                else:  # insertion of 1-6 bp after the anchor
                    pieces.append(seq[p_ : p_ + 1])
                    pieces.append(_BASES[rng.integers(0, 4, size=1 + p_ % 6)])
                    last = p_ + 1
            pieces.append(seq[last:])
            haps[h].append(np.concatenate(pieces))
        truth.append((ci, len(pos), int((kinds == 1).sum())))
    return haps, truth


def simulate_reads(data: Path, haps: list[list[np.ndarray]], pairs: int, seed: int) -> None:
    """Write reads/S1_R{1,2}.fastq.gz: fragments ~N(350, 50) (min 100), 0.2% errors, adapters read through."""
    r1p, r2p = data / "S1_R1.fastq.gz", data / "S1_R2.fastq.gz"
    if r1p.exists() and r2p.exists():
        return
    rng = np.random.default_rng(seed + 2)
    lens = np.array([len(s) for s in haps[0]], dtype=float)
    adapter = [
        np.frombuffer((a + "A" * READ_LEN).encode()[:READ_LEN], dtype=np.uint8) for a in (ADAPTER_R1, ADAPTER_R2)
    ]
    qual_levels = np.frombuffer(b"FFFFFFFF:,", dtype=np.uint8)
    chunk = 100_000
    with (
        gzip.open(str(r1p) + ".tmp", "wb", compresslevel=1) as f1,
        gzip.open(str(r2p) + ".tmp", "wb", compresslevel=1) as f2,
    ):
        done = 0
        while done < pairs:
            n = min(chunk, pairs - done)
            hap = rng.integers(0, 2, size=n)
            contig = rng.choice(len(lens), size=n, p=lens / lens.sum())
            flen = np.clip(rng.normal(350, 50, size=n).astype(int), 100, 1000)
            reads = [np.empty((n, READ_LEN), dtype=np.uint8) for _ in (0, 1)]
            for h in (0, 1):
                for c in range(len(lens)):
                    sel = np.nonzero((hap == h) & (contig == c))[0]
                    if not len(sel):
                        continue
                    seq = haps[h][c]
                    start = rng.integers(0, len(seq) - 1000, size=len(sel))
                    idx = start[:, None] + np.arange(READ_LEN)
                    reads[0][sel] = seq[idx]
                    end = start + flen[sel]
                    idx2 = (end - 1)[:, None] - np.arange(READ_LEN)
                    reads[1][sel] = _COMP[seq[idx2]]
            # adapter read-through for fragments shorter than a read
            short = np.nonzero(flen < READ_LEN)[0]
            for r in (0, 1):
                for i in short:
                    reads[r][i, flen[i] :] = adapter[r][: READ_LEN - flen[i]]
                err = rng.random((n, READ_LEN)) < 0.002
                reads[r][err] = _BASES[rng.integers(0, 4, size=int(err.sum()))]
            # swap strands for half the fragments
            flip = rng.random(n) < 0.5
            reads[0][flip], reads[1][flip] = reads[1][flip].copy(), reads[0][flip].copy()
            ids = np.char.encode(np.char.zfill(np.arange(done, done + n).astype(str), 10), "ascii")
            names = np.frombuffer(b"".join(ids), dtype=np.uint8).reshape(n, 10)
            for r, fh in ((0, f1), (1, f2)):
                qual = qual_levels[rng.integers(0, len(qual_levels), size=(n, READ_LEN))]
                rec = np.empty((n, 1 + 1 + 10 + 1 + READ_LEN + 1 + 2 + READ_LEN + 1), dtype=np.uint8)
                o = 0
                for part in (b"@", b"p", names, b"\n", reads[r], b"\n+\n", qual, b"\n"):
                    if isinstance(part, bytes):
                        rec[:, o : o + len(part)] = np.frombuffer(part, dtype=np.uint8)
                        o += len(part)
                    else:
                        rec[:, o : o + part.shape[1]] = part
                        o += part.shape[1]
                fh.write(rec.tobytes())
            done += n
    os.replace(str(r1p) + ".tmp", r1p)
    os.replace(str(r2p) + ".tmp", r2p)


# ---------------------------------------------------------------- measuring


CPU: dict[str, float] = {}


def run(cmd: list[str], cwd: Path, log: Path | None = None, stdout=None) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS of its largest process, MB). Its CPU seconds
    (user + system, waited-for children included) go to ``CPU[log name]``."""
    t0 = time.perf_counter()
    err = open(log, "w") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout or subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if log:
            err.close()
    dt = time.perf_counter() - t0
    CPU[log.stem if log else cmd[0]] = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status):
        tail = log.read_text()[-3000:] if log else ""
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))} failed:\n{tail}")
    return dt, usage.ru_maxrss / 1024


def snakemake(work: Path, target: str, log: Path) -> tuple[float, float]:
    # targets before --configfile, which takes every argument after it
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", target]
    return run([*cmd, "--configfile", "bench.yaml"], cwd=work, log=log)


def setup_workflow(data: Path, reads: Path, work: Path, intervals: int) -> None:
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config/samples.tsv").write_text(
        "sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\n"
        f"S1\tS1\tgermline\t{reads}/S1_R1.fastq.gz\t{reads}/S1_R2.fastq.gz\tfemale\tNA\n"
    )
    cfg = {
        "samples": "config/samples.tsv",
        "reference": {"fasta": str(data / "genome.fa"), "gff3": "", "build": "GRCh38"},
        "targets": "",
        "demo": {"simulate": False},
        # both cores call: the genome in this many intervals, as a facility running it on 2 cores would set
        "calling": {"intervals": intervals},
    }
    (work / "bench.yaml").write_text(yaml.safe_dump(cfg))


PYBWA_ALONE = """
import sys
import pysam
from pybwa import BwaIndex, BwaMem, BwaMemOptions
prefix, r1, r2, out = sys.argv[1:5]
index = BwaIndex(prefix=prefix)
bwa = BwaMem(index=index)
opt = BwaMemOptions(interleaved_paired_end=True, threads=2, chunk_size=10_000_000)
opt.finalize()
header = pysam.AlignmentHeader.from_references(list(index.header.references), list(index.header.lengths))
with pysam.FastxFile(r1) as f1, pysam.FastxFile(r2) as f2, pysam.AlignmentFile(out, "wb", header=header) as bam:
    batch, bases = [], 0
    while True:
        a, b = next(f1, None), next(f2, None)
        if a is not None:
            batch.append(pysam.FastxRecord(name=a.name, sequence=a.sequence, quality=a.quality))
            batch.append(pysam.FastxRecord(name=b.name, sequence=b.sequence, quality=b.quality))
            bases += len(a.sequence) + len(b.sequence)
        if batch and (a is None or bases >= 10_000_000):
            for hits in bwa.align(batch, opt):
                for rec in hits:
                    bam.write(rec)
            batch, bases = [], 0
        if a is None:
            break
"""

CALL_ONE = """
import sys
from seq2rx.variants.germline import CallParams, call_variants
bam, fasta, out = sys.argv[1:4]
call_variants([bam], fasta, out, CallParams(), samples=["S1"])
"""

# one interval as the workflow's bcftools_call_interval job runs it (a tile of the genome: read
# from READ_REACH bases before it), and the gather job
CALL_PART = """
import sys
from seq2rx.variants.germline import READ_REACH, CallParams, pileup_call
bam, fasta, out, bed = sys.argv[1:5]
pileup_call([bam], fasta, out, CallParams(), regions=bed, samples=["S1"], margin=READ_REACH)
"""
GATHER = """
import sys
from seq2rx.variants.germline import CallParams, gather_calls
fasta, out, *parts = sys.argv[1:]
gather_calls(parts, fasta, out, CallParams(), threads=2)
"""


def calling(data: Path, bam: Path, work: Path, k: int) -> dict:
    """The whole genome in one call against ``k`` intervals of seq2rx.genome.intervals (balanced,
    cut at N gaps where there are any), two at a time in two processes, then the gather."""
    from seq2rx.genome.intervals import plan_intervals, write_intervals

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    fasta = data / "genome.fa"
    one_s, one_rss = run(
        [sys.executable, "-c", CALL_ONE, str(bam), str(fasta), str(work / "whole.vcf.gz")],
        cwd=REPO,
        log=work / "whole.log",
    )
    beds = [
        p
        for p in write_intervals(plan_intervals(fasta, k), work)
        if p.name.endswith(".bed") and ".somatic" not in p.name
    ]
    t0 = time.perf_counter()
    pending = list(enumerate(sorted(beds)))
    running: dict[int, subprocess.Popen] = {}
    peak = 0.0
    while pending or running:
        while pending and len(running) < 2:
            i, bed = pending.pop(0)
            cmd = [sys.executable, "-c", CALL_PART, str(bam), str(fasta), str(work / f"part{i:03d}.bcf"), str(bed)]
            proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            running[proc.pid] = proc
        pid, status, usage = os.wait4(-1, 0)
        if pid in running:
            running.pop(pid)
            peak = max(peak, usage.ru_maxrss / 1024)
            if os.waitstatus_to_exitcode(status):
                raise SystemExit(f"interval call failed: {pid}")
    parts = [str(work / f"part{i:03d}.bcf") for i in range(len(beds))]
    _s, gather_rss = run([sys.executable, "-c", GATHER, str(fasta), str(work / "scattered.vcf.gz"), *parts], cwd=REPO)
    scat_s = time.perf_counter() - t0
    same = (work / "whole.vcf.gz").read_bytes() == (work / "scattered.vcf.gz").read_bytes()
    return {
        "calling_1_interval_s": round(one_s, 2),
        "calling_scattered_s": round(scat_s, 2),
        "scatter_speedup": round(one_s / scat_s, 3),
        "scatter_intervals": len(beds),
        "scatter_same_bytes": same,
        "calling_peak_rss_mb": {
            "one_interval": round(one_rss),
            "per_interval_max": round(peak),
            "gather": round(gather_rss),
        },
    }


def _body(vcf: Path) -> list[str]:
    with gzip.open(vcf, "rt") as fh:
        return [line for line in fh if not line.startswith("#")]


def rule_peaks(work: Path) -> dict:
    """Per rule: its jobs' seconds added up and their largest ``max_rss`` (a scattered rule has
    one benchmark file per interval, in a folder per sample)."""
    out: dict[str, dict] = {}
    bench = work / "logs/benchmarks"
    for tsv in sorted(bench.rglob("*.tsv")):
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        rule = tsv.relative_to(bench).parts[0]
        rss = row.get("max_rss", "NA")
        entry = out.setdefault(rule, {"s": 0.0, "max_rss_mb": None, "jobs": 0})
        entry["s"] = round(entry["s"] + float(row["s"]), 2)
        entry["jobs"] += 1
        if rss != "NA":
            entry["max_rss_mb"] = max(entry["max_rss_mb"] or 0, round(float(rss)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, default=Path("bench-scale"), help="scratch folder (genome, reads, runs)")
    ap.add_argument("--genome-mb", type=float, default=50.0, help="non-N sequence of the simulated genome (>= 50)")
    ap.add_argument("--intervals", type=int, default=8, help="scattered calling: how many intervals")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--skip", nargs="*", default=[], choices=["workflow", "bwa", "pybwa", "calling"])
    ap.add_argument("--simulate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    data = (args.workdir / f"data-{args.genome_mb:g}mb").resolve()
    reads = data / f"pairs-{args.pairs}"
    reads.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.simulate_only:
        _names, seqs = simulate_genome(data, args.genome_mb, args.seed)
        if not (reads / "S1_R1.fastq.gz").exists():
            simulate_reads(reads, sample_haplotypes(seqs, args.seed)[0], args.pairs, args.seed)
        return
    # in a child: on Linux a child inherits its parent's peak RSS, which would then show in every step
    subprocess.run([sys.executable, __file__, *sys.argv[1:], "--simulate-only"], check=True)
    sim_s = time.perf_counter() - t0
    genome_bp = sum(int(r.split("\t")[1]) for r in open(data / "genome.fa.fai"))
    result: dict = {
        "pairs": args.pairs,
        "genome_bp": genome_bp,
        "depth": round(args.pairs * 2 * READ_LEN / genome_bp, 2),
    }
    result["simulate_s"] = round(sim_s, 1)

    work = (args.workdir / f"run-{args.pairs}").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    setup_workflow(data, reads, work, args.intervals)
    logs = work / "bench-logs"
    logs.mkdir()
    # built once beside the FASTA with `seq2rx index`, as a core facility would, and reused by the
    # run (which builds nothing) and by BWA alone; a second benchmark size finds it and checks it
    index_s, _ = run(
        [sys.executable, "-m", "seq2rx.cli", "index", "--fasta", str(data / "genome.fa")],
        cwd=work,
        log=logs / "index.log",
    )
    result["index_s_untimed"] = round(index_s, 1)
    prefix = data / "genome.fa"

    if "workflow" not in args.skip:
        e2e, _ = snakemake(work, "results/calls/S1.vcf.gz", logs / "e2e.log")
        result["end_to_end_s"] = round(e2e, 2)
        result["rules"] = rule_peaks(work)
    if "bwa" not in args.skip:
        r1, r2 = str(reads / "S1_R1.fastq.gz"), str(reads / "S1_R2.fastq.gz")
        if "pybwa" not in args.skip or not shutil.which("bwa"):
            s, rss = run(
                [sys.executable, "-c", PYBWA_ALONE, str(prefix), r1, r2, str(work / "pybwa.bam")],
                cwd=work,
                log=logs / "pybwa.log",
            )
            result["pybwa_alone_s"], result["pybwa_alone_peak_rss_mb"] = round(s, 2), round(rss)
        if shutil.which("bwa"):
            with open(work / "bwa.sam", "wb") as sam:
                s, rss = run(
                    ["bwa", "mem", "-t", "2", "-K", "10000000", str(prefix), r1, r2],
                    cwd=work,
                    log=logs / "bwa.log",
                    stdout=sam,
                )
            result["bwa_cli_s"], result["bwa_cli_peak_rss_mb"] = round(s, 2), round(rss)
            result["bwa_alone_s"], result["ratio_denominator"] = result["bwa_cli_s"], "bwa mem -t 2 (Debian binary)"
        else:
            result["bwa_alone_s"], result["ratio_denominator"] = result["pybwa_alone_s"], "pybwa, 2 threads"
        if "end_to_end_s" in result:
            result["ratio"] = round(result["end_to_end_s"] / result["bwa_alone_s"], 3)
            if "pybwa_alone_s" in result:
                result["ratio_vs_pybwa"] = round(result["end_to_end_s"] / result["pybwa_alone_s"], 3)
    if "calling" not in args.skip:
        bam = work / "results/align/S1.bam"
        if bam.exists():
            result.update(calling(data, bam, work / "calling", args.intervals))
    result["cpu_s"] = {k: round(v, 1) for k, v in CPU.items()}
    if "e2e" in CPU and "bwa" in CPU:
        result["cpu_ratio"] = round(CPU["e2e"] / CPU["bwa"], 3)
    result["cpus"] = os.cpu_count()
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
