"""Build the cohort database: per-sample Parquet shards, then one cheap combine.

Each sample's rows of every per-sample table are written once, as Parquet, by
:func:`write_sample_shards` (one Snakemake job per sample). :func:`build_database` only reads the
shards, the sample sheet, the clinical table and the predictions, so adding a sample to a run
costs one shard job and the combine. Values from files are only ever bound as parameters or
passed through DuckDB's Python API; no SQL text is built from them.

The Parquet shards are the same bytes for the same inputs. A ``.duckdb`` file is not (its
header and block layout change between builds), so the builder also writes a fingerprint table
(row count and a content hash per table) that is byte-identical across rebuilds.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from seq2rx.cohort.schema import EHR_TABLES, SHARD_TABLES, TABLES, Table
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output

#: cells that mean "no value" in the workflow's TSVs and in the clinical table
MISSING = frozenset({"", ".", "NA"})

#: plausible ranges of the clinical table's numbers (docs/data-model.md)


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False, threads: int = 1, files: bool = True):
    """A DuckDB connection; with ``files=False`` SQL text cannot touch the file system.

    ``enable_external_access`` off means SQL cannot read or write files (``read_csv``, ``COPY``,
    ``ATTACH``), and ``lock_configuration`` stops a query from switching it back on. Queries
    written by users run on such a connection; the builder needs files and passes their names
    as bound parameters.
    """
    import duckdb

    config = {"threads": threads}
    if not files:
        config.update(enable_external_access=False, lock_configuration=True)
    try:
        return duckdb.connect(str(path) if path else ":memory:", read_only=read_only, config=config)
    except duckdb.IOException as exc:
        from seq2rx.core.errors import InputError

        raise InputError(str(path), f"cannot be opened as a DuckDB database ({str(exc).splitlines()[0]})",
                         hint="give the cohort.duckdb the workflow wrote") from None  # fmt: skip


def parse_cell(text: str, column, path: str, line: int):
    """Convert one TSV cell to the column's type; raise :class:`InputError` naming the place.

    >>> from seq2rx.cohort.schema import Column
    >>> parse_cell("42", Column("age", "INTEGER", ""), "c.tsv", 2)
    42
    >>> parse_cell(".", Column("age", "INTEGER", ""), "c.tsv", 2) is None
    True
    """
    text = text.strip()
    if text in MISSING:
        return None
    kind = column.type
    try:
        if kind in ("INTEGER", "BIGINT"):
            return int(text)
        if kind == "DOUBLE":
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if kind == "DATE":
            if len(text) != 10:
                raise ValueError
            return dt.date.fromisoformat(text)
    except ValueError:
        expected = {"INTEGER": "an integer", "BIGINT": "an integer", "DOUBLE": "a number", "DATE": "a date YYYY-MM-DD"}
        raise InputError(path, f"{text!r} is not {expected[kind]}", line=line, field=column.name) from None
    return text


def read_tsv(
    path: str | os.PathLike,
    table: Table,
    *,
    rename: Mapping[str, str] | None = None,
    fixed: Mapping[str, object] | None = None,
    required: Iterable[str] = (),
) -> list[dict]:
    """Rows of a tab-separated file as dicts of the table's columns, typed.

    ``rename`` maps file columns to table columns; ``fixed`` gives values for columns the file
    does not have (e.g. the patient of a per-sample file). Columns of the table that are neither
    in the file nor fixed are NULL; extra file columns are ignored. ``required`` columns must be
    in the header. An empty file (no header) is an error; a header alone gives no rows.
    """
    path = str(path)
    rename = dict(rename or {})
    fixed = dict(fixed or {})
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise InputError(path, "is empty; expected a header line")
        header = [rename.get(h.strip(), h.strip()) for h in header]
        for name in required:
            if name not in header:
                raise InputError(path, f"has no column {name!r}", line=1)
        wanted = {c.name: c for c in table.columns}
        index = [(i, wanted[h]) for i, h in enumerate(header) if h in wanted and h not in fixed]
        rows = []
        for line, cells in enumerate(reader, start=2):
            if not cells or cells == [""]:
                continue
            if len(cells) != len(header):
                raise InputError(path, f"has {len(cells)} cells but the header has {len(header)}", line=line)
            row = dict.fromkeys(table.names)
            row.update(fixed)
            for i, col in index:
                row[col.name] = parse_cell(cells[i], col, path, line)
            row["_line"] = line
            rows.append(row)
    return rows


def read_clinical(path: str | os.PathLike) -> list[dict]:
    """The clinical table (``docs/data-model.md``) as typed rows of the ``patients`` columns.

    Every cell is checked by :func:`seq2rx.inputs.clinical.read_clinical` first (ranges, categories,
    dates, outcome consistency); this only types the rows for the database. Sex and tumour type
    come from the sample sheet, so extra columns such as ``sex`` (in the historical cohort's
    table) are ignored.
    """
    from seq2rx.inputs.clinical import read_clinical as check_clinical

    check_clinical(path)
    table = TABLES["patients"]
    rows = read_tsv(path, table, required=["patient"])
    for row in rows:
        # the sample sheet, not this table, says sex and tumour type
        row["sex"] = row["tumor_type"] = None
    return rows


def _genotype(call) -> str | None:
    alleles = call.get("GT") if call is not None else None
    if not alleles:
        return None
    sep = "|" if call.phased else "/"
    return sep.join("." if a is None else str(a) for a in alleles)


def read_variants(
    sample: str, patient: str, origin: str, vcf: str | os.PathLike, consequences: str | os.PathLike | None
) -> list[dict]:
    """Every call of ``vcf`` joined to its consequence rows (one per transcript).

    The VCF gives FILTER and the sample's genotype (the column named ``sample``, else the first).
    A call without a consequence row keeps one row with NULL annotation; a consequence row
    without a call (should not happen) keeps its own genotype and a NULL filter.
    """
    import pysam

    table = TABLES["variants"]
    calls: dict[tuple, dict] = {}
    with pysam.VariantFile(str(vcf)) as fh:
        names = list(fh.header.samples)
        column = sample if sample in names else (names[0] if names else None)
        for rec in fh:
            filt = ";".join(rec.filter.keys()) or "."
            gt = _genotype(rec.samples[column]) if column else None
            for alt in rec.alts or ():
                calls.setdefault((rec.chrom, rec.pos, rec.ref, alt), {"filter": filt, "genotype": gt})
    base = {"sample": sample, "patient": patient, "origin": origin}
    rows: list[dict] = []
    annotated: set[tuple] = set()
    if consequences:
        rename = {"dna_change_csq": "dna_change"}
        for row in read_tsv(consequences, table, rename=rename, fixed=base, required=["chrom", "pos", "ref", "alt"]):
            key = (row["chrom"], row["pos"], row["ref"], row["alt"])
            call = calls.get(key)
            row["filter"] = call["filter"] if call else None
            if call and call["genotype"]:
                row["genotype"] = call["genotype"]
            annotated.add(key)
            rows.append(row)
    for key, call in calls.items():
        if key not in annotated:
            row = dict.fromkeys(table.names)
            row.update(base)
            row.update(dict(zip(("chrom", "pos", "ref", "alt"), key, strict=True)))
            row.update(call)
            rows.append(row)
    return rows


def read_qc(sample: str, patient: str, path: str | os.PathLike) -> list[dict]:
    """The QC summary JSON of one sample as one ``qc`` row."""
    table = TABLES["qc"]
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"is not a readable QC summary: {exc}") from None
    row = {name: doc.get(name) for name in table.names}
    row.update(sample=sample, patient=patient, reasons=";".join(doc.get("reasons") or []) or None)
    for col in table.columns:
        value = row[col.name]
        if value is not None and col.type in ("DOUBLE", "BIGINT") and not isinstance(value, int | float):
            raise InputError(str(path), f"{value!r} is not a number", field=col.name)
    return [row]


def sample_row(sheet_row: Mapping[str, str]) -> dict:
    """The ``samples`` row of one sample-sheet row."""
    tumor_type = sheet_row.get("tumor_type")
    return {
        "sample": sheet_row["sample"],
        "patient": sheet_row["patient"],
        "type": sheet_row["type"],
        "sex": sheet_row.get("sex"),
        "tumor_type": None if tumor_type in MISSING or tumor_type is None else tumor_type,
        "starts_from": sheet_row.get("stage"),
    }


def write_parquet(table: Table, rows: Sequence[Mapping], path: str | os.PathLike) -> int:
    """Write ``rows`` as a Parquet file of ``table``'s columns and types, ordered by its key.

    Same rows in, same bytes out (one thread, a fixed row order, no timestamps in Parquet).
    """
    import pandas as pd

    con = connect()
    try:
        con.execute(table.ddl())
        frame = pd.DataFrame([[r.get(c) for c in table.names] for r in rows], columns=table.names, dtype=object)
        con.register("incoming", frame)
        con.execute(f'INSERT INTO "{table.name}" SELECT * FROM incoming')  # noqa: S608 - table and column names come from schema.py; values are bound
        order = ", ".join(f'"{c}" NULLS FIRST' for c in table.order)
        with atomic_output(path) as tmp:
            con.sql(f'SELECT * FROM "{table.name}" ORDER BY {order}').write_parquet(str(tmp))  # noqa: S608 - table and column names come from schema.py; values are bound
    finally:
        con.close()
    return len(rows)


def write_sample_shards(
    sheet_row: Mapping[str, str],
    outputs: Mapping[str, str | os.PathLike],
    *,
    qc: str | os.PathLike | None = None,
    variants: Sequence[tuple[str, str | os.PathLike, str | os.PathLike | None]] = (),
    pgx_genes: str | os.PathLike | None = None,
    pgx_drugs: str | os.PathLike | None = None,
    actionable: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write one sample's rows of every per-sample table; return the row count of each.

    ``outputs`` maps each name of :data:`SHARD_TABLES` to its Parquet path. ``variants`` lists
    ``(origin, vcf, consequences or None)``. An input that is not given gives an empty shard
    (e.g. no QC for a sample that starts from a VCF, no actionability for a germline sample).
    """
    sample, patient = sheet_row["sample"], sheet_row["patient"]
    missing = set(SHARD_TABLES) - set(outputs)
    if missing:
        raise ValueError(f"outputs lacks {sorted(missing)}")
    fixed = {"sample": sample, "patient": patient}
    rows: dict[str, list[dict]] = {name: [] for name in SHARD_TABLES}
    rows["samples"] = [sample_row(sheet_row)]
    if qc:
        rows["qc"] = read_qc(sample, patient, qc)
    for origin, vcf, csq in variants:
        if origin not in ("germline", "somatic", "tumor_mixed"):
            raise ValueError(f"origin must be germline, somatic or tumor_mixed, got {origin!r}")
        rows["variants"] += read_variants(sample, patient, origin, vcf, csq)
    if pgx_genes:
        rows["pgx_genes"] = read_tsv(pgx_genes, TABLES["pgx_genes"], fixed=fixed, required=["gene"])
    if pgx_drugs:
        rows["pgx_drugs"] = read_tsv(pgx_drugs, TABLES["pgx_drugs"], fixed=fixed, required=["drug"])
    if actionable:
        rows["actionable"] = read_tsv(actionable, TABLES["actionable"], fixed=fixed, required=["gene", "tier"])
    return {name: write_parquet(TABLES[name], rows[name], outputs[name]) for name in SHARD_TABLES}


