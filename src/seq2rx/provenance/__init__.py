"""What ran: per-step tool versions, and the provenance record with every output's checksum."""

from seq2rx.provenance.record import RECORD, build, outputs, sha256, verify, write
from seq2rx.provenance.versions import collect, merge, tool_version, write_versions

__all__ = [
    "RECORD",
    "build",
    "collect",
    "merge",
    "outputs",
    "sha256",
    "tool_version",
    "verify",
    "write",
    "write_versions",
]
