"""Open an OMOP CDM (v5.3 / v5.4) as DuckDB: a ``.duckdb`` file (read-only) or a folder of CDM CSV
exports (one ``<table>.csv`` per table, any case), loaded into an in-memory DuckDB.

Whatever the source, the tables seq2rx reads are offered as views with the CDM's table and column
names in lower case (Eunomia's file spells them in capitals), each column cast to its CDM type, so
the derivations run the same SQL on both. Table and column names come only from :data:`TABLES`;
values are bound as parameters, never pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from seq2rx.core.errors import InputError

#: table -> (column -> DuckDB type) of the CDM columns seq2rx reads (CDM v5.3 and v5.4 share them)
TABLES: dict[str, dict[str, str]] = {
    "person": {
        "person_id": "BIGINT",
        "gender_concept_id": "BIGINT",
        "year_of_birth": "INTEGER",
        "month_of_birth": "INTEGER",
        "day_of_birth": "INTEGER",
        "person_source_value": "VARCHAR",
    },
    "observation_period": {
        "person_id": "BIGINT",
        "observation_period_start_date": "DATE",
        "observation_period_end_date": "DATE",
    },
    "death": {"person_id": "BIGINT", "death_date": "DATE"},
    "condition_occurrence": {
        "person_id": "BIGINT",
        "condition_concept_id": "BIGINT",
        "condition_start_date": "DATE",
    },
    "drug_exposure": {
        "person_id": "BIGINT",
        "drug_concept_id": "BIGINT",
        "drug_exposure_start_date": "DATE",
        "drug_exposure_end_date": "DATE",
        "days_supply": "INTEGER",
    },
    "measurement": {
        "person_id": "BIGINT",
        "measurement_concept_id": "BIGINT",
        "measurement_date": "DATE",
        "value_as_number": "DOUBLE",
    },
    "observation": {
        "person_id": "BIGINT",
        "observation_concept_id": "BIGINT",
        "observation_date": "DATE",
        "value_as_number": "DOUBLE",
    },
    "concept": {
        "concept_id": "BIGINT",
        "concept_name": "VARCHAR",
        "vocabulary_id": "VARCHAR",
        "concept_class_id": "VARCHAR",
    },
    "concept_ancestor": {"ancestor_concept_id": "BIGINT", "descendant_concept_id": "BIGINT"},
}
#: tables a CDM must have; the others, when absent, are read as empty (their fields stay missing)
REQUIRED = ("person", "observation_period", "concept", "concept_ancestor")
#: a person's link to the sample sheet's patient ID: one of these person columns
LINK_COLUMNS = ("person_source_value", "person_id")
_GENERIC = re.compile(r"column[0-9]+")


@dataclass
class Cdm:
    """An open CDM: ``con`` has a view per table of :data:`TABLES` (lower-case names, CDM types);
    ``notes`` says what was read as empty and why; ``source`` is the path given."""

    con: duckdb.DuckDBPyConnection
    source: str
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Cdm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cdm(path: str | Path) -> Cdm:
    """Open the CDM at ``path``: a DuckDB file (opened read-only; tables in its default schema) or a
    folder of ``<table>.csv`` files. A missing required table (:data:`REQUIRED`), a table lacking a
    column seq2rx reads, or a value that is not of its column's type is an :class:`InputError`
    naming the table and column. An optional table that is absent is read as empty, and so is
    Eunomia's ``death`` table, which holds the CDM header as its only row under generic column names
    (a header-only CSV read without a header); both are listed in ``notes``."""
    path = Path(path)
    if path.is_dir():
        con = duckdb.connect(":memory:")
        found = {p.name.lower(): p for p in path.iterdir() if p.is_file()}
        if "person.csv" not in found:
            con.close()
            raise InputError(str(path), "the folder has no person.csv", hint=_folder_hint())
        raw = {}
        for table in TABLES:
            file = found.get(f"{table}.csv")
            if file is not None:
                name = f"raw_{table}"
                try:
                    rel = con.read_csv(str(file), header=True, all_varchar=True)
                    # the columns seq2rx reads, parsed once into memory (as text): the type checks
                    # and the queries then scan the table, not the file again and again
                    wanted = [c for c in rel.columns if c.lower() in TABLES[table]]
                    if wanted:
                        rel.select(*map(_quote, wanted)).create(name)
                    else:  # no column of the CDM's (e.g. a header-only export): looked at as it is
                        rel.create_view(name)
                except duckdb.Error as exc:
                    con.close()
                    raise InputError(str(file), f"is not a readable CSV file ({_first_line(exc)})",
                                     hint="export the CDM table as comma-separated text with a header line") from None  # fmt: skip
                raw[table] = _quote(name)
    elif path.is_file():
        try:
            con = duckdb.connect(str(path), read_only=True)
            names = con.execute(
                "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = current_schema()"
            ).fetchall()
        except duckdb.Error as exc:
            raise InputError(str(path), f"cannot be opened as a DuckDB database ({_first_line(exc)})",
                             hint="give a .duckdb file of an OMOP CDM or a folder of CDM CSV files") from None  # fmt: skip
        # qualified, so that the lower-case view of the same name never refers to itself
        actual = {n.lower(): ".".join(map(_quote, (db, schema, n))) for db, schema, n in names}
        raw = {t: actual[t] for t in TABLES if t in actual}
    else:
        raise InputError(str(path), "no such file or folder", hint="give a .duckdb file or a folder of CDM CSV files")
    cdm = Cdm(con, str(path))
    try:
        for table, columns in TABLES.items():
            _view(cdm, table, raw.get(table), columns)
    except BaseException:
        con.close()
        raise
    return cdm


def check_cdm(path: str | Path, *, where: str = "") -> None:
    """Check, without loading it, that ``path`` is a CDM seq2rx can open: a folder holding a
    ``<table>.csv`` (any case) for each :data:`REQUIRED` table, or a DuckDB file (opened read-only)
    holding those tables. Otherwise an :class:`InputError` naming the path (and ``where``, the
    config key that gave it) says what is missing. :func:`open_cdm` checks the columns and values."""
    path = Path(path)
    field = where or None
    if path.is_dir():
        found = {p.name.lower() for p in path.iterdir() if p.is_file()}
        tables = {t for t in REQUIRED if f"{t}.csv" in found}
    elif path.is_file():
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                names = con.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog = current_database() AND table_schema = current_schema()"
                ).fetchall()
        except duckdb.Error as exc:
            raise InputError(str(path), f"cannot be opened as a DuckDB database ({_first_line(exc)})", field=field,
                             hint="give a .duckdb file of an OMOP CDM or a folder of CDM CSV files") from None  # fmt: skip
        tables = {t for t in REQUIRED if t in {n[0].lower() for n in names}}
    else:
        raise InputError(str(path), "no such file or folder", field=field,
                         hint="give a .duckdb file or a folder of CDM CSV files (an OMOP CDM), or leave the path empty")  # fmt: skip
    missing = [t for t in REQUIRED if t not in tables]
    if missing:
        kind = f"{missing[0]}.csv" if path.is_dir() else f"{missing[0]} table"
        raise InputError(str(path), f"the CDM has no {kind}", field=field,
                         hint=f"an OMOP CDM needs {', '.join(REQUIRED)}" + (f"; {_folder_hint()}" if path.is_dir() else ""))  # fmt: skip


def _folder_hint() -> str:
    return "a CDM folder holds one CSV file per table named after it (person.csv, observation_period.csv, ...)"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _quote(name: str) -> str:
    """A double-quoted identifier; the names come from the database's own catalogue, matched to
    :data:`TABLES`, and a quote inside one is doubled."""
    return '"' + name.replace('"', '""') + '"'


def _view(cdm: Cdm, table: str, raw: str | None, columns: dict[str, str]) -> None:
    con = cdm.con
    where = f"{cdm.source}: table {table}" if Path(cdm.source).is_file() else f"{cdm.source}/{table}.csv"
    if raw is None:
        if table in REQUIRED:
            raise InputError(
                cdm.source,
                f"the CDM has no {table} table",
                hint=f"an OMOP CDM needs {', '.join(REQUIRED)}" + ("" if Path(cdm.source).is_file() else f"; {_folder_hint()}"),
            )  # fmt: skip
        cdm.notes.append(f"{table}: absent, read as empty")
        _empty_view(con, table, columns)
        return
    described = con.execute(f"DESCRIBE {raw}").fetchall()
    actual = {row[0].lower(): row[0] for row in described}
    missing = [c for c in columns if c not in actual]
    if missing and all(_GENERIC.fullmatch(name) for name in actual) and _header_only(con, raw, columns):
        cdm.notes.append(f"{table}: holds only its header line as a row (a header-only export), read as empty")
        _empty_view(con, table, columns)
        return
    if missing:
        raise InputError(
            where,
            f"the {table} table lacks column {missing[0]}",
            field=missing[0],
            hint=f"the CDM {table} table has the columns {', '.join(columns)} (any case)",
        )
    for column, kind in columns.items():
        name = _quote(actual[column])
        test = f"{name} IS NOT NULL AND TRY_CAST({name} AS {kind}) IS NULL"
        probe = f"SELECT CAST({name} AS VARCHAR) FROM {raw} WHERE {test}"  # noqa: S608 - names from TABLES and the catalogue
        bad = con.execute(probe + " LIMIT 1").fetchone()
        if bad is not None:
            raise InputError(where, f"{bad[0]!r} is not a {_KIND[kind]}", field=column,
                             hint=f"the CDM's {table}.{column} holds {_KIND[kind]}s")  # fmt: skip
    select = ", ".join(f"CAST({_quote(actual[c])} AS {k}) AS {c}" for c, k in columns.items())
    con.execute(f"CREATE TEMP VIEW {table} AS SELECT {select} FROM {raw}")  # noqa: S608 - table and column names come from TABLES and the database's catalogue; values are bound


_KIND = {"BIGINT": "whole number", "INTEGER": "whole number", "DOUBLE": "number", "DATE": "date (YYYY-MM-DD)",
         "TIMESTAMP": "date and time", "VARCHAR": "text"}  # fmt: skip


def _empty_view(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    select = ", ".join(f"CAST(NULL AS {k}) AS {c}" for c, k in columns.items())
    con.execute(f"CREATE TEMP VIEW {table} AS SELECT {select} WHERE false")


def _header_only(con: duckdb.DuckDBPyConnection, raw: str, columns: dict[str, str]) -> bool:
    rows = con.execute(f"SELECT * FROM {raw} LIMIT 2").fetchall()  # noqa: S608 - table and column names come from TABLES and the database's catalogue; values are bound
    return len(rows) == 1 and set(columns) <= {str(v).lower() for v in rows[0]}


#: CDM tables never loaded for cohort definitions: free text stays out of every connection we run SQL on
TEXT_TABLES = frozenset({"note", "note_nlp"})
#: ``*_id`` columns of the CDM that hold text (the vocabulary's own identifiers), not numbers
_TEXT_IDS = frozenset({"vocabulary_id", "domain_id", "concept_class_id", "relationship_id"})
#: numeric CDM columns whose names do not say so
_NUMBERS = {"days_supply": "INTEGER", "refills": "INTEGER", "quantity": "DOUBLE", "value_as_number": "DOUBLE",
            "range_low": "DOUBLE", "range_high": "DOUBLE", "year_of_birth": "INTEGER", "month_of_birth": "INTEGER",
            "day_of_birth": "INTEGER", "era_gap_days": "INTEGER", "drug_exposure_count": "INTEGER",
            "gap_days": "INTEGER", "condition_occurrence_count": "INTEGER", "dose_value": "DOUBLE"}  # fmt: skip
_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def cdm_column_type(column: str) -> str:
    """The DuckDB type a CDM CSV column is read as, from its name (CDM v5.3/5.4 conventions):
    ``*_id`` whole numbers (except the vocabulary's text identifiers), ``*_date`` dates,
    ``*_datetime`` timestamps, a few named numbers, everything else text.

    >>> [cdm_column_type(c) for c in ("drug_concept_id", "vocabulary_id", "drug_exposure_start_date", "days_supply")]
    ['BIGINT', 'VARCHAR', 'DATE', 'INTEGER']
    """
    column = column.lower()
    if column in _NUMBERS:
        return _NUMBERS[column]
    if column.endswith("_id") and column not in _TEXT_IDS:
        return "BIGINT"
    if column.endswith("_date"):
        return "DATE"
    if column.endswith("_datetime"):
        return "TIMESTAMP"
    return "VARCHAR"


def load_cdm_folder(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A folder of CDM CSV files as tables of an in-memory DuckDB, every column typed by
    :func:`cdm_column_type`, for SQL that needs the CDM's full tables (Circe's). The note tables
    (:data:`TEXT_TABLES`) are not loaded. Once loaded, SQL on the connection cannot reach files
    (``enable_external_access`` off and locked), as on a CDM file opened for a definition.
    A missing required table or a value that is not of its column's type is an :class:`InputError`
    naming the file and column."""
    path = Path(path)
    found = {p.name.lower()[:-4]: p for p in sorted(path.iterdir()) if p.is_file() and p.name.lower().endswith(".csv")}
    missing = [t for t in REQUIRED if t not in found]
    if missing:
        raise InputError(str(path), f"the CDM folder has no {missing[0]}.csv", hint=_folder_hint())
    # DuckDB's own threads for the load; the definitions then run on one, as on a CDM file
    con = duckdb.connect(":memory:")
    try:
        for table, file in found.items():
            if table in TEXT_TABLES or not _TABLE_NAME.fullmatch(table):
                continue
            raw = f"raw_{table}"
            try:
                rel = con.read_csv(str(file), header=True, all_varchar=True)
                # parsed once into memory (as text); the type checks and the typed copy scan that
                rel.create(raw)
            except duckdb.Error as exc:
                raise InputError(str(file), f"is not a readable CSV file ({_first_line(exc)})",
                                 hint="export the CDM table as comma-separated text with a header line") from None  # fmt: skip
            select = []
            for name in rel.columns:
                kind = cdm_column_type(name)
                quoted = _quote(name)
                if kind != "VARCHAR":
                    bad = con.execute(
                        f"SELECT {quoted} FROM {raw} WHERE {quoted} IS NOT NULL AND TRY_CAST({quoted} AS {kind}) IS NULL LIMIT 1"  # noqa: S608, E501 - names from the file's header, quoted; values are never pasted
                    ).fetchone()
                    if bad is not None:
                        raise InputError(str(file), f"{bad[0]!r} is not a {_KIND[kind]}", field=name.lower(),
                                         hint=f"the CDM's {table}.{name.lower()} holds {_KIND[kind]}s")  # fmt: skip
                select.append(f"CAST({quoted} AS {kind}) AS {_quote(name.lower())}")
            con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(select)} FROM {raw}")  # noqa: S608 - table name matched _TABLE_NAME, columns quoted
            con.execute(f"DROP TABLE {raw}")
        con.execute("SET threads = 1")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con
