"""``results/provenance.json``: what a run used and made, as a tamper-evident chain of checksums.

The record lists the configuration checksum, tool and library versions, the knowledge bases
(every file's SHA-256 and its newest row date), the inputs named in the sample sheet, and every
output under ``results/`` in path order. Each output's entry carries ``chain`` = SHA-256 of the
previous entry's chain, its path and its checksum, so editing, removing or adding any file, or
editing the record itself, is detected by :func:`verify` (``seq2rx verify results/``). No
timestamps and no absolute paths: the same run gives the same record.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import write_json

RECORD = "provenance.json"
GENESIS = "0" * 64


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _link(prev: str, rel: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}\n{rel}\n{digest}".encode()).hexdigest()


METADATA = ("seq2rx_version", "config_sha256", "tools", "knowledge_bases", "inputs")


def _genesis(record: dict) -> str:
    """The chain starts from a hash of the run's description, so editing it breaks the chain too."""
    meta = json.dumps({k: record.get(k) for k in METADATA}, sort_keys=True)
    return hashlib.sha256(f"{GENESIS}\n{meta}".encode()).hexdigest()


def _portable(path: str | Path, base: Path) -> str:
    """A path as the run names it: relative to the working directory, else just the file name."""
    p = Path(path)
    try:
        return p.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return p.as_posix() if not p.is_absolute() else p.name


def outputs(results: Path) -> list[Path]:
    return sorted(p for p in results.rglob("*") if p.is_file() and p.name != RECORD and not p.name.startswith("."))


def _kb(kb_dir: Path) -> dict:
    files, latest = [], ""
    for f in sorted(kb_dir.glob("*.tsv")):
        files.append({"path": f.name, "sha256": sha256(f)})
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                latest = max(latest, row.get("date") or "")
    return {"files": files, "latest_row_date": latest}


def build(
    results: str | Path,
    config_sha256: str,
    tools: dict,
    kb_dirs: dict[str, str | Path],
    inputs: list[str | Path],
    seq2rx_version: str,
) -> dict:
    results = Path(results)
    base = Path.cwd()
    record = {
        "seq2rx_version": seq2rx_version,
        "config_sha256": config_sha256,
        "tools": tools,
        "knowledge_bases": {name: _kb(Path(d)) for name, d in sorted(kb_dirs.items())},
        "inputs": [{"path": _portable(i, base), "sha256": sha256(i)} for i in sorted(map(str, inputs))],
    }
    chain, entries = _genesis(record), []
    for p in outputs(results):
        rel = p.relative_to(results).as_posix()
        digest = sha256(p)
        chain = _link(chain, rel, digest)
        entries.append({"path": rel, "sha256": digest, "bytes": p.stat().st_size, "chain": chain})
    return {**record, "outputs": entries, "head": chain}


def write(record: dict, results: str | Path) -> Path:
    path = Path(results) / RECORD
    write_json(record, path)
    return path


def verify(results: str | Path) -> dict[str, list[str]]:
    """Recompute every checksum and the chain; return what was edited, removed or added."""
    results = Path(results)
    path = results / RECORD
    try:
        record = json.loads(path.read_text())
        listed = record["outputs"]
        if not isinstance(record, dict) or not all(
            isinstance(e, dict) and {"path", "sha256", "chain"} <= e.keys() for e in listed
        ):
            raise ValueError("an output entry lacks path, sha256 or chain")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"is not a seq2rx provenance record ({exc})") from None
    problems: dict[str, list[str]] = {"edited": [], "removed": [], "added": [], "record": []}
    chain, broken = _genesis(record), False
    for entry in listed:
        chain = _link(chain, entry["path"], entry["sha256"])
        if chain != entry["chain"] and not broken:
            problems["record"].append(f"chain breaks at {entry['path']}: the record itself was edited")
            broken = True
        f = results / entry["path"]
        if not f.resolve().is_relative_to(results.resolve()):
            problems["record"].append(f"{entry['path']} points outside {results}")
            continue
        if not f.exists():
            problems["removed"].append(entry["path"])
        elif sha256(f) != entry["sha256"]:
            problems["edited"].append(entry["path"])
    if chain != record.get("head") and not broken:
        problems["record"].append("the chain's head does not match: entries were removed from the record")
    known = {e["path"] for e in listed}
    problems["added"] = [p.relative_to(results).as_posix() for p in outputs(results)
                         if p.relative_to(results).as_posix() not in known]  # fmt: skip
    return problems
