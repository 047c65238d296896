"""The CDS service's patient index: one read-only SQLite file built from the run's findings documents.

The service answers from this file alone (it never reads VCFs or findings at request time). It holds,
per patient, the PGx recommendations that can make a card (those with an indicator), the genotype
behind each, and the table of drug names and RxNorm ingredient codes the requests are matched on.
The file is written to a temporary name and renamed into place, so a running service keeps reading
the file it opened (its inode) while a rebuild replaces it; the same findings give the same bytes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.pgx.guidance import read_drug_codes

#: bumped when the tables change; the service refuses an index of another version
SCHEMA_VERSION = 2
_USER_VERSION = "PRAGMA user_version = 2"  # a PRAGMA takes no parameters: the same number, written out
#: card indicators of the CDS Hooks specification, least to most urgent
INDICATORS = ("info", "warning", "critical")
#: the RxNorm code system as FHIR names it
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE patient (id TEXT PRIMARY KEY, pgx_status TEXT NOT NULL, warnings TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE drug (name TEXT PRIMARY KEY, rxnorm TEXT) WITHOUT ROWID;
CREATE TABLE recommendation (
    patient TEXT NOT NULL,
    drug TEXT NOT NULL,
    ord INTEGER NOT NULL,
    genes TEXT NOT NULL,
    genotype TEXT NOT NULL,
    phenotype TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    strength TEXT NOT NULL,
    indicator TEXT NOT NULL,
    url TEXT,
    source TEXT NOT NULL,
    caveats TEXT NOT NULL,
    PRIMARY KEY (patient, drug, ord)
) WITHOUT ROWID;
CREATE INDEX drug_by_rxnorm ON drug (rxnorm);
"""

_URL = re.compile(r"https?://[^\s;()<>\"']+")


def guideline_url(rec: dict) -> str | None:
    """The recommendation's guideline URL: its ``url`` field, or else the first http(s) URL in its
    ``source`` text (which joins citation, URL and date). Only http(s) URLs are kept."""
    url = rec.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    m = _URL.search(str(rec.get("source") or ""))
    return m.group(0).rstrip(".,") if m else None


def card_indicator(rec: dict, where: str) -> str | None:
    """The card indicator of one recommendation: its ``indicator`` field when the findings carry
    one (null: no card); before they do, ``warning`` for an actionable recommendation and no card
    otherwise."""
    if "indicator" in rec:
        value = rec["indicator"]
        if value is not None and value not in INDICATORS:
            raise InputError(where, f"indicator {value!r} is not one of {', '.join(INDICATORS)} or null")
        return value
    return "warning" if rec.get("actionable") else None


def _genotype(genes: list[str], calls: dict[str, dict]) -> str:
    """``CYP2C19 *2/*2``; ``SLCO1B1 *1/*5; ABCG2 ...``; an ambiguous call's diplotypes joined by ' or '."""
    parts = []
    for gene in genes:
        dips = (calls.get(gene) or {}).get("diplotypes") or []
        parts.append(f"{gene} {' or '.join(dips)}" if dips else f"{gene} not called")
    return "; ".join(parts)


def index_rows(findings: list[dict], where: list[str]) -> tuple[list[tuple], list[tuple], dict[str, str | None]]:
    """(patients, recommendations, drug -> rxnorm) rows from findings documents (``where`` names
    each document's file, for messages). Pure; rows sorted."""
    patients, recs, drugs = [], [], {}
    seen = {}
    for doc, name in zip(findings, where, strict=True):
        patient = doc.get("patient")
        if not isinstance(patient, str) or not patient:
            raise InputError(name, "has no patient id", field="patient")
        if patient in seen:
            raise InputError(name, f"patient {patient!r} is also in {seen[patient]}")
        seen[patient] = name
        pgx = doc.get("pgx") or {}
        warnings = [str(w) for w in pgx.get("warnings") or []]
        patients.append((patient, str(pgx.get("status") or "not run"), "\n".join(warnings)))
        calls = {g["gene"]: g for g in pgx.get("genes") or []}
        ords: dict[str, int] = {}
        for k, rec in enumerate(pgx.get("recommendations") or []):
            field = f"pgx.recommendations[{k}]"
            try:
                drug = str(rec["drug"]).strip().lower()
                genes = [str(g) for g in rec["genes"]]
                text, strength, phenotype = str(rec["recommendation"]), str(rec["strength"]), str(rec["phenotype"])
            except (KeyError, TypeError):
                raise InputError(name, "a recommendation lacks drug, genes, phenotype, recommendation or strength",
                                 field=field) from None  # fmt: skip
            code = rec.get("rxnorm")
            if code is not None and not str(code).isdigit():
                raise InputError(name, f"rxnorm {code!r} is not an RxNorm code", field=field)
            if code is not None or drug not in drugs:
                drugs[drug] = str(code) if code is not None else drugs.get(drug)
            indicator = card_indicator(rec, f"{name}, field {field!r}")
            if indicator is None:
                continue
            ords[drug] = ords.get(drug, -1) + 1
            caveats = "\n".join(str(c) for c in rec.get("caveats") or [])
            recs.append((patient, drug, ords[drug], "|".join(genes), _genotype(genes, calls), phenotype, text,
                         strength, indicator, guideline_url(rec), str(rec.get("source") or ""), caveats))  # fmt: skip
    return sorted(patients), sorted(recs), drugs


