"""Cohort definitions on an OMOP CDM in DuckDB: Circe JSON, as ATLAS exports it, or one SELECT.

A definition is one of:

- **Circe JSON** (``*.json``): a cohort expression (``ConceptSets``, ``PrimaryCriteria``, ...) or
  WebAPI's wrapper around one (``{"name": ..., "expression": {...}}``). ``ohdsi-circepy`` turns it
  into OHDSI SQL (:func:`circe.api.build_cohort_query`), SqlRender's ``render()`` fills in the
  schemas and ``translate("duckdb")`` makes it DuckDB's dialect. circepy's own Ibis engine is not
  used: with duckdb 2.x it fails on an unfinished result ("ResourceInUseException"), and with
  duckdb 1.x on Eunomia's upper-case column names (docs/cohorts-omop.md).
- **SQL** (``*.sql``): one SELECT (or WITH ... SELECT) of ``subject_id, cohort_start_date,
  cohort_end_date`` over the CDM tables.

The CDM file is opened read-only with SQL's file access switched off
(:func:`seq2rx.cohort.build.connect`); Circe's working tables and its cohort table are DuckDB
TEMP tables, which live in memory, so nothing is ever written to the CDM file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from seq2rx.cohort.build import connect
from seq2rx.cohort.sql import check_select, parameter_names
from seq2rx.core.errors import InputError
from seq2rx.ehr._cdm import CDM_HINT, check_duckdb_file, check_periods, duckdb_text, load_cdm_folder

#: the ohdsi-circepy release this code was written and checked against (pyproject.toml pins it)
CIRCEPY_VERSION = "0.3.0"
#: the columns a SQL definition must select, in this order
COHORT_COLUMNS = ("subject_id", "cohort_start_date", "cohort_end_date")
#: the temporary table Circe's SQL writes its cohort into (DuckDB's temp catalog, in memory)
_TARGET_TABLE = "seq2rx_cohort"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Definition:
    """A cohort definition read from ``path``: ``kind`` is ``circe`` or ``sql``."""

    path: str
    kind: str
    text: str
    title: str = ""


def _circe_keys() -> set[str]:
    """The top-level keys of a Circe cohort expression, from circepy's own model."""
    from circe.cohortdefinition import CohortExpression

    keys: set[str] = set()
    for name, field in CohortExpression.model_fields.items():
        keys.add(name)
        choices = getattr(field.validation_alias, "choices", None)
        keys.update(choices if choices else [field.validation_alias or field.alias or name])
    return keys


