"""How the DAG scales: wall time and peak memory of ``snakemake -n`` for 100, 1,000 and 10,000
samples, against a bare five-rule workflow with the same sample sheets, in the same run.

Both workflows get the same simulated sheet of N samples, each pointing at its own pair of empty
placeholder FASTQs (a dry run checks that inputs exist, never reads them). One in ten patients
is a tumour-normal pair, the rest germline only, so that the somatic and actionability branches
are in the DAG too. Ours uses the demo reference, genes and targets (simulated once into the work
folder), so every stage is planned.

* ours: ``snakemake -n`` on seq2rx's Snakefile (trim, align, markdup, call, annotate, PGx,
  somatic, actionability, QC, findings, reports, MultiQC, versions, provenance);
* bare: five shell rules per sample (trim, align, sort, call, stats) with an input function
  reading the same sheet, one aggregate rule and ``all`` (5 N + 2 jobs); with ``--intervals K``
  its call is K jobs per sample and one gathering them ((5 + K) N + 2 jobs), and ours is given
  ``calling.intervals: K``.

Each point is the best of ``--repeats`` runs, ours and bare alternating. Time per job (seconds /
planned jobs) gives the ratio ours / bare; the growth from one size to the next, divided by the
growth in jobs, tells whether it is linear (1.0) or worse. Peak memory is the maximum resident
set of the snakemake process (``os.wait4``).

    python benchmarks/bench_dag.py --workdir /tmp/bench-dag --sizes 100 1000 10000 --json dag.json
    python benchmarks/bench_dag.py --workdir /tmp/bench-dag --sizes 1000 --intervals 50 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

BARE = """
import csv

SAMPLES = {r["sample"]: r for r in csv.DictReader(open(config["samples"]), delimiter="\\t")}
INTERVALS = [f"{k:04d}" for k in range(1, int(config.get("intervals", 1)) + 1)]


wildcard_constraints:
    sample="[^/]+",
    interval="[0-9]+",


rule all:
    input:
        "bare/cohort.txt",


def reads(wildcards):
    row = SAMPLES[wildcards.sample]
    return [row["fastq1"], row["fastq2"]]


rule trim:
    input:
        reads,
    output:
        "bare/trim/{sample}.fq",
    shell:
        "touch {output}"


rule align:
    input:
        "bare/trim/{sample}.fq",
    output:
        "bare/align/{sample}.bam",
    shell:
        "touch {output}"


rule sort:
    input:
        "bare/align/{sample}.bam",
    output:
        "bare/sort/{sample}.bam",
    shell:
        "touch {output}"


if len(INTERVALS) > 1:

    rule call_interval:
        input:
            "bare/sort/{sample}.bam",
        output:
            "bare/call/{sample}/{interval}.vcf",
        shell:
            "touch {output}"

    rule call:
        input:
            expand("bare/call/{{sample}}/{interval}.vcf", interval=INTERVALS),
        output:
            "bare/call/{sample}.vcf",
        shell:
            "touch {output}"

else:

    rule call:
        input:
            "bare/sort/{sample}.bam",
        output:
            "bare/call/{sample}.vcf",
        shell:
            "touch {output}"


rule stats:
    input:
        "bare/call/{sample}.vcf",
    output:
        "bare/stats/{sample}.txt",
    shell:
        "touch {output}"


rule cohort:
    input:
        expand("bare/stats/{sample}.txt", sample=sorted(SAMPLES)),
    output:
        "bare/cohort.txt",
    shell:
        "touch {output}"
