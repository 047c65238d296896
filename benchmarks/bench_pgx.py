"""PGx throughput and memory: the reference tool's 100-sample workload, and simulated cohorts.

With ``--vcf`` (the reference tool's ``100samples.vcf.bgz``), times in one process, alternating
over ``--repeats`` rounds:

* floor: reading every record of the VCF with pysam and touching each sample's genotype
  (what any VCF-based tool must pay);
* seq2rx: the whole PGx step for all samples: genotypes at every definition position,
  diplotype matching, phenotype, and drug guidance (``call_vcf``), knowledge base loaded once
  beforehand (its load time is reported separately).

The reference tool publishes 1.2-5.9 s per sample; it is a Java program not installable here,
so that figure is quoted, not re-measured. Per-sample time is total / samples.

With ``--simulate N [N ...]``, a cohort VCF of N samples is simulated at every definition
position (``seq2rx.sim.cohort``: 1000 Genomes-shaped, phased, variant sites only, seeded with
``--seed``) and ``seq2rx pgx --all-samples --absent-as-reference --json --tsv --drugs-tsv`` runs
on it as a user runs it, in a fresh process per size and round: wall time (import, knowledge
base, VCF and every output included), peak resident memory of that process (its own ``VmHWM``), and
how many of the drawn diplotypes come back as the single call. ``--src`` runs another checkout's
library (e.g. the main branch, to measure before a change); the simulation always uses this one.

With ``--pypgx PATH --genes G [G ...]`` and a phased cohort ``--vcf`` (e.g. a simulated one),
seq2rx is compared with PyPGx on that VCF, each run as a new user runs it. PyPGx
(``pip install pypgx==0.23.0`` in its own virtual environment; PATH is its ``pypgx`` command)
runs ``pypgx run-chip-pipeline GENE OUT VCF --assembly GRCh38`` once per gene, as its
documentation shows for array and imputed VCFs; with fully phased input it skips Beagle, so its
resource bundle (``pypgx-bundle``: reference panels and CNV models, cloned from GitHub) is not
needed. seq2rx runs once for all genes. Both are timed as whole processes (wall clock).
Agreement counts samples whose PyPGx diplotype equals seq2rx's single call; a sample seq2rx
does not call confidently counts as a difference.

    python benchmarks/bench_pgx.py --vcf ../shared/data/pharmcat/100samples.vcf.bgz
    python benchmarks/bench_pgx.py --simulate 200 3202 --workdir /tmp/bench-pgx --json pgx.json
    python benchmarks/bench_pgx.py --pypgx /tmp/pypgx-venv/bin/pypgx --vcf /tmp/bench-pgx/cohort200.vcf.gz \
        --genes CYP2B6 CYP2C19 CYP2C9 SLCO1B1 TPMT --workdir /tmp/bench-pypgx
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pysam

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from seq2rx.pgx.matcher import natural_key  # noqa: E402
from seq2rx.pgx.pipeline import PgxKnowledge, call_vcf  # noqa: E402
from seq2rx.sim.cohort import write_cohort_vcf  # noqa: E402

#: seq2rx's command line in a fresh process that writes its own peak resident memory (VmHWM, kB)
#: to the file named first: a child's ru_maxrss starts at its parent's size (fork, then exec)
#: CPU seconds of the child processes run so far, by program
CPU_S: dict[str, float] = {}
CLI = """import sys
from seq2rx.cli import main
try:
    sys.exit(main(sys.argv[2:]))
