"""Patient-by-patient distances, one matrix per data type.

Every function takes one table with a row per patient and returns an ``(N, N)`` symmetric matrix
with a zero diagonal. Distances are computed over all rows passed in together (history and query
patients alike): Gower's ranges and the expression standardisation are properties of that set.
No outcome column is ever read here.

- genomic: the gene-level variant profile (``mut_<GENE>``, ``trunc_<GENE>``, 0/1) by the Jaccard
  distance, and PGx phenotypes (``pgx_<GENE>``) by the fraction of mismatching phenotypes over the
  genes called in both patients; the two are mixed with a configurable weight.
- clinical: Gower's distance (Gower 1971, Biometrics 27:857) for numeric, ordinal and categorical
  columns with missing values.
- expression: Euclidean (by default squared, as SNFtool and snfpy use it) on standardised values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from seq2rx.core.errors import InputError

#: phenotype values that say the gene was not called: skipped, like a missing value
PGX_UNCALLED = ("not called", "missing", "")
VARIANT_PREFIXES = ("mut_", "trunc_")
PGX_PREFIX = "pgx_"
EXPRESSION_METRICS = ("sqeuclidean", "euclidean")


def _first_bad(source: str, df: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> InputError:
    i = int(np.flatnonzero(mask)[0])
    value = df[column].iloc[i]
    value = value.item() if isinstance(value, np.generic) else value
    return InputError(source, f"{problem}, got {value!r}", row=i + 1, field=column)


def jaccard_distance(profiles: np.ndarray) -> np.ndarray:
    """1 − |A ∩ B| / |A ∪ B| between the rows of a 0/1 matrix (one column per attribute).

    Two rows with no attribute present (both empty profiles) are at distance 0: they do not differ.
    """
    B = np.asarray(profiles, dtype=float)
    inter = B @ B.T
    size = B.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(union > 0, 1.0 - inter / np.where(union > 0, union, 1.0), 0.0)
    np.fill_diagonal(d, 0.0)
    return d


def _codes(values: pd.Series, missing: Sequence[str] = ()) -> np.ndarray:
    """Integer codes of a categorical column; −1 for missing (NaN or one of ``missing``)."""
    text = values.astype("string").str.strip()
    absent = text.isna() | text.str.lower().isin([m.lower() for m in missing])
    codes = pd.Series(pd.factorize(text.where(~absent), sort=True)[0], index=values.index)
    return codes.to_numpy(dtype=np.int64)


def mismatch_distance(categories: pd.DataFrame, missing: Sequence[str] = PGX_UNCALLED) -> np.ndarray:
    """Fraction of categorical columns on which two rows differ, over the columns known in both.

    A value in ``missing`` (or NaN) is unknown and left out of that pair's comparison. A pair with no
    column known in both gets NaN (the caller decides what that means).
    """
    n = len(categories)
    differ = np.zeros((n, n))
    known = np.zeros((n, n))
    for column in categories.columns:
        c = _codes(categories[column], missing)
        both = (c[:, None] >= 0) & (c[None, :] >= 0)
        known += both
        differ += both & (c[:, None] != c[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(known > 0, differ / np.where(known > 0, known, 1.0), np.nan)
    np.fill_diagonal(d, 0.0)
    return d


def genomic_columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(variant-profile columns, PGx columns) of a feature matrix, in table order."""
    variants = [c for c in df.columns if str(c).startswith(VARIANT_PREFIXES)]
    pgx = [c for c in df.columns if str(c).startswith(PGX_PREFIX)]
    return variants, pgx


def genomic_distance(df: pd.DataFrame, *, pgx_weight: float = 0.5, source: str = "features") -> np.ndarray:
    """(1 − w) · Jaccard distance of the variant profiles + w · PGx phenotype mismatch.

    ``w`` is ``pgx_weight`` (0 uses variants only, 1 PGx only). Where a pair has no PGx gene called in
    both, or the table has no PGx column, the pair's distance is its Jaccard distance alone; with no
    variant column, it is the PGx mismatch alone (a pair with neither known gets 1). A variant cell
    must be 0 or 1: anything else is an error naming its row and column.
    """
    if not 0.0 <= pgx_weight <= 1.0:
        raise ValueError(f"pgx_weight must be between 0 and 1, got {pgx_weight!r}")
    variants, pgx = genomic_columns(df)
    if not variants and not pgx:
        raise InputError(source, "no genomic column (mut_<GENE>, trunc_<GENE> or pgx_<GENE>)", line=1)
    jac = None
    if variants:
        values = df[variants].apply(pd.to_numeric, errors="coerce")
        for column in variants:
            bad = ~values[column].isin([0, 1]).to_numpy()
            if bad.any():
                raise _first_bad(source, df, bad, column, "a variant-profile cell must be 0 or 1")
        jac = jaccard_distance(values.to_numpy())
    if not pgx:
        return jac
    mis = mismatch_distance(df[pgx])
    if jac is None:
        return np.nan_to_num(mis, nan=1.0)
    mixed = (1.0 - pgx_weight) * jac + pgx_weight * mis
    return np.where(np.isnan(mis), jac, mixed)