"""


def demo_reference(workdir: Path) -> Path:
    """The demo genome, genes and targets (simulated once, then reused)."""
    data = workdir / "demo"
    if not (data / "genome.fa.gz.fai").exists():
        subprocess.run([sys.executable, "-m", "seq2rx.cli", "demo", "--outdir", str(data)], check=True,
                       cwd=REPO, stdout=subprocess.DEVNULL)  # fmt: skip
    return data


def sample_sheet(folder: Path, n: int) -> Path:
    """A sheet of ``n`` samples, each with its own empty R1/R2 placeholder; one patient in ten
    is a tumour-normal pair (two rows), the others germline only."""
    reads = folder / "reads"
    reads.mkdir(parents=True, exist_ok=True)
    rows = ["sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type"]
    k = 0
    while len(rows) - 1 < n:
        k += 1
        patient = f"Q{k:05d}"
        pair = k % 10 == 0 and n - (len(rows) - 1) >= 2
        kinds = [("N", "normal", "LUAD"), ("T", "tumor", "LUAD")] if pair else [("", "germline", "NA")]
        for suffix, kind, tumour in kinds:
            sample = f"{patient}-{suffix}" if suffix else patient
            r1, r2 = reads / f"{sample}_R1.fastq.gz", reads / f"{sample}_R2.fastq.gz"
            r1.touch()
            r2.touch()
            rows.append(f"{sample}\t{patient}\t{kind}\t{r1}\t{r2}\t{'female' if k % 2 else 'male'}\t{tumour}")
    path = folder / "samples.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def setup(workdir: Path, n: int, demo: Path, intervals: int = 1) -> tuple[Path, Path]:
    """Two run folders for ``n`` samples (ours, bare) sharing one sheet; with ``intervals`` > 1
    both scatter calling over that many intervals per sample (ours: ``calling.intervals``; bare:
    a touch rule per sample and interval, and one per sample gathering them)."""
    folder = workdir / f"n{n}"
    sheet = folder / "samples.tsv" if (folder / "samples.tsv").exists() else sample_sheet(folder, n)
    suffix = f"-i{intervals}" if intervals > 1 else ""
    ours, bare = folder / f"ours{suffix}", folder / f"bare{suffix}"
    ours.mkdir(exist_ok=True)
    bare.mkdir(exist_ok=True)
    cfg = {
        "samples": str(sheet),
        "reference": {"fasta": str(demo / "genome.fa.gz"), "gff3": str(demo / "genes.gff3"), "build": "GRCh38"},
        "targets": str(demo / "targets.bed"),
        "demo": {"simulate": False},
    }
    if intervals > 1:
        cfg["calling"] = {"intervals": intervals}
    (ours / "bench.yaml").write_text(yaml.safe_dump(cfg))
    (bare / "Snakefile").write_text(BARE)
    (bare / "bench.yaml").write_text(yaml.safe_dump({"samples": str(sheet), "intervals": intervals}))
    return ours, bare


def dry_run(run_dir: Path, snakefile: Path, profile: Path | None = None) -> dict:
    """Time and peak RSS of one ``snakemake -n``; the job count from its summary table."""
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "snakemake", "-s", str(snakefile), "-n", "--cores", "1", "--configfile", "bench.yaml"]
    out = run_dir / "dryrun.log"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with open(out, "w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=run_dir, stdout=fh, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_text()
    if proc.returncode:
        raise SystemExit(f"snakemake -n in {run_dir} failed ({proc.returncode}):\n{text[-3000:]}")
    total = re.search(r"^total\s+(\d+)\s*$", text, re.M)
    if not total:
        raise SystemExit(f"no job count in {out}")
    return {"seconds": round(seconds, 2), "jobs": int(total.group(1)), "peak_rss_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("bench-dag"), help="scratch folder")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000], help="samples per sheet")
    ap.add_argument("--repeats", type=int, default=2, help="alternating ours / bare runs per size")
    ap.add_argument("--repeats-above", type=int, default=5000, help="sizes above this run once")
    ap.add_argument("--profile", type=int, help="also write a cProfile of ours at this size")
    ap.add_argument("--intervals", type=int, default=1, help="calling intervals per sample (both workflows)")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    demo = demo_reference(args.workdir)
    points = []
    for n in args.sizes:
        ours_dir, bare_dir = setup(args.workdir, n, demo, args.intervals)
        runs: dict[str, list[dict]] = {"ours": [], "bare": []}
        repeats = 1 if n > args.repeats_above else args.repeats
        for k in range(repeats):
            order = [("ours", ours_dir, REPO / "Snakefile"), ("bare", bare_dir, bare_dir / "Snakefile")]
            for name, run_dir, snakefile in order if k % 2 == 0 else order[::-1]:
                runs[name].append(dry_run(run_dir, snakefile))
                print(f"n={n} {name}: {runs[name][-1]}", flush=True)
        best = {name: min(r, key=lambda x: x["seconds"]) for name, r in runs.items()}
        point = {
            "samples": n,
            "intervals": args.intervals,
            **{f"{name}_{key}": v for name, b in best.items() for key, v in b.items()},
        }
        point["ours_ms_per_job"] = round(1000 * point["ours_seconds"] / point["ours_jobs"], 3)
        point["bare_ms_per_job"] = round(1000 * point["bare_seconds"] / point["bare_jobs"], 3)
        point["ratio_per_job"] = round(point["ours_ms_per_job"] / point["bare_ms_per_job"], 2)
        point["runs"] = runs
        points.append(point)
        if args.profile == n:
            dry_run(ours_dir, REPO / "Snakefile", profile=args.workdir / f"ours-{n}.prof")
    # linearity: growth in time over growth in jobs between consecutive sizes (1.0 = linear)
    for prev, cur in zip(points, points[1:], strict=False):
        for name in ("ours", "bare"):
            growth = (cur[f"{name}_seconds"] / prev[f"{name}_seconds"]) / (cur[f"{name}_jobs"] / prev[f"{name}_jobs"])
            cur[f"{name}_growth_vs_linear"] = round(growth, 2)
    result = {"cpus": os.cpu_count(), "points": points}
    print(json.dumps([{k: v for k, v in p.items() if k != "runs"} for p in points], indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
