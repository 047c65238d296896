"""No traceback reaches a user: every command-line entry point and every workflow script, fed a
corpus of broken inputs, either works or stops with a ``seq2rx:`` message.

The corpus (:data:`KINDS`) is what a user's file system hands over by mistake: an empty file,
binary garbage, a truncated gzip, a file of another format, a directory, a missing path and
non-UTF-8 text. Each kind is written at the path of every input at once, keeping the input's
name (so ``.vcf.gz`` stays ``.vcf.gz``); the step reads whichever it reads first.

The scripts are run with the inputs, outputs, params and wildcards Snakemake gives one job of
each rule on the demo configuration (built from the workflow's own DAG, so a new rule is covered
without editing this file), through ``test_bad_input``'s stand-in ``snakemake`` object, all in one
interpreter per kind for speed: an exception that leaves a script is handed to the hook the
script installed (:func:`seq2rx.core.io.log_stderr`), which prints a traceback for anything but
:class:`~seq2rx.core.errors.InputError` and :class:`~seq2rx.core.errors.ToolError`, exactly as
at the top of a real run.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_bad_input import RUNNER

from seq2rx.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
TRACEBACK = "Traceback (most recent call last)"

VCF = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t1\t.\tA\tC\t.\tPASS\t.\n"
FASTQ = "@r1\nACGT\n+\nIIII\n"


def _text(path: Path, kind: str) -> bytes:
    """The bytes of a broken file of ``kind`` named like ``path``."""
    name = path.name.lower()
    if kind == "empty":
        return b""
    if kind == "binary":
        return bytes(range(256)) * 8
    if kind == "truncated_gzip":
        return gzip.compress((VCF * 200).encode(), mtime=0)[:300]
    if kind == "wrong_format":  # a FASTQ where a VCF is wanted, a VCF anywhere else
        text = (FASTQ if ".vcf" in name or ".bcf" in name else VCF).encode()
    elif kind == "non_utf8":
        text = "sample\tcaf\xe9\tna\xefve\n".encode("latin-1") * 3
    else:
        raise ValueError(kind)
    return gzip.compress(text, mtime=0) if name.endswith((".gz", ".bgz")) else text


def plant(path: Path, kind: str) -> None:
    """Put a broken input of ``kind`` at ``path`` (nothing at all for ``missing``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "missing":
        return
    if kind == "directory":
        path.mkdir(exist_ok=True)
        return
    path.write_bytes(_text(path, kind))


KINDS = ("empty", "binary", "truncated_gzip", "wrong_format", "directory", "missing", "non_utf8")


# --------------------------------------------------------------------------- command line

#: one invocation per file-taking option of every subcommand; {f} is the broken file, {v} a valid
#: VCF for the options that need one beside the broken one, {o} a new output folder
INVOCATIONS = {
    "demo": [["demo", "--spec", "{f}", "--outdir", "{o}"], ["demo", "--sites", "{f}", "--outdir", "{o}"]],
    "compare-vcf": [["compare-vcf", "--truth", "{f}", "--query", "{v}"], ["compare-vcf", "--truth", "{v}",
                    "--query", "{f}"], ["compare-vcf", "--truth", "{v}", "--query", "{v}", "--regions", "{f}"]],
    "annotate": [["annotate", "--vcf", "{f}", "--fasta", "{f}", "--gff3", "{f}", "--tsv", "{o}/t.tsv"]],
    "pgx": [["pgx", "--vcf", "{f}", "--json", "{o}/p.json"],
            ["pgx", "--vcf", "{v}", "--outside-calls", "{f}", "--json", "{o}/p.json"],
            ["pgx", "--vcf", "{v}", "--kb", "{f}", "--json", "{o}/p.json"],
            ["pgx", "import-definitions", "--from", "{f}", "--outdir", "{o}"],
            ["pgx", "import-phenotypes", "--from", "{f}", "--outdir", "{o}"]],
    "actionable": [["actionable", "--vcf", "{f}", "--build", "GRCh38", "--tumor-type", "LUAD", "--tsv", "{o}/a.tsv"]]
    + [["actionable", "--vcf", "{v}", "--build", "GRCh38", "--tumor-type", "LUAD", "--tsv", "{o}/a.tsv", opt, "{f}"]
       for opt in ("--consequences", "--cna", "--fusions", "--kb")],
    "ml": [["ml", "cv", "--table", "{f}", "--outcome", "y", "--json", "{o}/m.json"]],
    "cohort": [["cohort", "query", "SELECT 1", "--db", "{f}"],
               ["cohort", "export", "--db", "{f}", "--outdir", "{o}/x", "--key-file", "{o}/key"]],
    "verify": [["verify", "{f}"]],
    "fhir": [["fhir", "--findings", "{f}", "--out", "{o}/b.json"],
             ["fhir", "--findings", "{v}", "--kb", "{f}", "--out", "{o}/b.json"]],
    "validate": [["validate", "--configfile", "{f}"], ["validate", "--schemas", "{f}"]],
    "cds": [["cds", "index", "--results", "{f}"], ["cds", "index", "--results", "{o}", "--drug-codes", "{f}"]],
    "serve": [["serve", "--results", "{o}", "--jwks", "{f}", "--issuer", "x", "--port", "1"],
              ["serve", "--index", "{f}", "--jwks", "{f}", "--issuer", "x", "--port", "1"]],
    "ehr": [["ehr", "clinical", "--cdm", "{f}", "--tsv", "{o}/c.tsv"],
            ["ehr", "cohort", "--cdm", "{f}", "--definition", "{f}", "--json", "{o}/c.json"],
            ["ehr", "table1", "--cdm", "{f}", "--target", "{f}", "--comparator", "{f}", "--json", "{o}/t.json"],
            ["ehr", "km", "--cdm", "{f}", "--definition", "{f}", "--outcome", "{f}", "--json", "{o}/k.json"],
            ["ehr", "clinical", "--cdm", "{f}", "--notes", "{f}", "--tsv", "{o}/c.tsv"]],
    "notes": [["notes", "extract", "--notes", "{f}", "--json", "{o}/n.json"],
              ["notes", "extract", "--notes", "{f}", "--terms", "{f}", "--targets", "{f}", "--json", "{o}/n.json"],
              ["notes", "assert", "--in", "{f}", "--tsv", "{o}/a.tsv"]],
    "index": [["index", "--fasta", "{f}", "--prefix", "{o}/ix"],
              ["index", "--fasta", "{f}", "--aligner", "minimap2", "--prefix", "{o}/ix"]],
}  # fmt: skip


def test_every_subcommand_is_in_the_corpus():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(INVOCATIONS)


def _suffix(args: list[str], i: int) -> str:
    """A file name that fits the option before the ``{f}`` at ``i``."""
    opt = args[i - 1] if i else ""
    names = {"--vcf": "in.vcf.gz", "--truth": "t.vcf.gz", "--query": "q.vcf.gz", "--fasta": "ref.fa",
             "--gff3": "genes.gff3", "--regions": "r.bed", "--table": "t.tsv", "--db": "c.duckdb",
             "--configfile": "config.yaml", "--spec": "demo.yaml", "--sites": "positions.tsv",
             "--jwks": "jwks.json", "--index": "index.sqlite", "--cdm": "cdm.duckdb",
             "--definition": "cohort.json", "--notes": "notes.tsv", "--in": "annotations.tsv",
             "--terms": "terms.tsv", "--targets": "targets.tsv"}  # fmt: skip
    return names.get(opt, "input.tsv")


@pytest.mark.parametrize("kind", KINDS)
def test_the_command_line_never_shows_a_traceback(kind, tmp_path, capsys, monkeypatch):
    """Each invocation exits 0 or 2; a non-zero exit comes with one ``seq2rx:`` line; whatever
    ``main`` lets escape would reach the user as a traceback, and fails here."""
    monkeypatch.chdir(tmp_path)
    valid = tmp_path / "valid.vcf"
    valid.write_text(VCF.replace("#CHROM", '##contig=<ID=chr1,length=10>\n##FORMAT=<ID=GT,Number=1,Type=String,'
                                 'Description="g">\n#CHROM').replace("INFO\n", "INFO\tFORMAT\tS\n")
                     .replace("PASS\t.\n", "PASS\t.\tGT\t0/1\n"))  # fmt: skip
    failures = []
    for n, args in enumerate(a for cmd in INVOCATIONS.values() for a in cmd):
        case = tmp_path / f"case{n}"
        case.mkdir()
        i = args.index("{f}")
        broken = case / _suffix(args, i)
        plant(broken, kind)
        argv = [a.format(f=broken, v=valid, o=case / "out") for a in args]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
            failures.append(f"{' '.join(args)}: {type(exc).__name__}: {exc}")
            continue
        err = capsys.readouterr().err
        assert TRACEBACK not in err, (args, err)
        if code not in (0, None):
            assert code == 2, (args, code, err)
            assert any(line.startswith("seq2rx") for line in err.splitlines()), (args, err)
    assert not failures, "\n".join(failures)


def test_main_turns_input_and_tool_errors_into_one_line(tmp_path):
    """Through the installed entry point: one ``seq2rx:`` line and exit status 2."""
    proc = subprocess.run([sys.executable, "-m", "seq2rx.cli", "verify", str(tmp_path / "nowhere")],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.startswith("seq2rx: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert TRACEBACK not in proc.stdout + proc.stderr


def test_an_unexpected_exception_is_still_a_traceback(monkeypatch, capsys):
    """A bug is not an input problem: main lets it through (a traceback, to be reported)."""
    from seq2rx import cli

    def broken(args):
        raise KeyError("bug")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser._actions[-1].choices["verify"].set_defaults(func=broken)
    with pytest.raises(KeyError):
        main(["verify", "x"])


# --------------------------------------------------------------------------- workflow scripts


def _job_specs(work: Path, **settings: dict) -> dict[str, dict]:
    """Script name -> one job's input, output, params, wildcards and log from the demo's DAG
    (``settings``: config sections whose keys replace the demo config's, e.g. ``calling``)."""
    code = """
import json, sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import DAGSettings, OutputSettings, ResourceSettings, StorageSettings


def plain(value):
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


specs = {}
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings(),
                      snakefile=Path(sys.argv[1]), workdir=Path.cwd())
    wf.dag(DAGSettings())
    workflow = wf._workflow
    workflow._prepare_dag(forceall=True, ignore_incomplete=True, lock_warn_only=True)
    workflow._build_dag()
    for job in sorted(workflow.dag.jobs, key=str):
        if job.rule.script and Path(job.rule.script).stem not in specs:
            specs[Path(job.rule.script).stem] = {
                key: {k: plain(v) for k, v in getattr(job, key).items()}
                for key in ("input", "output", "params", "wildcards")
            }
print(json.dumps(specs))
"""
    shutil.copytree(REPO / "config", work / "config")
    if settings:
        cfg = yaml.safe_load((work / "config/config.yaml").read_text())
        for section, keys in settings.items():
            cfg[section].update(keys)
        (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-c", code, str(REPO / "Snakefile")], cwd=work,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: test_bad_input's stand-in snakemake object, then a loop over (script, spec) in one interpreter
LOOP = (
    RUNNER.split("spec = json.loads")[0]
    + """
import os


class Named(Names):
    # names shadow list methods (an input called index) and index by key, as Snakemake's Namedlist
    def __init__(self, named=None, items=None):
        super().__init__(named, items)
        for key, value in self._names.items():
            setattr(self, key, value)

    def __getitem__(self, key):
        return self._names[key] if isinstance(key, str) else super().__getitem__(key)


for script, spec, folder in json.loads(open(sys.argv[1]).read()):
    os.chdir(folder)
    snakemake = Snakemake()
    for key in ("input", "output", "params", "wildcards"):
        setattr(snakemake, key, Named(spec.get(key, {})))
    snakemake.log = Named(items=[spec["log"]])
    snakemake.threads = 1
    saved = sys.excepthook, sys.stderr, os.dup(2)
    try:
        runpy.run_path(script, init_globals={"snakemake": snakemake}, run_name="__main__")
    except SystemExit:
        pass
    except BaseException as exc:  # what would reach the top of the script's process
        sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.stderr.flush()
        os.dup2(saved[2], 2)
        os.close(saved[2])
        sys.excepthook, sys.stderr = saved[0], saved[1]
"""
)


@pytest.fixture(scope="module")
def job_specs(tmp_path_factory) -> dict[str, dict]:
    specs = _job_specs(tmp_path_factory.mktemp("dag"))
    # the scripts of scattered calling and of aligning in chunks run only when configured
    more = _job_specs(tmp_path_factory.mktemp("dag-scatter"), calling={"intervals": 2}, align={"split_fastq": 1000})
    cat = more.get("samtools_cat")
    if cat and "bams" not in cat["input"]:
        # the join's chunks are known only once the split (a checkpoint) has run: two of them
        chunks = "results/align/chunks/P1"
        cat["input"] = {
            "bams": [f"{chunks}/{c}.unsorted.bam" for c in ("0000", "0001")],
            "versions": [f"{chunks}/{c}.versions.json" for c in ("0000", "0001")],
        }
    return {**more, **specs}


def test_the_corpus_reaches_every_script(job_specs):
    scripts = {p.stem for p in (REPO / "scripts").glob("*.py")}
    # three rules run only for inputs the demo sheet does not have (a BAM row, a VCF row, delly)
    assert scripts - set(job_specs) <= {"bcftools_norm_input", "bcftools_subset", "delly_cross_check"}
    assert len(job_specs) >= 35


@pytest.mark.parametrize("kind", KINDS)
def test_no_workflow_script_shows_a_traceback(kind, job_specs, tmp_path):
    """Every input of one job per rule replaced by a broken file of ``kind``: the job's log holds
    a ``seq2rx:`` line or nothing alarming, never a traceback."""
    runs = []
    for name, spec in sorted(job_specs.items()):
        folder = tmp_path / name
        inputs = {}
        for key, value in spec["input"].items():
            paths = value if isinstance(value, list) else [value]
            moved = [str(folder / "in" / key / f"{i}_{Path(p).name}") for i, p in enumerate(paths)]
            for p in moved:
                plant(Path(p), kind)
            inputs[key] = moved if isinstance(value, list) else moved[0]
        (folder / "logs").mkdir(parents=True)
        runs.append([str(REPO / "scripts" / f"{name}.py"),
                     {**spec, "input": inputs, "log": str(folder / "logs" / f"{name}.log")}, str(folder)])  # fmt: skip
    listing = tmp_path / "runs.json"
    listing.write_text(json.dumps(runs))
    proc = subprocess.run([sys.executable, "-c", LOOP, str(listing)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)  # fmt: skip
    found = []
    for script, spec, _ in runs:
        log = Path(spec["log"])
        text = log.read_text(errors="replace") if log.exists() else ""
        if TRACEBACK in text:
            last = [line for line in text.splitlines() if line.strip()][-1]
            found.append(f"{Path(script).stem}: {last}")
    assert TRACEBACK not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert not found, f"{len(found)} scripts show a traceback for {kind} inputs:\n" + "\n".join(found)
