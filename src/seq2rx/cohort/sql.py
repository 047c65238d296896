"""Read-only SQL over the cohort database: cohort definitions and ad-hoc queries.

User values reach DuckDB only as bound parameters (``$name`` in the SQL text, values passed
separately); nothing here formats a value into SQL. A cohort file must hold exactly one SELECT
statement, and every query runs on a read-only connection whose SQL cannot touch files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from seq2rx.cohort.build import connect
from seq2rx.core.errors import InputError

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_POSITIONAL = re.compile(r"\$[0-9]|\?")
_NUMBER = re.compile(r"^-?[0-9]+$")
_FLOAT = re.compile(r"^-?([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$")


def _strip_literals(sql: str) -> str:
    """``sql`` with comments, quoted strings and quoted identifiers blanked out.

    Left with code only, a ``$name`` found in it is a parameter, not text inside a string.
    """
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch in "'\"":
            j = i + 1
            while j < n:
                if sql[j] == ch and j + 1 < n and sql[j + 1] == ch:  # a doubled quote inside
                    j += 2
                elif sql[j] == ch:
                    break
                else:
                    j += 1
            out.append(" ")
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parameter_names(sql: str) -> list[str]:
    """The named parameters (``$name``) a SQL text uses, sorted.

    >>> parameter_names("SELECT patient FROM patients WHERE age >= $min_age AND notes <> '$x' -- $y")
    ['min_age']
    """
    return sorted(set(_PARAM.findall(_strip_literals(sql))))


def check_select(sql: str, source: str) -> str:
    """Return ``sql`` if it is exactly one SELECT statement; else raise :class:`InputError`.

    Uses DuckDB's own parser, so a second statement hidden after a ``;`` is found. Positional
    parameters (``?``, ``$1``) are refused: cohort values are named, to come from the config.
    """
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(source, f"is not valid SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise InputError(source, f"must hold exactly one SQL statement, found {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise InputError(source, f"must be a SELECT statement, found {kind.name}")
    if _POSITIONAL.search(_strip_literals(sql)):
        raise InputError(source, "uses a positional parameter (? or $1); name it, e.g. $min_age")
    return sql


def read_cohort_sql(path: str | os.PathLike) -> str:
    """The text of a cohort file (``config/cohorts/NAME.sql``), checked to be one SELECT."""
    path = Path(path)
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror}") from None
    return check_select(sql, str(path))


def bind(sql: str, values: Mapping[str, object], source: str) -> dict[str, object]:
    """The values of exactly the parameters ``sql`` uses; a missing one is an error."""
    names = parameter_names(sql)
    missing = [n for n in names if n not in values]
    if missing:
        raise InputError(
            source,
            f"uses parameter(s) {', '.join('$' + m for m in missing)} that have no value",
            hint="set them under cohorts: parameters: in the config, or pass --param name=value",
        )
    return {n: values[n] for n in names}


def parse_param(text: str) -> tuple[str, object]:
    """``name=value`` from the command line; an integer or decimal value becomes a number.

    >>> parse_param("min_age=65"), parse_param("drug=clopidogrel"), parse_param("x=0.5")
    (('min_age', 65), ('drug', 'clopidogrel'), ('x', 0.5))
    """
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InputError("--param", f"{text!r} must look like name=value, with a name of letters, digits and _")
    if _NUMBER.match(value):
        return name, int(value)
    if _FLOAT.match(value):
        return name, float(value)
    return name, value


def run_query(
    db: str | os.PathLike, sql: str, values: Mapping[str, object] | None = None, *, source: str = "query"
) -> tuple[list[str], list[tuple]]:
    """Run one SELECT on a read-only connection; return ``(column names, rows)``."""
    import duckdb

    if not Path(db).is_file():
        raise InputError(str(db), "no such cohort database", hint="build it with the workflow (results/cohort.duckdb)")
    check_select(sql, source)
    params = bind(sql, values or {}, source)
    con = connect(db, read_only=True, files=False)
    try:
        cur = con.execute(sql, params)
        columns = [d[0] for d in cur.description]
        return columns, cur.fetchall()
    except duckdb.Error as exc:
        raise InputError(source, f"failed: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


def format_cell(value) -> str:
    """A value as a TSV cell: NULL is ``NA``; tabs and newlines become spaces."""
    if value is None:
        return "NA"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def to_tsv(columns: list[str], rows: list[tuple]) -> str:
    lines = ["\t".join(columns)] + ["\t".join(format_cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"