def build_index(findings_files: list[str | Path], out: str | Path, *, drug_codes: str | Path | None = None) -> dict:
    """Write the index of ``findings_files`` to ``out`` (atomically); return counts.

    ``drug_codes`` (a TSV of drug, rxnorm, source, date) adds RxNorm codes for drugs the findings do
    not code themselves; a code in a findings document wins. Same inputs, same bytes.
    """
    files = sorted((Path(p) for p in findings_files), key=lambda p: p.name)
    docs = []
    for p in files:
        try:
            doc = json.loads(p.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(str(p), f"is not a JSON findings document ({exc.__class__.__name__})") from None
        if not isinstance(doc, dict):
            raise InputError(str(p), "is not a findings document (a JSON object)")
        docs.append(doc)
    patients, recs, drugs = index_rows(docs, [str(p) for p in files])
    codes = read_drug_codes(drug_codes) if drug_codes else {}
    table = {name: drugs.get(name) or codes.get(name) for name in sorted(set(drugs) | set(codes))}
    meta = {"schema_version": str(SCHEMA_VERSION), "patients": str(len(patients)), "cards": str(len(recs))}
    with atomic_output(out) as tmp:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA page_size = 4096")
            con.execute("PRAGMA journal_mode = OFF")
            con.execute("PRAGMA synchronous = OFF")
            con.execute(_USER_VERSION)
            con.executescript(_SCHEMA)
            con.execute("BEGIN")
            con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            con.executemany("INSERT INTO patient VALUES (?, ?, ?)", patients)
            con.executemany("INSERT INTO drug VALUES (?, ?)", sorted(table.items()))
            con.executemany("INSERT INTO recommendation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", recs)
            con.execute("COMMIT")
            con.execute("VACUUM")
        finally:
            con.close()
    return {"patients": len(patients), "cards": len(recs), "drugs": len(table),
            "coded": sum(1 for c in table.values() if c)}  # fmt: skip


@dataclass(frozen=True)
class Recommendation:
    """One row of the index: a recommendation that makes (part of) a card."""

    drug: str
    genes: tuple[str, ...]
    genotype: str
    phenotype: str
    recommendation: str
    strength: str
    indicator: str
    url: str | None
    source: str
    #: what limits this recommendation (a gene of the guideline not tested, ...) and what limits the
    #: patient's PGx result as a whole (genotypes from tumour DNA, ...)
    caveats: tuple[str, ...] = ()


class Index:
    """The index opened read-only (``mode=ro``, ``immutable=1``: the file is only ever replaced by a
    rename, never changed in place). One SQLite connection per thread that asks; the drug table is
    read once into memory."""

    def __init__(self, path: str | Path) -> None:
        import threading

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(str(path), "no CDS index here", hint="build it with: seq2rx cds index --results DIR")
        self._local = threading.local()
        try:
            con = self._connection()
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise InputError(str(path), f"is a CDS index of version {version}, not {SCHEMA_VERSION}",
                                 hint="rebuild it with: seq2rx cds index --results DIR")  # fmt: skip
            rows = con.execute("SELECT name, rxnorm FROM drug ORDER BY name").fetchall()
            self.patients = con.execute("SELECT COUNT(*) FROM patient").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise InputError(str(path), f"is not a readable CDS index ({exc})",
                             hint="rebuild it with: seq2rx cds index --results DIR") from None  # fmt: skip
        #: drug name -> RxNorm code (or None); RxNorm code -> drug name
        self.drugs: dict[str, str | None] = dict(rows)
        self.by_rxnorm: dict[str, str] = {code: name for name, code in rows if code}

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            uri = self.path.resolve().as_uri() + "?mode=ro&immutable=1"
            con = sqlite3.connect(uri, uri=True, check_same_thread=True)
            self._local.con = con
        return con

    def recommendations(self, patient: str, drug: str) -> list[Recommendation]:
        """The card-making recommendations of ``patient`` for ``drug``, in the findings' order."""
        rows = self._connection().execute(
            "SELECT r.drug, r.genes, r.genotype, r.phenotype, r.recommendation, r.strength, r.indicator, r.url, "
            "r.source, r.caveats, p.warnings FROM recommendation AS r JOIN patient AS p ON p.id = r.patient "
            "WHERE r.patient = ? AND r.drug = ? ORDER BY r.ord",
            (patient, drug),
        )
        return [
            Recommendation(
                r[0], tuple(r[1].split("|")), *r[2:9], caveats=tuple(c for c in (r[9] + "\n" + r[10]).split("\n") if c)
            )  # fmt: skip
            for r in rows
        ]

    def has_patient(self, patient: str) -> bool:
        return self._connection().execute("SELECT 1 FROM patient WHERE id = ?", (patient,)).fetchone() is not None