finally:
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    open(sys.argv[1], "w").write(hwm.split()[1])
"""


def floor(vcf: Path) -> int:
    n = 0
    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
        for rec in fh:
            for s in samples:
                n += rec.samples[s]["GT"] is not None
    return n


def reference_workload(args) -> dict:
    pysam.set_verbosity(0)  # the workload has no index; htslib would say so on every open
    t = time.perf_counter()
    kb = PgxKnowledge.load(args.kb)
    load = time.perf_counter() - t
    with pysam.VariantFile(str(args.vcf)) as fh:
        n_samples = len(fh.header.samples)
    times = {"floor": [], "seq2rx": []}
    for _ in range(args.repeats):
        t = time.perf_counter()
        floor(args.vcf)
        times["floor"].append(time.perf_counter() - t)
        t = time.perf_counter()
        docs = call_vcf(kb, args.vcf)
        times["seq2rx"].append(time.perf_counter() - t)
    assert len(docs) == n_samples
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "samples": n_samples,
        "repeats": args.repeats,
        "kb_load_s": round(load, 3),
        "floor_total_s": round(med["floor"], 3),
        "seq2rx_total_s": round(med["seq2rx"], 3),
        "seq2rx_per_sample_s": round(med["seq2rx"] / n_samples, 4),
        "seq2rx_per_sample_incl_kb_load_s": round((med["seq2rx"] + load) / n_samples, 4),
        "ratio_to_floor": round(med["seq2rx"] / med["floor"], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "reference_tool_published_per_sample_s": [1.2, 5.9],
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(src: Path, argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of ``seq2rx`` run in a fresh process on ``src``; its CPU
    seconds (user + system) are added to ``CPU_S["seq2rx"]``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    peak = Path(argv[argv.index("--json") + 1] + ".peak")
    t, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([sys.executable, "-c", CLI, str(peak), *argv], env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    CPU_S["seq2rx"] = CPU_S.get("seq2rx", 0.0) + _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"seq2rx pgx failed ({proc.returncode}) on {argv}")
    return wall, int(peak.read_text()) / 1024


def agreement(json_path: Path, drawn: dict[str, list[tuple[str, str]]]) -> tuple[int, int]:
    """(single calls equal to the drawn diplotype, sample-gene pairs drawn)."""
    data = json.loads(json_path.read_text(encoding="utf-8"))
    docs = data["samples"] if "samples" in data else [data]
    same = total = 0
    for i, doc in enumerate(docs):
        for gene, pairs in drawn.items():
            total += 1
            want = "/".join(sorted(pairs[i], key=natural_key))
            same += doc["genes"][gene]["diplotypes"] == [want]
    return same, total


def simulated(args) -> dict:
    kb = PgxKnowledge.load(args.kb)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.simulate:
        vcf = args.workdir / f"cohort{n}.vcf.gz"
        drawn = write_cohort_vcf(kb.definitions, n, vcf, seed=args.seed)
        out = args.workdir / f"cohort{n}"
        argv = ["pgx", "--vcf", str(vcf), "--all-samples", "--absent-as-reference", "--kb", str(args.kb),
                "--json", f"{out}.json", "--tsv", f"{out}.genes.tsv", "--drugs-tsv", f"{out}.drugs.tsv"]  # fmt: skip
        cpu = CPU_S.get("seq2rx", 0.0)
        runs = [run_cli(args.src, argv) for _ in range(args.repeats)]
        cpu = (CPU_S["seq2rx"] - cpu) / args.repeats
        wall = statistics.median(w for w, _ in runs)
        same, total = agreement(Path(f"{out}.json"), drawn)
        rows.append({
            "samples": n,
            "records": sum(1 for _ in pysam.VariantFile(str(vcf))),
            "wall_s": round(wall, 2),
            "per_sample_ms": round(1000 * wall / n, 2),
            "cpu_per_sample_ms": round(1000 * cpu / n, 2),
            "peak_rss_mib": round(max(m for _, m in runs), 1),
            "json_mib": round(Path(f"{out}.json").stat().st_size / 2**20, 1),
            "diplotypes_as_drawn": f"{same}/{total}",
        })  # fmt: skip
    return {"src": str(args.src), "seed": args.seed, "repeats": args.repeats, "cohorts": rows}


def pypgx_calls(results_zip: Path) -> dict[str, str]:
    """sample -> PyPGx's diplotype, from a pipeline's ``results.zip``."""
    with zipfile.ZipFile(results_zip) as z:
        name = next(n for n in z.namelist() if n.endswith("data.tsv"))
        rows = csv.DictReader(io.StringIO(z.read(name).decode()), delimiter="\t")
        return {r[""]: r["Genotype"] for r in rows}


def against_pypgx(args) -> dict:
    args.workdir.mkdir(parents=True, exist_ok=True)
    with pysam.VariantFile(str(args.vcf)) as fh:
        n = len(fh.header.samples)
    ours = args.workdir / "seq2rx.json"
    argv = ["pgx", "--vcf", str(args.vcf), "--all-samples", "--absent-as-reference", "--json", str(ours)]
    seq2rx_s, seq2rx_peak = run_cli(args.src, argv)
    docs = json.loads(ours.read_text())["samples"]
    genes = []
    pypgx_total = pypgx_cpu_total = 0.0
    for gene in args.genes:
        out = args.workdir / gene
        t, cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run([str(args.pypgx), "run-chip-pipeline", gene, str(out), str(args.vcf),
                               "--assembly", "GRCh38", "--force"], capture_output=True, text=True)  # fmt: skip
        wall = time.perf_counter() - t
        pypgx_cpu = _children_cpu() - cpu
        pypgx_total += wall
        pypgx_cpu_total += pypgx_cpu
        if proc.returncode != 0:
            genes.append({"gene": gene, "pypgx_s": round(wall, 1), "pypgx_error": proc.stderr.strip().splitlines()[-1]})
            continue
        theirs = pypgx_calls(out / "results.zip")
        same = sum(d["genes"][gene]["diplotypes"] == [theirs.get(d["sample"])] for d in docs)
        genes.append({"gene": gene, "pypgx_s": round(wall, 1), "pypgx_per_sample_s": round(wall / n, 3),
                      "pypgx_cpu_per_sample_s": round(pypgx_cpu / n, 3),
                      "agreement": f"{same}/{n}", "agreement_pct": round(100 * same / n, 1)})  # fmt: skip
    return {
        "samples": n,
        "seq2rx_all_genes_s": round(seq2rx_s, 2),
        "seq2rx_per_sample_ms": round(1000 * seq2rx_s / n, 1),
        "seq2rx_cpu_per_sample_ms": round(1000 * CPU_S["seq2rx"] / n, 1),
        "seq2rx_peak_rss_mib": round(seq2rx_peak, 1),
        "pypgx_genes_s": round(pypgx_total, 1),
        "pypgx_per_sample_s": round(pypgx_total / n, 3),
        "pypgx_cpu_per_sample_s": round(pypgx_cpu_total / n, 3),
        "genes": genes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vcf", type=Path, help="the reference tool's 100-sample workload")
    ap.add_argument("--simulate", type=int, nargs="+", metavar="N", help="simulated cohort sizes")
    ap.add_argument("--workdir", type=Path, default=Path("bench-pgx"), help="where simulated cohorts go")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--src", type=Path, default=REPO / "src", help="library to run (default: this checkout's)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kb", type=Path, default=REPO / "resources/kb/pgx")
    ap.add_argument("--pypgx", type=Path, help="PyPGx's pypgx command: compare with it on --vcf")
    ap.add_argument("--genes", nargs="+", default=["CYP2B6", "CYP2C19", "CYP2C9", "SLCO1B1", "TPMT"])
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    if not args.vcf and not args.simulate:
        ap.error("give --vcf or --simulate")
    if args.pypgx:
        result = against_pypgx(args)
    else:
        result = reference_workload(args) if args.vcf else simulated(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
