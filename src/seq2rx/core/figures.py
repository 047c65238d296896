"""Deterministic matplotlib figures as inline SVG text.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, so no global figure state) and
rendered with the Agg-based SVG writer under fixed settings: no date or version in the metadata,
a fixed salt for element IDs, text kept as text. The same figure therefore gives the same bytes
in every run, like the hand-written SVG of :func:`seq2rx.report.patient.coverage_svg`.
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


#: the SVG (and embedded RDF metadata) elements our figures use; anything else is refused on inlining
SAFE_ELEMENTS = frozenset(
    "svg g path defs clipPath use text tspan title desc metadata rect circle ellipse line polyline polygon "
    "style linearGradient radialGradient stop pattern image mask RDF Work type date creator Agent format "
    "title description".split()
)


def safe_svg(text: str) -> str:
    """``text`` if it is an SVG made only of drawing elements, ready to inline in HTML; else ValueError.

    A report inlines SVG it did not draw itself (read from a findings document or a results file),
    so the markup is checked rather than trusted: no scripts, event handlers, forms, foreign
    objects, or links and images leaving the document (only ``#id`` and ``data:`` references).
    """
    import xml.etree.ElementTree as ET

    text = text.strip()
    if text.startswith("<?xml") and "<svg" in text:  # a prolog or DOCTYPE is not allowed inside HTML
        text = text[text.index("<svg") :]
    if not text.startswith("<svg") or "<!ENTITY" in text:
        raise ValueError("not an SVG image")
    try:
        # no DTD can reach the parser (everything before <svg is cut, <!ENTITY refused): no entity attacks
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed SVG: {exc}") from None
    for el in root.iter():
        name = el.tag.rsplit("}", 1)[-1]
        if name not in SAFE_ELEMENTS:
            raise ValueError(f"SVG element <{name}> is not allowed in a report")
        for attr, value in el.attrib.items():
            key = attr.rsplit("}", 1)[-1].lower()
            if key.startswith("on"):
                raise ValueError(f"SVG attribute {key!r} is not allowed in a report")
            if key in ("href", "src") and not value.startswith(("#", "data:image/png;base64,")):
                raise ValueError(f"SVG link {value[:40]!r} leaves the document")
        if name == "style" and ("url(" in (el.text or "") or "@import" in (el.text or "")):
            raise ValueError("SVG style fetches a resource")
    return text
