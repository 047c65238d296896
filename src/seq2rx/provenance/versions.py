"""Versions of the tools a step ran, recorded beside its outputs (as nf-core modules do)."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from seq2rx.core.io import atomic_output

_BUNDLED = {"samtools": "__samtools_version__", "bcftools": "__bcftools_version__", "htslib": "__htslib_version__"}


#: command-line programs (not Python packages) whose version a step may record: how to ask them
_PROGRAMS = {"delly": ("delly", "--version")}


def _program_version(name: str) -> str:
    """The version a program prints (delly: "Delly version: v1.1.6" -> "1.1.6"), or "not installed"."""
    import re
    import shutil
    import subprocess

    cmd = _PROGRAMS[name]
    if shutil.which(cmd[0]) is None:
        return "not installed"
    out = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    m = re.search(r"v?(\d+(?:\.\d+)+)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def tool_version(name: str) -> str:
    """Version of a Python package, or of samtools/bcftools/htslib as bundled in pysam."""
    if name in _BUNDLED:
        import pysam.version

        return f"{getattr(pysam.version, _BUNDLED[name])} (pysam {pysam.version.__version__})"
    if name in _PROGRAMS:
        return _program_version(name)
    if name == "seq2rx":
        from seq2rx import __version__

        return __version__
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def write_versions(path: str | Path, step: str, tools: list[str], *, extra: dict[str, str] | None = None) -> dict:
    """Write a step's record: its tools' versions, and ``extra`` facts about what it ran (e.g. which
    aligner index it used)."""
    record = {"step": step, "tools": {t: tool_version(t) for t in sorted(tools)}, **(extra or {})}
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def combine_versions(path: str | Path, step: str, records: list[str | Path], tools: list[str]) -> dict:
    """One record for a step that ran as several jobs (the chunks of a split alignment): the tools
    their records name, plus ``tools`` of the job that combines them. A tool the jobs ran in
    different versions (nodes with different environments) keeps all of them, sorted and joined
    with ", ", so the record never claims one version that not every job ran."""
    seen: dict[str, set[str]] = {}
    for p in records:
        for tool, ver in json.loads(Path(p).read_text())["tools"].items():
            seen.setdefault(tool, set()).add(ver)
    found = {tool: ", ".join(sorted(vers)) for tool, vers in seen.items()}
    found.update({t: tool_version(t) for t in tools})
    record = {"step": step, "tools": dict(sorted(found.items()))}
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def merge(paths: list[str | Path]) -> dict[str, dict[str, str]]:
    """Per-step version records as one {step: {tool: version}} mapping."""
    merged: dict[str, dict[str, str]] = {}
    for p in sorted(map(str, paths)):
        rec = json.loads(Path(p).read_text())
        merged.setdefault(rec["step"], {}).update(rec["tools"])
    return merged


def collect(paths: list[str | Path], out: str | Path) -> dict:
    """Merge per-step version records into one {step: {tool: version}} document."""
    merged = merge(paths)
    with atomic_output(out) as tmp:
        Path(tmp).write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged
