"""seq2rx.ops.rundiff: which differences between two runs count, and which are named exceptions."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pysam
import pytest

from seq2rx.ops.rundiff import compare_runs, main


def _run(root: Path, *, calls: str = "chr1\t10\tA\tG\n", cores: int = 2, level: int = 6) -> Path:
    res = root / "results"
    (res / "calls").mkdir(parents=True)
    (res / "calls/S1.vcf.gz").write_bytes(gzip.compress(calls.encode(), compresslevel=level, mtime=0))
    (res / "calls/S1.vcf.gz.tbi").write_bytes(bytes([cores]))  # indexes are not compared
    (res / "qc/cutadapt").mkdir(parents=True)
    (res / "qc/cutadapt/S1.cutadapt.json").write_text(json.dumps({"cores": cores, "reads": 100}))
    (res / "qc/cutadapt/S1.txt").write_text(f"Processing paired-end reads on {cores} cores ...\nTrimmed 7 reads\n")
    (res / "qc/multiqc/multiqc_report_data").mkdir(parents=True)
    (res / "qc/multiqc/multiqc_report.html").write_text(f"<p>made on day {cores}</p>")
    (res / "table.tsv").write_text("gene\tcall\nCYP2C19\t*2/*2\n")
    outputs = [
        {"path": "calls/S1.vcf.gz", "sha256": "a"},
        {"path": "qc/cutadapt/S1.txt", "sha256": f"run-record-{cores}"},  # excepted, like the file
    ]
    (res / "provenance.json").write_text(json.dumps({"outputs": outputs, "inputs": [{"path": "r1", "sha256": "x"}]}))
    return root


def test_identical_results_up_to_the_named_exceptions(tmp_path):
    a = _run(tmp_path / "a", cores=2, level=6)
    b = _run(tmp_path / "b", cores=1, level=1)  # other thread count, other gzip blocks
    diff = compare_runs(a, b)
    assert diff.same, diff.report()
    # VCF, cutadapt JSON and text report, the table; not the index, MultiQC's HTML or provenance.json
    assert diff.compared == 4


def test_a_changed_table_a_missing_file_and_a_changed_checksum_are_named(tmp_path):
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b", calls="chr1\t10\tA\tT\n")
    (b / "results/table.tsv").write_text("gene\tcall\nCYP2C19\t*1/*2\n")
    (a / "results/extra.json").write_text("{}")
    record = json.loads((b / "results/provenance.json").read_text())
    record["outputs"][0]["sha256"] = "b"
    (b / "results/provenance.json").write_text(json.dumps(record))
    diff = compare_runs(a, b)
    assert not diff.same
    assert diff.differ == ["results/calls/S1.vcf.gz", "results/table.tsv"]
    assert diff.only_in_a == ["results/extra.json"] and diff.only_in_b == []
    assert diff.provenance == ["checksum of calls/S1.vcf.gz"]
    assert "RESULTS DIFFER" in diff.report()


def test_bams_are_compared_by_records(tmp_path):
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 1000}]}

    def bam(path: Path, seq: str, command: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with pysam.AlignmentFile(str(path), "wb", header={**header, "CO": [command]}) as fh:
            rec = pysam.AlignedSegment(fh.header)
            rec.query_name, rec.reference_id, rec.reference_start = "r1", 0, 99
            rec.query_sequence, rec.cigarstring, rec.mapping_quality = seq, f"{len(seq)}M", 60
            fh.write(rec)

    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    bam(a / "results/align/S1.bam", "ACGT", "sort -@ 2")
    bam(b / "results/align/S1.bam", "ACGT", "sort -@ 1")  # same record, the header records other threads
    assert (a / "results/align/S1.bam").read_bytes() != (b / "results/align/S1.bam").read_bytes()
    assert compare_runs(a, b).same
    bam(b / "results/align/S1.bam", "ACGA", "sort -@ 1")
    assert compare_runs(a, b).differ == ["results/align/S1.bam"]


def test_command_line_exit_codes(tmp_path, capsys):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    assert main([str(a), str(b)]) == 0
    (b / "results/table.tsv").write_text("changed\n")
    assert main([str(a), str(b)]) == 1
    assert "differ: results/table.tsv" in capsys.readouterr().out
    assert main([str(a), str(tmp_path / "nowhere")]) == 2
    assert "no results/ folder" in capsys.readouterr().err


@pytest.mark.parametrize("line", [b"Command line parameters: -j 2", b"COMMAND: samtools markdup -@ 2 /tmp/x"])
def test_run_record_lines_only_at_line_start(tmp_path, line):
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    (a / "results/qc/cutadapt/S1.txt").write_bytes(line + b"\nTrimmed 7 reads\n")
    assert compare_runs(a, b).same
    # the same words later in a line are content, not a run record
    (a / "results/qc/cutadapt/S1.txt").write_bytes(b"x " + line + b"\nTrimmed 7 reads\n")
    assert compare_runs(a, b).differ == ["results/qc/cutadapt/S1.txt"]


def test_multiqc_data_is_compared_and_only_its_page_is_not(tmp_path):
    """MultiQC's data folder is a result like any other (its dates and paths are taken out when it
    is written); only its HTML page, which carries random IDs, is left out."""
    a, b = _run(tmp_path / "a"), _run(tmp_path / "b")
    for run, count in ((a, 3), (b, 4)):
        (run / "results/qc/multiqc/multiqc_report_data/multiqc_general_stats.txt").write_text(f"S1\t{count}\n")
    assert compare_runs(a, b).differ == ["results/qc/multiqc/multiqc_report_data/multiqc_general_stats.txt"]
