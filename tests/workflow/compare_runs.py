"""Compare the results of two runs of the workflow: what must not change between runs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pysam

#: lines that record how a third-party tool ran (thread count, its temporary paths), not what it found
RUN_RECORD = (b"Command line parameters:", b"Processing paired-end reads on", b"COMMAND: samtools markdup")
#: files that embed the run's date or a random ID (MultiQC's own HTML and data folder; seq2rx's
#: tables inside it are compared), the provenance record (compared by its checksums below), and
#: the DuckDB file, whose header and block layout differ between builds (its content is compared
#: through results/cohort/tables.tsv and the Parquet shards)
SKIP = (
    "results/qc/multiqc/multiqc_report_data/",
    "results/qc/multiqc/multiqc_report.html",
    "results/provenance.json",
    "results/cohort.duckdb",
)
#: provenance entries whose checksums cover run-record lines, MultiQC's dated files or DuckDB's file
RUN_RECORDS = ("qc/multiqc/multiqc_report", "qc/cutadapt/", "qc/markdup/", "cohort.duckdb")


def content(path: Path) -> bytes | list[str]:
    """What must not change between runs: a file's bytes, a gzip's text, a BAM's records; tool
    reports without their run-record lines (cutadapt's and samtools markdup's thread count)."""
    if path.suffix == ".bam":
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


def assert_same_outputs(dir_a: Path, dir_b: Path) -> None:
    """``results/`` of two run folders hold the same files with the same content (gzip contents
    and BAM records compared, indexes and the files in ``SKIP`` left out), and their provenance
    records agree on the inputs and on every output checksum but those of ``RUN_RECORDS``."""
    dir_a, dir_b = Path(dir_a), Path(dir_b)
    first = {p.relative_to(dir_a) for p in (dir_a / "results").rglob("*") if p.is_file()}
    second = {p.relative_to(dir_b) for p in (dir_b / "results").rglob("*") if p.is_file()}
    assert sorted(map(str, first ^ second)) == []
    differ = [
        str(rel)
        for rel in sorted(first)
        if not str(rel).startswith(SKIP) and not str(rel).endswith((".tbi", ".bai", ".csi"))
        and content(dir_a / rel) != content(dir_b / rel)
    ]  # fmt: skip
    assert differ == []
    records = [json.loads((d / "results/provenance.json").read_text()) for d in (dir_a, dir_b)]
    sums = [{e["path"]: e["sha256"] for e in r["outputs"] if not e["path"].startswith(RUN_RECORDS)} for r in records]
    assert sums[0] == sums[1] and records[0]["inputs"] == records[1]["inputs"]
