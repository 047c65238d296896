"""Copy number with CNVkit: a planted amplification and homozygous deletion are called as such, every
other gene neutral, against a matched normal and against a pooled reference; the outputs are
byte-identical run to run; bad input is named.

The genome is small: islands of random sequence on N padding (as the demo genome), six genes in a
GFF3 like the demo's, reads placed directly as perfect alignments (no aligner needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysam
import pytest

from seq2rx.core.errors import InputError
from seq2rx.tumour.copynumber import (
    MIN_MEDIAN_DEPTH,
    CopyNumberParams,
    build_reference,
    copy_number,
    gene_call,
    read_genes,
    reference_kind,
    write_access,
)

READ = 100
ISLAND = 20_000
CONTIG = 400_000
#: gene -> (chrom, island start); each gene spans island start + 4 kb to + 16 kb
GENES = {
    "GENEA": ("chr1", 100_000),
    "AMPG": ("chr1", 200_000),
    "GENEC": ("chr1", 300_000),
    "DELG": ("chr2", 100_000),
    "GENEE": ("chr2", 200_000),
    "GENEF": ("chr2", 300_000),
}
#: tumour depth over the gene's 12 kb body, as a multiple of the normal's
TUMOUR_FOLD = {"AMPG": 4.5, "DELG": 0.0}
DEPTH = 30


def _genome(out: Path, rng: np.random.Generator) -> dict[str, str]:
    seqs = {}
    for chrom in sorted({c for c, _s in GENES.values()}):
        buf = bytearray(b"N" * CONTIG)
        for _gene, (c, s) in GENES.items():
            if c == chrom:
                buf[s : s + ISLAND] = bytes(rng.choice(list(b"ACGT"), ISLAND).astype(np.uint8))
        seqs[chrom] = buf.decode()
    fa = out / "genome.fa"
    fa.write_text(
        "".join(f">{c}\n" + "\n".join(s[k : k + 60] for k in range(0, CONTIG, 60)) + "\n" for c, s in seqs.items())
    )
    pysam.faidx(str(fa))
    lines = ["##gff-version 3"]
    for k, (gene, (chrom, s)) in enumerate(GENES.items()):
        g0, g1 = s + 4000, s + 16_000
        lines.append(f"{chrom}\tsim\tgene\t{g0 + 1}\t{g1}\t.\t+\t.\tID=gene:G{k};Name={gene};biotype=protein_coding")
        lines.append(
            f"{chrom}\tsim\tmRNA\t{g0 + 1}\t{g1}\t.\t+\t.\tID=transcript:T{k};Parent=gene:G{k};biotype=protein_coding"
        )
        for e0 in range(g0, g1, 2000):  # ten 300-bp exons
            lines.append(f"{chrom}\tsim\texon\t{e0 + 1}\t{e0 + 300}\t.\t+\t.\tParent=transcript:T{k}")
            lines.append(f"{chrom}\tsim\tCDS\t{e0 + 1}\t{e0 + 300}\t.\t+\t0\tParent=transcript:T{k}")
    (out / "genes.gff3").write_text("\n".join(lines) + "\n")
    (out / "targets.bed").write_text("".join(f"{c}\t{s}\t{s + ISLAND}\t{g}\n" for g, (c, s) in GENES.items()))
    return seqs


def _bam(path: Path, seqs: dict[str, str], rng: np.random.Generator, folds: dict[str, float]) -> Path:
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": CONTIG} for c in seqs],
              "RG": [{"ID": path.stem, "SM": path.stem}]}  # fmt: skip
    reads = []
    for gene, (chrom, s) in GENES.items():
        fold = folds.get(gene, 1.0)
        for a, b, depth in (
            (s, s + 4000, DEPTH),
            (s + 4000, s + 16_000, DEPTH * fold),
            (s + 16_000, s + ISLAND, DEPTH),
        ):
            n = int(depth * (b - a) / READ)
            reads += [(chrom, int(p)) for p in rng.integers(a, b - READ, n)]
    reads.sort(key=lambda r: (list(seqs).index(r[0]), r[1]))
    with pysam.AlignmentFile(str(path), "wb", header=header) as fh:
        for k, (chrom, pos) in enumerate(reads):
            r = pysam.AlignedSegment(fh.header)
            r.query_name, r.reference_id, r.reference_start = f"r{k}", fh.get_tid(chrom), pos
            r.query_sequence, r.cigarstring, r.mapping_quality = seqs[chrom][pos : pos + READ], f"{READ}M", 60
            r.query_qualities = pysam.qualitystring_to_array("I" * READ)
            r.set_tag("RG", path.stem)
            fh.write(r)
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cnv")
    rng = np.random.default_rng(15)
    seqs = _genome(out, rng)
    _bam(out / "T.bam", seqs, rng, TUMOUR_FOLD)
    for k in range(3):
        _bam(out / f"N{k}.bam", seqs, rng, {})
    return out


def _run(data: Path, out: Path, normals: list[str], matched: bool, **kw) -> dict:
    return copy_number(data / "T.bam", [data / n for n in normals], fasta=data / "genome.fa", gff3=data / "genes.gff3",
                       prefix=out / "T", targets=kw.pop("targets", data / "targets.bed"), matched=matched, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def matched(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("matched")
    _run(data, out, ["N0.bam"], True)
    return out


def test_planted_amplification_and_deletion_are_called(matched):
    calls = {g.gene: g for g in read_genes(matched / "T.genes.tsv")}
    assert set(calls) == set(GENES)
    assert calls["AMPG"].call == "amplification"
    assert calls["AMPG"].total_cn >= CopyNumberParams().amplification_min_cn
    assert calls["AMPG"].copy_number == pytest.approx(9, abs=1.5)  # 4.5 x 2 copies
    assert calls["DELG"].call == "deletion" and calls["DELG"].total_cn == 0
    for gene in set(GENES) - {"AMPG", "DELG"}:
        assert calls[gene].call == "neutral" and calls[gene].total_cn == 2, calls[gene]
    # the gene's span is its coding span in the GFF3, 1-based
    assert (calls["AMPG"].chrom, calls["AMPG"].start, calls["AMPG"].end) == ("chr1", 204_001, 214_300)


def test_the_json_says_what_was_assumed(matched):
    doc = json.loads((matched / "T.json").read_text())
    assert doc["reference"] == "matched normal"
    assert doc["purity_assumed"] is True and doc["purity"] == 1.0 and doc["ploidy"] == 2
    assert "purity assumed 1.0, not estimated" in doc["purity_ploidy_note"]
    assert doc["segmentation"] == "haar" and doc["cnvkit_version"] == "0.9.14"
    assert doc["thresholds"] == {"log2_cn": [-1.1, -0.25, 0.2, 0.7], "amplification_min_cn": 6, "deletion_max_cn": 0}
    assert doc["calls"] == {"amplification": ["AMPG"], "deletion": ["DELG"]}
    assert str(matched) not in (matched / "T.json").read_text()


def test_segments_hold_the_planted_events(matched):
    rows = [line.split("\t") for line in (matched / "T.segments.tsv").read_text().splitlines()]
    header, rows = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header[:6] == ["chrom", "start", "end", "log2", "copy_number", "total_cn"]
    amp = [r for r in rows if "AMPG" in r["genes"].split(",")]
    assert amp and max(float(r["log2"]) for r in amp) == pytest.approx(np.log2(4.5), abs=0.3)
    bins = (matched / "T.bins.tsv").read_text().splitlines()
    assert bins[0].split("\t") == ["chrom", "start", "end", "kind", "depth", "log2", "weight"]
    assert len(bins) > 400  # 6 x 20 kb in ~267-bp bins


def test_pooled_reference_and_identical_bytes(data, matched, tmp_path):
    pooled = [data / f"N{k}.bam" for k in range(3)]
    for run in ("a", "b"):
        doc = _run(data, tmp_path / run, [p.name for p in pooled], False)
    assert doc["reference"] == "pooled reference of 3 samples" and doc["reference_samples"] == 3
    calls = {g.gene: g.call for g in read_genes(tmp_path / "a" / "T.genes.tsv")}
    assert calls == {g: {"AMPG": "amplification", "DELG": "deletion"}.get(g, "neutral") for g in GENES}
    # the same reference built once for the run and given to each tumour
    about = build_reference(pooled, fasta=data / "genome.fa", out=tmp_path / "ref" / "pooled.cnn",
                            targets=data / "targets.bed")  # fmt: skip
    assert about == {"reference": "pooled reference of 3 samples", "reference_samples": 3, "protocol": "hybrid"}
    copy_number(data / "T.bam", reference=tmp_path / "ref" / "pooled.cnn", fasta=data / "genome.fa",
                gff3=data / "genes.gff3", prefix=tmp_path / "c" / "T")  # fmt: skip
    for ext in ("bins.tsv", "segments.tsv", "genes.tsv", "json"):
        a = (tmp_path / "a" / f"T.{ext}").read_bytes()
        assert a == (tmp_path / "b" / f"T.{ext}").read_bytes() == (tmp_path / "c" / f"T.{ext}").read_bytes(), ext
    assert not list((tmp_path / "a").glob(".tmp*"))  # nothing left behind


def test_without_targets_bins_cover_the_islands(data, tmp_path):
    doc = _run(data, tmp_path / "a", ["N0.bam"], True, targets=None)
    assert doc["protocol"] == "wgs"
    calls = {g.gene: g.call for g in read_genes(tmp_path / "a" / "T.genes.tsv")}
    assert calls["AMPG"] == "amplification" and calls["DELG"] == "deletion"
    # the accessible regions written once for a run give the same result as computing them each time
    assert write_access(data / "genome.fa", tmp_path / "access.bed") == len(GENES)
    assert (tmp_path / "access.bed").read_text().startswith("chr1\t100000\t120000\n")
    _run(data, tmp_path / "b", ["N0.bam"], True, targets=None, access=tmp_path / "access.bed")
    for ext in ("bins.tsv", "segments.tsv", "genes.tsv", "json"):
        assert (tmp_path / "a" / f"T.{ext}").read_bytes() == (tmp_path / "b" / f"T.{ext}").read_bytes(), ext


def test_a_configured_purity_rescales_the_copy_number(data, tmp_path):
    doc = _run(data, tmp_path, ["N0.bam"], True, sex="female", params=CopyNumberParams(purity=0.5))
    assert doc["purity"] == 0.5 and doc["purity_assumed"] is True and doc["sex"] == "female (sample sheet)"
    calls = {g.gene: g for g in read_genes(tmp_path / "T.genes.tsv")}
    # 4.5x the normal's depth at purity 0.5: (2 * 4.5 - 2 * 0.5) / 0.5 = 16 copies
    assert calls["AMPG"].copy_number == pytest.approx(16, abs=2) and calls["AMPG"].total_cn >= 14
    assert calls["AMPG"].log2 == pytest.approx(np.log2(4.5), abs=0.15)  # the observed ratio, not rescaled
    assert calls["DELG"].total_cn == 0 and calls["GENEA"].total_cn == 2


def test_gene_call_thresholds():
    p = CopyNumberParams(amplification_min_cn=8, deletion_max_cn=1)
    assert [gene_call(cn, p) for cn in (0, 1, 2, 7, 8)] == [
        "deletion",
        "deletion",
        "neutral",
        "neutral",
        "amplification",
    ]


def test_params_from_config_and_bad_values():
    section = {f: getattr(CopyNumberParams(), f) for f in CopyNumberParams.__dataclass_fields__}
    section["thresholds"] = [-1.1, -0.25, 0.2, 0.7]
    assert CopyNumberParams.from_config(section) == CopyNumberParams()
    with pytest.raises(KeyError):
        CopyNumberParams.from_config({})
    with pytest.raises(ValueError, match=r"segmentation must be one of \['haar', 'hmm', 'hmm-tumor'\], got 'cbs'"):
        CopyNumberParams(segmentation="cbs")
    with pytest.raises(ValueError, match="thresholds must be 4 increasing"):
        CopyNumberParams(thresholds=(0.7, 0.2, -0.25, -1.1))
    with pytest.raises(ValueError, match="purity"):
        CopyNumberParams(purity=0)
    with pytest.raises(ValueError, match=r"^amplification_min_cn \(3\) must be above the ploidy \(4\)$"):
        CopyNumberParams(amplification_min_cn=3, ploidy=4)
    with pytest.raises(ValueError, match=r"^deletion_max_cn \(1\) must be below the ploidy \(1\)$"):
        CopyNumberParams(deletion_max_cn=1, ploidy=1)


def test_bad_input_is_named(data, tmp_path):
    with pytest.raises(InputError, match="no normal BAM and no reference given.*matched normal.*pooled reference"):
        _run(data, tmp_path, [], False)
    assert reference_kind(["a.bam"], matched=False) == "pooled reference of 1 sample"
    bam = tmp_path / "noindex.bam"
    bam.write_bytes((data / "T.bam").read_bytes())
    with pytest.raises(InputError, match=r"noindex\.bam: has no index.*samtools index"):
        copy_number(bam, [data / "N0.bam"], fasta=data / "genome.fa", gff3=data / "genes.gff3", prefix=tmp_path / "x")
    with pytest.raises(InputError, match=r"none\.cnn: does not exist.*build_reference"):
        copy_number(data / "T.bam", reference=tmp_path / "none.cnn", fasta=data / "genome.fa",
                    gff3=data / "genes.gff3", prefix=tmp_path / "x")  # fmt: skip
    with pytest.raises(InputError, match=r"N9\.bam: does not exist"):
        _run(data, tmp_path, ["N9.bam"], True)
    # a BAM on contigs named 1, 2 against a reference and targets named chr1, chr2
    renamed = tmp_path / "renamed.bam"
    with pysam.AlignmentFile(str(data / "T.bam")) as src:
        header = src.header.to_dict()
        for sq in header["SQ"]:
            sq["SN"] = sq["SN"].removeprefix("chr")
        with pysam.AlignmentFile(str(renamed), "wb", header=header) as out:
            for rec in src:
                out.write(pysam.AlignedSegment.from_dict(rec.to_dict(), out.header))
    pysam.index(str(renamed))
    with pytest.raises(InputError, match=r"renamed\.bam: shares no contig name.*chr1 vs 1"):
        copy_number(renamed, [data / "N0.bam"], fasta=data / "genome.fa", gff3=data / "genes.gff3", prefix=tmp_path / "x",
                    targets=data / "targets.bed", matched=True)  # fmt: skip
    assert not list(tmp_path.glob("x.*"))


def test_a_tumour_too_thin_for_copy_number_is_not_assessed(data, tmp_path):
    """An empty tumour BAM gave every gene 'neutral' before (CNVkit centres the all-zero bins on their
    median): now the JSON says not assessed, with the depth, and the gene table holds no call."""
    with pysam.AlignmentFile(str(data / "T.bam")) as src:
        header = src.header.to_dict()
    empty = tmp_path / "E.bam"
    with pysam.AlignmentFile(str(empty), "wb", header=header):
        pass
    pysam.index(str(empty))
    doc = copy_number(empty, [data / "N0.bam"], fasta=data / "genome.fa", gff3=data / "genes.gff3",
                      prefix=tmp_path / "E", targets=data / "targets.bed", matched=True)  # fmt: skip
    assert (doc["status"], doc["median_depth"], doc["genes_assessed"]) == ("not assessed", 0.0, 0)
    assert doc["reason"].startswith(f"the tumour's median read depth over its {doc['bins']} bins is 0.0, below 5")
    assert json.loads((tmp_path / "E.json").read_text())["status"] == "not assessed"
    assert read_genes(tmp_path / "E.genes.tsv") == []
    assert MIN_MEDIAN_DEPTH == 5.0


def test_an_assessed_tumour_says_so_with_its_depth(matched):
    doc = json.loads((matched / "T.json").read_text())
    assert doc["status"] == "assessed" and doc["reason"] is None
    assert doc["median_depth"] == pytest.approx(DEPTH, rel=0.2)  # the planted 30x
