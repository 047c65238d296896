"""The Biopython derivation against bcftools csq on simulated genes: every coding record agrees.

Each case is a small genome of four genes (two on each strand, one to four exons, UTRs on both
ends, codon repeats and homopolymers in the coding sequence) and a few hundred variants around
their coding segments: frameshifting and in-frame insertions and deletions (repeat expansions
among them), substitutions, changes in the stop codon and at exon boundaries. The VCF is
normalised (left-aligned) as the workflow's calls are, annotated by csq, and the amino-acid
change we derive must be exactly the one csq writes, on every record csq writes one for. One
case writes its GFF3 with tab characters inside column 9, which csq reads.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pysam
import pysam.bcftools
import pytest

from seq2rx.genome.sequence import revcomp
from seq2rx.variants.annotate import consequence_rows, load_transcripts, run_csq

STOPS = ("TAA", "TAG", "TGA")
CODONS = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS]


def _bases(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def _coding(rng: random.Random, n_codons: int) -> str:
    """ATG, codons without a stop (with codon repeats and homopolymers), then a stop."""
    cds = ["ATG"]
    while len(cds) < n_codons - 1:
        r = rng.random()
        if r < 0.08:
            cds += [rng.choice(CODONS)] * rng.randint(2, 4)
        elif r < 0.12:
            cds.append(rng.choice(["AAA", "TTT", "CCC", "GGG"]))
        else:
            cds.append(rng.choice(CODONS))
    return "".join(cds[: n_codons - 1]) + rng.choice(STOPS)


def simulate_genes(rng: random.Random, folder: Path, *, tabbed: bool = False) -> tuple[str, list[tuple[int, int]]]:
    """Write ``g.fa`` and ``g.gff3``; return the genome and the coding segments (0-based, half-open)."""
    seq, rows, segments = _bases(rng, 300), ["##gff-version 3"], []
    for g in range(4):
        strand = "+" if g % 2 == 0 else "-"
        cds = _coding(rng, rng.randint(60, 140))
        cuts = sorted(rng.sample(range(10, len(cds) - 10), rng.randint(0, 3)))
        parts = [cds[i:j] for i, j in zip([0, *cuts], [*cuts, len(cds)], strict=True)]
        utr5, utr3 = _bases(rng, rng.randint(0, 40)), _bases(rng, rng.randint(5, 40))
        tseq, coords = "", []  # the gene on its coding strand; exons as (start, end, cds start, cds end)
        for k, part in enumerate(parts):
            if k:
                tseq += "GT" + _bases(rng, rng.randint(60, 120)) + "AG"
            head, tail = (utr5 if k == 0 else ""), (utr3 if k == len(parts) - 1 else "")
            start = len(tseq)
            tseq += head + part + tail
            coords.append((start, len(tseq), start + len(head), start + len(head) + len(part)))
        size, base = len(tseq), len(seq)
        if strand == "-":
            tseq = revcomp(tseq)
            coords = [(size - e, size - s, size - ce, size - cs) for s, e, cs, ce in coords][::-1]
        seq += tseq + _bases(rng, 200)
        sep, extra = (";\t", "\tNote=column 9 goes on after a tab") if tabbed else (";", "")
        attrs = f"ID=gene:G{g}{sep}Name=GENE{g};biotype=protein_coding"
        rows.append(f"chrS\tsim\tgene\t{base + 1}\t{base + size}\t.\t{strand}\t.\t{attrs}")
        attrs = f"ID=transcript:T{g};Parent=gene:G{g};biotype=protein_coding{extra}"
        rows.append(f"chrS\tsim\tmRNA\t{base + 1}\t{base + size}\t.\t{strand}\t.\t{attrs}")
        done, phases = 0, {}
        for s, e, cs, ce in coords if strand == "+" else coords[::-1]:  # phases in transcript order
            phases[s] = (3 - done % 3) % 3
            done += ce - cs
        for s, e, cs, ce in coords:
            rows.append(f"chrS\tsim\texon\t{base + s + 1}\t{base + e}\t.\t{strand}\t.\tParent=transcript:T{g}")
            attrs = f"ID=CDS:T{g};Parent=transcript:T{g}"
            rows.append(f"chrS\tsim\tCDS\t{base + cs + 1}\t{base + ce}\t.\t{strand}\t{phases[s]}\t{attrs}")
            segments.append((base + cs, base + ce))
    (folder / "g.fa").write_text(">chrS\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
    pysam.faidx(str(folder / "g.fa"))
    (folder / "g.gff3").write_text("\n".join(rows) + "\n")
    return seq, segments


def simulate_variants(rng: random.Random, seq: str, segments, n: int, folder: Path) -> Path:
    """``n`` distinct variants within 3 bases of the coding segments, normalised by bcftools."""
    near = [p for s, e in segments for p in range(s - 3, e + 3)]
    found: dict[tuple[int, str], tuple[int, str, str]] = {}
    while len(found) < n:
        p0, r = rng.choice(near), rng.random()
        if r < 0.2:  # substitution
            ref, alt = seq[p0], rng.choice([b for b in "ACGT" if b != seq[p0]])
        elif r < 0.55:  # deletion of 1-9 bases
            ref, alt = seq[p0 : p0 + 1 + rng.choice([1, 1, 2, 3, 3, 4, 5, 6, 7, 9])], seq[p0]
        elif r < 0.8:  # insertion of new bases
            ref, alt = seq[p0], seq[p0] + _bases(rng, rng.choice([1, 2, 3, 3, 4, 5, 6]))
        else:  # duplication of the next bases (a repeat expansion)
            ref, alt = seq[p0], seq[p0 : p0 + 1 + rng.choice([1, 2, 3, 3, 6])]
        found[(p0, ref)] = (p0 + 1, ref, alt)
    head = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=chrS,length={len(seq)}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
    ]
    body = [f"chrS\t{p}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t0/1" for p, r, a in sorted(found.values())]
    (folder / "raw.vcf").write_text("\n".join(head + body) + "\n")
    out = folder / "norm.vcf"
    pysam.bcftools.norm("-f", str(folder / "g.fa"), "-o", str(out), str(folder / "raw.vcf"), catch_stdout=False)
    return out


def agreement(folder: Path, vcf: Path) -> tuple[int, list[tuple], Counter]:
    """Coding records csq wrote an amino-acid change for; those we derive differently; their kinds."""
    annotated = folder / "csq.vcf.gz"
    run_csq(vcf, folder / "g.fa", folder / "g.gff3", annotated)
    checked, disagree, kinds = 0, [], Counter()
    for row in consequence_rows(annotated, folder / "g.fa", folder / "g.gff3"):
        if row["aa_change_csq"] == ".":
            continue
        checked += 1
        kinds.update(row["consequence"].split("&"))
        if row["aa_change"] != row["aa_change_csq"]:
            disagree.append((row["pos"], row["ref"], row["alt"], row["strand"], row["aa_change_csq"], row["aa_change"]))
    return checked, disagree, kinds


@pytest.mark.parametrize(("seed", "tabbed"), [(1, False), (5, False), (6, True)])
def test_every_coding_record_agrees_with_csq(tmp_path, seed, tabbed):
    rng = random.Random(seed)
    seq, segments = simulate_genes(rng, tmp_path, tabbed=tabbed)
    checked, disagree, kinds = agreement(tmp_path, simulate_variants(rng, seq, segments, 300, tmp_path))
    assert not disagree, f"{len(disagree)} of {checked} coding records disagree with csq: {disagree[:10]}"
    assert checked >= 250
    # what the cases exercise: whole frameshifted proteins, in-frame indels, stop codon changes
    for kind in ("frameshift", "inframe_deletion", "inframe_insertion", "missense"):
        assert kinds[kind] >= 3, (kind, kinds)
    assert kinds["stop_gained"] + kinds["stop_lost"] + kinds["stop_retained"] >= 2, kinds


def test_tabs_in_column_9_read_as_csq_reads_them(tmp_path):
    rng = random.Random(6)
    simulate_genes(rng, tmp_path, tabbed=True)
    tabbed = load_transcripts(tmp_path / "g.gff3")
    plain = tmp_path / "plain.gff3"
    plain.write_text(
        (tmp_path / "g.gff3").read_text().replace(";\t", ";").replace("\tNote=column 9 goes on after a tab", "")
    )
    assert "\tNote=" in (tmp_path / "g.gff3").read_text()
    untabbed = load_transcripts(plain)
    assert sorted(tabbed) == sorted(untabbed) == ["T0", "T1", "T2", "T3"]
    for tid, tx in tabbed.items():
        assert (tx.cds, tx.exons, tx.strand, tx.biotype) == (
            untabbed[tid].cds,
            untabbed[tid].exons,
            untabbed[tid].strand,
            "protein_coding",
        )
        # "\tName=" is not the Name key for csq either: both fall back to the gene's ID
        assert tx.gene == f"G{tid[1]}" and untabbed[tid].gene == f"GENE{tid[1]}"


def test_a_frameshift_is_written_to_the_new_stop_and_a_cut_exon_start_as_unknown(tmp_path):
    rng = random.Random(5)
    seq, segments = simulate_genes(rng, tmp_path)
    vcf = simulate_variants(rng, seq, segments, 300, tmp_path)
    run_csq(vcf, tmp_path / "g.fa", tmp_path / "g.gff3", tmp_path / "csq.vcf.gz")
    rows = [r for r in consequence_rows(tmp_path / "csq.vcf.gz", tmp_path / "g.fa", tmp_path / "g.gff3")]
    shifts = [r for r in rows if r["consequence"] == "frameshift" and r["aa_change"] != "."]
    # the whole altered protein: several residues, ending at its new stop or at the CDS's end
    assert any(len(r["aa_change"].split(">")[1]) > 10 and r["aa_change"].endswith("*") for r in shifts)
    assert all(r["hgvs_p"].endswith(("fs", "*", "?")) or "ext" in r["hgvs_p"] for r in shifts)
    unknown = [r for r in rows if r["aa_change"].endswith("?") and r["aa_change_csq"] != "."]
    assert unknown and all(r["hgvs_p"] == "p.?" and r["aa_change"] == r["aa_change_csq"] for r in unknown)


@pytest.mark.parametrize("indexed", [False, True])
def test_the_derivation_made_while_csq_runs_gives_the_same_table(tmp_path, indexed):
    """annotate() derives the unphased records' changes while csq runs (ProteinEffects.precompute);
    its table must be the one the record-by-record derivation writes, with or without a VCF index."""
    from seq2rx.variants.annotate import TABLE_COLUMNS, ProteinEffects, annotate

    rng = random.Random(11)
    seq, segments = simulate_genes(rng, tmp_path)
    vcf = simulate_variants(rng, seq, segments, 200, tmp_path)
    if indexed:
        pysam.tabix_index(str(vcf), preset="vcf", force=True)
        vcf = Path(str(vcf) + ".gz")
    fa, gff3 = tmp_path / "g.fa", tmp_path / "g.gff3"
    annotate(vcf, fa, gff3, tmp_path / "table.tsv", out_vcf=tmp_path / "annotated.vcf.gz")
    expected = ["\t".join(TABLE_COLUMNS)] + [
        "\t".join(str(row[c]) for c in TABLE_COLUMNS)
        for row in consequence_rows(tmp_path / "annotated.vcf.gz", fa, gff3)
    ]
    assert (tmp_path / "table.tsv").read_text().splitlines() == expected
    effects = ProteinEffects(fa, gff3)
    effects.precompute(vcf)
    derived = [v for v in effects.known.values() if v is not None]
    assert len(derived) >= 150  # the coding records were derived ahead, not left to the table
    for (tid, pos, ref, alt), change in list(effects.known.items())[:50]:
        assert change == effects.effect(effects.transcripts[tid], (pos, ref, alt))
