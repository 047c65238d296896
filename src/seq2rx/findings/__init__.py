"""The per-patient findings document (``results/findings/{patient}.json``): assembled from the
analysis steps' outputs, checked against its schema, and the one thing every report reads.
"""

from seq2rx.findings.document import SCHEMA_VERSION, build, identity_summary, qc_with_identity, validate, write
from seq2rx.findings.summary import first_screen

__all__ = ["SCHEMA_VERSION", "build", "first_screen", "identity_summary", "qc_with_identity", "validate", "write"]
