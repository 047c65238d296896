"""Deterministic matplotlib figures as inline SVG text.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, so no global figure state) and
rendered with the Agg-based SVG writer under fixed settings: no date or version in the metadata,
a fixed salt for element IDs, text kept as text. The same figure therefore gives the same bytes
in every run, like the hand-written coverage SVG of the patient report (template ``coverage.html``).

Before a figure is written it is drawn once and every piece of text it shows is checked to lie
inside the canvas (:func:`check_text_inside`): an SVG clips what lies outside its view box, so a
long title or label would otherwise ship cut off ("log-rank p = 4.9e-0"). A figure whose text
sticks out is given a larger canvas, within limits (:func:`fit_text`); one that still does not
fit is refused with :class:`ClippedTextError`, never written cut off. Producers wrap text they
do not control, such as a cohort's name (:func:`wrap`).
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")

from matplotlib.axis import Axis  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

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


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (at spaces where it can, inside
    a word where one word is longer), its own line breaks kept."""
    return "\n".join(textwrap.fill(line, width) or line for line in text.split("\n"))


class ClippedTextError(ValueError):
    """A figure shows text that lies (partly) outside its canvas."""


def _shown_texts(artist):
    """The visible, non-empty Text artists under ``artist`` that a draw puts on the canvas: the
    tick labels of an axis only for ticks inside its view interval (the others are not drawn)."""
    for child in artist.get_children():
        if not child.get_visible():
            continue
        if isinstance(child, Axis):
            lo, hi = sorted(child.get_view_interval())
            slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
            for tick in child.get_major_ticks() + child.get_minor_ticks():
                if tick.get_visible() and lo - slack <= tick.get_loc() <= hi + slack:
                    yield from (t for t in (tick.label1, tick.label2) if t.get_visible() and t.get_text())
            yield from (t for t in (child.label, child.offsetText) if t.get_visible() and t.get_text())
            continue
        if isinstance(child, Text) and child.get_text():
            yield child
        yield from _shown_texts(child)


def _overflow(fig: Figure) -> list[tuple[Text, dict[str, float]]]:
    """Each shown text of ``fig`` that sticks out of the canvas, with by how many pixels on each
    side (left, right, bottom, top). The figure is drawn first, under the fixed style, so the
    layout is the one that is saved."""
    with matplotlib.rc_context(RC):
        canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
        renderer = canvas.get_renderer()
        fig.draw(renderer)
        box = fig.bbox
        out = []
        for text in _shown_texts(fig):
            ext = text.get_window_extent(renderer)
            over = {"left": box.x0 - ext.x0, "right": ext.x1 - box.x1, "bottom": box.y0 - ext.y0,
                    "top": ext.y1 - box.y1}  # fmt: skip
            over = {k: v for k, v in over.items() if v > TOLERANCE_PX}
            if over:
                out.append((text, over))
    return out


#: how far (pixels) a text's box may reach past the canvas: rounding, not a visible cut
TOLERANCE_PX = 0.5
#: how much :func:`fit_text` may widen or heighten a figure to hold its text
MAX_GROWTH = 1.6


def text_outside(fig: Figure) -> list[str]:
    """Each text of ``fig`` that does not lie wholly inside its canvas, as ``'TEXT' (by how many
    points, on which side)``; empty when every text fits. Each visible Text artist the figure
    draws (titles, axis and tick labels, legends, annotations) has its window extent compared
    with the figure's box."""
    to_points = 72.0 / fig.dpi
    return [
        f"{text.get_text()!r} ({', '.join(f'{v * to_points:.1f} pt {k}' for k, v in over.items())})"
        for text, over in _overflow(fig)
    ]


def check_text_inside(fig: Figure, name: str = "figure") -> None:
    """Raise :class:`ClippedTextError` naming every text of ``fig`` that lies outside its canvas
    (see :func:`text_outside`); a figure whose text would be cut off is not written."""
    outside = text_outside(fig)
    if outside:
        raise ClippedTextError(f"{name}: text outside the canvas would be cut off: {'; '.join(outside)}")


def fit_text(fig: Figure, name: str = "figure") -> None:
    """Make every text of ``fig`` lie inside its canvas, or raise :class:`ClippedTextError`.

    A figure whose text sticks out is widened (or heightened) by as much as it sticks out, and
    laid out again, a few times: its constrained layout then gives the axes the room (long tick
    labels, a title wider than the axes). The canvas may grow to ``MAX_GROWTH`` times its size;
    text that still does not fit (placed outside the figure, or far too long) is an error, so a
    figure with text cut off is never written. Deterministic: the same figure grows the same way.
    """
    width, height = fig.get_size_inches()
    for _ in range(8):
        over = _overflow(fig)
        if not over:
            return
        grow_x = max(o.get("left", 0.0) for _, o in over) + max(o.get("right", 0.0) for _, o in over)
        grow_y = max(o.get("bottom", 0.0) for _, o in over) + max(o.get("top", 0.0) for _, o in over)
        w, h = fig.get_size_inches()
        w, h = w + (grow_x + 2.0) / fig.dpi * (grow_x > 0), h + (grow_y + 2.0) / fig.dpi * (grow_y > 0)
        if w > MAX_GROWTH * width or h > MAX_GROWTH * height:
            break
        fig.set_size_inches(w, h)
    check_text_inside(fig, name)


def svg(fig: Figure, title: str | None = None) -> str:
    """The figure as SVG text starting at ``<svg`` (ready to inline in HTML), byte-identical
    between runs. ``title`` becomes the SVG's title metadata (its accessible name). Text that
    would be cut off is made to fit or refused first (:func:`fit_text`)."""
    fit_text(fig, title or "figure")
    buf = io.StringIO()
    meta = {"Date": None, "Creator": "seq2rx", "Title": title}
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={k: v for k, v in meta.items() if v is not None or k == "Date"})
    text = buf.getvalue()
    return text[text.index("<svg") :]
