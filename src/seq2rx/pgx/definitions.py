"""Pharmacogene allele definitions: seq2rx's own table format, and an importer of the published one.

The knowledge base keeps one row per (gene, allele, position) that the allele defines, in
``resources/kb/pgx/allele_definitions.tsv``, and one row per position the gene's definitions
name, in ``positions.tsv`` (every one of them is genotyped, reference calls included). Each row
carries its source and date. :func:`import_translation` reads the published definition files
(PharmCAT's ``*_translation.json``: CPIC allele definitions, CC0), so a user can drop in a newer
release with ``seq2rx pgx import-definitions``.

Allele cells are written as the definition writes them in VCF terms: a base, an indel allele,
or an IUPAC ambiguity code (``R`` = A or G) where the definition allows either.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output

POSITION_COLUMNS = ("gene", "chrom", "pos", "ref", "alts", "rsid", "build", "source", "date")
ALLELE_COLUMNS = ("gene", "allele", "reference_allele", "chrom", "pos", "allele_base", "source", "date")


@dataclass(frozen=True)
class Position:
    gene: str
    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    rsid: str


@dataclass
class GeneDefinition:
    """The named alleles of one gene over its positions (GRCh38)."""

    gene: str
    positions: list[Position]
    #: allele name -> {position index: allele base}; a position an allele does not name is
    #: absent (the allele says nothing about it)
    alleles: dict[str, dict[int, str]]
    reference_allele: str
    source: str
    date: str


def import_translation(path: str | Path) -> GeneDefinition:
    """Read one published ``*_translation.json`` allele-definition file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        gene = data["gene"]
        build = data.get("genomeBuild", "")
        if not str(build).startswith("GRCh38"):
            raise InputError(
                str(path), f"definitions are on {build!r}; seq2rx's knowledge base is GRCh38", field="genomeBuild"
            )
        positions = [
            Position(
                gene, v["chromosome"], int(v["position"]), v["ref"], tuple(v.get("alts") or ()), v.get("rsid") or "."
            )
            for v in data["variants"]
        ]
        alleles: dict[str, dict[int, str]] = {}
        reference = ""
        for named in data["namedAlleles"]:
            cells = named["alleles"]
            if len(cells) != len(positions):
                raise InputError(
                    str(path), f"allele {named['name']!r} has {len(cells)} cells for {len(positions)} positions"
                )
            alleles[named["name"]] = {k: c for k, c in enumerate(cells) if c is not None}
            if named.get("reference"):
                reference = named["name"]
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(str(path), f"is not an allele-definition file ({exc!r})") from None
    version = str(data.get("version", ""))
    source = f"CPIC allele definitions via PharmCAT {version}".strip()
    return GeneDefinition(gene, positions, alleles, reference, source, version[:10])


