"""Variant consequences: bcftools csq (through pysam) and an independent protein-level derivation.

``run_csq`` annotates a normalised VCF against an Ensembl-style GFF3; ``consequence_rows`` turns
its ``INFO/BCSQ`` into one row per variant x transcript. ``ProteinEffects`` rebuilds each coding
sequence from the FASTA and the GFF3 with Biopython, applies the variant (or, for phased
genotypes, every variant of the same haplotype in the same codons), translates both, and reports
the amino-acid change in csq's notation and in HGVS, with BLOSUM62 and Grantham scores, so the
two derivations can be checked against each other.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pysam
from Bio.Data import CodonTable
from Bio.Seq import Seq

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output
from seq2rx.genome.protein import blosum62, csq_notation, grantham, hgvs_p
from seq2rx.genome.sequence import revcomp

CSQ_FIELDS = ("consequence", "gene", "transcript", "biotype", "strand", "aa_change_csq", "dna_change_csq")
TABLE_COLUMNS = (
    "chrom", "pos", "ref", "alt", "genotype", "gene", "transcript", "biotype", "strand", "consequence",
    "aa_change_csq", "dna_change_csq", "aa_change", "hgvs_p", "protein_pos", "protein_length",
    "blosum62", "grantham", "aa_change_agrees", "clinvar_significance", "clinvar_review", "bcsq",
)  # fmt: skip

_CSQ_CHILD = "import sys, pysam.bcftools; pysam.bcftools.csq(*sys.argv[1:], catch_stdout=False)"


def phasing(vcf: str | Path, max_records: int = 2000) -> str:
    """``sites`` (no genotypes), ``phased`` (some heterozygous call is phased) or ``unphased``."""
    with pysam.VariantFile(str(vcf)) as fh:
        samples = list(fh.header.samples)
        if not samples or "GT" not in fh.header.formats:
            return "sites"
        for k, rec in enumerate(fh):
            if k >= max_records:
                break
            for name in samples:
                call = rec.samples[name]
                gt = call.get("GT") or ()
                if call.phased and len(set(gt)) > 1:
                    return "phased"
    return "unphased"


def run_csq(vcf: str | Path, fasta: str | Path, gff3: str | Path, out_vcf: str | Path, mode: str | None = None) -> str:
    """Run ``bcftools csq`` in a child process and write a bgzipped, indexed VCF.

    ``mode`` (default: :func:`phasing` of the input) decides how variants combine:
    ``phased`` and ``sites`` are annotated haplotype-aware (``-p a``: a sites-only VCF is one
    haplotype); ``unphased`` calls are annotated one record at a time (``--local-csq``), because
    putting every heterozygous call on one haplotype would merge unrelated variants into one
    protein change. Returns the mode used.

    pysam's bundled bcftools keeps csq's state between calls within one process (a second call
    on another file fails as "not sorted"), so each call gets a fresh interpreter.
    """
    mode = mode or phasing(vcf)
    out_vcf = Path(out_vcf)
    with atomic_output(out_vcf) as tmp:
        args = ["--no-version", "-f", str(fasta), "-g", str(gff3), "-p", "a", "-O", "z", "-o", str(tmp)]
        args.append("--write-index=tbi")
        if mode == "unphased":
            args.append("--local-csq")
        args.append(str(vcf))
        # never --force on the gene models: it makes csq skip a transcript it cannot trust (a CDS
        # whose length or phase it rejects) and report its coding variants as "intron". The one
        # refusal worth overriding is a VCF contig without gene models (chrM, decoys, the demo's
        # islands), which csq reports only after it has read and accepted every transcript
        tail = _run_csq(args, tmp)
        if _NO_GENE_MODELS.search(tail):
            check_shared_contigs(gff3, vcf)
            tail = _run_csq(["--force", *args], tmp)
        if tail:
            raise csq_error(tail, vcf=vcf, gff3=gff3)
        os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
    return mode


#: csq's refusal of a VCF contig that the GFF3 has no gene on
_NO_GENE_MODELS = re.compile(r'the chromosome "[^"]*" is not present in')


def _run_csq(args: list[str], out: str | Path) -> str:
    """Run csq in a fresh interpreter; the tail of its messages when it failed, else ''."""
    # csq may warn once per record: keep its messages in a file, not in memory
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run([sys.executable, "-c", _CSQ_CHILD, *args], stdout=subprocess.DEVNULL, stderr=err)
        if proc.returncode == 0 and Path(out).exists():
            return ""
        err.seek(0)
        return err.read()[-600:] or f"bcftools csq exited with status {proc.returncode}"


def check_shared_contigs(gff3: str | Path, vcf: str | Path) -> None:
    """Stop when the GFF3 names none of the VCF's contigs (``1`` against ``chr1``): annotated
    with ``--force``, every variant would silently have no gene model."""
    seqids = set()
    with open(gff3, "rb") as fh:
        opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
    with opener(gff3, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("##FASTA"):
                break
            if line.strip() and not line.startswith("#"):
                seqids.add(line.split("\t", 1)[0].strip())
    with pysam.VariantFile(str(vcf)) as fh:
        contigs = set(fh.header.contigs)
    if seqids and contigs and not seqids & contigs:
        raise InputError(
            str(gff3),
            f"names none of the VCF's contigs (GFF3: {', '.join(sorted(seqids)[:3])}; VCF: "
            f"{', '.join(sorted(contigs)[:3])})",
            hint="use a GFF3 with the reference's contig names (e.g. 'chr1' for GRCh38 from UCSC, '1' from Ensembl)",
        )


def csq_error(stderr: str, *, vcf: str | Path, gff3: str | Path) -> InputError:
    """An :class:`InputError` for a failed ``bcftools csq`` with csq's own message (its
    ``Error:`` line, not pysam's wrapper). A GFF3 that csq refuses (a CDS whose length or phase
    does not fit, "GFF3 assumption failed") names the GFF3 and says why ``--force`` is not used.
    """
    found = re.search(r"(?:^|\\n|\n)Error: (.*?)(?:\\n|\n|$)", stderr)
    message = found.group(1).strip() if found else stderr.strip()[-300:]
    message = re.sub(r"\s*Use the --force option.*", "", message).rstrip(". ")
    if "GFF" in message or "CDS" in message or "transcript" in message:
        return InputError(
            str(gff3),
            f"bcftools csq refuses the gene models: {message}",
            hint="correct the transcript's CDS rows, lengths and phases as Ensembl's GFF3 gives them, or drop the "
            "transcript; seq2rx does not run csq with --force, which would report that transcript's coding "
            "variants as intronic",
        )
    return InputError(str(vcf), f"bcftools csq failed: {message}")


def parse_bcsq(value: str) -> list[dict[str, str]]:
    """Split one BCSQ entry (``consequence|gene|transcript|biotype|strand|aa|dna``) into fields.

    A haplotype-aware reference such as ``@140753336`` (the consequence is reported at another
    record of the same haplotype) gives ``{"consequence": "@140753336"}`` and empty fields.
    """
    parts = value.split("|")
    return {k: (parts[i] if i < len(parts) else "") for i, k in enumerate(CSQ_FIELDS)}


# --------------------------------------------------------------------------- transcript models


@dataclass
class Transcript:
    """A coding transcript: CDS segments (0-based, half-open) in genomic order, with phases."""

    id: str
    gene: str
    biotype: str
    chrom: str
    strand: str
    cds: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, phase)
    exons: list[tuple[int, int]] = field(default_factory=list)  # (start, end), genomic order

    @property
    def start(self) -> int:
        return min(s for s, _e, _p in self.cds)

    @property
    def end(self) -> int:
        return max(e for _s, e, _p in self.cds)


def _attrs(text: str) -> dict[str, str]:
    """Column 9's ``key=value`` pairs, split on ``;`` only, as csq reads them: a tab inside the
    column is part of the text around it (``Name=X\tNote=y`` names ``X\tNote=y``; csq compares
    biotypes by their start, so ``biotype=protein_coding\t...`` is still coding)."""
    out = {}
    for item in text.rstrip("\r").split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            out[k] = v
    return out


def load_transcripts(gff3: str | Path) -> dict[str, Transcript]:
    """Coding transcripts of an Ensembl-style GFF3 (gene -> transcript/mRNA -> CDS)."""
    genes: dict[str, tuple[str, str]] = {}
    tx_parent: dict[str, tuple[str, str, str, str]] = {}
    cds_rows: list[tuple[str, int, int, int, str]] = []
    exon_rows: list[tuple[str, int, int]] = []
    with open(gff3) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#") or not line.strip():
                continue
            # like csq: eight tab-separated columns, then column 9 is the rest of the line,
            # tab characters included
            f = line.rstrip("\n").split("\t", 8)
            if len(f) != 9:
                raise InputError(
                    str(gff3), f"a GFF3 line needs 9 tab-separated columns, found {len(f)}", line=lineno,
                    hint="separate the first eight columns with tabs (column 9, the attributes, may hold more)",
                )  # fmt: skip
            a = _attrs(f[8])
            if f[2] == "gene" and "ID" in a:
                genes[a["ID"]] = (a.get("Name", a["ID"].removeprefix("gene:")), a.get("biotype", ""))
            elif "ID" in a and a["ID"].startswith("transcript:"):
                biotype = a.get("biotype", "").split("\t", 1)[0]
                tx_parent[a["ID"]] = (a.get("Parent", ""), biotype, f[0], f[6])
            elif f[2] == "CDS" and "Parent" in a:
                phase = int(f[7]) if f[7] in "012" else 0
                cds_rows.append((a["Parent"], int(f[3]) - 1, int(f[4]), phase, f[0]))
            elif f[2] == "exon" and "Parent" in a:
                exon_rows.append((a["Parent"], int(f[3]) - 1, int(f[4])))
    out: dict[str, Transcript] = {}
    for parent, s, e, phase, _chrom in cds_rows:
        if parent not in tx_parent:
            continue
        gene_id, biotype, chrom, strand = tx_parent[parent]
        tid = parent.removeprefix("transcript:")
        if tid not in out:
            out[tid] = Transcript(tid, genes.get(gene_id, (gene_id, ""))[0], biotype, chrom, strand)
        out[tid].cds.append((s, e, phase))
    for parent, s, e in exon_rows:
        tid = parent.removeprefix("transcript:")
        if tid in out:
            out[tid].exons.append((s, e))
    for tx in out.values():
        tx.cds.sort()
        # a transcript without exon rows is its coding segments; exons never cut a CDS short
        tx.exons = sorted(tx.exons) or [(s, e) for s, e, _p in tx.cds]
    return out


# --------------------------------------------------------------------------- protein effects


@dataclass(frozen=True)
class ProteinChange:
    aa_change: str  # csq's notation, e.g. 600V>600E
    hgvs_p: str
    protein_pos: int
    protein_length: int
    blosum62: int | None
    grantham: int | None


@cache
def _codon_table() -> dict[str, str]:
    """Biopython's standard genetic code (NCBI table 1) as codon -> residue, stops as ``*``."""
    table = CodonTable.unambiguous_dna_by_id[1]
    return {**table.forward_table, **dict.fromkeys(table.stop_codons, "*")}


