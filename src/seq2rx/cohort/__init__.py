"""The cohort database (DuckDB) over everything the workflow produced, cohorts as SQL, privacy.

- :mod:`.schema`: the tables and their columns (the one description of the database);
- :mod:`.build`: per-sample Parquet shards and the combine into ``results/cohort.duckdb``;
- :mod:`.sql`: read-only queries with bound parameters, cohort-file checks;
- :mod:`.cohorts`: a cohort's members, shareable summary and Kaplan-Meier curves;
- :mod:`.privacy`: small-count suppression and the de-identified export.
"""

from seq2rx.cohort.build import build_database, write_sample_shards
from seq2rx.cohort.cohorts import run_cohort
from seq2rx.cohort.privacy import export, suppress
from seq2rx.cohort.schema import EHR_TABLES, SHARD_TABLES, TABLES
from seq2rx.cohort.sql import run_query

__all__ = [
    "EHR_TABLES",
    "SHARD_TABLES",
    "TABLES",
    "build_database",
    "export",
    "run_cohort",
    "run_query",
    "suppress",
    "write_sample_shards",
]
