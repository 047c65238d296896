"""The demo simulator: a genome around real GRCh38 coordinates, reads, truth and a history of past
patients. Only the demo uses it.
"""

from seq2rx.sim.demo import demo_layout, simulate
from seq2rx.sim.model import load_pgx_sites, load_spec

__all__ = ["demo_layout", "load_pgx_sites", "load_spec", "simulate"]
