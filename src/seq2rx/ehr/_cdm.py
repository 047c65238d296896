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
#: vocabularies whose ``Ingredient`` concepts drug exposures are rolled up to (the clinical table's
#: medications, Table 1's drugs): RxNorm, and RxNorm Extension for drugs RxNorm lacks (non-US markets)
INGREDIENT_VOCABULARIES = ("RxNorm", "RxNorm Extension")
#: the columns of the CDM v5.4 tables a cohort definition may read (OHDSI CommonDataModel's DDL,
#: inst/ddl/5.4); a table a CSV folder lacks is loaded empty with these columns, so that a Circe
#: definition reading it runs, as an absent optional table reads as empty for the clinical table
CDM_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id", "year_of_birth", "month_of_birth", "day_of_birth", "birth_datetime",
               "race_concept_id", "ethnicity_concept_id", "location_id", "provider_id", "care_site_id",
               "person_source_value", "gender_source_value", "gender_source_concept_id", "race_source_value",
               "race_source_concept_id", "ethnicity_source_value", "ethnicity_source_concept_id"),
    "observation_period": ("observation_period_id", "person_id", "observation_period_start_date",
                           "observation_period_end_date", "period_type_concept_id"),
    "visit_occurrence": ("visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date",
                         "visit_start_datetime", "visit_end_date", "visit_end_datetime", "visit_type_concept_id",
                         "provider_id", "care_site_id", "visit_source_value", "visit_source_concept_id",
                         "admitted_from_concept_id", "admitted_from_source_value", "discharged_to_concept_id",
                         "discharged_to_source_value", "preceding_visit_occurrence_id"),
    "visit_detail": ("visit_detail_id", "person_id", "visit_detail_concept_id", "visit_detail_start_date",
                     "visit_detail_start_datetime", "visit_detail_end_date", "visit_detail_end_datetime",
                     "visit_detail_type_concept_id", "provider_id", "care_site_id", "visit_detail_source_value",
                     "visit_detail_source_concept_id", "admitted_from_concept_id", "admitted_from_source_value",
                     "discharged_to_source_value", "discharged_to_concept_id", "preceding_visit_detail_id",
                     "parent_visit_detail_id", "visit_occurrence_id"),
    "condition_occurrence": ("condition_occurrence_id", "person_id", "condition_concept_id", "condition_start_date",
                             "condition_start_datetime", "condition_end_date", "condition_end_datetime",
                             "condition_type_concept_id", "condition_status_concept_id", "stop_reason", "provider_id",
                             "visit_occurrence_id", "visit_detail_id", "condition_source_value",
                             "condition_source_concept_id", "condition_status_source_value"),
    "drug_exposure": ("drug_exposure_id", "person_id", "drug_concept_id", "drug_exposure_start_date",
                      "drug_exposure_start_datetime", "drug_exposure_end_date", "drug_exposure_end_datetime",
                      "verbatim_end_date", "drug_type_concept_id", "stop_reason", "refills", "quantity", "days_supply",
                      "sig", "route_concept_id", "lot_number", "provider_id", "visit_occurrence_id", "visit_detail_id",
                      "drug_source_value", "drug_source_concept_id", "route_source_value", "dose_unit_source_value"),
    "procedure_occurrence": ("procedure_occurrence_id", "person_id", "procedure_concept_id", "procedure_date",
                             "procedure_datetime", "procedure_end_date", "procedure_end_datetime",
                             "procedure_type_concept_id", "modifier_concept_id", "quantity", "provider_id",
                             "visit_occurrence_id", "visit_detail_id", "procedure_source_value",
                             "procedure_source_concept_id", "modifier_source_value"),
    "device_exposure": ("device_exposure_id", "person_id", "device_concept_id", "device_exposure_start_date",
                        "device_exposure_start_datetime", "device_exposure_end_date", "device_exposure_end_datetime",
                        "device_type_concept_id", "unique_device_id", "production_id", "quantity", "provider_id",
                        "visit_occurrence_id", "visit_detail_id", "device_source_value", "device_source_concept_id",
                        "unit_concept_id", "unit_source_value", "unit_source_concept_id"),
    "measurement": ("measurement_id", "person_id", "measurement_concept_id", "measurement_date", "measurement_datetime",
                    "measurement_time", "measurement_type_concept_id", "operator_concept_id", "value_as_number",
                    "value_as_concept_id", "unit_concept_id", "range_low", "range_high", "provider_id",
                    "visit_occurrence_id", "visit_detail_id", "measurement_source_value",
                    "measurement_source_concept_id", "unit_source_value", "unit_source_concept_id",
                    "value_source_value", "measurement_event_id", "meas_event_field_concept_id"),
    "observation": ("observation_id", "person_id", "observation_concept_id", "observation_date", "observation_datetime",
                    "observation_type_concept_id", "value_as_number", "value_as_string", "value_as_concept_id",
                    "qualifier_concept_id", "unit_concept_id", "provider_id", "visit_occurrence_id", "visit_detail_id",
                    "observation_source_value", "observation_source_concept_id", "unit_source_value",
                    "qualifier_source_value", "value_source_value", "observation_event_id",
                    "obs_event_field_concept_id"),
    "death": ("person_id", "death_date", "death_datetime", "death_type_concept_id", "cause_concept_id",
              "cause_source_value", "cause_source_concept_id"),
    "specimen": ("specimen_id", "person_id", "specimen_concept_id", "specimen_type_concept_id", "specimen_date",
                 "specimen_datetime", "quantity", "unit_concept_id", "anatomic_site_concept_id",
                 "disease_status_concept_id", "specimen_source_id", "specimen_source_value", "unit_source_value",
                 "anatomic_site_source_value", "disease_status_source_value"),
    "location": ("location_id", "address_1", "address_2", "city", "state", "zip", "county", "location_source_value",
                 "country_concept_id", "country_source_value", "latitude", "longitude"),
    "care_site": ("care_site_id", "care_site_name", "place_of_service_concept_id", "location_id",
                  "care_site_source_value", "place_of_service_source_value"),
    "provider": ("provider_id", "provider_name", "npi", "dea", "specialty_concept_id", "care_site_id", "year_of_birth",
                 "gender_concept_id", "provider_source_value", "specialty_source_value", "specialty_source_concept_id",
                 "gender_source_value", "gender_source_concept_id"),
    "payer_plan_period": ("payer_plan_period_id", "person_id", "payer_plan_period_start_date",
                          "payer_plan_period_end_date", "payer_concept_id", "payer_source_value",
                          "payer_source_concept_id", "plan_concept_id", "plan_source_value", "plan_source_concept_id",
                          "sponsor_concept_id", "sponsor_source_value", "sponsor_source_concept_id",
                          "family_source_value", "stop_reason_concept_id", "stop_reason_source_value",
                          "stop_reason_source_concept_id"),
    "drug_era": ("drug_era_id", "person_id", "drug_concept_id", "drug_era_start_date", "drug_era_end_date",
                 "drug_exposure_count", "gap_days"),
    "dose_era": ("dose_era_id", "person_id", "drug_concept_id", "unit_concept_id", "dose_value", "dose_era_start_date",
                 "dose_era_end_date"),
    "condition_era": ("condition_era_id", "person_id", "condition_concept_id", "condition_era_start_date",
                      "condition_era_end_date", "condition_occurrence_count"),
    "concept": ("concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id", "standard_concept",
                "concept_code", "valid_start_date", "valid_end_date", "invalid_reason"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation",
                         "max_levels_of_separation"),
}  # fmt: skip
#: every table name of CDM v5.3 and v5.4 (clinical, health system, economics, derived, metadata,
#: vocabulary, and the results schema's cohort tables): the CSV files of a folder that are loaded
CDM_TABLES = frozenset(CDM_COLUMNS) | {
    "note", "note_nlp", "fact_relationship", "cost", "episode", "episode_event", "metadata", "cdm_source",
    "vocabulary", "domain", "concept_class", "concept_relationship", "relationship", "concept_synonym",
    "source_to_concept_map", "drug_strength", "cohort", "cohort_definition", "attribute_definition",
    "cohort_attribute",
}  # fmt: skip
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
        found = csv_tables(path)
        if "person" not in found:
            raise InputError(str(path), "the folder has no person.csv", hint=_folder_hint())
        con = duckdb.connect(":memory:")
        raw = {}
        for table in TABLES:
            file = found.get(table)
            if file is not None:
                name = f"seq2rx raw {table}"  # a space: never the name of a CDM table
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
                    raise InputError(str(file), f"is not a readable CSV file ({duckdb_text(exc, file)})",
                                     hint="export the CDM table as comma-separated text with a header line") from None  # fmt: skip
                raw[table] = _quote(name)
    elif path.is_file():
        check_duckdb_file(path)
        try:
            con = duckdb.connect(str(path), read_only=True)
            names = con.execute(
                "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_schema = current_schema()"
            ).fetchall()
        except duckdb.Error as exc:
            raise InputError(str(path), f"cannot be opened as a DuckDB database ({duckdb_text(exc, path)})",
                             hint=CDM_HINT) from None  # fmt: skip
        # qualified, so that the lower-case view of the same name never refers to itself
        actual = {n.lower(): ".".join(map(_quote, (db, schema, n))) for db, schema, n in names}
        raw = {t: actual[t] for t in TABLES if t in actual}
    else:
        raise InputError(str(path), "no such file or folder", hint="give a .duckdb file or a folder of CDM CSV files")
    cdm = Cdm(con, str(path))
    try:
        for table, columns in TABLES.items():
            _view(cdm, table, raw.get(table), columns)
        check_periods(con, _where(cdm, "observation_period"))
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
        tables = set(csv_tables(path, field=field)) & set(REQUIRED)
    elif path.is_file():
        check_duckdb_file(path, field=field)
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                names = con.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_catalog = current_database() AND table_schema = current_schema()"
                ).fetchall()
        except duckdb.Error as exc:
            raise InputError(str(path), f"cannot be opened as a DuckDB database ({duckdb_text(exc, path)})",
                             field=field, hint=CDM_HINT) from None  # fmt: skip
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


