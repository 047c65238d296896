"""Gene fusions from split reads and discordant pairs: a small genome with three planted fusions.

Four contigs of random sequence carry simulated coding genes (Ensembl-style GFF3 from the demo
simulator's writer), with every exon 500 bp from the next and each break in the middle of an
intron. The tumour holds three derivative chromosomes beside the reference ones:

- chr2, an inversion: EML4 (+) exons 1-2 joined to ALK (-) exons 4-8, in frame (EML4 keeps
  150 + 121 = 271 coding bases, 271 % 3 = 1; ALK loses 100 + 130 + 110 = 340, 340 % 3 = 1, so
  its exon 4 starts with CDS phase 2 and 271 + 2 is whole codons); ALK's first whole codon is
  340 // 3 + 2 = 115, before its (test) kinase domain at codons 150-300;
- chr5/chr6, a translocation: CD74 (-) exons 1-2 (120 + 101 = 221, % 3 = 2) joined to ROS1 (-)
  exons 3-8 (110 + 140 = 250 lost, % 3 = 1): out of frame;
- chr10, a deletion: CCDC6 (+) exon 1 (121, % 3 = 1) joined to RET (+) exons 5-7 (100 + 110 +
  140 + 152 = 502 lost, % 3 = 1): in frame, but RET's first whole codon (502 // 3 + 2 = 169)
  comes after its (test) kinase domain at codons 100-150: the domain is not retained.

A second small genome (``fgfr_world``) holds a kinase that is the 5′ partner: FGFR3 and TACC3 lie
side by side on chr4, both on the plus strand, TACC3 first, and two tandem duplications join
FGFR3's 5′ exons to TACC3's 3′ exons (FGFR3::TACC3), once after FGFR3's kinase exons and once
inside them.
"""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pysam
import pytest

from seq2rx.core.errors import InputError
from seq2rx.genome.sequence import revcomp
from seq2rx.reads.align import align_unsorted, build_index, sort_markdup
from seq2rx.sim.genome import Genome, write_fasta, write_gff3
from seq2rx.sim.model import STOP_CODONS, Exon, GeneModel, Island
from seq2rx.tumour.fusions import (
    Breakend,
    BreakpointPair,
    Evidence,
    FusionParams,
    call_fusions,
    cluster_evidence,
    partners,
    read_kinase_domains,
    write_fusions,
)

CONTIG = 16_000
INTRON = 500
READ = 100
GENES = ["ALK", "ROS1", "RET", "NTRK1", "FGFR2"]  # NTRK1 and FGFR2 are not in this GFF3


def _gene(rng, name, chrom, strand, left, exon_lengths, first_base=None) -> GeneModel:
    """A coding gene whose exons (lengths in transcript order) start at genomic ``left``."""
    total = sum(exon_lengths)
    assert total % 3 == 0
    codons = []
    while len(codons) < total // 3 - 2:
        c = "".join(rng.choice(list("ACGT"), 3))
        if c not in STOP_CODONS:
            codons.append(c)
    cds = list("ATG" + "".join(codons) + "TAA")
    for pos, base in (first_base or {}).items():
        cds[pos] = base
    genomic = exon_lengths if strand == "+" else exon_lengths[::-1]
    spans, x = [], left
    for n in genomic:
        spans.append((x, x + n))
        x += n + INTRON
    spans = spans if strand == "+" else spans[::-1]  # transcript order
    exons, c = [], 0
    for s, e in spans:
        exons.append(Exon(s, e, c))
        c += e - s
    return GeneModel(name, f"ENSG_{name}", f"ENST_{name}", f"ENSP_{name}", chrom, strand, "".join(cds), exons)


def _cut_after(gene: GeneModel, exon: int) -> int:
    """0-based cut in the middle of the intron after ``exon`` (transcript order, 1-based)."""
    a, b = gene.exons[exon - 1], gene.exons[exon]
    return (a.end + b.start) // 2 if gene.strand == "+" else (b.end + a.start) // 2