def patient_rows(sheet_rows: Sequence[Mapping[str, str]], clinical: Sequence[Mapping] | None, clinical_path: str = ""):
    """``patients`` and ``medications`` rows: one patient per sheet patient, clinical columns joined."""
    table = TABLES["patients"]
    patients: dict[str, dict] = {}
    for r in sheet_rows:
        row = patients.setdefault(r["patient"], dict.fromkeys(table.names) | {"patient": r["patient"]})
        row["sex"] = row["sex"] or r.get("sex")
        # the sheet checks that a patient's rows agree on sex and tumour type
        row["tumor_type"] = row["tumor_type"] or sample_row(r)["tumor_type"]
    meds = []
    for c in clinical or ():
        if c["patient"] not in patients:
            raise InputError(
                clinical_path, f"patient {c['patient']!r} is not a patient of the sample sheet",
                line=c.get("_line"), field="patient",
            )  # fmt: skip
        row = patients[c["patient"]]
        row.update({k: v for k, v in c.items() if k in table.names and k not in ("patient", "sex", "tumor_type")})
        for drug in sorted({d.strip().lower() for d in (c["medications"] or "").split(";") if d.strip()}):
            meds.append({"patient": c["patient"], "drug": drug})
    return [patients[p] for p in sorted(patients)], meds


