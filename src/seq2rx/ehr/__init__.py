"""EHR data in the OMOP Common Data Model (DuckDB): cohort definitions the OHDSI way.

- :mod:`.circe`: one cohort definition, Circe JSON (through ohdsi-circepy's SQL) or one SELECT,
  run read-only on a CDM; persons, entries and, on request, the members.
"""

from seq2rx.ehr.circe import read_definition, run_cohort

__all__ = ["read_definition", "run_cohort"]