#: what to give where an OMOP CDM is expected
CDM_HINT = "give an OMOP CDM: a .duckdb file or a folder of CDM CSV files"
#: the bytes a DuckDB database file holds at offset 8 (its storage header's magic)
_DUCKDB_MAGIC = b"DUCK"


def csv_tables(folder: str | Path, *, field: str | None = None) -> dict[str, Path]:
    """The CSV files of ``folder`` that hold CDM tables (:data:`CDM_TABLES`): table -> file. The
    table is the file name without ``.csv``, in any case; other files are not CDM tables and are
    left alone. Two files for one table (``person.csv`` and ``PERSON.csv``) are an
    :class:`InputError`: which one to read would be a guess."""
    found: dict[str, Path] = {}
    for file in sorted(Path(folder).iterdir()):
        name = file.name.lower()
        if not name.endswith(".csv") or name[:-4] not in CDM_TABLES or not file.is_file():
            continue
        table = name[:-4]
        if table in found:
            raise InputError(str(folder), f"two files for table {table}: {found[table].name} and {file.name}",
                             field=field, hint="keep one of them in the CDM folder")  # fmt: skip
        found[table] = file
    return found


def check_duckdb_file(path: str | Path, *, field: str | None = None) -> None:
    """An :class:`InputError` unless ``path`` starts like a DuckDB database file (DuckDB's own
    message for, say, a TSV file given instead is about an in-memory database and misleads)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise InputError(str(path), f"cannot be read ({exc.strerror})", field=field, hint=CDM_HINT) from None
    if head[8:12] != _DUCKDB_MAGIC:
        raise InputError(str(path), "is not a DuckDB database", field=field, hint=CDM_HINT)


def duckdb_text(exc: Exception, *paths: str | Path) -> str:
    """The first line of a DuckDB error, each of ``paths`` (as given and absolute) shortened to
    its name: messages name the file once, in front, not with the machine's folders."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for path in paths:
        for spelled in sorted(
            {str(path), str(Path(path).resolve()), str(Path(path).absolute())}, key=len, reverse=True
        ):
            text = text.replace(spelled, Path(path).name)
    return text


