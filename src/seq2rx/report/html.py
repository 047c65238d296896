"""What the HTML reports share: the style sheet, the sort script and its hash for the
Content-Security-Policy, and the Jinja2 environment their templates render in.

Every ``{{ value }}`` of a template is escaped automatically (autoescape on): the environment's
``finalize`` escapes it like :func:`html.escape` (``&quot;``/``&#x27;`` for quotes) and shows
``None`` as an empty string; markup built by the templates themselves (macros) passes through.
Markup from elsewhere (an SVG file) is inlined only through :func:`svg`, which checks it first.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import jinja2
from markupsafe import Markup

from seq2rx.core.svg import safe_svg

#: the templates ship as package data
TEMPLATES = Path(str(files("seq2rx.report").joinpath("templates")))

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;
color:#1b1b1b;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #c8c8c8;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f8}
.pass{color:#fff;background:#009E73;padding:.1rem .45rem;border-radius:.3rem}
.warn{color:#000;background:#E69F00;padding:.1rem .45rem;border-radius:.3rem}
.fail{color:#fff;background:#D55E00;padding:.1rem .45rem;border-radius:.3rem}
th{cursor:pointer}.note{border-left:4px solid #E69F00;padding:.2rem .6rem}.muted{color:#555}.alert{border:2px solid #D55E00;padding:.2rem 1rem}.disclaimer{border:1px solid #999;background:#f7f7f7;padding:.6rem 1rem;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}
.summary{border:2px solid #0072B2;border-radius:.4rem;padding:.2rem 1rem .6rem;font-size:.92rem}
.summary h1{margin:.3rem 0 .1rem}.summary h2{font-size:1.05rem;margin:.6rem 0 .3rem}.summary h3{font-size:.95rem;margin:.4rem 0 .2rem}
.summary p{margin:.25rem 0}.summary table{font-size:.85rem;margin:.2rem 0}.summary caption{text-align:left;font-weight:600}
.facts{margin:.1rem 0}.ruo{font-size:.8rem;color:#333;background:#f7f7f7;padding:.15rem .4rem}
.cols{display:grid;grid-template-columns:3fr 2fr;gap:0 1.5rem}.stack .compact{columns:2;column-gap:2rem}.compact{margin:.2rem 0;padding-left:1.1rem}.compact li{margin:.1rem 0}
.resist{border-left:4px solid #D55E00;background:#fbeee6;padding:.15rem .5rem}.alertline{border-left:4px solid #D55E00;padding:.15rem .5rem}
tr.resistance td{background:#fbeee6}nav{margin:1rem 0;font-size:.9rem}details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
@media print{body{margin:0;max-width:none;font-size:10pt}.summary{font-size:8.5pt}.summary table{font-size:8pt}.summary{break-after:page;border:none;padding:0}nav{display:none}
details>*{display:block}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}
"""

#: click a column header to sort the table by it (numbers numerically); allowed by its hash in
#: the page's Content-Security-Policy, so no other script can run
SORT_JS = (
    "document.querySelectorAll('table').forEach(function(t){t.querySelectorAll('th').forEach(function(th,i){"
    "th.addEventListener('click',function(){var b=t.tBodies[0];if(!b)return;var rows=Array.from(b.rows);"
    "var asc=th.getAttribute('aria-sort')!=='ascending';rows.sort(function(x,y){"
    "var a=x.cells[i]?x.cells[i].textContent:'',c=y.cells[i]?y.cells[i].textContent:'';"
    "var num=/^\\s*-?\\d+(\\.\\d+)?(e[-+]?\\d+)?\\s*$/i;"
    "var r=(num.test(a)&&num.test(c))?Number(a)-Number(c):(num.test(a)?-1:(num.test(c)?1:a.localeCompare(c)));"
    "return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});"
    "t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort');});"
    "th.setAttribute('aria-sort',asc?'ascending':'descending');});});});"
)
SORT_JS_HASH = base64.b64encode(hashlib.sha256(SORT_JS.encode()).digest()).decode()

#: no requests leave the page; inline style and data: images only; the one script is the sort script
CSP = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{SORT_JS_HASH}'"

#: the verdicts that get a coloured badge
VERDICTS = ("pass", "warn", "fail")


def escape(value: object) -> Markup:
    """``value`` as HTML text: ``None`` empty, everything else :func:`html.escape`-d (quotes too)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))  # noqa: S704 (escaped here)


def svg(text: str | None, as_written: bool = False) -> Markup:
    """One SVG image to inline, checked first (:func:`seq2rx.core.svg.safe_svg`); empty for none.

    Inlined as the check returns it (surrounding white space cut), or ``as_written`` when the
    text differs from what was checked by that white space alone: a prolog that the check cuts
    (``<?xml ...?>`` and whatever follows it before ``<svg``) is never inlined unchecked.
    """
    if not text:
        return Markup("")
    checked = safe_svg(text)
    keep = as_written and text.strip() == checked
    return Markup(text if keep else checked)  # noqa: S704 (checked: drawing elements only)


def fmt(value: object, spec: str) -> str:
    """``format(value, spec)``, the template's way to write ``f"{value:spec}"``."""
    return format(value, spec)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The reports' Jinja2 environment: templates from ``report/templates``, autoescape on."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # the page's own constants, written by this module, are markup
    own = {"CSS": CSS, "SORT_JS": SORT_JS, "CSP": CSP}
    env.globals.update({k: Markup(v) for k, v in own.items()}, VERDICTS=VERDICTS)  # noqa: S704
    env.filters["fmt"] = fmt
    return env


def render(template: str, **context: object) -> str:
    """The text of ``template`` rendered with ``context``."""
    return environment().get_template(template).render(**context)
