"""Deterministic matplotlib figures as SVG text, in a colour-blind-safe palette.

The same data give the same bytes: the Agg backend, no date or creator in the metadata, a fixed
hash salt for SVG element ids, and text kept as text (not glyph paths) so that reports stay small
and searchable.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

# Okabe & Ito (2008), "Color universal design": distinguishable with every common colour-vision deficiency
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
STYLE = {
    "svg.hashsalt": "seq2rx",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def figure(width: float = 4.5, height: float = 3.2):
    """A new (figure, axes) in the house style."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def to_svg(fig) -> str:
    """The figure as SVG text without run-specific metadata; the figure is closed."""
    buf = io.StringIO()
    with plt.rc_context(STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    # the XML prolog and DOCTYPE are not allowed inside HTML; the <svg> element is all a page needs
    return text[text.index("<svg") :]