def check_periods(con: duckdb.DuckDBPyConnection, where: str, *, relation: str = "observation_period") -> None:
    """An :class:`InputError` naming ``where``, the person and the field when an observation period
    of ``relation`` (a quoted table name) starts after it ends: every follow-up, index date and
    Circe entry read from it would be wrong without a word."""
    # a table name from this module or a checked schema; no value is pasted
    query = f"SELECT person_id, observation_period_start_date, observation_period_end_date FROM {relation} WHERE observation_period_start_date > observation_period_end_date ORDER BY person_id, observation_period_start_date LIMIT 1"  # noqa: S608, E501
    bad = con.execute(query).fetchone()
    if bad is not None:
        raise InputError(where, f"person {bad[0]}: observation_period_start_date {bad[1]} is after "
                         f"observation_period_end_date {bad[2]}", field="observation_period_start_date",
                         hint="a period starts on or before its end: fix or drop the row in the CDM")  # fmt: skip


def _where(cdm: Cdm, table: str) -> str:
    return f"{cdm.source}: table {table}" if Path(cdm.source).is_file() else f"{cdm.source}/{table}.csv"


def _quote(name: str) -> str:
    """A double-quoted identifier; the names come from the database's own catalogue, matched to
    :data:`TABLES`, and a quote inside one is doubled."""
    return '"' + name.replace('"', '""') + '"'


