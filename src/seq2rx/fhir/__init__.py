"""FHIR output: one patient's findings document as an HL7 FHIR R4 Bundle that follows the Genomics
Reporting IG (STU3), checked with the ``fhir.resources`` R4B models. Imports only ``core`` and
``findings``.
"""

from seq2rx.fhir._bundle import (
    CodeTables,
    build_bundle,
    count_resources,
    load_tables,
    read_findings,
    unresolved_references,
    validate_bundle,
    write_bundle,
)

__all__ = ["CodeTables", "build_bundle", "count_resources", "load_tables", "read_findings",
           "unresolved_references", "validate_bundle", "write_bundle"]  # fmt: skip
