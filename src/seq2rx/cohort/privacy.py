"""Privacy by default: small-count suppression and a de-identified export.

Suppression (:func:`suppress`): in a table meant for sharing, every count from 1 to ``k - 1`` is
shown as ``<k``. Counts come in groups that add up to a shown total (the categories of sex add
up to the cohort's size), so one hidden cell could be recovered by subtraction: more cells of
the group are hidden (smallest first) until at least two are hidden and the hidden cells
together hold at least ``k`` (so their sum reveals no small number either). This is primary
plus complementary cell suppression as statistical agencies practise it. A zero is shown: it
counts nobody, and hiding every zero would hide most of a small cohort's table for no gain.

Export (:func:`export`): a copy of the database in which patient and sample IDs are replaced by
keyed-hash pseudonyms (HMAC-SHA256 with a key that stays in a local file), each patient's dates
are shifted by one offset derived from the key (so intervals within a patient are kept), ages
above 89 are recorded as 90, and free-text columns are dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from seq2rx.cohort.build import connect
from seq2rx.cohort.schema import TABLES
from seq2rx.cohort.sql import format_cell
from seq2rx.core.errors import InputError

#: dates move by 1 to this many days, earlier or later, per patient
MAX_SHIFT_DAYS = 365
#: ages above this are recorded as AGE_CAP (a rare age identifies)
AGE_CAP = 90


def suppress(counts: Sequence[int], total: int, k: int) -> list[bool]:
    """Which of ``counts`` (a partition of ``total``) to hide so that none can be worked out.

    Hide every count from 1 to ``k - 1``; then, while exactly one is hidden or the hidden ones
    add up to less than ``k``, also hide the smallest shown count above zero (a zero only when
    no other is left; the earliest on a tie). When ``total`` itself is below ``k`` everything is
    hidden. ``k`` <= 1 hides nothing.

    >>> suppress([2, 10, 8], 20, 5)   # 2 alone would be 20 - 10 - 8: hide 8 too
    [True, False, True]
    >>> suppress([0, 12], 12, 5)      # a zero names nobody
    [False, False]
    >>> suppress([3, 4, 13], 20, 5)   # two hidden cells adding up to 7 >= 5: enough
    [True, True, False]
    >>> suppress([1, 1, 18], 20, 5)   # two hidden cells but adding up to 2: hide 18 as well
    [True, True, True]
    """
    if sum(counts) != total:
        raise ValueError(f"counts {list(counts)} do not add up to the total {total}")
    if k <= 1:
        return [False] * len(counts)
    if total < k:
        return [True] * len(counts)
    hidden = [0 < c < k for c in counts]
    while True:
        n_hidden = sum(hidden)
        if n_hidden == 0 or (n_hidden >= 2 and sum(c for c, h in zip(counts, hidden, strict=True) if h) >= k):
            return hidden
        shown = [(c == 0, c, i) for i, (c, h) in enumerate(zip(counts, hidden, strict=True)) if not h]
        if not shown:
            return hidden
        hidden[min(shown)[2]] = True


def show_count(n: int, hidden: bool, k: int) -> str:
    return f"<{k}" if hidden else str(n)


# --- de-identified export -------------------------------------------------------------------


def load_or_create_key(path: str | os.PathLike) -> tuple[bytes, bool]:
    """The export key in ``path`` (64 hex digits); created with ``secrets`` (mode 600) if absent.

    Returns ``(key, created)``. Keep the file: the same key gives the same pseudonyms and date
    shifts, so two exports can be linked by whoever holds it, and nobody else.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        created = True
    else:
        created = False
    text = path.read_text().strip()
    if not re.fullmatch(r"[0-9a-f]{64,}", text):
        raise InputError(str(path), "is not an export key (64 or more lower-case hex digits)")
    return bytes.fromhex(text), created


def _mac(key: bytes, kind: str, value: str) -> bytes:
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """A keyed-hash pseudonym: ``P-`` or ``S-`` and 16 hex digits of HMAC-SHA256(key, kind, value)."""
    return f"{kind[0].upper()}-{_mac(key, kind, value).hex()[:16]}"


def date_shift(key: bytes, patient: str) -> int:
    """The patient's date offset in days: 1 to MAX_SHIFT_DAYS, earlier or later, never 0."""
    raw = int.from_bytes(_mac(key, "date", patient)[:8], "big")
    days = 1 + raw % MAX_SHIFT_DAYS
    return days if (raw >> 32) & 1 else -days


def _identifiers(con) -> tuple[set[str], set[str]]:
    patients = {r[0] for r in con.execute("SELECT patient FROM patients UNION SELECT patient FROM samples").fetchall()}
    samples = {r[0] for r in con.execute("SELECT sample FROM samples").fetchall()}
    return patients, samples


