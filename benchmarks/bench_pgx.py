"""PGx throughput on the reference tool's 100-sample workload (``100samples.vcf.bgz``).

Times, in one process and alternating over ``--repeats`` rounds:

* floor: reading every record of the VCF with pysam and touching each sample's genotype
  (what any VCF-based tool must pay);
* seq2rx: the whole PGx step for all samples: genotypes at every definition position,
  diplotype matching, phenotype, and drug guidance (``call_vcf``), knowledge base loaded once
  beforehand (its load time is reported separately).

The reference tool publishes 1.2-5.9 s per sample; it is a Java program not installable here,
so that figure is quoted, not re-measured. Per-sample time is total / samples.

    python benchmarks/bench_pgx.py --vcf ../shared/data/pharmcat/100samples.vcf.bgz
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import pysam

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx.pgx.pipeline import PgxKnowledge, call_vcf  # noqa: E402


def floor(vcf: Path) -> int:
    n = 0
    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
        for rec in fh:
            for s in samples:
                n += rec.samples[s]["GT"] is not None
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vcf", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--kb", type=Path, default=Path(__file__).resolve().parents[1] / "resources/kb/pgx")
    args = ap.parse_args()
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
    result = {
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
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
