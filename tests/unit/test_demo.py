"""The demo genome keeps true GRCh38 bases and translates the hotspots to the right codons."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pysam
import pytest
import yaml
from Bio.Seq import Seq

from seq2rx.sim import load_pgx_sites, simulate

REPO = Path(__file__).resolve().parents[2]


def _cds(fasta: pysam.FastaFile, gff3: Path, gene: str) -> tuple[str, str]:
    """The coding sequence of ``gene``'s transcript, in transcript orientation, from FASTA + GFF3."""
    rows = [line.split("\t") for line in gff3.read_text().splitlines() if not line.startswith("#")]
    gene_id = next(r[8].split("ID=gene:")[1].split(";")[0] for r in rows if r[2] == "gene" and f"Name={gene};" in r[8])
    mrna = next(r for r in rows if r[2] == "mRNA" and f"Parent=gene:{gene_id}" in r[8])
    tx = mrna[8].split("ID=transcript:")[1].split(";")[0]
    parts = sorted((int(r[3]), int(r[4])) for r in rows if r[2] == "CDS" and f"Parent=transcript:{tx}" in r[8])
    seq = "".join(fasta.fetch(mrna[0], s - 1, e) for s, e in parts)
    return (seq if mrna[6] == "+" else str(Seq(seq).reverse_complement())), mrna[6]


@pytest.mark.parametrize(
    "gene,codon,aa",
    [
        ("BRAF", 600, "V"),
        ("KRAS", 12, "G"),
        ("KRAS", 13, "G"),
        ("EGFR", 858, "L"),
        ("EGFR", 790, "T"),
        ("EGFR", 797, "C"),
        ("PIK3CA", 1047, "H"),
        ("PIK3CA", 545, "E"),
        ("PIK3CA", 542, "E"),
    ],
)
def test_hotspot_codons_translate(small_demo, gene, codon, aa):
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        cds, _ = _cds(fa, small_demo / "genes.gff3", gene)
    protein = str(Seq(cds).translate())
    assert protein[0] == "M" and protein[-1] == "*" and "*" not in protein[:-1]
    assert protein[codon - 1] == aa


def test_protein_lengths_match_the_real_proteins(small_demo):
    expected = {"BRAF": 766, "KRAS": 189, "EGFR": 1210, "PIK3CA": 1068}
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        for gene, length in expected.items():
            cds, _ = _cds(fa, small_demo / "genes.gff3", gene)
            assert len(cds) == 3 * (length + 1)


def test_exon19_deletion_sequence_is_real(small_demo):
    # EGFR c.2235_2249del (p.E746_A750del) deletes GGAATTAAGAGAAGC at chr7:55174772-55174786
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        assert fa.fetch("chr7", 55174771, 55174786) == "GGAATTAAGAGAAGC"
        assert fa.fetch("chr7", 140753335, 140753336) == "A"  # BRAF c.1799T (minus strand)
        assert fa.fetch("chr12", 25245349, 25245350) == "C"  # KRAS c.35G (minus strand)


def test_every_named_pharmacogene_base_is_the_grch38_reference(small_demo):
    sites = load_pgx_sites(REPO / "resources/kb/pgx/positions.tsv")
    assert len(sites) == 424
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        for _gene, chrom, pos, ref in sites:
            assert fa.fetch(chrom, pos - 1, pos - 1 + len(ref)) == ref, (chrom, pos)


def test_contigs_keep_real_coordinates(small_demo):
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        lengths = dict(zip(fa.references, fa.lengths, strict=True))
        assert lengths["chr3"] > 179_234_297  # PIK3CA H1047 sits at its real position
        assert fa.fetch("chr3", 1_000_000, 1_000_060) == "N" * 60


def test_truth_has_planted_star_alleles_and_somatic_hotspots(small_demo):
    with pysam.VariantFile(str(small_demo / "truth/P1.vcf.gz")) as fh:
        calls = {(r.chrom, r.pos, r.ref, r.alts[0]): r.samples[0]["GT"] for r in fh}
    # P1 is CYP2C19 *2/*2: rs4244285 (chr10:94781859 G>A) homozygous
    assert calls[("chr10", 94781859, "G", "A")] == (1, 1)
    assert calls[("chr12", 21178615, "T", "C")] == (0, 1)  # SLCO1B1 *1/*5
    with pysam.VariantFile(str(small_demo / "truth/P8-T.vcf.gz")) as fh:
        somatic = {(r.chrom, r.pos, r.ref, r.alts[0]): r.info["VAF"] for r in fh if r.info.get("SOMATIC")}
    assert somatic == {
        ("chr7", 140753336, "A", "T"): pytest.approx(0.30),
        ("chr3", 179234297, "A", "G"): pytest.approx(0.15),
    }


def test_reads_have_duplicates_and_adapters(small_demo):
    dups = (small_demo / "truth/P1.duplicates.tsv").read_text().splitlines()[1:]
    assert len(dups) > 50
    import gzip

    with gzip.open(small_demo / "reads/P1_R1.fastq.gz", "rt") as fh:
        seqs = [line.strip() for k, line in enumerate(fh) if k % 4 == 1]
    assert all(len(s) == 150 for s in seqs)
    assert sum("AGATCGGAAGAGC" in s for s in seqs) > 10  # short inserts read into the adapter


def test_same_seed_same_bytes(tmp_path):
    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["coverage"] = 2
    spec["patients"] = spec["patients"][:1]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    digests = []
    for run in ("a", "b"):
        simulate(tmp_path / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", tmp_path / run)
        files = sorted(p for p in (tmp_path / run).rglob("*") if p.is_file())
        digests.append(
            {
                p.relative_to(tmp_path / run).as_posix(): hashlib.sha256(
                    p.read_bytes().replace(str(tmp_path / run).encode(), b"OUT")
                ).hexdigest()
                for p in files
            }
        )
    assert digests[0] == digests[1]
    assert "reads/P1_R1.fastq.gz" in digests[0]
