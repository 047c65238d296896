"""Helpers every layer may use and that know no biology: errors, atomic output, logs, figures,
BED files. Imports nothing else from seq2rx.
"""

from seq2rx.core.bed import read_bed_named
from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, log_stderr, scratch_dir, write_json

__all__ = ["InputError", "atomic_output", "log_stderr", "read_bed_named", "scratch_dir", "write_json"]
