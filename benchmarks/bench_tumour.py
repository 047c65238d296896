"""The cost of the tumour steps (copy number, fusions, MSI) as a ratio to the tumour's alignment.

Simulates the demo (all 13 samples, about 28k read pairs each) and a copy of its spec holding only
patient P11 (EML4-ALK tumour P11-T and its matched normal P11-N) with ``coverage`` raised so that
P11-T has about ``--pairs`` read pairs. For each data set, in this one process:

* alignment of every sample: ``build_index`` once (not timed), then ``align_unsorted`` +
  ``sort_markdup`` (the align_reads and samtools_markdup jobs, 2 threads as in rules/align.smk);
  timed for the tumours;
* the run's shared tumour jobs, timed once per round: access regions, microsatellite sites, and,
  when a tumour has no matched normal, the pooled CNVkit reference and the MSI baseline;
* each tumour's jobs exactly as scripts/cnvkit_copy_number.py, fusions_call.py and msi_score.py
  call the library, in the mode seq2rx.tumour.plan.tumour_plan picks (1 thread, as their rules).

Every library module is imported before timing, so those are compute times. A job of the
workflow is also a fresh interpreter that imports what its script imports: that cost is measured
separately as ``python -c 'import ...'`` in a subprocess (best of 3) and added for the per-job
figures. Rounds alternate alignment-first and tumour-steps-first; the best of the rounds is kept.

    python benchmarks/bench_tumour.py --pairs 1000000 --workdir /tmp/bench-tumour --json out.json
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SITES = REPO / "resources/kb/pgx/positions.tsv"
KB = REPO / "resources/kb/actionability"

# what each job's script imports (scripts/*.py), including the modules the library imports lazily
IMPORTS = {
    "align": "from seq2rx.reads.align import align_unsorted; import pybwa, pysam",
    "markdup": "from seq2rx.reads.align import sort_markdup; import pysam",
    "copy_number": (
        "from seq2rx.provenance.versions import write_versions; from seq2rx.tumour import copy_number; "
        "import cnvlib; from cnvlib import antitarget, target, coverage, reference, call, fix, segmentation, "
        "segmetrics; from cnvlib.cmdutil import read_cna, verify_sample_sex; from skgenome import tabio"
    ),
    "fusions": (
        "from seq2rx import actionability; from seq2rx.provenance.versions import write_versions; "
        "from seq2rx.tumour import call_fusions, write_fusions"
    ),
    "msi": "from seq2rx.provenance.versions import write_versions; from seq2rx.tumour import msi_score",
}


def load_config() -> dict:
    """config/config.yaml with the schema's defaults filled in, as the workflow sees it."""
    from snakemake.utils import validate

    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    validate(cfg, str(REPO / "config/schemas/config.schema.yaml"))
    return cfg


def simulate(workdir: Path, pairs: int) -> tuple[Path, Path]:
    """The demo, and a P11-only copy at ``pairs`` tumour read pairs; returns both folders."""
    from seq2rx.sim import simulate as sim

    spec_path = REPO / "resources/demo/demo.yaml"
    demo = workdir / "demo"
    if not (demo / "samples.tsv").exists():
        summary = sim(spec_path, SITES, demo)
        (workdir / "demo.json").write_text(json.dumps(summary["samples"]))
    base = json.loads((workdir / "demo.json").read_text())["P11-T"]["pairs"]
    big = workdir / "big"
    if not (big / "samples.tsv").exists():
        spec = yaml.safe_load(spec_path.read_text())
        spec["patients"] = [p for p in spec["patients"] if p["id"] == "P11"]
        # read pairs scale with coverage (sim/reads.py: coverage x depth x length / 2 read lengths)
        spec["coverage"] = spec["coverage"] * pairs / base * 1.01
        (workdir / "big.yaml").write_text(yaml.safe_dump(spec))
        sim(workdir / "big.yaml", SITES, big)
    return demo, big


def count_pairs(r1: Path) -> int:
    with gzip.open(r1, "rt") as fh:
        return sum(1 for _ in fh) // 4


def import_cost(code: str, n: int = 3) -> float:
    best = float("inf")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


