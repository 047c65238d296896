"""Annotation throughput: ``seq2rx annotate`` against ``bcftools csq`` alone, in the same run.

Simulates a single-sample VCF of N variants (90% SNVs, 10% short indels, unphased) at distinct
positions of the demo genome's simulated islands, then times, alternating:

* csq alone: ``bcftools csq`` through pysam (what ``run_csq`` runs), writing the annotated VCF;
* annotate: the same csq call plus the streamed consequence table with the Biopython
  derivation (``seq2rx annotate``).

Each run is a fresh process, timed from outside; peak RSS comes from the child's rusage.

    python benchmarks/bench_annotate.py --demo demo --variants 100000 --repeats 5 --json bench-annotate.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam

# each child reports its own peak RSS (the Python side: table, Biopython) and that of the
# bcftools csq process it started, in kB
_PEAK = (
    "; import resource as r; print(r.getrusage(r.RUSAGE_SELF).ru_maxrss, "
    "r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss, file=open(sys.argv[-1], 'w'))"
)
CSQ = "import sys; from seq2rx.variants.annotate import run_csq; run_csq(*sys.argv[1:5], mode='unphased')" + _PEAK
ANNOTATE = (
    "import sys; from seq2rx.variants.annotate import annotate; annotate(*sys.argv[1:5], out_vcf=sys.argv[5])" + _PEAK
)


def simulate_vcf(demo: Path, n: int, out: Path, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    fa = pysam.FastaFile(str(demo / "genome.fa.gz"))
    islands = [line.split("\t")[:3] for line in (demo / "targets.bed").read_text().splitlines()]
    positions = [(c, p) for c, s, e in islands for p in range(int(s) + 20, int(e) - 20)]
    if n > len(positions):
        raise SystemExit(f"the demo islands hold {len(positions)} positions, fewer than {n}")
    pick = sorted(rng.choice(len(positions), size=n, replace=False))
    order = {c: k for k, c in enumerate(fa.references)}
    rows = []
    for k in pick:
        chrom, p0 = positions[k]
        ref = fa.fetch(chrom, p0, p0 + 1)
        r = rng.random()
        if r < 0.9:
            alt = "ACGT"[(("ACGT".index(ref)) + int(rng.integers(1, 4))) % 4]
            rows.append((chrom, p0 + 1, ref, alt))
        elif r < 0.95:
            rows.append((chrom, p0 + 1, ref, ref + "".join(rng.choice(list("ACGT"), int(rng.integers(1, 6))))))
        else:
            d = int(rng.integers(1, 6))
            rows.append((chrom, p0 + 1, fa.fetch(chrom, p0, p0 + 1 + d), ref))
    rows.sort(key=lambda x: (order[x[0]], x[1]))
    head = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={c},length={n_}>" for c, n_ in zip(fa.references, fa.lengths, strict=True)),
    ]
    head += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    plain = out.with_suffix("")
    plain.write_text("\n".join(head + [f"{c}\t{p}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t0/1" for c, p, r, a in rows]) + "\n")
    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    plain.unlink()
    return out


def timed(code: str, args: list[str], peak_file: Path) -> tuple[float, float, float]:
    """Wall seconds, and peak RSS (MB) of the Python process and of bcftools csq."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args, str(peak_file)])
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"benchmark child failed with status {proc.returncode}")
    own, csq = (int(x) / 1024 for x in peak_file.read_text().split())
    return elapsed, own, csq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("demo"), help="the demo data folder (seq2rx demo)")
    ap.add_argument("--variants", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path("bench-work/annotate"))
    ap.add_argument(
        "--json", type=Path, help="write the measured numbers here (variants, csq_alone_s, seq2rx_s, ratio, ...)"
    )
    ap.add_argument("--simulate-only", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.simulate_only:
        simulate_vcf(args.demo, args.simulate_only, args.workdir / f"sim{args.simulate_only}.vcf.gz")
        return
    fasta, gff3 = str(args.demo / "genome.fa.gz"), str(args.demo / "genes.gff3")
    results = []
    for n in args.variants:
        # simulate in a child: on Linux a forked child inherits its parent's peak RSS, so the
        # timing parent must stay small for the children's memory figures to mean anything
        vcf = args.workdir / f"sim{n}.vcf.gz"
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--simulate-only",
                str(n),
                "--demo",
                str(args.demo),
                "--workdir",
                str(args.workdir),
            ],
            check=True,
        )
        csq_t, ann_t, csq_m, py_m = [], [], [], []
        for k in range(args.repeats):
            runs = [
                ("csq", CSQ, [str(vcf), fasta, gff3, str(args.workdir / "csq.vcf.gz")]),
                (
                    "annotate",
                    ANNOTATE,
                    [str(vcf), fasta, gff3, str(args.workdir / "t.tsv"), str(args.workdir / "a.vcf.gz")],
                ),
            ]
            for name, code, a in runs if k % 2 == 0 else runs[::-1]:
                t, own, csq_rss = timed(code, a, args.workdir / "peak.txt")
                (csq_t if name == "csq" else ann_t).append(t)
                csq_m.append(csq_rss)
                if name == "annotate":
                    py_m.append(own)
                print(
                    f"{n} variants, round {k + 1}: {name} {t:.2f} s, python {own:.0f} MB, csq {csq_rss:.0f} MB",
                    flush=True,
                )
        rows = sum(1 for _ in open(args.workdir / "t.tsv")) - 1
        # best of the rounds for each, both measured in this run, alternating
        results.append({
            "variants": n, "table_rows": rows, "csq_alone_s": round(min(csq_t), 3),
            "seq2rx_s": round(min(ann_t), 3), "ratio": round(min(ann_t) / min(csq_t), 3),
            "csq_alone_rounds_s": [round(x, 3) for x in csq_t], "seq2rx_rounds_s": [round(x, 3) for x in ann_t],
            "csq_peak_mb": round(max(csq_m)), "seq2rx_python_peak_mb": round(max(py_m)),
        })  # fmt: skip
    print(json.dumps(results, indent=2))
    if args.json:
        # one object per --variants size: variants, csq_alone_s, seq2rx_s, ratio, the rounds, peaks
        args.json.write_text(json.dumps(results if len(results) > 1 else results[0], indent=2) + "\n")


if __name__ == "__main__":
    main()