def export(db: str | os.PathLike, out_dir: str | os.PathLike, key_file: str | os.PathLike) -> dict:
    """Write a de-identified copy of the cohort database to ``out_dir``.

    ``out_dir`` gets ``cohort.duckdb`` (same tables, identifying columns pseudonymised, free
    text dropped), one ``tables/NAME.tsv`` per table and ``export.json`` saying what was done.
    The key file must lie outside ``out_dir`` and is never copied into it. ``out_dir`` must not
    exist yet or be empty; it appears only once complete. Before it does, every text cell is
    checked for an original patient or sample ID and the export stops if one is found.
    """
    db, out_dir, key_file = Path(db), Path(out_dir), Path(key_file)
    if not db.is_file():
        raise InputError(str(db), "no such cohort database")
    if key_file.resolve().is_relative_to(out_dir.resolve()):
        raise InputError(str(key_file), f"the key file must not be inside the export folder {out_dir}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError(str(out_dir), "already exists and is not empty; choose a new folder for the export")
    key, created = load_or_create_key(key_file)
    src = connect(db, read_only=True)
    try:
        patients, samples = _identifiers(src)
        tables = {name: _export_rows(src, TABLES[name], key) for name in TABLES}
    finally:
        src.close()
    _check_no_identifiers(tables, patients | samples)
    tmp = out_dir.with_name(f".tmp.{os.getpid()}.{out_dir.name}")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        (tmp / "tables").mkdir(parents=True)
        dst = connect(tmp / "cohort.duckdb")
        try:
            for name, (columns, rows) in tables.items():
                _write_table(dst, TABLES[name], columns, rows)
                (tmp / "tables" / f"{name}.tsv").write_text(
                    "\n".join(["\t".join(columns)] + ["\t".join(format_cell(v) for v in r) for r in rows]) + "\n"
                )
            dst.execute("CHECKPOINT")
        finally:
            dst.close()
        dropped = sorted(f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns if c.free_text)
        record = {
            "pseudonyms": "P-/S- + first 16 hex digits of HMAC-SHA256(local key, kind, ID)",
            "date_shift": f"per patient, 1 to {MAX_SHIFT_DAYS} days earlier or later, derived from the key",
            "age": f"ages above {AGE_CAP - 1} recorded as {AGE_CAP}",
            "dropped_columns": dropped,
            "rows": {name: len(rows) for name, (_, rows) in tables.items()},
        }
        (tmp / "export.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return {"rows": record["rows"], "key_created": created, "key_file": str(key_file), "dropped": dropped}


def _export_rows(con, table, key: bytes) -> tuple[list[str], list[list]]:
    keep = [c for c in table.columns if not c.free_text]
    order = ", ".join(f'"{c}" NULLS FIRST' for c in table.order)
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    rows = con.execute(f'SELECT {cols} FROM "{table.name}" ORDER BY {order}').fetchall()  # noqa: S608 - table and column names come from schema.py; values are bound
    names = table.names
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        patient = record.get("patient")
        new = []
        for c in keep:
            value = record[c.name]
            if value is None:
                pass
            elif c.identifies:
                value = pseudonym(key, c.identifies, value)
            elif isinstance(value, dt.date):
                value = value + dt.timedelta(days=date_shift(key, patient))
            elif c.name == "age" and table.name == "patients":
                value = min(value, AGE_CAP)
            new.append(value)
        out.append(new)
    # rows sorted by pseudonyms, not by the original IDs (whose order would leak through)
    out.sort(key=lambda r: tuple((v is not None, "" if v is None else str(v)) for v in r))
    return [c.name for c in keep], out


def _check_no_identifiers(tables: Mapping[str, tuple[list[str], list[list]]], ids: set[str]) -> None:
    if not ids:
        return
    pattern = re.compile(
        r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, sorted(ids, key=len, reverse=True))) + r")(?![A-Za-z0-9])"
    )
    for name, (columns, rows) in tables.items():
        for i, row in enumerate(rows, start=1):
            for col, value in zip(columns, row, strict=True):
                if isinstance(value, str) and pattern.search(value):
                    raise InputError(
                        f"export of table {name}", "a cell still holds an original patient or sample ID; export stopped",
                        row=i, field=col,
                    )  # fmt: skip


def _write_table(con, table, columns: list[str], rows: list[list]) -> None:
    import pandas as pd

    types = {c.name: c.type for c in table.columns}
    con.execute(f'CREATE TABLE "{table.name}" (' + ", ".join(f'"{c}" {types[c]}' for c in columns) + ")")
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    con.register("incoming", frame)
    con.execute(f'INSERT INTO "{table.name}" SELECT * FROM incoming')  # noqa: S608 - table and column names come from schema.py; values are bound
    con.unregister("incoming")