def _check_ehr_rows(ehr: Mapping[str, object], patients: set[str]) -> dict[str, object]:
    """``ehr`` checked: known table names, every row's patient a sheet patient (the EHR layer
    keeps only linked persons, so anything else is a programming error). A table's rows are a
    sequence of mappings or a pandas data frame with the table's columns."""
    import pandas as pd

    unknown = sorted(set(ehr) - set(EHR_TABLES))
    if unknown:
        raise ValueError(f"ehr tables must be among {list(EHR_TABLES)}, got {unknown}")
    for name, rows in ehr.items():
        if isinstance(rows, pd.DataFrame):
            absent = [c for c in TABLES[name].names if c not in rows.columns]
            if absent:
                raise ValueError(f"{name}: the data frame lacks column(s) {absent}")
            seen = {str(p) for p in rows["patient"].unique()}
        else:
            seen = {str(r.get("patient")) for r in rows}
        strangers = sorted(seen - patients)
        if strangers:
            raise ValueError(f"{name}: rows of patients not in the sample sheet: {strangers[:5]}")
    return {name: ehr[name] for name in EHR_TABLES if name in ehr and len(ehr[name])}


def _insert_rows(con, table: Table, rows) -> None:
    """Insert ``rows`` (mappings, or a data frame with the table's columns) sorted by the table's key."""
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        frame = rows[list(table.names)]
    else:
        frame = pd.DataFrame([[r.get(c) for c in table.names] for r in rows], columns=table.names, dtype=object)
    con.register("incoming", frame)
    cols = ", ".join(f'"{c}"' for c in table.names)
    order = ", ".join(f'"{c}" NULLS FIRST' for c in table.order)
    con.execute(f'INSERT INTO "{table.name}" SELECT {cols} FROM incoming ORDER BY {order}')  # noqa: S608 - table and column names come from schema.py; values are bound
    con.unregister("incoming")


