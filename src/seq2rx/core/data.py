"""The data that ships inside the package: schemas, knowledge bases, the demo's specification and
the real-data validation table, read with :mod:`importlib.resources`.

In a checkout, ``src/seq2rx/data/`` links to ``config/schemas`` and ``resources/``, so the library and
the workflow read the same files; a built wheel carries a copy of them. Nothing here walks up the
folder tree to find a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_path(*parts: str) -> Path:
    """Path of a file or folder shipped with seq2rx, e.g. ``data_path("kb", "pgx")``."""
    return Path(str(files("seq2rx").joinpath("data", *parts)))
