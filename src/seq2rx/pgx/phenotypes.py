"""Allele function, activity values and the rules from a diplotype to a phenotype.

Two tables in ``resources/kb/pgx/``:

* ``allele_functions.tsv``: gene, allele, function (CPIC's words, e.g. "No function"), activity
  value where CPIC assigns one (CYP2C9, DPYD), source, date;
* ``phenotype_rules.tsv``: for activity-score genes, the phenotype of each total activity score;
  for the others, the phenotype of each unordered pair of allele functions; for a gene with one
  copy (mitochondrial MT-RNR1, kind ``function``), the phenotype of its one allele's function.

Both are derived from the published per-gene phenotype files (PharmCAT's ``phenotype/*.json``,
CPIC content) by :func:`import_phenotype_file`, which also checks that the compact rules give
every published diplotype its published phenotype.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output

FUNCTION_COLUMNS = ("gene", "allele", "function", "activity_value", "source", "date")
RULE_COLUMNS = ("gene", "kind", "key", "phenotype", "source", "date")


@dataclass
class GenePhenotypes:
    gene: str
    functions: dict[str, str] = field(default_factory=dict)
    activity: dict[str, float] = field(default_factory=dict)
    #: ("score", "1.5") -> phenotype, ("functions", "No function|Normal function") -> phenotype,
    #: or, for a gene with one copy, ("function", "Increased risk of ...") -> phenotype
    rules: dict[tuple[str, str], str] = field(default_factory=dict)
    source: str = ""
    date: str = ""

    @property
    def haploid(self) -> bool:
        """One copy per cell line (mitochondrial MT-RNR1): its rules read one allele, not a pair."""
        return any(kind == "function" for kind, _ in self.rules)

    def phenotype(self, allele1: str, allele2: str | None = None) -> tuple[str, float | None]:
        """(phenotype, activity score) of a diplotype (or of the one allele of a haploid gene);
        ``Indeterminate`` when an allele is unknown.

        >>> g = GenePhenotypes("G", {"*1": "Normal function", "*2": "No function"},
        ...                    rules={("functions", "No function|Normal function"): "Intermediate Metabolizer"})
        >>> g.phenotype("*2", "*1")
        ('Intermediate Metabolizer', None)
        """
        if self.haploid or allele2 is None:
            if not self.haploid or allele2 is not None or allele1 not in self.functions:
                return "Indeterminate", None
            return self.rules.get(("function", self.functions[allele1]), "Indeterminate"), None
        if self.activity:
            if allele1 not in self.activity or allele2 not in self.activity:
                return "Indeterminate", None
            score = self.activity[allele1] + self.activity[allele2]
            return self.rules.get(("score", _score_key(score)), "Indeterminate"), score
        if allele1 not in self.functions or allele2 not in self.functions:
            return "Indeterminate", None
        return self.rules.get(
            ("functions", _pair_key(self.functions[allele1], self.functions[allele2])), "Indeterminate"
        ), None


def _pair_key(f1: str, f2: str) -> str:
    return "|".join(sorted((f1, f2)))


def _score_key(score: float) -> str:
    return f"{score:.2f}".rstrip("0").rstrip(".") if score % 1 else f"{score:.1f}"


def import_phenotype_file(path: str | Path) -> GenePhenotypes:
    """Read one published phenotype file; the derived rules must reproduce every diplotype."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        g = GenePhenotypes(data["gene"], dict(data["haplotypes"]))
        g.activity = {a: float(v) for a, v in (data.get("activityValues") or {}).items() if v not in (None, "", "n/a")}
        version = str(data.get("version", ""))
        g.source, g.date = f"CPIC allele function and phenotype tables via PharmCAT {version}".strip(), version[:10]
        for d in data["diplotypes"]:
            names = [a for a, n in d["diplotypekey"].items() for _ in range(int(n))]
            if len(names) != 2:
                continue
            if g.activity and d.get("activityScore") not in (None, "", "n/a"):
                key = ("score", _score_key(float(d["activityScore"])))
            elif not g.activity and all(a in g.functions for a in names):
                key = ("functions", _pair_key(g.functions[names[0]], g.functions[names[1]]))
            else:
                continue
            old = g.rules.setdefault(key, d["phenotype"])
            if old != d["phenotype"]:
                raise InputError(
                    str(path), f"{key[1]!r} leads to both {old!r} and {d['phenotype']!r}", field="diplotypes"
                )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(str(path), f"is not a phenotype file ({exc!r})") from None
    return g


def write_kb(genes: list[GenePhenotypes], outdir: str | Path) -> None:
    outdir = Path(outdir)
    with atomic_output(outdir / "allele_functions.tsv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(FUNCTION_COLUMNS)
        for g in sorted(genes, key=lambda x: x.gene):
            for allele in sorted(g.functions):
                value = g.activity.get(allele)
                w.writerow(
                    [
                        g.gene,
                        allele,
                        g.functions[allele] or "Unknown",
                        "." if value is None else value,
                        g.source,
                        g.date,
                    ]
                )
    with atomic_output(outdir / "phenotype_rules.tsv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(RULE_COLUMNS)
        for g in sorted(genes, key=lambda x: x.gene):
            for (kind, key), phenotype in sorted(g.rules.items()):
                w.writerow([g.gene, kind, key, phenotype, g.source, g.date])


def read_kb(kb_dir: str | Path) -> dict[str, GenePhenotypes]:
    kb_dir = Path(kb_dir)
    genes: dict[str, GenePhenotypes] = {}
    # the imported tables, then the curated ones for genes that only enter as outside calls (CYP2D6)
    tables = [
        ("allele_functions.tsv", FUNCTION_COLUMNS, True),
        ("phenotype_rules.tsv", RULE_COLUMNS, True),
        ("outside_allele_functions.tsv", FUNCTION_COLUMNS, False),
        ("outside_phenotype_rules.tsv", RULE_COLUMNS, False),
    ]
    for name, columns, required in tables:
        if not required and not (kb_dir / name).exists():
            continue
        kind_of = "allele_functions.tsv" if columns == FUNCTION_COLUMNS else "phenotype_rules.tsv"
        with open(kb_dir / name, newline="") as fh:
            for lineno, row in enumerate(csv.DictReader(fh, delimiter="\t"), 2):
                for col in columns:
                    if not row.get(col):
                        raise InputError(str(kb_dir / name), "a value is required", line=lineno, field=col)
                g = genes.setdefault(row["gene"], GenePhenotypes(row["gene"], source=row["source"], date=row["date"]))
                if kind_of == "allele_functions.tsv":
                    g.functions[row["allele"]] = row["function"]
                    if row["activity_value"] != ".":
                        g.activity[row["allele"]] = float(row["activity_value"])
                else:
                    if row["kind"] not in ("score", "functions", "function"):
                        raise InputError(
                            str(kb_dir / name), "kind must be score, functions or function", line=lineno, field="kind"
                        )
                    g.rules[(row["kind"], row["key"])] = row["phenotype"]
    return genes
