"""Deterministic matplotlib figures as inline SVG text.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, so no global figure state) and
rendered with the Agg-based SVG writer under fixed settings: no date or version in the metadata,
a fixed salt for element IDs, text kept as text. The same figure therefore gives the same bytes
in every run, like the hand-written coverage SVG of the patient report (template ``coverage.html``).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette, in their order less black, then black
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: a perceptually uniform sequential map readable with colour-vision deficiency (Nuñez et al. 2018)
SEQUENTIAL = "cividis"
RC = {
    "svg.hashsalt": "seq2rx",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def colour(i: int) -> str:
    """The i-th palette colour (0-based), cycling after eight."""
    return OKABE_ITO[i % len(OKABE_ITO)]


def figure(width: float, height: float) -> Figure:
    """A new figure, ``width`` × ``height`` inches, under the fixed style."""
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height), layout="constrained")


def svg(fig: Figure, title: str | None = None) -> str:
    """The figure as SVG text starting at ``<svg`` (ready to inline in HTML), byte-identical
    between runs. ``title`` becomes the SVG's title metadata (its accessible name)."""
    buf = io.StringIO()
    meta = {"Date": None, "Creator": "seq2rx", "Title": title}
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={k: v for k, v in meta.items() if v is not None or k == "Date"})
    text = buf.getvalue()
    return text[text.index("<svg") :]
