"""Shared fixtures: the repository, the real validation data, and a small simulated data set."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the clone, or skip: a user's clone has no such folder."""
    if not SHARED.is_dir():
        pytest.skip(f"real validation data not found at {SHARED} (only present in the developers' checkout)")
    return SHARED


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """The demo genome and two patients at 12x: quick to simulate, enough to align and call."""
    import yaml

    from seq2rx.sim import simulate

    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["coverage"] = 12
    spec["patients"] = [p for p in spec["patients"] if p["id"] in ("P1", "P8")]
    out = tmp_path_factory.mktemp("small_demo")
    (out / "spec.yaml").write_text(yaml.safe_dump(spec))
    simulate(out / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", out / "data")
    return out / "data"


def repeat_genome(fasta: Path, rng) -> dict[str, str]:
    """Write and return two random contigs: chrA holds an N gap (two islands to lift back) and a
    1.5 kb segment on both sides of it (reads there have two equally good hits), chrB 15 kb."""
    bases = __import__("numpy").array(list("ACGT"))

    def rand(n: int) -> str:
        return "".join(bases[rng.integers(0, 4, n)])

    repeat = rand(1500)
    contigs = {
        "chrA": rand(20000) + repeat + rand(8000) + "N" * 3000 + rand(6000) + repeat + rand(12000),
        "chrB": rand(15000),
    }
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in contigs.items()))
    return contigs


def write_reference(directory: Path, contig: str, seq: str) -> Path:
    """A one-contig FASTA with its .fai, for tests that need a tiny reference."""
    import pysam

    fa = directory / "ref.fa"
    fa.write_text(f">{contig}\n{seq}\n")
    pysam.faidx(str(fa))
    return fa


def htslib_warnings(vcf: Path) -> list[str]:
    """What htslib prints while ``bcftools view`` reads ``vcf`` (its header sanity check, undeclared
    tags, ...): run in a subprocess, as htslib writes to the process's own stderr."""
    import subprocess
    import sys

    code = "import sys, pysam, pysam.bcftools; pysam.bcftools.view(sys.argv[1])"
    proc = subprocess.run([sys.executable, "-c", code, str(vcf)], capture_output=True, text=True, check=True)
    return [line for line in proc.stderr.splitlines() if line.strip()]


def read_only_query(database: Path, sql: str, params: dict | None = None) -> list[tuple]:
    """Rows of one plain query on a DuckDB file opened read-only (the independent check of a CDM fact)."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()