def _translate(seq: str) -> str:
    """Translate whole codons with Biopython's standard table; any other codon (N, IUPAC, lower
    case) goes through ``Seq.translate``, so the result is exactly Biopython's."""
    table = _codon_table()
    usable = len(seq) - len(seq) % 3
    out = []
    for i in range(0, usable, 3):
        codon = seq[i : i + 3]
        aa = table.get(codon)
        out.append(aa if aa is not None else str(Seq(codon).translate()))
    return "".join(out)


def _shifts_out_of_cds(seq: str, edit: tuple[int, int, str], cds0: int) -> bool:
    """Whether a deletion of the first coding bases can slide, within a repeat, into the 5' UTR.

    Deleting ``seq[a:a+n]`` equals deleting ``seq[a-1:a-1+n]`` when ``seq[a-1] == seq[a+n-1]``.
    If the deletion can slide wholly into the UTR, the coding sequence is untouched (csq reports
    the start codon as kept). Insertions are left where they are, as csq does.
    """
    a, n, new = edit
    if not n or new or not a <= cds0 < a + n:
        return False
    while a > 0 and a + n > cds0 and seq[a - 1] == seq[a + n - 1]:
        a -= 1
    return a + n <= cds0


def _translate_to_stop(seq: str, chunk: int = 120) -> str:
    """Translate ``seq`` up to and including its first stop codon, a few codons at a time.

    A shifted frame meets a stop within a few dozen codons, so this avoids translating the
    whole rest of the transcript for every frameshift.
    """
    out = []
    for k in range(0, len(seq) - len(seq) % 3, 3 * chunk):
        piece = _translate(seq[k : k + 3 * chunk])
        if "*" in piece:
            out.append(piece[: piece.index("*") + 1])
            break
        out.append(piece)
    return "".join(out)