def _view(cdm: Cdm, table: str, raw: str | None, columns: dict[str, str]) -> None:
    con = cdm.con
    where = _where(cdm, table)
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


def load_cdm_folder(path: str | Path, *, notes: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A folder of CDM CSV files as tables of an in-memory DuckDB, every column typed by
    :func:`cdm_column_type`, for SQL that needs the CDM's full tables (Circe's). Only files named
    after a CDM table are loaded (:func:`csv_tables`; others are left alone), and the note tables
    (:data:`TEXT_TABLES`) never are. A table of :data:`CDM_COLUMNS` the folder lacks is created
    empty with the CDM's columns, so a definition that reads it finds no record there instead of
    failing, and ``notes`` (when given) gets ``"<table>: absent, read as empty"``. Once loaded,
    SQL on the connection cannot reach files (``enable_external_access`` off and locked), as on a
    CDM file opened for a definition.

    A missing required table, two files for one table, a file DuckDB cannot read, a value that is
    not of its column's type or an observation period that starts after its end is an
    :class:`InputError` naming the file (and column)."""
    path = Path(path)
    found = csv_tables(path)
    missing = [t for t in REQUIRED if t not in found]
    if missing:
        raise InputError(str(path), f"the CDM folder has no {missing[0]}.csv", hint=_folder_hint())
    # DuckDB's own threads for the load; the definitions then run on one, as on a CDM file
    con = duckdb.connect(":memory:")
    try:
        for table, file in found.items():
            if table not in TEXT_TABLES:
                _load_csv(con, table, file)
        for table, columns in CDM_COLUMNS.items():
            if table not in found:
                typed = ", ".join(f"{_quote(c)} {cdm_column_type(c)}" for c in columns)
                con.execute(f"CREATE TABLE {_quote(table)} ({typed})")
                if notes is not None:
                    notes.append(f"{table}: absent, read as empty")
        check_periods(con, str(found["observation_period"]))
        con.execute("SET threads = 1")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


_RAW = _quote("seq2rx raw")  # a name with a space: never a CDM table's


def _load_csv(con: duckdb.DuckDBPyConnection, table: str, file: Path) -> None:
    """Load ``file`` as the CDM table ``table``, each column cast to :func:`cdm_column_type`."""
    try:  # the file's name is bound, never pasted
        load = (
            f"CREATE OR REPLACE TEMP TABLE {_RAW} AS SELECT * FROM read_csv($file, header = true, all_varchar = true)"  # noqa: S608, E501 - a constant name
        )
        con.execute(load, {"file": str(file)})
        columns = [row[0] for row in con.execute(f"DESCRIBE {_RAW}").fetchall()]
    except duckdb.Error as exc:
        raise InputError(str(file), f"is not a readable CSV file ({duckdb_text(exc, file)})",
                         hint="export the CDM table as comma-separated text with a header line") from None  # fmt: skip
    lower = [c.lower() for c in columns]
    twice = sorted({c for c in lower if lower.count(c) > 1})
    if twice:
        raise InputError(str(file), f"has column {twice[0]} twice", field=twice[0],
                         hint="each CDM column once (names are read in any case)")  # fmt: skip
    select = []
    for name in columns:
        kind = cdm_column_type(name)
        quoted = _quote(name)
        if kind != "VARCHAR":
            bad = con.execute(
                f"SELECT {quoted} FROM {_RAW} WHERE {quoted} IS NOT NULL AND TRY_CAST({quoted} AS {kind}) IS NULL LIMIT 1"  # noqa: S608, E501 - names from the file's header, quoted; values are never pasted
            ).fetchone()
            if bad is not None:
                raise InputError(str(file), f"{bad[0]!r} is not a {_KIND[kind]}", field=name.lower(),
                                 hint=f"the CDM's {table}.{name.lower()} holds {_KIND[kind]}s")  # fmt: skip
        select.append(f"CAST({quoted} AS {kind}) AS {_quote(name.lower())}")
    try:
        con.execute(f"CREATE TABLE {_quote(table)} AS SELECT {', '.join(select)} FROM {_RAW}")  # noqa: S608 - names quoted
        con.execute(f"DROP TABLE {_RAW}")
    except duckdb.Error as exc:
        raise InputError(str(file), f"cannot be loaded ({duckdb_text(exc, file)})",
                         hint="export the CDM table as comma-separated text with a header line") from None  # fmt: skip
