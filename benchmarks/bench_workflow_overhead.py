"""What Snakemake costs on top of the library: reads -> trimmed -> aligned -> markdup -> calls.

Simulates one sample of at least ``--pairs`` read pairs on the demo genome, then runs the same
library calls twice, in the same run, alternating:

* by hand: one Python process calling trim_pairs, build_index, align_unsorted, sort_markdup and
  call_variants in sequence (what the workflow's scripts call);
* the workflow: ``snakemake --cores 2 results/calls/S1.vcf.gz`` on a sheet holding that sample.

Both use 2 threads. The ratio workflow / by-hand is what BENCHMARKS.md reports.

    python benchmarks/bench_workflow_overhead.py --pairs 1000000 --workdir /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

BY_HAND = """
import sys
from pathlib import Path
from seq2rx.reads.trim import trim_pairs
from seq2rx.reads.align import build_index, align_unsorted, sort_markdup
from seq2rx.variants.germline import CallParams, call_variants
data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
trim_pairs(data / "reads/S1_R1.fastq.gz", data / "reads/S1_R2.fastq.gz", out / "t1.fq.gz", out / "t2.fq.gz",
           out / "c.json", out / "c.txt", "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA", "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT",
           threads=2)
index = build_index(data / "genome.fa.gz", out / "index", "bwa")
align_unsorted(out / "t1.fq.gz", out / "t2.fq.gz", index, out / "u.bam", "S1", threads=2)
sort_markdup(out / "u.bam", out / "S1.bam", out / "md.txt", threads=2)
call_variants([out / "S1.bam"], data / "genome.fa.gz", out / "S1.vcf.gz", CallParams(), threads=2)
"""


def simulate(workdir: Path, pairs: int) -> Path:
    from seq2rx.sim import simulate as sim

    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["patients"] = [dict(spec["patients"][0], id="S1", samples=[{"id": "S1", "type": "germline"}])]
    # coverage that gives the requested number of pairs over the demo's islands (about 190 kb)
    spec["coverage"] = 40
    data = workdir / "data"
    if not (data / "reads/S1_R1.fastq.gz").exists():
        probe = workdir / "probe"
        (workdir / "spec.yaml").write_text(yaml.safe_dump(spec))
        n = sim(workdir / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", probe)["samples"]["S1"]["pairs"]
        shutil.rmtree(probe)
        spec["coverage"] = 40 * pairs / n * 1.02
        (workdir / "spec.yaml").write_text(yaml.safe_dump(spec))
        sim(workdir / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", data)
    return data


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    return dt


def run_by_hand(data: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return timed([sys.executable, "-c", BY_HAND, str(data), str(out)], cwd=REPO)


def run_workflow(data: Path, work: Path) -> float:
    shutil.rmtree(work, ignore_errors=True)
    (work / "config").mkdir(parents=True)
    (work / "config/samples.tsv").write_text(
        "sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\n"
        f"S1\tS1\tgermline\t{data}/reads/S1_R1.fastq.gz\t{data}/reads/S1_R2.fastq.gz\tfemale\tNA\n"
    )
    cfg = {
        "samples": "config/samples.tsv",
        "reference": {"fasta": str(data / "genome.fa.gz"), "gff3": str(data / "genes.gff3"), "build": "GRCh38"},
        "targets": str(data / "targets.bed"),
        "demo": {"simulate": False},
    }
    (work / "bench.yaml").write_text(yaml.safe_dump(cfg))
    # targets before --configfile, which takes every argument after it
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        "results/calls/S1.vcf.gz",
        "--configfile",
        "bench.yaml",
    ]
    return timed(cmd, cwd=work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path("bench-work"), help="scratch folder (about 1 GB)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating by-hand / workflow rounds")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = simulate(args.workdir, args.pairs)
    with open(data / "reads/S1_R1.fastq.gz", "rb") as fh:
        import gzip

        n_pairs = sum(1 for _ in gzip.open(fh)) // 4
    hand, flow = [], []
    for k in range(args.repeats):
        order = [("hand", run_by_hand), ("flow", run_workflow)]
        if k % 2:
            order.reverse()
        for name, fn in order:
            dt = fn(data, args.workdir / name)
            (hand if name == "hand" else flow).append(dt)
            print(f"round {k + 1}: {name} {dt:.1f} s", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    best_hand, best_flow = min(hand), min(flow)
    result = {
        "read_pairs": n_pairs,
        "by_hand_s": [round(x, 2) for x in hand],
        "workflow_s": [round(x, 2) for x in flow],
        "ratio_best": round(best_flow / best_hand, 4),
        "ratio_median": round(sorted(flow)[len(flow) // 2] / sorted(hand)[len(hand) // 2], 4),
        "throughput_pairs_per_s_by_hand": round(n_pairs / best_hand),
        "throughput_pairs_per_s_workflow": round(n_pairs / best_flow),
        "peak_child_rss_mb": round(peak_mb),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
