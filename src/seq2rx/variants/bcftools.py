"""bcftools through pysam: one call per command, and VCF headers free of paths."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

from seq2rx.core.errors import ToolError

_STAGE = "import sys, pysam.bcftools; getattr(pysam.bcftools, sys.argv[1])(*sys.argv[2:], catch_stdout=False)"


def run_bcftools(cmd: str, *args: str) -> None:
    """Run ``bcftools CMD ARGS``, writing where ``-o`` says (pysam would otherwise capture stdout)."""
    getattr(pysam.bcftools, cmd)(*args, catch_stdout=False)


def pipe_bcftools(*stages: tuple[str, ...]) -> None:
    """Run ``bcftools A | bcftools B | ...`` (each stage a tuple ``(cmd, *args)``) as a pipeline.

    Every stage but the first reads ``-``; every stage but the last should write uncompressed
    BCF to stdout (``-O u``, no ``-o``); the last writes where its ``-o`` says. The stages run at
    the same time, each in its own process (pysam's bcftools runs in-process and cannot share a
    process), so a pileup of every covered position is neither compressed nor written to disk.
    A failing stage raises :class:`ToolError` with its message.
    """
    procs: list[tuple[str, subprocess.Popen, object]] = []
    prev = None
    try:
        for k, (cmd, *args) in enumerate(stages):
            err = tempfile.TemporaryFile()
            out = subprocess.PIPE if k < len(stages) - 1 else subprocess.DEVNULL
            proc = subprocess.Popen(
                [sys.executable, "-c", _STAGE, cmd, *args], stdin=prev or subprocess.DEVNULL, stdout=out, stderr=err
            )
            if prev is not None:
                prev.close()  # the next stage holds it now; a stage that dies gives its writer SIGPIPE
            prev = proc.stdout
            procs.append((cmd, proc, err))
        failed = [(cmd, err) for cmd, proc, err in procs if proc.wait() != 0]
        if failed:
            cmd, err = failed[0]  # the first stage that failed: a later one may only have lost its input
            err.seek(0)
            text = err.read().decode(errors="replace").strip().splitlines()
            detail = next(
                (line for line in reversed(text) if "Error" in line or "rror:" in line), text[-1] if text else ""
            )
            raise ToolError(f"bcftools {cmd}", f"failed: {detail[-2000:]}")
    finally:
        for _cmd, proc, err in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.close()


#: header declarations htslib's sanity check wants other than some callers write them (VCF 4.3,
#: section 1.6.1: MQ is the RMS mapping quality, a Float; bcftools mpileup declares it Integer,
#: and htslib then warns "MQ should be declared as Type=Float" on every read). Only the
#: declaration changes: the values (whole numbers) read the same as a Float.
RESERVED_TYPES = {("INFO", "MQ"): "Float"}


def fix_declaration(line: str) -> str:
    """One header line with a reserved tag's Type as the VCF specification has it."""
    for (kind, tag), want in RESERVED_TYPES.items():
        if line.startswith(f"##{kind}=<ID={tag},"):
            return re.sub(r",Type=[A-Za-z]+,", f",Type={want},", line, count=1)
    return line


def header_text(vcf: str | Path) -> str:
    """The header of ``vcf`` as bcftools prints it, without htslib's warnings about it."""
    verbosity = pysam.set_verbosity(0)
    try:
        return pysam.bcftools.view("--no-version", "-h", str(vcf))
    finally:
        pysam.set_verbosity(verbosity)


def clean_header(vcf: str | Path, out: str | Path, extra: list[str] | None = None) -> None:
    """Rewrite ``vcf`` to ``out`` with a header free of paths (``##reference`` keeps a basename),
    reserved tags declared as the specification has them, and ``extra`` lines before ``#CHROM``."""
    lines = []
    for line in header_text(vcf).splitlines():
        if line.startswith("##reference="):
            ref = line.split("=", 1)[1].removeprefix("file://")
            line = f"##reference={os.path.basename(ref)}"
        if line.startswith("#CHROM"):
            lines.extend(extra or [])
        lines.append(fix_declaration(line))
    with tempfile.NamedTemporaryFile("w", suffix=".hdr", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        hdr = fh.name
    try:
        run_bcftools("reheader", "-h", hdr, "-o", str(out), str(vcf))
    finally:
        os.unlink(hdr)
