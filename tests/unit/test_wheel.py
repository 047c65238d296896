"""The data that installs: a wheel built from the checkout, installed (not editable) into a fresh
virtual environment, runs `seq2rx validate`, `seq2rx pgx` and `seq2rx annotate` from a folder outside
the checkout, reading schemas and knowledge bases from the installed package.

Building the wheel fetches setuptools into an isolated build environment; with no network that step
fails and the tests are skipped with pip's message. Under CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from test_cli import GFF3, SEQ  # the one-transcript gene: CDS 101-190, a missense change in codon 2

REPO = Path(__file__).resolve().parents[2]
#: top-level folders of a checkout that are not part of the package (and may be large)
NOT_COPIED = {"results", "demo", "logs", ".snakemake", ".git", "build", "dist"}
CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache"}
IN_THE_WHEEL = [
    "seq2rx/data/kb/pgx/allele_definitions.tsv",
    "seq2rx/data/kb/pgx/positions.tsv",
    "seq2rx/data/kb/actionability/biomarkers.tsv",
    "seq2rx/data/kb/actionability/genes.tsv",
    "seq2rx/data/kb/actionability/kinase_domains.tsv",
    "seq2rx/data/schemas/findings.schema.yaml",
    "seq2rx/data/schemas/config.schema.yaml",
    "seq2rx/data/schemas/samples.schema.yaml",
    "seq2rx/data/validation/similarity_real.tsv",
    "seq2rx/data/demo/demo.yaml",
    "seq2rx/report/templates/patient.html",
    "seq2rx/report/templates/cohort.html",
]
NO_NETWORK = (
    "Could not find a version that satisfies the requirement",
    "No matching distribution found",
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ProxyError",
    "ConnectTimeout",
    "Network is unreachable",
)

GT = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">'
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1"


def _copy_ignore(root: Path):
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).resolve() == root.resolve()
        return {n for n in names if n in CACHES or (top and n in NOT_COPIED) or n.endswith(".egg-info")}

    return ignore


def _env() -> dict[str, str]:
    """The environment without this checkout on PYTHONPATH: the venv must find its own seq2rx."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the checkout (symlinks kept), so the checkout gets no build/."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "checkout"
    shutil.copytree(REPO, src, symlinks=True, ignore=_copy_ignore(REPO))
    dist = tmp / "dist"
    proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(src)], tmp, 300)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        if not os.environ.get("CI") and any(s in proc.stdout + proc.stderr for s in NO_NETWORK):
            pytest.skip(f"cannot build the wheel without network (build requirements from PyPI):\n{tail}")
        pytest.fail(f"pip wheel failed:\n{tail}")
    (built,) = dist.glob("seq2rx-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed, not -e. The heavy dependencies come from the environment
    running the tests: its site-packages folder is named in a .pth file, so its packages import but
    its own .pth files (the editable install of this checkout) are not processed, and the venv's
    own site-packages, holding the wheel, comes first. (``system_site_packages`` would name the base
    interpreter's folder instead, which in CI's fresh virtual environment holds none of them.)"""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    own = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env_dir)
    here = sysconfig.get_paths()
    deps = sorted({here["purelib"], here["platlib"]})
    (Path(own.stdout.strip()) / "seq2rx-test-deps.pth").write_text("\n".join(deps) + "\n")
    proc = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index",
         "--ignore-installed", str(wheel)],
        env_dir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env_dir


@pytest.fixture()
def outside(tmp_path) -> Path:
    """A working folder that is not the checkout and holds none of its folders."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert not (work / "resources").exists() and not (work / "config").exists()
    return work


def test_the_wheel_carries_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in IN_THE_WHEEL if n not in names]
    assert missing == [], f"not in {wheel.name}: {missing}"
    assert not [n for n in names if "/__pycache__/" in n or n.endswith(".pyc")]


def test_the_venv_imports_the_installed_package(installed, outside):
    proc = _run(
        [str(installed / "bin" / "python"), "-c",
         "import json, seq2rx; from seq2rx.core.data import data_path; "
         "print(json.dumps([seq2rx.__file__, str(data_path('kb', 'pgx'))]))"],
        outside,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    module, kb = (Path(p) for p in json.loads(proc.stdout))
    assert module.resolve().is_relative_to(installed.resolve()), f"seq2rx imported from {module}"
    assert not module.resolve().is_relative_to(REPO.resolve())
    assert kb.resolve().is_relative_to(installed.resolve()) and (kb / "allele_definitions.tsv").is_file()


def _tiny_reference(work: Path) -> tuple[Path, Path]:
    fasta, gff3 = work / "ref.fa", work / "genes.gff3"
    fasta.write_text(f">chr1\n{SEQ}\n")
    (work / "ref.fa.fai").write_text(f"chr1\t{len(SEQ)}\t6\t{len(SEQ)}\t{len(SEQ) + 1}\n")
    gff3.write_text("\n".join(GFF3) + "\n")
    return fasta, gff3


def test_installed_validate(installed, outside):
    _tiny_reference(outside)
    fastq = "@r1\nACGT\n+\nIIII\n"
    (outside / "r1.fq").write_text(fastq)
    (outside / "r2.fq").write_text(fastq.replace("ACGT", "TGCA"))  # read 2 differs from read 1
    (outside / "samples.tsv").write_text(
        "sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\nS1\tP1\ttumor\tr1.fq\tr2.fq\tfemale\tCOAD\n"
    )
    (outside / "config.yaml").write_text(
        "samples: samples.tsv\nreference:\n  fasta: ref.fa\n  gff3: genes.gff3\n  build: GRCh38\n"
    )
    proc = _run([str(installed / "bin" / "seq2rx"), "validate", "--configfile", "config.yaml"], outside)
    assert proc.returncode == 0, proc.stderr
    assert "config.yaml: valid; 1 samples in samples.tsv" in proc.stdout


def test_installed_pgx(installed, outside):
    (outside / "p.vcf").write_text(
        "\n".join(["##fileformat=VCFv4.2", "##contig=<ID=chr10,length=135000000>", GT, COLUMNS,
                   "chr10\t94781859\t.\tG\tA\t.\tPASS\t.\tGT\t1/1"]) + "\n"
    )  # fmt: skip
    cmd = [str(installed / "bin" / "seq2rx"), "pgx", "--vcf", "p.vcf", "--json", "p.json", "--tsv", "p.tsv"]
    proc = _run(cmd, outside)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((outside / "p.json").read_text())
    assert doc["genes"]["CYP2C19"]["status"] == "not called"  # one record: the call is blocked
    assert (outside / "p.tsv").read_text().startswith("sample\tgene\t")


def test_installed_annotate(installed, outside):
    fasta, gff3 = _tiny_reference(outside)
    (outside / "v.vcf").write_text(
        "\n".join(["##fileformat=VCFv4.2", f"##contig=<ID=chr1,length={len(SEQ)}>", GT, COLUMNS,
                   "chr1\t104\t.\tA\tC\t50\tPASS\t.\tGT\t0/1"]) + "\n"
    )  # fmt: skip
    cmd = [str(installed / "bin" / "seq2rx"), "annotate", "--vcf", "v.vcf", "--fasta", fasta.name,
           "--gff3", gff3.name, "--tsv", "v.tsv"]  # fmt: skip
    proc = _run(cmd, outside)
    assert proc.returncode == 0, proc.stderr
    assert "p.Lys2Gln" in (outside / "v.tsv").read_text()