def read_definition(path: str | os.PathLike) -> Definition:
    """Read and check a definition file; the suffix says which kind (``.json`` or ``.sql``)."""
    path = Path(path)
    source = str(path)
    kind = {".json": "circe", ".sql": "sql"}.get(path.suffix.lower())
    if kind is None:
        raise InputError(source, f"unknown kind of cohort definition {path.suffix!r}",
                         hint="give Circe JSON as .json (an ATLAS export) or one SELECT as .sql")  # fmt: skip
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(source, f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(source, "is not UTF-8 text") from None
    if kind == "sql":
        check_select(text, source)
        if parameter_names(text):
            raise InputError(source, f"uses parameter(s) {', '.join('$' + n for n in parameter_names(text))}",
                             hint="a cohort definition on an OMOP CDM takes no parameters: write the values in")  # fmt: skip
        return Definition(source, "sql", text)
    expression, title = _circe_expression(text, source)
    return Definition(source, "circe", json.dumps(expression, sort_keys=True), title)


def _circe_expression(text: str, source: str) -> tuple[dict, str]:
    """The cohort expression of a Circe JSON text and its title; checked enough to fail clearly."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"is not valid JSON: {exc.msg}", line=exc.lineno,
                         hint="export the cohort definition from ATLAS again (its JSON), or fix the line named") from None  # fmt: skip
    if not isinstance(data, dict):
        raise InputError(source, "must hold a JSON object (a Circe cohort expression)")
    title = data.get("name") if isinstance(data.get("name"), str) else ""
    if isinstance(data.get("expression"), dict):  # WebAPI's cohort definition: name, expression, ...
        data = data["expression"]
    elif isinstance(data.get("expression"), str):  # WebAPI also ships the expression as a JSON string
        try:
            data = json.loads(data["expression"])
        except json.JSONDecodeError as exc:
            raise InputError(source, f"field 'expression' is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise InputError(source, "field 'expression' must be a JSON object")
    allowed = _circe_keys()
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(source, f"unknown key(s) of a Circe cohort expression: {', '.join(unknown)}",
                         hint=f"expected some of {', '.join(sorted(k for k in allowed if k[:1].isupper()))}")  # fmt: skip
    primary = data.get("PrimaryCriteria", data.get("primaryCriteria"))
    criteria = primary.get("CriteriaList", primary.get("criteriaList")) if isinstance(primary, dict) else None
    if not criteria:
        raise InputError(source, "has no entry event (PrimaryCriteria.CriteriaList is missing or empty)",
                         field="PrimaryCriteria")  # fmt: skip
    title = title or (data.get("Title") or data.get("title") or "")
    return data, title if isinstance(title, str) else ""


def circe_sql(definition: Definition, *, schema: str = "main") -> list[str]:
    """DuckDB statements that write the cohort of a Circe definition into the temp table.

    circepy builds OHDSI SQL; ``render()`` fills in the CDM schema (``schema``, for the clinical
    and the vocabulary tables alike) and the target table; ``translate("duckdb")`` turns SQL
    Server's dialect (``#temp`` tables, ``DATEADD``) into DuckDB's.
    """
    from circe.api import build_cohort_query, cohort_expression_from_json
    from circe.cohortdefinition import BuildExpressionQueryOptions
    from circe.sqlrender import render, split_sql, translate

    if not _IDENTIFIER.match(schema):
        raise InputError("--schema", f"{schema!r} is not a schema name (letters, digits and _)")
    try:
        expression = cohort_expression_from_json(definition.text)
    except ValueError as exc:
        problem = " ".join(str(exc).split())[:300]
        raise InputError(definition.path, f"is not a valid Circe cohort expression: {problem}") from None
    options = BuildExpressionQueryOptions()
    options.cohort_id = 1
    options.generate_stats = False
    try:
        sql = build_cohort_query(expression, options)
    except Exception as exc:  # circepy's builder raises plain exceptions on inconsistent expressions
        raise InputError(definition.path, f"circepy cannot build SQL for it: {exc}") from None
    rendered = render(sql, cdm_database_schema=schema, vocabulary_database_schema=schema,
                      target_database_schema="temp", target_cohort_table=_TARGET_TABLE, target_cohort_id="1")  # fmt: skip
    left = sorted(set(re.findall(r"@[A-Za-z_]+", rendered)))
    if left:  # a circepy release with a parameter this code does not know
        raise InputError(definition.path, f"circepy's SQL has parameters left unfilled: {', '.join(left)}",
                         hint=f"this code is checked against ohdsi-circepy=={CIRCEPY_VERSION}")  # fmt: skip
    return [s for s in split_sql(translate(rendered, "duckdb")) if s.strip()]


def _check_cdm(con, cdm: str, schema: str, *, folder: bool) -> None:
    tables = {
        r[0].lower()
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $schema", {"schema": schema}
        ).fetchall()
    }
    missing = [t for t in ("person", "observation_period", "concept", "concept_ancestor") if t not in tables]
    if missing:
        raise InputError(cdm, f"schema {schema!r} is not an OMOP CDM: no table {', '.join(missing)}",
                         hint="give the CDM's DuckDB file, and --schema if its tables are not in 'main'")  # fmt: skip
    if not folder:  # a folder's periods were checked as it was loaded
        relation = '"' + schema + '".observation_period'  # schema checked against _IDENTIFIER
        check_periods(con, f"{cdm}: table observation_period", relation=relation)


_NO_TABLE = re.compile(r"Table with name ([A-Za-z_][A-Za-z0-9_]*) does not exist")


def _failed(exc: Exception, definition: Definition, cdm: str, *, folder: bool, who: str) -> InputError:
    """The message for a definition's SQL that DuckDB refused: a table the CDM lacks is named
    with what to do; anything else is DuckDB's first line, without the machine's folders."""
    missing = _NO_TABLE.search(str(exc))
    if missing:
        table = missing.group(1).lower()
        if folder:
            return InputError(cdm, f"the CDM folder has no {table}.csv, which {Path(definition.path).name} reads",
                              hint=f"export the CDM's {table} table as {table}.csv (a header line alone is an empty table)")  # fmt: skip
        return InputError(cdm, f"the CDM has no {table} table, which {Path(definition.path).name} reads",
                          hint=f"add the {table} table to the CDM (it may be empty), or check --schema")  # fmt: skip
    return InputError(definition.path, f"{who} failed on {Path(cdm).name}: {duckdb_text(exc, cdm)}")


def cohort_rows(
    cdm: str | os.PathLike, definition: Definition, *, schema: str = "main", notes: list[str] | None = None
) -> list[tuple]:
    """The cohort's entries ``(subject_id, cohort_start_date, cohort_end_date)``, sorted.

    ``cdm`` is a DuckDB file (opened read-only) or a folder of CDM CSV files (loaded into memory by
    :func:`seq2rx.ehr._cdm.load_cdm_folder`, typed by column name, the note tables left out). A CDM
    table the folder lacks is read as empty; ``notes`` (when given) gets a line for each such table
    the definition's SQL reads. A table the definition reads and the CDM lacks otherwise (a DuckDB
    file without it, a folder without a table outside :data:`seq2rx.ehr._cdm.CDM_COLUMNS`) is an
    :class:`InputError` naming it and what to do, as is an observation period that ends before it
    starts.

    An end date may be empty (a SQL definition over ``condition_occurrence``, whose end is often
    not recorded); a start date may not, nor may an end come before its start.
    """
    return cohorts_rows(cdm, [definition], schema=schema, notes=notes)[0]


def cohorts_rows(
    cdm: str | os.PathLike, definitions: list[Definition], *, schema: str = "main", notes: list[str] | None = None
) -> list[list[tuple]]:
    """:func:`cohort_rows` of each of ``definitions``, in order, on one opening of ``cdm``: a CDM
    folder is loaded into memory once for all of them (not once per definition)."""
    cdm = str(cdm)
    folder = Path(cdm).is_dir()
    if not folder and not Path(cdm).is_file():
        raise InputError(cdm, "no such OMOP CDM file or folder",
                         hint="give a .duckdb file holding the CDM tables, or a folder of CDM CSV files")  # fmt: skip
    if folder and schema != "main":
        raise InputError(cdm, f"a CDM folder has no schema {schema!r}", hint="leave --schema at main for a folder")
    if not definitions:
        return []
    # every Circe definition's SQL is built before the CDM is opened (a broken one fails early)
    statements = [circe_sql(d, schema=schema) if d.kind == "circe" else None for d in definitions]
    absent: list[str] = []
    if folder:
        con = load_cdm_folder(cdm, notes=absent)
    else:
        check_duckdb_file(cdm)
        try:
            con = connect(cdm, read_only=True, files=False)
        except InputError as exc:  # its hint is about the cohort database
            raise InputError(cdm, duckdb_text(Exception(exc.problem), cdm), hint=CDM_HINT) from None
    if notes is not None:  # the tables read as empty that the definitions' SQL names
        text = "\n".join("\n".join(st) if st else d.text for d, st in zip(definitions, statements, strict=True))
        notes.extend(n for n in absent if re.search(rf"\b{n.split(':')[0]}\b", text, flags=re.IGNORECASE))
    try:
        _check_cdm(con, cdm, schema, folder=folder)
        if schema != "main":
            con.execute("SET schema = $schema", {"schema": schema})
        return [_entries(con, cdm, d, st, folder=folder) for d, st in zip(definitions, statements, strict=True)]
    finally:
        con.close()


def _entries(con, cdm: str, definition: Definition, statements: list[str] | None, *, folder: bool) -> list[tuple]:
    """One definition's entries on the open CDM ``con``; Circe's cohort table is dropped after, so
    the next definition on the same connection starts from none."""
    import duckdb

    if definition.kind == "sql":
        try:
            cur = con.execute(definition.text)
        except duckdb.Error as exc:
            raise _failed(exc, definition, cdm, folder=folder, who="the SQL") from None
        columns = tuple(d[0].lower() for d in cur.description)
        if columns != COHORT_COLUMNS:
            raise InputError(definition.path, f"selects {', '.join(columns)}",
                             hint=f"select exactly {', '.join(COHORT_COLUMNS)}, in this order")  # fmt: skip
        rows = cur.fetchall()
    else:
        con.execute(  # the table named by _TARGET_TABLE
            "CREATE TEMP TABLE seq2rx_cohort (cohort_definition_id BIGINT, subject_id BIGINT, "
            "cohort_start_date DATE, cohort_end_date DATE)"
        )
        try:
            for statement in statements:
                con.execute(statement)
        except duckdb.Error as exc:
            raise _failed(exc, definition, cdm, folder=folder, who="circepy's SQL") from None
        rows = con.execute("SELECT subject_id, cohort_start_date, cohort_end_date FROM temp.seq2rx_cohort").fetchall()
        con.execute("DROP TABLE temp.seq2rx_cohort")
    for i, (subject, start, end) in enumerate(rows):
        if subject is None or start is None:
            raise InputError(definition.path, f"entry {i + 1} has no subject_id or no cohort_start_date")
        if end is not None and end < start:
            raise InputError(definition.path, f"subject {subject}: cohort_end_date {end} is before "
                             f"cohort_start_date {start}")  # fmt: skip
    return sorted(rows, key=lambda r: (r[0], r[1], r[2] is None, r[2]))


def run_cohort(cdm: str | os.PathLike, definition_path: str | os.PathLike, *, schema: str = "main",
               members: bool = False) -> dict:  # fmt: skip
    """Run one definition on a CDM; return ``{"persons": N, "entries": M, ...}``; ``cdm_notes``
    lists the CDM tables the definition reads that a CSV folder lacked (read as empty).

    Counts are exact (like the members of a cohort of the cohort database, they stay local);
    Table 1 is what suppresses small counts for sharing. With ``members`` the entries are listed.
    """
    definition = read_definition(definition_path)
    notes: list[str] = []
    rows = cohort_rows(cdm, definition, schema=schema, notes=notes)
    result = {
        "definition": Path(definition.path).name,
        "kind": definition.kind,
        "title": definition.title,
        "cdm": Path(cdm).name,
        "engine": f"ohdsi-circepy {CIRCEPY_VERSION} SQL, rendered and translated to DuckDB"
        if definition.kind == "circe"
        else "one SELECT, read-only",
        "persons": len({r[0] for r in rows}),
        "entries": len(rows),
        "entries_without_end": sum(r[2] is None for r in rows),
        "cdm_notes": notes,
    }
    if rows:
        result["first_start"] = min(r[1] for r in rows).isoformat()
        result["last_start"] = max(r[1] for r in rows).isoformat()
    if members:
        result["members"] = [
            {"subject_id": s, "cohort_start_date": a.isoformat(), "cohort_end_date": b.isoformat() if b else None}
            for s, a, b in rows
        ]
    return result