def gower_distance(
    df: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    ordinal: Mapping[str, Sequence[str]] | None = None,
    source: str = "clinical",
) -> np.ndarray:
    """Gower's distance: the mean over variables known in both rows of a per-variable distance.

    Numeric columns: |x − y| / range (a column with range 0 contributes 0). Ordinal columns (given as
    ``{column: [levels, low to high]}``): their level ranks, treated as numeric. Every other column
    (text, category, boolean) is categorical: 0 if equal, 1 if not. Missing cells are left out of
    the pair's mean; a pair with no variable known in both gets distance 1. A value of an ordinal
    column outside its levels is an error naming its row and column.
    """
    columns = list(df.columns if columns is None else columns)
    ordinal = dict(ordinal or {})
    missing = [c for c in [*columns, *ordinal] if c not in df.columns]
    if missing:
        raise InputError(source, f"no column {', '.join(map(repr, missing))}", line=1)
    n = len(df)
    total = np.zeros((n, n))
    known = np.zeros((n, n))
    for column in columns:
        s = df[column]
        if column in ordinal:
            levels = [str(v) for v in ordinal[column]]
            text = s.astype("string")
            bad = (text.notna() & ~text.isin(levels)).to_numpy()
            if bad.any():
                raise _first_bad(source, df, bad, column, f"must be one of {levels}")
            x = text.map({v: float(i) for i, v in enumerate(levels)}).astype(float).to_numpy()
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            x = s.to_numpy(dtype=float)
        else:
            c = _codes(s)
            both = (c[:, None] >= 0) & (c[None, :] >= 0)
            known += both
            total += both & (c[:, None] != c[None, :])
            continue
        ok = ~np.isnan(x)
        spread = np.nanmax(x) - np.nanmin(x) if ok.any() else 0.0
        both = ok[:, None] & ok[None, :]
        known += both
        if spread > 0:
            diff = np.abs(x[:, None] - x[None, :]) / spread
            total += np.where(both, diff, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(known > 0, total / np.where(known > 0, known, 1.0), 1.0)
    np.fill_diagonal(d, 0.0)
    return d


def expression_distance(
    df: pd.DataFrame, columns: Sequence[str] | None = None, *, metric: str = "sqeuclidean", source: str = "expression"
) -> np.ndarray:
    """Euclidean (``metric="euclidean"``) or squared Euclidean (default) distance on values
    standardised per column (mean 0, sample standard deviation 1 over the rows given, as snfpy's
    ``make_affinity`` does).

    A missing value becomes the column mean (0 after standardisation); a constant column
    contributes nothing. A non-numeric cell is an error naming its row and column.
    """
    if metric not in EXPRESSION_METRICS:
        raise ValueError(f"metric must be one of {list(EXPRESSION_METRICS)}, got {metric!r}")
    columns = list(df.columns if columns is None else columns)
    values = df[columns].apply(pd.to_numeric, errors="coerce")
    for column in columns:
        bad = (values[column].isna() & df[column].notna()).to_numpy()
        if bad.any():
            raise _first_bad(source, df, bad, column, "an expression value must be a number")
    X = values.to_numpy(dtype=float)
    mean = np.nanmean(X, axis=0)
    sd = np.nanstd(X, axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    Z = np.where(np.isnan(X), 0.0, (X - mean) / np.where(sd > 0, sd, 1.0))
    sq = (Z * Z).sum(axis=1)
    d = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (Z @ Z.T), 0.0)
    np.fill_diagonal(d, 0.0)
    d = (d + d.T) / 2.0
    return np.sqrt(d) if metric == "euclidean" else d
