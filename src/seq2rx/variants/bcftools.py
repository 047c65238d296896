"""bcftools through pysam: one call per command, and VCF headers free of paths."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pysam
import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)


def run_bcftools(cmd: str, *args: str) -> None:
    """Run ``bcftools CMD ARGS``, writing where ``-o`` says (pysam would otherwise capture stdout)."""
    getattr(pysam.bcftools, cmd)(*args, catch_stdout=False)


def clean_header(vcf: str | Path, out: str | Path) -> None:
    """Rewrite ``vcf`` to ``out`` with a header free of paths (``##reference`` keeps a basename)."""
    text = pysam.bcftools.view("--no-version", "-h", str(vcf))
    lines = []
    for line in text.splitlines():
        if line.startswith("##reference="):
            ref = line.split("=", 1)[1].removeprefix("file://")
            line = f"##reference={os.path.basename(ref)}"
        lines.append(line)
    with tempfile.NamedTemporaryFile("w", suffix=".hdr", delete=False) as fh:
        fh.write("\n".join(lines) + "\n")
        hdr = fh.name
    try:
        run_bcftools("reheader", "-h", hdr, "-o", str(out), str(vcf))
    finally:
        os.unlink(hdr)
