"""Do two runs of the workflow hold the same results? Used by the reproducibility test (a
``--cores 1`` rerun against the ``--cores 2`` run) and by CI (a SLURM run against the local one).

    python -m seq2rx.ops.rundiff RUN_A RUN_B      # each a folder holding results/

What is compared, file by file under ``results/``: the bytes of text files, the decompressed
text of ``.gz`` files (bgzip blocks may be cut differently with other thread counts), and the
records of BAM files. Left out, and named here so that nothing else can slip through:

* MultiQC's HTML page, which embeds the run's date, a random report ID and random plot IDs
  (its data folder is compared: :func:`seq2rx.report.multiqc.portable_data` takes the date
  and the run folder's absolute paths out of it, and seq2rx's tables are files of their own);
* index files (``.tbi``, ``.bai``, ``.csi``), which follow from the files they index;
* ``provenance.json``, whose checksums are compared instead, less those of the files above and
  of the tool reports whose run-record lines differ;
* ``cohort.duckdb``, whose file header and block layout differ between builds of the same
  tables (its content is compared through ``results/cohort/tables.tsv`` and the Parquet shards);
* lines that record how a third-party tool ran rather than what it found (cutadapt's and
  samtools markdup's thread count and temporary paths).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: lines that record how a third-party tool ran (thread count, its temporary paths), not what it found
RUN_RECORD = (b"Command line parameters:", b"Processing paired-end reads on", b"COMMAND: samtools markdup")
#: files whose bytes legitimately differ between runs (paths relative to the run folder)
NOT_COMPARED = ("results/qc/multiqc/multiqc_report.html", "results/provenance.json", "results/cohort.duckdb")
INDEX_SUFFIXES = (".tbi", ".bai", ".csi")
#: provenance outputs (relative to results/) whose checksums follow from the exceptions above
RUN_RECORD_OUTPUTS = ("qc/multiqc/multiqc_report.html", "qc/cutadapt/", "qc/markdup/", "cohort.duckdb")


def content(path: Path) -> bytes | list[str]:
    """What must not change between runs: a file's bytes, a gzip's text, a BAM's records; tool
    reports without their run-record lines (cutadapt's and samtools markdup's thread count)."""
    if path.suffix == ".bam":
        import pysam

        with pysam.AlignmentFile(str(path)) as fh:
            return [r.to_string() for r in fh]
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes())
    data = path.read_bytes()
    if path.name.endswith(".cutadapt.json"):
        doc = json.loads(data)
        doc.pop("cores", None)
        doc.pop("command_line_arguments", None)
        return json.dumps(doc, sort_keys=True).encode()
    return b"\n".join(line for line in data.splitlines() if not line.startswith(RUN_RECORD))


@dataclass
class Difference:
    """The outcome of comparing two runs; ``same`` when nothing differs."""

    compared: int = 0
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.only_in_a or self.only_in_b or self.differ or self.provenance)

    def report(self) -> str:
        lines = [f"{self.compared} result files compared"]
        for label, items in (("only in the first run", self.only_in_a), ("only in the second run", self.only_in_b),
                             ("differ", self.differ), ("provenance", self.provenance)):  # fmt: skip
            lines += [f"{label}: {item}" for item in items]
        lines.append("same results" if self.same else "RESULTS DIFFER")
        return "\n".join(lines)


def _files(run: Path) -> set[str]:
    return {p.relative_to(run).as_posix() for p in (run / "results").rglob("*") if p.is_file()}


def _provenance(run: Path) -> tuple[dict[str, str], list]:
    record = json.loads((run / "results/provenance.json").read_text())
    sums = {e["path"]: e["sha256"] for e in record["outputs"] if not e["path"].startswith(RUN_RECORD_OUTPUTS)}
    return sums, record["inputs"]


def compare_runs(a: Path, b: Path) -> Difference:
    """Compare the ``results/`` folders of runs ``a`` and ``b`` (see the module docstring)."""
    a, b = Path(a), Path(b)
    for run in (a, b):
        if not (run / "results").is_dir():
            raise FileNotFoundError(f"{run}: no results/ folder to compare")
    first, second = _files(a), _files(b)
    diff = Difference(only_in_a=sorted(first - second), only_in_b=sorted(second - first))
    for rel in sorted(first & second):
        if rel.startswith(NOT_COMPARED) or rel.endswith(INDEX_SUFFIXES):
            continue
        diff.compared += 1
        if content(a / rel) != content(b / rel):
            diff.differ.append(rel)
    if "results/provenance.json" in first & second:
        (sums_a, inputs_a), (sums_b, inputs_b) = _provenance(a), _provenance(b)
        for path in sorted(sums_a.keys() | sums_b.keys()):
            if sums_a.get(path) != sums_b.get(path):
                diff.provenance.append(f"checksum of {path}")
        if inputs_a != inputs_b:
            diff.provenance.append("input checksums")
    return diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seq2rx.ops.rundiff", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("run_a", type=Path, help="folder holding the first run's results/")
    ap.add_argument("run_b", type=Path, help="folder holding the second run's results/")
    args = ap.parse_args(argv)
    try:
        diff = compare_runs(args.run_a, args.run_b)
    except FileNotFoundError as exc:
        print(f"seq2rx.ops.rundiff: {exc}", file=sys.stderr)
        return 2
    print(diff.report())
    return 0 if diff.same else 1


if __name__ == "__main__":
    sys.exit(main())