def _fragments(rng, seq: str, coverage: float, name: str) -> list[tuple[str, str, str]]:
    n = int(coverage * len(seq) / (2 * READ))
    sizes = np.clip(rng.normal(350, 40, n), 220, 500).astype(int)
    out = []
    for k in range(n):
        s = int(rng.integers(0, len(seq) - sizes[k]))
        frag = seq[s : s + sizes[k]]
        if rng.random() < 0.5:
            frag = revcomp(frag)
        out.append((f"{name}_{k}", frag[:READ], revcomp(frag)[:READ]))
    return out


def _fastq(pairs, folder: Path) -> tuple[Path, Path]:
    r1, r2 = folder / "r1.fq.gz", folder / "r2.fq.gz"
    q = "I" * READ
    with gzip.open(r1, "wt") as a, gzip.open(r2, "wt") as b:
        for name, s1, s2 in pairs:
            a.write(f"@{name}\n{s1}\n+\n{q}\n")
            b.write(f"@{name}\n{s2}\n+\n{q}\n")
    return r1, r2


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    rng = np.random.default_rng(15)
    d = tmp_path_factory.mktemp("fusions")
    seqs = {c: list("".join(rng.choice(list("ACGT"), CONTIG))) for c in ("chr2", "chr5", "chr6", "chr10")}
    # the codons across the in-frame junctions start with the 5' partner's last base, a G: never a stop
    genes = {
        "ALK": _gene(rng, "ALK", "chr2", "-", 1000, [100, 130, 110, 150, 140, 160, 120, 122]),
        "EML4": _gene(rng, "EML4", "chr2", "+", 9000, [150, 121, 130, 140, 140], {270: "G"}),
        "CD74": _gene(rng, "CD74", "chr5", "-", 4000, [120, 101, 140, 130, 139]),
        "ROS1": _gene(rng, "ROS1", "chr6", "-", 3000, [110, 140, 150, 150, 150, 150, 120, 128]),
        "CCDC6": _gene(rng, "CCDC6", "chr10", "+", 1000, [121, 150, 140, 129], {120: "G"}),
        "RET": _gene(rng, "RET", "chr10", "+", 6000, [100, 110, 140, 152, 150, 150, 128]),
    }
    for g in genes.values():
        for ex in g.exons:
            part = g.cds[ex.cds_start : ex.cds_start + ex.end - ex.start]
            seqs[g.chrom][ex.start : ex.end] = list(part if g.strand == "+" else revcomp(part))
    ref = {c: "".join(s) for c, s in seqs.items()}
    genome = Genome({c: CONTIG for c in ref}, [Island(c, 0, list(s)) for c, s in ref.items()], list(genes.values()))
    write_fasta(genome, d / "ref.fa.gz")
    write_gff3(genome, d / "genes.gff3")
    protein = {n: len(g.cds) // 3 - 1 for n, g in genes.items()}
    (d / "kinases.tsv").write_text(
        "gene\ttranscript\tprotein_length\tfirst_codon\tlast_codon\tsource\trelease\tdate\n"
        f"ALK\tENST_ALK\t{protein['ALK']}\t150\t300\ttest\t-\t-\n"
        f"ROS1\tENST_ROS1\t{protein['ROS1']}\t150\t300\ttest\t-\t-\n"
        f"RET\tENST_RET\t{protein['RET']}\t100\t150\ttest\t-\t-\n"
    )
    cut = {
        "EML4": _cut_after(genes["EML4"], 2), "ALK": _cut_after(genes["ALK"], 3),
        "CD74": _cut_after(genes["CD74"], 2), "ROS1": _cut_after(genes["ROS1"], 2),
        "CCDC6": _cut_after(genes["CCDC6"], 1), "RET": _cut_after(genes["RET"], 4),
    }  # fmt: skip
    derivative = {
        "inv2": ref["chr2"][: cut["ALK"]] + revcomp(ref["chr2"][cut["ALK"] : cut["EML4"]]) + ref["chr2"][cut["EML4"] :],
        "t56": ref["chr6"][: cut["ROS1"]] + ref["chr5"][cut["CD74"] :],
        "del10": ref["chr10"][: cut["CCDC6"]] + ref["chr10"][cut["RET"] :],
    }
    index = build_index(d / "ref.fa.gz", d / "index", "bwa")
    bams = {}
    for sample, haplotypes in (
        ("tumour", [(s, 20) for s in derivative.values()] + [(s, 10) for s in ref.values()]),
        ("normal", [(s, 20) for s in ref.values()]),
    ):
        pairs = [p for k, (s, cov) in enumerate(haplotypes) for p in _fragments(rng, s, cov, f"{sample}{k}")]
        (d / sample).mkdir()
        r1, r2 = _fastq(pairs, d / sample)
        align_unsorted(r1, r2, index, d / f"{sample}.u.bam", sample, threads=2)
        sort_markdup(d / f"{sample}.u.bam", d / f"{sample}.bam", d / f"{sample}.md.txt", threads=2)
        bams[sample] = d / f"{sample}.bam"
    return {"dir": d, "cut": cut, "bams": bams, "genes": genes}


def _call(world, sample: str):
    d = world["dir"]
    return call_fusions(
        world["bams"][sample], d / "ref.fa.gz", d / "genes.gff3", GENES, kinase_domains=d / "kinases.tsv"
    )


@pytest.fixture(scope="module")
def tumour_calls(world):
    start = time.perf_counter()
    calls = _call(world, "tumour")
    world["seconds"] = time.perf_counter() - start
    return calls


def _one(calls, five: str, three: str):
    found = [f for f in calls.fusions if (f.five_prime, f.three_prime) == (five, three)]
    assert len(found) == 1, [(f.name, f.call) for f in calls.fusions]
    return found[0]


def _pos(bp: str) -> tuple[str, int]:
    chrom, pos = bp.split(":")
    return chrom, int(pos)


def test_the_tumour_bam_has_split_reads(world):
    with pysam.AlignmentFile(str(world["bams"]["tumour"])) as bam:
        assert sum(r.has_tag("SA") for r in bam) > 20


def test_inversion_eml4_alk_in_frame_with_kinase(world, tumour_calls):
    f = _one(tumour_calls, "EML4", "ALK")
    assert f.call == "fusion" and f.kind == "inversion" and f.precise
    cut = world["cut"]
    # both kept sides are left of their cuts: the last kept base is the cut (1-based)
    chrom, pos = _pos(f.five_prime_breakpoint)
    assert chrom == "chr2" and abs(pos - cut["EML4"]) <= 3
    chrom, pos = _pos(f.three_prime_breakpoint)
    assert chrom == "chr2" and abs(pos - cut["ALK"]) <= 3
    assert f.split_reads >= 2 and f.spanning_pairs >= 2
    assert (f.five_prime_location, f.three_prime_location) == ("intron 2", "intron 3")
    assert f.exons_joined == "EML4 exon 2 -> ALK exon 4"
    assert f.in_frame is True and f.junction_stop is False
    assert f.first_retained_codon == 115 and f.kinase_domain_retained is True
    assert f.five_prime_transcript == "ENST_EML4" and f.three_prime_transcript == "ENST_ALK"
    # the peptide across the junction: EML4's last residues, then ALK's own from codon 115 on
    alk = world["genes"]["ALK"].cds
    from Bio.Seq import Seq

    assert f.junction_peptide.split("|")[1][1:] == str(Seq(alk[342:369]).translate())
    # the reciprocal junction of the balanced inversion: ALK's 5' exons joined to EML4's 3' exons;
    # ALK is now the 5' kinase carrier, and its first 100 + 130 + 110 = 340 coding bases (codons
    # 1-113) stop well before its kinase domain (150-300)
    back = _one(tumour_calls, "ALK", "EML4")
    assert back.exons_joined == "ALK exon 3 -> EML4 exon 3"
    assert back.kinase_domain_retained is False and back.first_retained_codon is None
    assert back.kinase_domain.startswith("150-300 ")
    assert any("ALK carries the kinase domain as the 5′ partner: its coding part keeps codons 1-113" in n
               for n in back.notes)  # fmt: skip


def test_translocation_cd74_ros1_out_of_frame(world, tumour_calls):
    f = _one(tumour_calls, "CD74", "ROS1")
    assert f.call == "fusion" and f.kind == "translocation"
    chrom, pos = _pos(f.five_prime_breakpoint)  # CD74 keeps the right side: its first kept base
    assert chrom == "chr5" and abs(pos - (world["cut"]["CD74"] + 1)) <= 3
    chrom, pos = _pos(f.three_prime_breakpoint)
    assert chrom == "chr6" and abs(pos - world["cut"]["ROS1"]) <= 3
    assert f.exons_joined == "CD74 exon 2 -> ROS1 exon 3"
    assert f.in_frame is False
    assert f.first_retained_codon == 85 and f.kinase_domain_retained is True


def test_deletion_ccdc6_ret_loses_the_kinase_domain(world, tumour_calls):
    f = _one(tumour_calls, "CCDC6", "RET")
    assert f.call == "fusion" and f.kind == "deletion"
    assert f.exons_joined == "CCDC6 exon 1 -> RET exon 5"
    assert f.in_frame is True
    assert f.first_retained_codon == 169 and f.kinase_domain_retained is False


def test_only_the_planted_fusions_and_the_genes_asked_for(world, tumour_calls):
    called = sorted(f.name for f in tumour_calls.fusions if f.call == "fusion")
    assert called == ["ALK--EML4", "CCDC6--RET", "CD74--ROS1", "EML4--ALK"]
    assert tumour_calls.genes_scanned == ["ALK", "RET", "ROS1"]
    assert tumour_calls.genes_missing == ["FGFR2", "NTRK1"]
    assert world["seconds"] < 5


def test_the_normal_bam_has_no_fusion(world):
    assert [f for f in _call(world, "normal").fusions if f.call == "fusion"] == []


def test_support_thresholds_decide_the_call(world):
    d = world["dir"]
    strict = FusionParams(min_split_reads=1000, min_spanning_pairs=2)
    calls = call_fusions(world["bams"]["tumour"], d / "ref.fa.gz", d / "genes.gff3", GENES,
                         params=strict, kinase_domains=d / "kinases.tsv")  # fmt: skip
    assert calls.fusions and {f.call for f in calls.fusions} == {"low_support"}


def test_outputs_pcgr_table_and_json(world, tumour_calls, tmp_path):
    n = write_fusions(tumour_calls, tmp_path / "f.tsv", tmp_path / "f.json", sample="T1")
    lines = (tmp_path / "f.tsv").read_text().splitlines()
    assert n == 4 and lines[0] == "FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads"
    row = next(line.split("\t") for line in lines if line.startswith("EML4--ALK\t"))
    assert _pos(row[1])[0] == "chr2" and int(row[3]) >= 2
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["sample"] == "T1" and doc["params"]["min_split_reads"] == 2
    eml4 = next(f for f in doc["fusions"] if f["five_prime"] == "EML4")
    assert eml4["in_frame"] is True and eml4["kinase_domain_retained"] is True


def test_a_tumour_without_reads_on_the_genes_is_not_assessed(world, tumour_calls, tmp_path):
    """No usable read on any scanned gene shows no fusion because it shows nothing: not assessed, with why."""
    assert tumour_calls.reason is None and tumour_calls.reads_scanned > 1000
    d = world["dir"]
    with pysam.AlignmentFile(str(world["bams"]["tumour"])) as src:
        header = src.header.to_dict()
    empty = tmp_path / "empty.bam"
    with pysam.AlignmentFile(str(empty), "wb", header=header):
        pass
    pysam.index(str(empty))
    calls = call_fusions(empty, d / "ref.fa.gz", d / "genes.gff3", GENES, kinase_domains=d / "kinases.tsv")
    assert calls.fusions == [] and calls.reads_scanned == 0
    assert calls.reason == ("the tumour BAM has no usable reads (mapping quality >= 20) on the 3 fusion genes "
                            "scanned: check the capture covers them")  # fmt: skip
    write_fusions(calls, tmp_path / "f.tsv", tmp_path / "f.json", sample="T1")
    doc = json.loads((tmp_path / "f.json").read_text())
    assert (doc["status"], doc["reason"], doc["reads_scanned"]) == ("not assessed", calls.reason, 0)


def test_partners_follow_strands_and_kept_sides():
    class G:
        def __init__(self, strand):
            self.strand, self.name = strand, "G"

    inv = (Breakend("c", 100, "+"), Breakend("c", 900, "+"))
    assert partners(inv[0], G("+"), inv[1], G("-")) == (0, 1)  # EML4-ALK
    assert partners(inv[0], G("-"), inv[1], G("+")) == (1, 0)
    assert partners(inv[0], G("+"), inv[1], G("+")) == (None, None)  # both keep their 5' parts
    dele = (Breakend("c", 100, "+"), Breakend("c", 900, "-"))
    assert partners(dele[0], G("+"), dele[1], G("+")) == (0, 1)
    assert partners(dele[0], None, dele[1], G("+")) == (None, 1)  # a 3' part without a known partner


def test_clustering_by_tolerance_and_pairs():
    params = FusionParams(tolerance=10, max_insert=500)
    a, b = Breakend("c1", 1000, "+"), Breakend("c2", 5000, "-")
    splits = [(a, b), (a, b), (a._replace(pos=1004), b._replace(pos=5004)), (a._replace(pos=1100), b)]
    pairs = [(Breakend("c1", 800, "+"), Breakend("c2", 5300, "-")),  # fits the junction
             (Breakend("c1", 400, "+"), Breakend("c2", 5300, "-"))]  # 600 bp short of it  # fmt: skip
    found = cluster_evidence(Evidence(splits, pairs), params)
    assert [(bp.a.pos, bp.b.pos, bp.split_reads, bp.spanning_pairs, bp.precise) for bp in found] == [
        (1000, 5000, 3, 1, True),
        (1100, 5000, 1, 0, True),
        (400, 5300, 0, 1, False),
    ]
    assert cluster_evidence(Evidence([], []), params) == []
    assert BreakpointPair(a, b).kind == "translocation"


def test_params_are_checked():
    with pytest.raises(ValueError, match="fusions.min_mapq must be a whole number >= 0, got -1"):
        FusionParams(min_mapq=-1)
    with pytest.raises(ValueError, match="include_duplicates must be true or false"):
        FusionParams(include_duplicates="yes")
    section = {f: v for f, v in FusionParams().__dict__.items()} | {"other": 1}
    assert FusionParams.from_config(section) == FusionParams()


def test_filters_drop_evidence(world):
    d = world["dir"]
    # BWA's MAPQ tops out at 60: nothing passes a filter of 61
    calls = call_fusions(world["bams"]["tumour"], d / "ref.fa.gz", d / "genes.gff3", GENES,
                         params=replace(FusionParams(), min_mapq=61), kinase_domains=d / "kinases.tsv")  # fmt: skip
    assert calls.fusions == []


def test_kinase_domain_needs_the_tables_isoform(world, tmp_path):
    d = world["dir"]
    text = (d / "kinases.tsv").read_text().replace("ENST_ALK\t343\t", "ENST_ALK\t400\t")
    (tmp_path / "k.tsv").write_text(text)
    calls = call_fusions(world["bams"]["tumour"], d / "ref.fa.gz", d / "genes.gff3", GENES,
                         kinase_domains=tmp_path / "k.tsv")  # fmt: skip
    f = _one(calls, "EML4", "ALK")
    assert f.kinase_domain_retained is None and f.in_frame is True
    assert "describes ENST_ALK (400 residues), the GFF3 gives ENST_ALK (343 residues)" in f.notes[0]


def test_packaged_kinase_domains():
    table = read_kinase_domains()
    assert sorted(table) == ["ABL1", "ALK", "BRAF", "FGFR2", "FGFR3", "NTRK1", "NTRK2", "NTRK3", "RET", "ROS1"]
    alk = table["ALK"]
    assert (alk.transcript, alk.protein_length, alk.first_codon, alk.last_codon) == (
        "ENST00000389048",
        1620,
        1116,
        1392,
    )
    assert (table["BRAF"].first_codon, table["BRAF"].last_codon) == (457, 717)
    # NTRK2 is read on its canonical transcript (NM_006180), not the ENST00000376213 recalled first
    assert (table["NTRK2"].transcript, table["NTRK2"].protein_length) == ("ENST00000277120", 822)
    assert (table["ABL1"].first_codon, table["ABL1"].last_codon) == (242, 493)


def test_bad_kinase_tables(tmp_path):
    head = "gene\ttranscript\tprotein_length\tfirst_codon\tlast_codon\tsource\trelease\tdate\n"
    (tmp_path / "a.tsv").write_text("gene\ttranscript\n")
    with pytest.raises(InputError, match=r"a.tsv, line 1: missing column\(s\) \['protein_length'"):
        read_kinase_domains(tmp_path / "a.tsv")
    (tmp_path / "b.tsv").write_text(head + "ALK\tENST1\t100\t90\t80\tx\t-\t-\n")
    with pytest.raises(InputError, match="b.tsv, line 2: needs 1 <= first_codon <= last_codon"):
        read_kinase_domains(tmp_path / "b.tsv")
    (tmp_path / "c.tsv").write_text(head + "ALK\tENST1\tmany\t90\t80\tx\t-\t-\n")
    with pytest.raises(InputError, match="c.tsv, line 2: not a whole number"):
        read_kinase_domains(tmp_path / "c.tsv")


def test_bam_without_index_or_with_other_contig_names(world, tmp_path):
    d = world["dir"]
    bare = tmp_path / "bare.bam"
    bare.write_bytes(world["bams"]["tumour"].read_bytes())
    with pytest.raises(InputError, match=r"bare.bam: has no index \(.bai or .csi\) \(run samtools index on it\)"):
        call_fusions(bare, d / "ref.fa.gz", d / "genes.gff3", GENES, kinase_domains=d / "kinases.tsv")
    renamed = tmp_path / "genes.gff3"
    renamed.write_text((d / "genes.gff3").read_text().replace("chr", ""))
    with pytest.raises(InputError, match=r"none of the genes' contigs \['10', '2', '6'\] is in the BAM header"):
        call_fusions(world["bams"]["tumour"], d / "ref.fa.gz", renamed, GENES, kinase_domains=d / "kinases.tsv")


def test_scattered_chimeras_stay_apart():
    """40,000 random junctions and pairs over 3 Mb (library chimeras) cluster quickly into singletons."""
    rng = np.random.default_rng(7)

    def ends(n):
        chrom, pos, side = rng.choice(["c1", "c2"], n), rng.integers(1, 3_000_000, n), rng.choice(["+", "-"], n)
        return [Breakend(str(c), int(p), str(s)) for c, p, s in zip(chrom, pos, side, strict=True)]

    splits = [tuple(sorted(p)) for p in zip(ends(20_000), ends(20_000), strict=True)]
    pairs = [tuple(sorted(p)) for p in zip(ends(20_000), ends(20_000), strict=True)]
    start = time.perf_counter()
    found = cluster_evidence(Evidence(splits, pairs), FusionParams())
    assert time.perf_counter() - start < 5
    assert max(bp.split_reads for bp in found) == 1
    assert sum(bp.split_reads >= 2 or bp.spanning_pairs >= 2 for bp in found) < 20


# --------------------------------------------------------------------------- a 5' kinase: FGFR3::TACC3

# FGFR3 (+): 8 exons, 1152 coding bases, 383 residues; after exons 1-8 the coding bases reach
# 150, 270, 420, 570, 720, 870, 1020, 1152. Its (test) kinase domain is codons 100-250.
# TACC3 (+): 5 exons of 120, 150, 141, 150, 138 bases (699, 232 residues).
FGFR3_EXONS = [150, 120, 150, 150, 150, 150, 150, 132]
TACC3_EXONS = [120, 150, 141, 150, 138]


@pytest.fixture(scope="module")
def fgfr_world(tmp_path_factory):
    """chr4 with TACC3 then FGFR3, and a tumour with two tandem duplications joining them:

    - ``after``: FGFR3 exons 1-6 (870 bases, codons 1-290, past the domain's last codon 250)
      joined to TACC3 exons 3-5 (270 bases lost, phase 0): in frame, domain retained;
    - ``inside``: FGFR3 exons 1-4 (570 bases, codons 1-190, inside the domain) joined to TACC3
      exons 4-5 (411 bases lost, phase 0): in frame, domain not retained.
    """
    rng = np.random.default_rng(315)
    d = tmp_path_factory.mktemp("fgfr")
    seq = list("".join(rng.choice(list("ACGT"), CONTIG)))
    genes = {
        "TACC3": _gene(rng, "TACC3", "chr4", "+", 1000, TACC3_EXONS),
        "FGFR3": _gene(rng, "FGFR3", "chr4", "+", 7000, FGFR3_EXONS),
    }
    for g in genes.values():
        for ex in g.exons:
            seq[ex.start : ex.end] = list(g.cds[ex.cds_start : ex.cds_start + ex.end - ex.start])
    ref = "".join(seq)
    genome = Genome({"chr4": CONTIG}, [Island("chr4", 0, seq)], list(genes.values()))
    write_fasta(genome, d / "ref.fa.gz")
    write_gff3(genome, d / "genes.gff3")
    protein = len(genes["FGFR3"].cds) // 3 - 1
    (d / "kinases.tsv").write_text(
        "gene\ttranscript\tprotein_length\tfirst_codon\tlast_codon\tsource\trelease\tdate\n"
        f"FGFR3\tENST_FGFR3\t{protein}\t100\t250\ttest\t-\t-\n"
    )
    cut = {
        "after": (_cut_after(genes["FGFR3"], 6), _cut_after(genes["TACC3"], 2)),
        "inside": (_cut_after(genes["FGFR3"], 4), _cut_after(genes["TACC3"], 3)),
    }
    # a tandem duplication: chr4 up to the FGFR3 cut, then again from the TACC3 cut on
    haplotypes = [(ref[:f] + ref[t:], 20) for f, t in cut.values()] + [(ref, 10)]
    pairs = [p for k, (s, cov) in enumerate(haplotypes) for p in _fragments(rng, s, cov, f"t{k}")]
    (d / "tumour").mkdir()
    r1, r2 = _fastq(pairs, d / "tumour")
    index = build_index(d / "ref.fa.gz", d / "index", "bwa")
    align_unsorted(r1, r2, index, d / "tumour.u.bam", "tumour", threads=2)
    sort_markdup(d / "tumour.u.bam", d / "tumour.bam", d / "tumour.md.txt", threads=2)
    return {"dir": d, "cut": cut, "genes": genes, "protein": protein}


def _fgfr_calls(fgfr_world, kinases: Path | None = None):
    d = fgfr_world["dir"]
    return call_fusions(d / "tumour.bam", d / "ref.fa.gz", d / "genes.gff3", ["FGFR3", "TACC3"],
                        kinase_domains=kinases or d / "kinases.tsv")  # fmt: skip


def _fgfr3_tacc3(calls, fgfr3_exon: int):
    found = [f for f in calls.fusions if f.name == "FGFR3--TACC3" and f.five_prime_exon == fgfr3_exon]
    assert len(found) == 1, [(f.name, f.call, f.five_prime_exon) for f in calls.fusions]
    return found[0]


def test_fgfr3_tacc3_break_after_the_kinase_keeps_it_in_frame(fgfr_world):
    f = _fgfr3_tacc3(_fgfr_calls(fgfr_world), 6)
    assert f.call == "fusion" and f.kind == "duplication" and f.precise
    chrom, pos = _pos(f.five_prime_breakpoint)
    assert chrom == "chr4" and abs(pos - fgfr_world["cut"]["after"][0]) <= 3
    assert f.exons_joined == "FGFR3 exon 6 -> TACC3 exon 3"
    assert f.in_frame is True and f.junction_stop is False
    # the kinase is FGFR3's, at the 5' end: 870 coding bases keep codons 1-290, past codon 250
    assert f.kinase_domain == "100-250 (test)"
    assert f.kinase_domain_retained is True and f.first_retained_codon is None
    carrier = "FGFR3 carries the kinase domain as the 5′ partner: its coding part keeps codons 1-290 before"
    assert carrier + " the break, the domain spans 100-250" in f.notes
    # the peptide across the junction: FGFR3's residues up to 290, then TACC3's from its codon 91
    from Bio.Seq import Seq

    before, after = f.junction_peptide.split("|")
    assert before == str(Seq(fgfr_world["genes"]["FGFR3"].cds[840:870]).translate())
    assert after == str(Seq(fgfr_world["genes"]["TACC3"].cds[270:300]).translate())


def test_fgfr3_tacc3_break_inside_the_kinase_loses_it(fgfr_world):
    f = _fgfr3_tacc3(_fgfr_calls(fgfr_world), 4)
    assert f.call == "fusion" and f.exons_joined == "FGFR3 exon 4 -> TACC3 exon 4"
    assert f.in_frame is True  # a productive junction, but FGFR3 keeps only codons 1-190 of 100-250
    assert f.kinase_domain_retained is False
    assert any("keeps codons 1-190 before the break" in n for n in f.notes)


def test_fgfr3_tacc3_two_fusions_only(fgfr_world):
    calls = _fgfr_calls(fgfr_world)
    assert sorted((f.name, f.five_prime_exon) for f in calls.fusions if f.call == "fusion") == [
        ("FGFR3--TACC3", 4),
        ("FGFR3--TACC3", 6),
    ]
    assert calls.genes_scanned == ["FGFR3", "TACC3"]


def test_fgfr3_kinase_needs_the_tables_isoform(fgfr_world, tmp_path):
    d = fgfr_world["dir"]
    text = (d / "kinases.tsv").read_text().replace(f"\t{fgfr_world['protein']}\t", "\t400\t")
    (tmp_path / "k.tsv").write_text(text)
    f = _fgfr3_tacc3(_fgfr_calls(fgfr_world, tmp_path / "k.tsv"), 6)
    assert f.kinase_domain_retained is None and f.in_frame is True
    n = fgfr_world["protein"]
    assert f"describes ENST_FGFR3 (400 residues), the GFF3 gives ENST_FGFR3 ({n} residues)" in f.notes[0]
    assert not any("5′ partner" in n for n in f.notes)


def test_fusions_json_reports_a_five_prime_kinase(fgfr_world, tmp_path):
    write_fusions(_fgfr_calls(fgfr_world), tmp_path / "f.tsv", tmp_path / "f.json", sample="T2")
    rows = (tmp_path / "f.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["FusionGene", "LeftBreakpoint", "RightBreakpoint", "SplitReads"]
    assert sorted(r.split("\t")[0] for r in rows[1:]) == ["FGFR3--TACC3", "FGFR3--TACC3"]
    doc = json.loads((tmp_path / "f.json").read_text())
    by_exon = {f["five_prime_exon"]: f for f in doc["fusions"] if f["call"] == "fusion"}
    assert by_exon[6]["kinase_domain_retained"] is True and by_exon[4]["kinase_domain_retained"] is False
    assert all(any("as the 5′ partner" in n for n in f["notes"]) for f in by_exon.values())
