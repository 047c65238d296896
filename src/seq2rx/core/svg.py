"""Checking SVG before a report inlines it: drawing elements only (no matplotlib needed here, so
rendering a report imports no plotting library)."""

from __future__ import annotations

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
