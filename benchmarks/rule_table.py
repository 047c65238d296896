"""Wall time and peak memory per rule, from Snakemake's benchmark files of a finished run.

    python benchmarks/rule_table.py [RUN_DIR]     # RUN_DIR holds logs/benchmarks/<rule>/<job>.tsv

Prints a Markdown table: jobs, total and largest wall time (s) and largest max RSS (MB) per rule.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def summarise(run_dir: Path) -> list[tuple[str, int, float, float, float]]:
    rows = []
    for rule_dir in sorted(p for p in (run_dir / "logs" / "benchmarks").iterdir() if p.is_dir()):
        secs, rss = [], []
        for tsv in sorted(rule_dir.glob("*.tsv")):
            with open(tsv) as fh:
                for rec in csv.DictReader(fh, delimiter="\t"):
                    secs.append(float(rec["s"]))
                    rss.append(float(rec["max_rss"]) if rec["max_rss"] not in ("", "-", "NA") else 0.0)
        if secs:
            rows.append((rule_dir.name, len(secs), sum(secs), max(secs), max(rss)))
    return rows


def main() -> None:
    run_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    rows = summarise(run_dir)
    print("| rule | jobs | total wall (s) | slowest job (s) | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for name, n, total, slowest, rss in sorted(rows, key=lambda r: -r[2]):
        print(f"| {name} | {n} | {total:.1f} | {slowest:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
