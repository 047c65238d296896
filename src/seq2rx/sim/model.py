"""The demo simulator's model: islands, gene models and variants, the specification and the
pharmacogene sites it is built around."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ADAPTER_R1 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"


ADAPTER_R2 = "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT"


STOP_CODONS = {"TAA", "TAG", "TGA"}


BASES = np.array(list("ACGT"))


LINE = 60


CONTIG_PAD = 10_000


@dataclass
class Island:
    """A stretch of simulated sequence; ``start`` is 0-based, ``seq`` is mutable while building."""

    chrom: str
    start: int
    seq: list[str]
    fixed: dict[int, str] = field(default_factory=dict)  # 0-based pos -> true reference base

    @property
    def end(self) -> int:
        return self.start + len(self.seq)


@dataclass(frozen=True)
class Exon:
    start: int  # 0-based genomic, inclusive
    end: int  # exclusive
    cds_start: int  # offset of the exon's first coding base (transcript order) in the CDS


@dataclass
class GeneModel:
    gene: str
    gene_id: str
    transcript: str
    protein: str
    chrom: str
    strand: str
    cds: str
    exons: list[Exon]  # transcript order


@dataclass(frozen=True)
class Variant:
    chrom: str
    pos: int  # 1-based VCF position
    ref: str
    alt: str
    label: str = ""


def load_spec(path: str | Path) -> dict:
    from seq2rx.core.errors import InputError

    with open(path, encoding="utf-8") as fh:
        try:
            spec = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(str(path), f"is not valid YAML: {getattr(exc, 'problem', None) or exc}",
                             line=mark.line + 1 if mark else None) from None  # fmt: skip
    if not isinstance(spec, dict):
        raise InputError(
            str(path), "is not a data-set specification (a YAML mapping)", hint="see resources/demo/demo.yaml"
        )
    return spec


def load_pgx_sites(path: str | Path) -> list[tuple[str, str, int, str]]:
    """The knowledge base's ``positions.tsv`` as (gene, chrom, 1-based pos, ref) per position."""
    from seq2rx.core.errors import InputError
    from seq2rx.pgx.genotype import read_positions

    rows = read_positions(path)
    missing = [c for c in ("gene", "chrom", "pos", "ref") if rows and c not in rows[0]]
    if not rows or missing:
        raise InputError(str(path), f"no {', '.join(missing)} column" if missing else "holds no positions",
                         line=1, hint="give the knowledge base's positions.tsv")  # fmt: skip
    return [(r["gene"], r["chrom"], int(r["pos"]), r["ref"]) for r in rows]


def random_bases(rng: np.random.Generator, n: int) -> list[str]:
    # GC content about 41%, as in the human genome
    return list(BASES[rng.choice(4, size=n, p=[0.295, 0.205, 0.205, 0.295])])
