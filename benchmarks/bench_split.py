"""Time and memory of splitting a read pair set for align.split_fastq (seq2rx.reads.split).

Writes N random 2 x 150 bp pairs (gzip level 1, as cutadapt leaves them), then splits them into
chunks of 100,000 pairs in a fresh process, which reports wall and CPU seconds and its peak memory:

    python benchmarks/bench_split.py --pairs 350000 1400000 --workdir /tmp/bench-split --json split.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

CHILD = """
import resource, sys, time
from seq2rx.reads.split import split_pairs
r1, r2, out = sys.argv[1:4]
t = time.perf_counter()
counts = split_pairs(r1, r2, out, pairs_per_chunk=100_000)
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_SELF)
print(len(counts), sum(counts), wall, use.ru_utime + use.ru_stime, use.ru_maxrss)
"""


def write_pairs(d: Path, pairs: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    paths = (d / f"{pairs}_R1.fq.gz", d / f"{pairs}_R2.fq.gz")
    if all(p.exists() for p in paths):
        return paths
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    qual = b"I" * 150
    with gzip.open(paths[0], "wb", compresslevel=1) as f1, gzip.open(paths[1], "wb", compresslevel=1) as f2:
        for start in range(0, pairs, 10_000):
            n = min(10_000, pairs - start)
            seqs = letters[rng.integers(0, 4, (2, n, 150))]
            for fh, mate in ((f1, 0), (f2, 1)):
                fh.write(b"".join(b"@p%d\n%s\n+\n%s\n" % (start + i, seqs[mate, i].tobytes(), qual) for i in range(n)))
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, nargs="+", default=[350_000, 1_400_000])
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for pairs in args.pairs:
        r1, r2 = write_pairs(args.workdir, pairs)
        out = args.workdir / f"chunks_{pairs}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        proc = subprocess.run([sys.executable, "-c", CHILD, str(r1), str(r2), str(out)], capture_output=True,
                              text=True, check=True)  # fmt: skip
        chunks, n, wall, cpu, rss_kb = proc.stdout.split()
        row = {"pairs": int(n), "chunks": int(chunks), "wall_s": round(float(wall), 2), "cpu_s": round(float(cpu), 2),
               "pairs_per_cpu_s": round(int(n) / float(cpu)), "peak_mb": round(int(rss_kb) / 1024)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
