"""Point of care: a CDS Hooks service that warns at prescribing time from the run's PGx findings.

``build_index`` turns ``results/findings/*.json`` into one read-only SQLite file; ``serve`` answers
the ``order-select`` and ``order-sign`` hooks from it, behind the client's JWT (CDS Hooks 2.0).
"""

from seq2rx.cds.auth import ReplayCache, Unauthorized, Verifier, load_jwks
from seq2rx.cds.cards import SERVICES, BadRequest, DrugTable, cards_for, discovery, parse_request
from seq2rx.cds.index import Index, build_index

__all__ = ["SERVICES", "BadRequest", "DrugTable", "Index", "ReplayCache", "Unauthorized", "Verifier", "build_index",
           "cards_for", "discovery", "load_jwks", "parse_request"]  # fmt: skip