class Run:
    """One data set: its sheet, index, BAMs and the shared per-run files."""

    def __init__(self, data: Path, out: Path, tumours: list[str] | None):
        from seq2rx.reads.align import build_index
        from seq2rx.reads.qc import write_targets
        from seq2rx.tumour.plan import tumour_plan

        self.data, self.out = data, out
        out.mkdir(parents=True, exist_ok=True)
        with open(data / "samples.tsv") as fh:
            self.rows = {r["sample"]: r for r in csv.DictReader(fh, delimiter="\t")}
        self.fasta, self.gff3 = data / "genome.fa.gz", data / "genes.gff3"
        self.targets = out / "targets.bed"
        write_targets(data / "targets.bed", None, self.targets)
        self.index = build_index(self.fasta, out / "index", "bwa")
        self.pool = sorted(s for s, r in self.rows.items() if r["type"] in ("normal", "germline"))
        all_tumours = sorted(s for s, r in self.rows.items() if r["type"] == "tumor")
        self.tumours = [t for t in all_tumours if tumours is None or t in tumours]
        self.normal = {
            t: next((s for s, r in self.rows.items() if r["patient"] == self.rows[t]["patient"]
                     and r["type"] == "normal"), None)
            for t in self.tumours
        }  # fmt: skip
        self.plan = {
            t: tumour_plan(stage="fastq", matched_normal=bool(self.normal[t]), pool=len(self.pool), cna=None,
                           fusions=None, gene_models=True)
            for t in self.tumours
        }  # fmt: skip
        self.pairs = {t: count_pairs(Path(self.rows[t]["fastq1"])) for t in self.tumours}

    def bam(self, s: str) -> Path:
        return self.out / "bams" / f"{s}.bam"

    def align(self, s: str) -> dict[str, float]:
        from seq2rx.reads.align import align_unsorted, sort_markdup

        (self.out / "bams").mkdir(exist_ok=True)
        u = self.out / "bams" / f"{s}.unsorted.bam"
        t0 = time.perf_counter()
        align_unsorted(self.rows[s]["fastq1"], self.rows[s]["fastq2"], self.index, u, s, threads=2)
        t1 = time.perf_counter()
        sort_markdup(u, self.bam(s), self.out / "bams" / f"{s}.markdup.txt", threads=2)
        t2 = time.perf_counter()
        return {"align": t1 - t0, "markdup": t2 - t1}

    def shared(self) -> dict[str, float]:
        """The run's once-only tumour jobs this run needs (cnvkit_access, msi_sites, and for tumour-only
        samples cnvkit_reference and msi_baseline)."""
        from seq2rx.tumour import (
            CopyNumberParams,
            MsiParams,
            build_baseline,
            build_reference,
            find_microsatellites,
            read_microsatellites,
            write_access,
            write_baseline,
            write_microsatellites,
        )  # fmt: skip

        cfg = load_config()
        times = {}
        t0 = time.perf_counter()
        write_access(self.fasta, self.out / "access.bed")
        times["cnvkit_access"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        sites = find_microsatellites(self.fasta, self.targets, params=MsiParams.from_config(cfg["msi"]))
        write_microsatellites(sites, self.out / "sites.tsv")
        times["msi_sites"] = time.perf_counter() - t0
        if any(p["copy_number"]["how"] == "cnvkit-pooled" for p in self.plan.values()):
            t0 = time.perf_counter()
            build_reference([self.bam(s) for s in self.pool], fasta=self.fasta, out=self.out / "reference.cnn",
                            targets=self.targets, access=self.out / "access.bed", matched=False,
                            params=CopyNumberParams.from_config(cfg["copy_number"]))  # fmt: skip
            times["cnvkit_reference"] = time.perf_counter() - t0
        if any(p["msi"]["how"] == "msisensor-baseline" for p in self.plan.values()):
            t0 = time.perf_counter()
            baseline = build_baseline([self.bam(s) for s in self.pool], read_microsatellites(self.out / "sites.tsv"),
                                      params=MsiParams.from_config(cfg["msi"]))  # fmt: skip
            write_baseline(baseline, self.out / "baseline.tsv")
            times["msi_baseline"] = time.perf_counter() - t0
        return times

    def tumour_steps(self, t: str) -> dict[str, float]:
        """copy_number, fusions and MSI of tumour ``t``, as scripts/cnvkit_copy_number.py, fusions_call.py
        and msi_score.py call them."""
        from seq2rx import actionability
        from seq2rx.tumour import (
            CopyNumberParams,
            FusionParams,
            MsiParams,
            call_fusions,
            copy_number,
            msi_score,
            write_fusions,
        )
        from seq2rx.tumour import msi as msi_io

        cfg = load_config()
        plan, normal, res = self.plan[t], self.normal[t], self.out / "results"
        res.mkdir(exist_ok=True)
        times = {}
        t0 = time.perf_counter()
        matched = plan["copy_number"]["how"] == "cnvkit-matched"
        copy_number(
            self.bam(t), [self.bam(normal)] if matched else [], fasta=self.fasta, gff3=self.gff3,
            prefix=res / t, reference=None if matched else self.out / "reference.cnn",
            targets=self.targets, access=self.out / "access.bed", matched=matched, sex=self.rows[t]["sex"],
            params=CopyNumberParams.from_config(cfg["copy_number"]),
        )  # fmt: skip
        times["copy_number"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        genes = actionability.fusion_genes(actionability.load(KB))
        calls = call_fusions(self.bam(t), self.fasta, self.gff3, genes, params=FusionParams.from_config(cfg["fusions"]),
                             kinase_domains=KB / "kinase_domains.tsv")  # fmt: skip
        write_fusions(calls, res / f"{t}.fusions.tsv", res / f"{t}.fusions.json", sample=t)
        times["fusions"] = time.perf_counter() - t0
        times["fusions_found"] = [f"{f.five_prime}::{f.three_prime}" for f in calls.fusions if f.call == "fusion"]
        t0 = time.perf_counter()
        mode = plan["msi"]["how"]
        result, rows = msi_score(
            mode, sites=self.out / "sites.tsv", tumour_bam=self.bam(t),
            normal_bam=self.bam(normal) if mode == "msisensor-paired" else None,
            baseline=self.out / "baseline.tsv" if mode == "msisensor-baseline" else None,
            fasta=self.fasta, params=MsiParams.from_config(cfg["msi"]),
        )  # fmt: skip
        msi_io.write_json(result, res / f"{t}.msi.json")
        msi_io.write_sites(rows, res / f"{t}.msi_sites.tsv")
        times["msi"] = time.perf_counter() - t0
        times["msi_status"] = result["status"]
        times["modes"] = [plan["copy_number"]["how"], plan["fusions"]["how"], mode]
        return times


def bench(run: Run, repeats: int, log) -> dict:
    # the normals (the tumours are aligned by round 1, before their steps)
    for s in run.pool:
        if not run.bam(s).exists():
            run.align(s)
    per: dict[str, dict[str, list]] = {t: {} for t in run.tumours}
    shared: dict[str, list[float]] = {}
    for k in range(repeats):
        for t in run.tumours:
            order = ["align", "steps"] if k % 2 == 0 else ["steps", "align"]
            for what in order:
                if what == "align":
                    got = run.align(t)
                else:
                    if t == run.tumours[0]:
                        for name, dt in run.shared().items():
                            shared.setdefault(name, []).append(dt)
                    got = run.tumour_steps(t)
                for name, v in got.items():
                    per[t].setdefault(name, []).append(v)
            log(f"round {k + 1} {t}: " + ", ".join(f"{n} {min(v):.2f}" for n, v in per[t].items()
                                                   if isinstance(v[0], float)))  # fmt: skip
    return {"per_tumour": per, "shared": shared}


def summarise(name: str, run: Run, got: dict, imports: dict[str, float]) -> dict:
    rows = {}
    for t, m in got["per_tumour"].items():
        best = {n: min(v) for n, v in m.items() if isinstance(v[0], float)}
        align = best["align"] + best["markdup"]
        steps = best["copy_number"] + best["fusions"] + best["msi"]
        align_job = align + imports["align"] + imports["markdup"]
        steps_job = steps + imports["copy_number"] + imports["fusions"] + imports["msi"]
        rows[t] = {
            "read_pairs": run.pairs[t],
            "modes": m["modes"][0],
            "fusions_found": m["fusions_found"][0],
            "msi_status": m["msi_status"][0],
            "align_s": round(align, 3),
            "copy_number_s": round(best["copy_number"], 3),
            "fusions_s": round(best["fusions"], 3),
            "msi_s": round(best["msi"], 3),
            "steps_s": round(steps, 3),
            "ratio_compute": round(steps / align, 3),
            "align_job_s": round(align_job, 3),
            "steps_jobs_s": round(steps_job, 3),
            "ratio_jobs": round(steps_job / align_job, 3),
            "rounds": {n: [round(x, 3) for x in v] for n, v in m.items() if isinstance(v[0], float)},
        }
    shared = {n: round(min(v), 3) for n, v in got["shared"].items()}
    return {"data": name, "tumours": rows, "shared_per_run_s": shared}


def table(results: list[dict], imports: dict[str, float]) -> str:
    head = ("| data | tumour | pairs | align (s) | copy number (s) | fusions (s) | MSI (s) | sum (s) | ratio |"
            " ratio per job (+ imports) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")  # fmt: skip
    lines = []
    for r in results:
        for t, x in r["tumours"].items():
            lines.append(
                f"| {r['data']} | {t} | {x['read_pairs']:,} | {x['align_s']:.2f} | {x['copy_number_s']:.2f} | "
                f"{x['fusions_s']:.2f} | {x['msi_s']:.2f} | {x['steps_s']:.2f} | {x['ratio_compute']:.2f} | "
                f"{x['ratio_jobs']:.2f} |"
            )
    imp = ", ".join(f"{k} {v:.2f} s" for k, v in imports.items())
    return head + "\n".join(lines) + f"\n\nper-job interpreter + imports: {imp}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=1_000_000, help="read pairs of the large tumour (0: skip it)")
    ap.add_argument("--workdir", type=Path, default=Path("bench-tumour"), help="scratch folder (about 1 GB)")
    ap.add_argument("--repeats", type=int, default=2, help="rounds per data set; the best is kept")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    demo, big = simulate(args.workdir, args.pairs if args.pairs else 28_000)
    log("simulated")
    imports = {k: round(import_cost(code), 3) for k, code in IMPORTS.items()}
    log(f"imports {imports}")
    results = []
    sets = [("demo", demo, None)] + ([("1M-pair", big, ["P11-T"])] if args.pairs else [])
    for name, data, tumours in sets:
        run = Run(data, args.workdir / f"run-{name}", tumours)
        results.append(summarise(name, run, bench(run, args.repeats, log), imports))
    doc = {"imports_s": imports, "results": results, "cpus": os.cpu_count(), "repeats": args.repeats}
    print(table(results, imports))
    print(json.dumps({r["data"]: r["shared_per_run_s"] for r in results}))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
