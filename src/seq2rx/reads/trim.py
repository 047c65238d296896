"""Adapter and quality trimming with cutadapt, keeping its text and JSON reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seq2rx.core.io import atomic_output
from seq2rx.reads.fastq import read_pairs


def trim_pairs(
    r1: str | Path,
    r2: str | Path,
    out1: str | Path,
    out2: str | Path,
    report_json: str | Path,
    report_txt: str | Path,
    adapter_r1: str,
    adapter_r2: str,
    min_quality: int = 20,
    min_length: int = 30,
    threads: int = 1,
) -> None:
    """Trim 3' adapters and low-quality tails from a read pair set; drop short pairs.

    The inputs are first checked record by record (:func:`seq2rx.reads.fastq.read_pairs`), so a
    truncated gzip, a malformed record or unpaired mates stop the run with the file and line
    instead of a cutadapt traceback. Outputs appear only when cutadapt succeeded.
    """
    for _ in read_pairs(r1, r2):
        pass
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
            "-a",
            adapter_r1,
            "-A",
            adapter_r2,
            "-q",
            str(min_quality),
            "-m",
            str(min_length),
            "-j",
            str(max(1, threads)),
            "--compression-level",
            "1",
            "--json",
            str(tj),
            "-o",
            str(t1),
            "-p",
            str(t2),
            str(r1),
            str(r2),
        ]
        with open(tt, "w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"cutadapt failed ({proc.returncode}): {proc.stderr[-2000:]}")
        # the report names the temporary files; give it the real names back
        for tmp in (tt, tj):
            text = Path(tmp).read_text()
            for a, b in ((t1, out1), (t2, out2), (tj, report_json)):
                text = text.replace(str(a), Path(b).name)
            Path(tmp).write_text(text)