def csq_trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Strip the bases REF and ALT share as bcftools csq does: suffix first, then prefix.

    For a normalised (left-aligned) indel this is :func:`trim_variant`; for one that is not, it
    is the placement at the left end of the shared bases, which decides the codons csq reports.

    >>> csq_trim(100, "C", "CTCAC")  # the inserted TCAC read as CTCA before the C
    (100, '', 'CTCA')
    >>> csq_trim(100, "CAT", "C")
    (101, 'AT', '')
    """
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    k = 0
    while k < len(ref) and k < len(alt) and ref[k] == alt[k]:
        k += 1
    return pos + k, ref[k:], alt[k:]


def trim_variant(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Strip the bases REF and ALT share, prefix first (VCF's anchor), then suffix.

    REF or ALT may become empty (a pure insertion or deletion).

    >>> trim_variant(100, "CAT", "C")
    (101, 'AT', '')
    >>> trim_variant(100, "A", "AGG")
    (101, '', 'GG')
    """
    while ref and alt and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    while ref and alt and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return pos, ref, alt


class ProteinEffects:
    """Derive amino-acid changes from FASTA + GFF3 with Biopython, independently of csq.

    The transcript's spliced sequence (exons, UTRs included) is rebuilt from the FASTA, the
    variant applied to it, and both coding sequences translated: in frame, over the codons the
    variant touches; for a frameshift, from the first touched codon to the first stop or the end
    of the transcript. Reads through into the 3' UTR like csq does, so a deletion in the stop
    codon shows the residues the UTR supplies.
    """

    def __init__(self, fasta: str | Path, gff3: str | Path) -> None:
        self.fasta = pysam.FastaFile(str(fasta))
        self.transcripts = load_transcripts(gff3)
        self._cache: dict[str, tuple[str, int, int, list[tuple[int, int, int]]]] = {}
        self._proteins: dict[str, str] = {}
        #: answers of :meth:`precompute`, by (transcript, position, REF, ALT)
        self.known: dict[tuple[str, int, str, str], ProteinChange | None] = {}

    def close(self) -> None:
        self.fasta.close()

    def precompute(self, vcf: str | Path, limit: int = 500_000) -> None:
        """Derive, ahead of the table, the change of every record of ``vcf`` on every transcript
        whose coding sequence it may touch, as :meth:`effect` gives it without ``cis`` variants.

        :func:`annotate` calls this while csq runs in its child process, so that the derivation
        costs no time after csq is done; the table then finds each answer in :attr:`known` (a
        record or transcript not met here is derived when the table reaches it). With a VCF
        index only the records inside coding spans are read; at most ``limit`` answers are kept.
        """
        spans: dict[str, list[tuple[int, int, list[Transcript]]]] = {}
        for tx in sorted(self.transcripts.values(), key=lambda t: (t.chrom, t.start, t.id)):
            # one base of margin each side: the anchor base of an indel beside a segment
            s, e = tx.start - 1, tx.end + 1
            group = spans.setdefault(tx.chrom, [])
            if group and s <= group[-1][1]:
                group[-1] = (group[-1][0], max(group[-1][1], e), [*group[-1][2], tx])
            else:
                group.append((s, e, [tx]))
        with pysam.VariantFile(str(vcf)) as fh:
            indexed = fh.index is not None
            contigs = set(fh.header.contigs)
            regions = (
                ((chrom, s, e, txs) for chrom, group in spans.items() if chrom in contigs for s, e, txs in group)
                if indexed
                else [(None, None, None, None)]
            )
            for chrom, s, e, txs in regions:
                records = fh.fetch(chrom, max(0, s), e) if indexed else fh
                for rec in records:
                    alt = rec.alts[0] if rec.alts else "."
                    if alt in ("*", ".") or alt.startswith("<"):
                        continue
                    variant = (rec.pos, rec.ref, alt)
                    candidates = txs if indexed else self._overlapping(spans, rec.chrom, rec.pos)
                    for tx in candidates:
                        key = (tx.id, *variant)
                        if key not in self.known:
                            if len(self.known) >= limit:
                                return
                            self.known[key] = self.effect(tx, variant)

    @staticmethod
    def _overlapping(spans, chrom: str, pos: int) -> list[Transcript]:
        from bisect import bisect_right

        group = spans.get(chrom)
        if not group:
            return []
        k = bisect_right(group, pos, key=lambda g: g[0]) - 1
        return group[k][2] if k >= 0 and pos - 1 <= group[k][1] else []

    def _spliced(self, tx: Transcript) -> tuple[str, int, int, list[tuple[int, int, int]]]:
        """(transcript sequence, CDS start in it, CDS length, exon map) in transcript order.

        The exon map holds (genomic start, genomic end, offset in the transcript sequence).
        The CDS start skips the first CDS segment's phase (an incomplete 5' codon).
        """
        if tx.id not in self._cache:
            exons = tx.exons if tx.strand == "+" else tx.exons[::-1]
            parts, layout, offset = [], [], 0
            for s, e in exons:
                seq = self.fasta.fetch(tx.chrom, s, e).upper()
                parts.append(seq if tx.strand == "+" else revcomp(seq))
                layout.append((s, e, offset))
                offset += e - s
            segs = tx.cds if tx.strand == "+" else tx.cds[::-1]
            first_base = segs[0][0] if tx.strand == "+" else segs[0][1] - 1
            start = self._tx_index(tx, layout, first_base)
            start = (start or 0) + segs[0][2]
            cds_len = sum(e - s for s, e, _p in tx.cds) - segs[0][2]
            self._cache[tx.id] = ("".join(parts), start, cds_len, layout)
        return self._cache[tx.id]

    def _cut_at_cds_start(self, tx: Transcript, layout, pos: int, ref: str, alt: str) -> ProteinChange | None:
        """csq's answer for a deletion from the first base of a CDS segment (genomic order),
        whose anchor base lies outside the segment (intron or UTR): csq does not translate the
        altered sequence and writes the deleted codons as changed into ``?`` (``48NL>48?``); the
        protein is unknown because the exon boundary moves (HGVS ``p.?``). None otherwise.
        """
        p, r, a = csq_trim(pos, ref.upper(), alt.upper())
        if not r or a or not any(s == p - 1 and p - 1 + len(r) <= e for s, e, _ in tx.cds):
            return None
        seq, cds0, cds_len, _layout = self._spliced(tx)
        ends = [self._tx_index(tx, layout, p - 1), self._tx_index(tx, layout, p - 2 + len(r))]
        c0, c1 = max(0, min(ends) - cds0) // 3, -(-(max(ends) + 1 - cds0) // 3)
        protein = self._protein(tx, seq, cds0, cds_len)
        ref_aa = protein[c0:c1]
        ref_aa = ref_aa[: ref_aa.find("*") + 1] if "*" in ref_aa else ref_aa
        if not ref_aa:
            return None
        length = protein.find("*") + 1 if "*" in protein else len(protein)
        return ProteinChange(f"{c0 + 1}{ref_aa}>{c0 + 1}?", "p.?", c0 + 1, max(0, length - 1), None, None)

    def _protein(self, tx: Transcript, seq: str, cds0: int, cds_len: int) -> str:
        """The reference protein (whole codons of the coding sequence), translated once."""
        protein = self._proteins.get(tx.id)
        if protein is None:
            protein = self._proteins[tx.id] = _translate(seq[cds0 : cds0 + cds_len])
        return protein

    @staticmethod
    def _tx_index(tx: Transcript, layout: list[tuple[int, int, int]], pos0: int) -> int | None:
        for s, e, off in layout:
            if s <= pos0 < e:
                return off + (pos0 - s if tx.strand == "+" else e - 1 - pos0)
        return None

    def _edit(self, tx: Transcript, layout, pos: int, ref: str, alt: str) -> tuple[int, int, str] | None:
        """(transcript index, bases replaced, new bases) of one variant, or None off the exons.

        Shared bases are trimmed prefix first; if that places an insertion or deletion off the
        transcript, the suffix-first placement (the other end of a repeat) is tried.
        """
        first = self._edit_at(tx, layout, *trim_variant(pos, ref.upper(), alt.upper()))
        if first is not None:
            return first
        return self._edit_at(tx, layout, *csq_trim(pos, ref.upper(), alt.upper()))

    def _edit_at(self, tx: Transcript, layout, pos: int, ref: str, alt: str) -> tuple[int, int, str] | None:
        p0 = pos - 1
        if ref:
            a = self._tx_index(tx, layout, p0)
            b = self._tx_index(tx, layout, p0 + len(ref) - 1)
            if a is None or b is None or abs(b - a) != len(ref) - 1:
                return None
            return (min(a, b), len(ref), alt if tx.strand == "+" else revcomp(alt))
        # a pure insertion between genomic bases p0 - 1 and p0
        left, right = self._tx_index(tx, layout, p0 - 1), self._tx_index(tx, layout, p0)
        if left is None and right is not None and any(s == p0 for s, _e, _p in tx.cds):
            # after an intron base, before a CDS segment's first base: csq puts the inserted
            # bases into the segment, at its genomic start
            left = right + 1 if tx.strand == "-" else right - 1
        if left is None or right is None or abs(left - right) != 1:
            return None
        return (max(left, right), 0, alt if tx.strand == "+" else revcomp(alt))

    def effect(
        self, tx: Transcript, variant: tuple[int, str, str], cis: list[tuple[int, str, str]] = ()
    ) -> ProteinChange | None:
        """Amino-acid change of ``variant`` (1-based pos, ref, alt) on ``tx``.

        ``cis`` are other variants on the same haplotype; those touching the same codons are
        applied together with ``variant`` (two changes in one codon make one amino-acid change).
        Returns None for a variant outside the coding sequence or across an exon boundary, or
        whose REF disagrees with the FASTA.
        """
        pos, ref, alt = variant
        # REF spans 1-based [pos, pos + len(ref) - 1]; a CDS segment spans [s + 1, e]
        if not any(pos - 1 <= e and pos + len(ref) >= s for s, e, _p in tx.cds):
            return None
        seq, cds0, cds_len, layout = self._spliced(tx)
        main = self._edit(tx, layout, pos, ref, alt)
        if main is None or main[0] + main[1] <= cds0 or main[0] >= cds0 + cds_len:
            return None
        if self.fasta.fetch(tx.chrom, pos - 1, pos - 1 + len(ref)).upper() != ref.upper():
            return None
        if _shifts_out_of_cds(seq, main, cds0):
            # e.g. deleting the A of ATG next to an A in the 5' UTR: the same deletion placed in
            # the UTR leaves the start codon, and the protein, as they were
            first = self._proteins.get(tx.id) or _translate(seq[cds0 : cds0 + 3])
            return ProteinChange(csq_notation(1, first[0], first[0]), hgvs_p(1, first[0], first[0]), 1, 0, None, None)
        cut = self._cut_at_cds_start(tx, layout, pos, ref, alt)
        if cut is not None:
            return cut
        # the codons touched, as csq counts them: over the whole REF, its anchor base included
        ends = [self._tx_index(tx, layout, pos - 1), self._tx_index(tx, layout, pos - 2 + len(ref))]
        if None in ends and not main[1]:
            # an insertion after an intron base: csq counts the codon of the segment's first base
            ends = [self._tx_index(tx, layout, pos)] * 2
        lo, hi = (min(ends), max(ends) + 1) if None not in ends else (main[0], main[0] + max(1, main[1]))
        c0 = max(0, lo - cds0) // 3
        c1 = max(c0 + 1, -(-(hi - cds0) // 3))
        edits = [main]
        for v in cis:
            e = self._edit(tx, layout, *v)
            if e is not None and e != main and c0 <= (e[0] - cds0) // 3 < c1:
                edits.append(e)
        edits.sort()
        out, cur, shift_before = [], 0, 0
        for start, n, new in edits:
            if start < cur:
                return None  # overlapping edits
            out.append(seq[cur:start])
            out.append(new)
            cur = start + n
            if start + n <= cds0:
                shift_before += len(new) - n
        out.append(seq[cur:])
        alt_seq = "".join(out)
        delta = len(alt_seq) - len(seq) - shift_before
        alt0 = cds0 + shift_before
        ref_protein = self._protein(tx, seq, cds0, cds_len)
        length = ref_protein.find("*") + 1 if "*" in ref_protein else len(ref_protein)
        c1 = max(c1, -(-(max(s + n for s, n, _ in edits) - cds0) // 3))
        # csq's translation of the altered sequence: the codons over the changed bases (the
        # anchor included), the last of them completed by the bases that follow, even past the
        # stop codon (3' UTR); a frameshift then goes on in whole codons to the end of the coding
        # sequence (never into the UTR) and both proteins stop at their first stop codon
        first = alt0 + 3 * c0
        end = first + 3 * -(-(max(hi, max(s + n for s, n, _ in edits)) - cds0 - 3 * c0 + delta) // 3)
        if delta % 3 == 0:
            ref_aa = ref_protein[c0:c1]
            alt_aa = _translate(alt_seq[first:end])
            if "*" in alt_aa[:-1]:
                alt_aa = alt_aa[: alt_aa.find("*") + 1]
            frameshift = False
        else:
            ref_aa = ref_protein[c0:length]
            cds_end = alt0 + cds_len + delta
            if end < cds_end:
                end += (cds_end - end) // 3 * 3
            alt_aa = _translate_to_stop(alt_seq[first:end])
            frameshift = True
        if not ref_aa:
            return None
        nxt = c0 + len(ref_aa)
        single = len(ref_aa) == 1 and len(alt_aa) == 1
        return ProteinChange(
            aa_change=csq_notation(c0 + 1, ref_aa, alt_aa, indel=delta != 0),
            hgvs_p=hgvs_p(
                c0 + 1,
                ref_aa,
                alt_aa,
                frameshift=frameshift,
                next_residue=ref_protein[nxt] if nxt < len(ref_protein) else None,
            ),
            protein_pos=c0 + 1,
            protein_length=max(0, length - 1),
            blosum62=blosum62(ref_aa, alt_aa) if single else None,
            grantham=grantham(ref_aa, alt_aa) if single else None,
        )


# --------------------------------------------------------------------------- the table


_QUERY_FIELDS = ("BCSQ", "CLNSIG", "CLNREVSTAT")


def _query(vcf: str | Path, sample: str | None, out: Path) -> bool:
    """Write the fields the table needs, one line per record, with ``bcftools query``.

    Each line is already the table line of a variant without consequences (the common case):
    CHROM, POS, REF, the first ALT, the genotype, ``intergenic``, ClinVar's two fields and an
    empty BCSQ column, followed by one more column holding the record's BCSQ. bcftools' query
    runs in this process (the text is far cheaper to read than pysam records); it writes into a
    file, so nothing is held in memory. Returns whether the VCF has ClinVar fields.
    """
    import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

    with pysam.VariantFile(str(vcf)) as fh:
        info = set(fh.header.info)
        samples = list(fh.header.samples)
    name = sample if sample in samples else (samples[0] if samples else None)
    bcsq, sig, rev = (f"%INFO/{t}" if t in info else "." for t in _QUERY_FIELDS)
    dots = "\t".join("." * 9)
    fmt = "\t".join(
        [
            "%CHROM",
            "%POS",
            "%REF",
            "%ALT{0}",
            "[%GT]" if name else ".",
            ".\t.\t.\t.\tintergenic",
            dots,
            sig,
            rev,
            ".",
            bcsq,
        ]
    )
    args = ["-f", fmt + "\n", "-o", str(out)] + (["-s", name] if name else []) + [str(vcf)]
    try:
        pysam.bcftools.query(*args, catch_stdout=False)
    except pysam.utils.SamtoolsError as err:
        raise InputError(str(vcf), f"bcftools query failed: {str(err)[-600:].strip()}") from None
    return "CLNSIG" in info or "CLNREVSTAT" in info


#: columns of a query line (see :func:`_query`)
_CHROM, _POS, _REF, _ALT, _GT, _SIG, _REV, _BCSQ = 0, 1, 2, 3, 4, 19, 20, 22


def _gt(genotype: str) -> tuple[int, ...] | None:
    """Allele indexes of a genotype as written (``0|1``, ``0/1``; ``.`` when there is none)."""
    if genotype in (".", ""):
        return None
    return tuple(int(a) if a.isdigit() else 0 for a in genotype.replace("|", "/").split("/"))


def _clusters(lines: Iterator[list[str]], span: int = 2) -> Iterator[list[list[str]]]:
    """Group consecutive records within ``span`` bases of the group's first record (same contig).

    A group spans at most one codon's width, so it stays a handful of records however dense
    the VCF is.
    """
    cluster: list = []
    chrom, first = None, 0
    for f in lines:
        pos = int(f[_POS])
        if cluster and (f[_CHROM] != chrom or pos - first > span):
            yield cluster
            cluster = []
        if not cluster:
            chrom, first = f[_CHROM], pos
        cluster.append(f)
    if cluster:
        yield cluster


def _same_haplotype(a: tuple | None, b: tuple | None, a_phased: bool, b_phased: bool, mode: str) -> bool:
    """Whether two calls put an alternate allele on a common haplotype, as csq decides it.

    A sites-only VCF is one haplotype; unphased calls are never combined (csq runs with
    ``--local-csq`` on them); phased calls combine where the same haplotype carries both.
    """
    if mode == "sites":
        return True
    if mode == "unphased" or a is None or b is None or not (a_phased and b_phased):
        return False
    return any(x and y for x, y in zip(a, b, strict=False))


def consequence_rows(
    annotated_vcf: str | Path,
    fasta: str | Path,
    gff3: str | Path,
    sample: str | None = None,
    mode: str | None = None,
    _lines: bool = False,
) -> Iterator[dict]:
    """One row per variant x transcript from a csq-annotated VCF, streamed record by record.

    Variants without a BCSQ entry are reported once as ``intergenic``. Variants within two
    bases of each other on the same haplotype are combined when they touch the same codon, so
    memory stays flat however large the VCF. (``_lines``, for :func:`write_table` only, yields
    every row as a ready table line.)
    """
    effects = ProteinEffects(fasta, gff3)
    try:
        yield from _table_rows(annotated_vcf, effects, sample, mode or phasing(annotated_vcf), lines=_lines)
    finally:
        effects.close()


def _table_rows(annotated_vcf, effects: ProteinEffects, sample: str | None, mode: str, *, lines: bool):
    """The rows of :func:`consequence_rows`, as dicts or (``lines``) as ready table lines."""
    with tempfile.TemporaryDirectory() as td:
        text = Path(td) / "query.tsv"
        clinvar = _query(annotated_vcf, sample, text)
        with open(text) as fh:
            records = (line.rstrip("\n").split("\t") for line in fh)
            # unphased calls are never combined (csq's --local-csq): no need to group them
            for cluster in _clusters(records) if mode != "unphased" else ([f] for f in records):
                for f in cluster:
                    if f[_BCSQ] in (".", ""):
                        row = "\t".join(f[:_BCSQ]) + "\n"
                        if clinvar:
                            row = row.replace(",", "|")
                        yield row if lines else dict(zip(TABLE_COLUMNS, _typed(f[:_BCSQ]), strict=True))
                        continue
                    yield from _genic_rows(f, cluster, effects, mode, clinvar=clinvar, lines=lines)


def _typed(cells: list[str]) -> list:
    """A query line's intergenic cells with the position as a number (the rows' type)."""
    cells[_POS] = int(cells[_POS])
    return cells


def _genic_rows(
    f: list[str], cluster: list[list[str]], effects: ProteinEffects, mode: str, *, clinvar: bool, lines: bool
):
    """One row per BCSQ entry of a record, with the independent derivation of its protein change."""
    chrom, pos, ref, alt, genotype = f[_CHROM], int(f[_POS]), f[_REF], f[_ALT], f[_GT] or "."
    sig, rev = (f[_SIG] or ".", f[_REV] or ".")
    if clinvar:
        sig, rev = sig.replace(",", "|"), rev.replace(",", "|")
    usable = alt not in ("*", ".") and not alt.startswith("<")
    cis = []
    if len(cluster) > 1 and mode != "unphased":
        gt, phased = _gt(genotype), "|" in genotype
        cis = [
            (int(o[_POS]), o[_REF], o[_ALT])
            for o in cluster
            if o is not f and _same_haplotype(gt, _gt(o[_GT]), phased, "|" in o[_GT], mode)
        ]
    for raw in f[_BCSQ].split(","):
        parts = raw.split("|")
        if len(parts) < len(CSQ_FIELDS):
            parts += [""] * (len(CSQ_FIELDS) - len(parts))
        consequence, gene, transcript, biotype, strand, aa_csq, dna_csq = (x or "." for x in parts[: len(CSQ_FIELDS)])
        tx = effects.transcripts.get(parts[2])
        if not (tx and usable):
            change = None
        elif not cis and (tx.id, pos, ref, alt) in effects.known:
            change = effects.known[tx.id, pos, ref, alt]
        else:
            change = effects.effect(tx, (pos, ref, alt), cis)
        if change is None:
            derived = (".",) * 7
        else:
            derived = (
                change.aa_change, change.hgvs_p, change.protein_pos, change.protein_length,
                "." if change.blosum62 is None else change.blosum62,
                "." if change.grantham is None else change.grantham,
                "." if aa_csq == "." else str(change.aa_change == aa_csq).lower(),
            )  # fmt: skip
        cells = (
            chrom, pos, ref, alt, genotype, gene, transcript, biotype, strand, consequence, aa_csq, dna_csq,
            *derived, sig, rev, raw or ".",
        )  # fmt: skip
        yield "\t".join(map(str, cells)) + "\n" if lines else dict(zip(TABLE_COLUMNS, cells, strict=True))


def write_table(rows, path: str | Path) -> int:
    """Write rows (from :func:`consequence_rows`) as TSV in TABLE_COLUMNS order; returns their number."""
    from operator import itemgetter

    cells = itemgetter(*TABLE_COLUMNS)
    n = 0
    with atomic_output(path) as tmp, open(tmp, "w") as out:
        out.write("\t".join(TABLE_COLUMNS) + "\n")
        for row in rows:
            out.write(row if isinstance(row, str) else "\t".join(map(str, cells(row))) + "\n")
            n += 1
    return n


def annotate(
    vcf: str | Path,
    fasta: str | Path,
    gff3: str | Path,
    out_tsv: str | Path,
    out_vcf: str | Path | None = None,
    sample: str | None = None,
    clinvar_vcf: str | Path | None = None,
) -> int:
    """csq + the independent protein derivation: the annotated VCF and the consequence table.

    With ``clinvar_vcf`` (a local, bgzipped and indexed ClinVar VCF whose contig names match),
    each variant also gets ClinVar's clinical significance and review status (bcftools annotate,
    matching on position and alleles).

    csq runs in a child process; meanwhile this one reads the gene models for the derivation.
    csq's own complaint about the inputs, if any, is the one reported.
    """
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory() as td:
        annotated = Path(out_vcf) if out_vcf else Path(td) / "annotated.vcf.gz"
        if clinvar_vcf:
            with_clinvar = Path(td) / "clinvar.vcf.gz"
            add_clinvar(vcf, clinvar_vcf, with_clinvar)
            vcf = with_clinvar
        mode = phasing(vcf)
        with ThreadPoolExecutor(max_workers=1) as pool:
            csq = pool.submit(run_csq, vcf, fasta, gff3, annotated, mode)
            try:
                effects, failed = ProteinEffects(fasta, gff3), None
            except InputError as err:
                effects, failed = None, err
            if effects is not None and mode == "unphased":
                # unphased calls are derived one by one: do it while csq runs
                try:
                    effects.precompute(vcf)
                except (OSError, ValueError):
                    # a VCF pysam cannot read: csq's own complaint about it is the one to report
                    effects.known.clear()
            try:
                mode = csq.result()
            except BaseException:
                if effects is not None:
                    effects.close()
                raise
        if failed is not None:
            raise failed
        try:
            return write_table(_table_rows(annotated, effects, sample, mode, lines=True), out_tsv)
        finally:
            effects.close()


def add_clinvar(vcf: str | Path, clinvar_vcf: str | Path, out_vcf: str | Path) -> None:
    """Copy ClinVar's CLNSIG and CLNREVSTAT onto matching records (same position and alleles)."""
    import pysam.bcftools  # noqa: F401  (pysam exposes bcftools only when imported)

    if not Path(clinvar_vcf).exists() or not Path(str(clinvar_vcf) + ".tbi").exists():
        raise InputError(
            str(clinvar_vcf), "the ClinVar VCF must exist, bgzipped, with a .tbi index", field="annotation.clinvar_vcf"
        )
    with pysam.VariantFile(str(clinvar_vcf)) as fh:
        missing = [t for t in ("CLNSIG", "CLNREVSTAT") if t not in fh.header.info]
    if missing:
        raise InputError(
            str(clinvar_vcf), f"has no INFO/{missing[0]}; is it a ClinVar VCF?", field="annotation.clinvar_vcf"
        )
    with tempfile.TemporaryDirectory() as td:
        if not (Path(str(vcf) + ".tbi").exists() or Path(str(vcf) + ".csi").exists()):
            # bcftools annotate -a reads its target through an index
            staged = Path(td) / "staged.vcf.gz"
            pysam.bcftools.view(
                "--no-version", "-O", "z", "-o", str(staged), "--write-index=tbi", str(vcf), catch_stdout=False
            )
            vcf = staged
        with atomic_output(out_vcf) as tmp:
            pysam.bcftools.annotate(
                "--no-version", "-a", str(clinvar_vcf), "-c", "INFO/CLNSIG,INFO/CLNREVSTAT",
                "-O", "z", "-o", str(tmp), "--write-index=tbi", str(vcf), catch_stdout=False,
            )  # fmt: skip
            os.replace(str(tmp) + ".tbi", str(out_vcf) + ".tbi")