def fingerprint(con) -> list[tuple[str, int, str]]:
    """``(table, rows, content hash)`` per table: the same for the same content, whatever the file bytes.

    The hash is the MD5 of the sorted MD5s of the rows' text, so it does not depend on row order.
    """
    out = []
    for name in TABLES:
        sql = f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM \"{name}\" AS t)"  # noqa: S608, E501 - names from schema.py
        n, digest = con.execute(sql).fetchone()
        out.append((name, int(n), digest))
    return out


def build_database(
    db_path: str | os.PathLike,
    shards: Mapping[str, Sequence[str | os.PathLike]],
    sheet_rows: Sequence[Mapping[str, str]],
    *,
    clinical: str | os.PathLike | None = None,
    predictions: str | os.PathLike | None = None,
    ehr: Mapping[str, object] | None = None,
    fingerprint_path: str | os.PathLike | None = None,
    threads: int = 1,
) -> dict[str, int]:
    """Combine the shards and the run-level tables into a new DuckDB file; return row counts.

    ``shards`` maps each name of :data:`SHARD_TABLES` to its Parquet files (any order: rows are
    sorted by each table's key). Without ``clinical`` the patients' clinical columns are NULL;
    without ``predictions`` (or when the file is absent) the predictions table is empty.
    ``ehr`` maps names of :data:`EHR_TABLES` to their rows (dicts of the table's columns, or a pandas
    data frame with those columns), as :func:`seq2rx.ehr.linked_rows` (or ``linked_frames``) derives
    them from an OMOP CDM; a table not given is empty, so
    the database has the same tables with or without a CDM. Every EHR row's patient must be a
    patient of the sample sheet. The file appears at ``db_path`` only once complete.
    """
    clinical_rows = read_clinical(clinical) if clinical else None
    patients, meds = patient_rows(sheet_rows, clinical_rows, str(clinical or ""))
    ehr_rows = _check_ehr_rows(ehr or {}, {p["patient"] for p in patients})
    pred_rows = []
    if predictions and Path(predictions).exists():
        pred_rows = read_tsv(predictions, TABLES["predictions"], required=["patient", "task"])
    with atomic_output(db_path) as tmp:
        con = connect(tmp, threads=threads)
        try:
            for table in TABLES.values():
                con.execute(table.ddl())
            _insert_rows(con, TABLES["patients"], patients)
            _insert_rows(con, TABLES["medications"], meds)
            _insert_rows(con, TABLES["predictions"], pred_rows)
            for name, rows in ehr_rows.items():
                _insert_rows(con, TABLES[name], rows)
            for name in SHARD_TABLES:
                files = [str(f) for f in shards.get(name, ())]
                if not files:
                    continue
                table = TABLES[name]
                cols = ", ".join(f'"{c}"' for c in table.names)
                order = ", ".join(f'"{c}" NULLS FIRST' for c in table.order)
                con.execute(
                    f'INSERT INTO "{name}" SELECT {cols} FROM read_parquet($files) ORDER BY {order}',  # noqa: S608 - names from schema.py; files bound
                    {"files": files},
                )
            prints = fingerprint(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        wal = Path(str(tmp) + ".wal")
        if wal.exists():
            wal.unlink()
    if fingerprint_path:
        with atomic_output(fingerprint_path) as tmp:
            lines = ["table\trows\tcontent_md5"] + [f"{n}\t{r}\t{h}" for n, r, h in prints]
            Path(tmp).write_text("\n".join(lines) + "\n")
    return {name: n for name, n, _ in prints}
