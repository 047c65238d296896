"""Adapter and quality trimming with cutadapt, keeping its text and JSON reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seq2rx.core.errors import ToolError
from seq2rx.core.io import atomic_output, scratch_dir, write_json
from seq2rx.reads.fastq import inspect_pairs, write_pairs


def trim_pairs(
    r1: str | Path,
    r2: str | Path | None,
    out1: str | Path,
    out2: str | Path,
    report_json: str | Path,
    report_txt: str | Path,
    adapter_r1: str,
    adapter_r2: str,
    min_quality: int = 20,
    min_length: int = 30,
    threads: int = 1,
    *,
    phred64: str = "stop",
    reads_report: str | Path | None = None,
) -> dict:
    """Trim 3' adapters and low-quality tails from a read pair set; drop short pairs.

    ``r2`` is None for one interleaved file. The inputs are first checked record by record
    (:class:`seq2rx.reads.fastq.FastqPairs`), so a truncated gzip, a malformed record, unpaired
    mates, Phred+64 qualities or bases that are not nucleotides stop the run with the file and
    line instead of a cutadapt traceback or a wrong result. When reading had to change something
    cutadapt would read differently (mate suffixes in the names, an interleaved file, Phred+64
    converted on request, lower-case or IUPAC bases, a plain file named ``.gz``), cutadapt reads a
    normalised copy instead, so the trimmed reads carry one name per pair, as BWA would give them.
    What was found is returned, printed to the log and, when ``reads_report`` is given, written
    there as JSON. Outputs appear only when cutadapt succeeded.
    """
    report = inspect_pairs(r1, r2, phred64=phred64)
    for note in report.notes:
        print(f"seq2rx: note: {note}", file=sys.stderr)
    print(f"seq2rx: reads: {report.as_dict()}", file=sys.stderr)
    with scratch_dir(out1) as td:
        in1, in2 = r1, r2 if r2 is not None else r1
        if report.changed:
            in1, in2 = Path(td) / "R1.fastq", Path(td) / "R2.fastq"
            write_pairs(r1, r2, in1, in2, phred64=phred64)
        cmd = ["-a", adapter_r1, "-A", adapter_r2, "-q", str(min_quality), "-m", str(min_length)]
        cmd += ["-j", str(max(1, threads))]
        _cutadapt(cmd, (in1, in2), (r1, r2 if r2 is not None else r1), (out1, out2), report_json, report_txt)
    summary = report.as_dict()
    if reads_report is not None:
        write_json(summary, reads_report)
    return summary


def _cutadapt(options: list[str], inputs, given, outputs, report_json, report_txt) -> None:
    """Run cutadapt with ``options`` on ``inputs``; its reports name the ``given`` files instead."""
    (in1, in2), (out1, out2) = inputs, outputs
    with (
        atomic_output(out1) as t1,
        atomic_output(out2) as t2,
        atomic_output(report_json) as tj,
        atomic_output(report_txt) as tt,
    ):
        cmd = [
            sys.executable,
            "-m",
            "cutadapt",
            *options,
            "--compression-level",
            "1",
            "--json",
            str(tj),
            "-o",
            str(t1),
            "-p",
            str(t2),
            str(in1),
            str(in2),
        ]
        with open(tt, "w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise ToolError("cutadapt", f"failed with exit status {proc.returncode}: {proc.stderr[-2000:]}")
        # the report names the temporary files; give it the real names back
        for tmp in (tt, tj):
            text = Path(tmp).read_text()
            for a, b in ((in1, given[0]), (in2, given[1])):
                text = text.replace(str(a), str(b))
            for a, b in ((t1, out1), (t2, out2), (tj, report_json)):
                text = text.replace(str(a), Path(b).name)
            Path(tmp).write_text(text)