def write_kb(definitions: list[GeneDefinition], outdir: str | Path) -> tuple[Path, Path]:
    """Write ``positions.tsv`` and ``allele_definitions.tsv`` under ``outdir`` (sorted, stable)."""
    outdir = Path(outdir)
    positions_path = outdir / "positions.tsv"
    alleles_path = outdir / "allele_definitions.tsv"
    definitions = sorted(definitions, key=lambda d: d.gene)
    with atomic_output(positions_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(POSITION_COLUMNS)
        for d in definitions:
            for p in d.positions:
                w.writerow([d.gene, p.chrom, p.pos, p.ref, ",".join(p.alts) or ".", p.rsid, "GRCh38", d.source, d.date])
    with atomic_output(alleles_path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(ALLELE_COLUMNS)
        for d in definitions:
            for name, cells in d.alleles.items():
                for k in sorted(cells):
                    p = d.positions[k]
                    w.writerow(
                        [
                            d.gene,
                            name,
                            "yes" if name == d.reference_allele else "no",
                            p.chrom,
                            p.pos,
                            cells[k],
                            d.source,
                            d.date,
                        ]
                    )
    return positions_path, alleles_path


KB_FIX = "correct the row, or import the knowledge base again with 'seq2rx pgx import-definitions'"


def read_kb(kb_dir: str | Path) -> dict[str, GeneDefinition]:
    """Load the knowledge base written by :func:`write_kb`, checking every row's fields."""
    kb_dir = Path(kb_dir)
    genes: dict[str, GeneDefinition] = {}
    index: dict[tuple[str, int], int] = {}
    with open(kb_dir / "positions.tsv", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        for lineno, row in enumerate(reader, 2):
            _require(row, POSITION_COLUMNS, kb_dir / "positions.tsv", lineno)
            if row["build"] != "GRCh38":
                raise InputError(
                    str(kb_dir / "positions.tsv"),
                    f"build must be GRCh38, got {row['build']!r}",
                    line=lineno,
                    field="build",
                )
            d = genes.setdefault(row["gene"], GeneDefinition(row["gene"], [], {}, "", row["source"], row["date"]))
            alts = tuple(a for a in row["alts"].split(",") if a != ".")
            try:
                pos = int(row["pos"])
            except ValueError:
                raise InputError(
                    str(kb_dir / "positions.tsv"),
                    f"pos must be an integer, got {row['pos']!r}",
                    line=lineno,
                    field="pos",
                    hint=KB_FIX,
                ) from None
            index[(row["gene"], pos)] = len(d.positions)
            d.positions.append(Position(row["gene"], row["chrom"], pos, row["ref"], alts, row["rsid"]))
    with open(kb_dir / "allele_definitions.tsv", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        for lineno, row in enumerate(reader, 2):
            _require(row, ALLELE_COLUMNS, kb_dir / "allele_definitions.tsv", lineno)
            if not row["pos"].isdigit():
                raise InputError(
                    str(kb_dir / "allele_definitions.tsv"), f"pos must be an integer, got {row['pos']!r}",
                    line=lineno, field="pos", hint=KB_FIX,
                )  # fmt: skip
            key = (row["gene"], int(row["pos"]))
            if key not in index:
                raise InputError(
                    str(kb_dir / "allele_definitions.tsv"), f"{row['gene']} position {row['pos']} is not in positions.tsv",
                    line=lineno, field="pos", hint=KB_FIX,
                )  # fmt: skip
            d = genes[row["gene"]]
            d.alleles.setdefault(row["allele"], {})[index[key]] = row["allele_base"]
            if row["reference_allele"] == "yes":
                d.reference_allele = row["allele"]
    return genes


def _require(row: dict, columns: tuple[str, ...], path: Path, lineno: int) -> None:
    for col in columns:
        if not row.get(col):
            raise InputError(str(path), "a value is required", line=lineno, field=col, hint=KB_FIX)


TIER1_COLUMNS = ("gene", "allele", "source", "date")


def import_tier1(exemptions: str | Path, genes: set[str], version: str) -> dict[str, list[str]]:
    """The AMP minimum-panel (tier-1) alleles per gene, from the published ``exemptions.json``."""
    path = Path(exemptions)
    try:
        data = json.loads(path.read_text())
        return {g: list(v.get("amp1Alleles") or []) for g, v in data.items() if g in genes}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(str(path), f"is not an exemptions file ({exc!r})") from None


def write_tier1(tier1: dict[str, list[str]], outdir: str | Path, source: str, date: str) -> Path:
    path = Path(outdir) / "tier1_alleles.tsv"
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(TIER1_COLUMNS)
        for gene in sorted(tier1):
            for allele in tier1[gene]:
                w.writerow([gene, allele, source, date])
    return path


def read_tier1(kb_dir: str | Path) -> dict[str, list[str]]:
    path = Path(kb_dir) / "tier1_alleles.tsv"
    out: dict[str, list[str]] = {}
    if not path.exists():
        return out
    with open(path, newline="") as fh:
        for lineno, row in enumerate(csv.DictReader(fh, delimiter="\t"), 2):
            _require(row, TIER1_COLUMNS, path, lineno)
            out.setdefault(row["gene"], []).append(row["allele"])
    return out
