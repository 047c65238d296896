"""Alignment on the reference's islands: real coordinates, pair flags, duplicates, thread-independence."""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest
from conftest import htslib_warnings

from seq2rx.core.errors import InputError
from seq2rx.reads.align import align_unsorted, build_index, proper_pair_bounds, sort_markdup
from seq2rx.reads.fastq import read_pairs


@pytest.fixture(scope="module")
def bwa_index(small_demo, tmp_path_factory) -> Path:
    return build_index(small_demo / "genome.fa.gz", tmp_path_factory.mktemp("index"), "bwa")


@pytest.fixture(scope="module")
def p1_bam(small_demo, bwa_index, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("p1")
    align_unsorted(
        small_demo / "reads/P1_R1.fastq.gz",
        small_demo / "reads/P1_R2.fastq.gz",
        bwa_index,
        out / "u.bam",
        "P1",
        threads=2,
    )
    sort_markdup(out / "u.bam", out / "P1.bam", out / "md.txt", threads=2)
    return out / "P1.bam"


def records(bam: Path) -> list[str]:
    with pysam.AlignmentFile(str(bam)) as fh:
        return [r.to_string() for r in fh]


def test_islands_are_small_and_mapped_back(bwa_index):
    from seq2rx.reads.index import bwa_contigs

    total = sum(bwa_contigs(bwa_index).values())
    assert total < 1_000_000  # the index covers the islands, not the 1 Gb of N padding
    assert (bwa_index.parent / "ref.lift.tsv").read_text().count("island\t") > 50


def test_reads_land_on_real_coordinates(p1_bam, small_demo):
    with pysam.AlignmentFile(str(p1_bam)) as bam, pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        assert bam.header.get("RG")[0]["SM"] == "P1"
        checked = 0
        for rec in bam.fetch("chr10", 94781700, 94782000):  # around CYP2C19 rs4244285
            if rec.is_unmapped or rec.get_tag("NM") != 0 or "S" in rec.cigarstring:
                continue
            ref = fa.fetch("chr10", rec.reference_start, rec.reference_end)
            assert rec.query_alignment_sequence == ref
            checked += 1
        assert checked > 3


def test_pair_flags_are_set(p1_bam):
    with pysam.AlignmentFile(str(p1_bam)) as bam:
        recs = [r for r in bam if not r.is_secondary and not r.is_supplementary]
    read1 = sum(r.is_read1 for r in recs)
    assert read1 == sum(r.is_read2 for r in recs) == len(recs) // 2
    assert sum(r.is_proper_pair for r in recs) / len(recs) > 0.97


def test_planted_duplicates_are_marked(p1_bam, small_demo):
    pairs = [line.split("\t") for line in (small_demo / "truth/P1.duplicates.tsv").read_text().splitlines()[1:]]
    with pysam.AlignmentFile(str(p1_bam)) as bam:
        flagged = {r.query_name for r in bam if r.is_duplicate}
    marked = sum(a in flagged or b in flagged for a, b in pairs)
    assert marked / len(pairs) > 0.97


def test_output_does_not_depend_on_threads(small_demo, bwa_index, tmp_path):
    r1, r2 = small_demo / "reads/P8-T_R1.fastq.gz", small_demo / "reads/P8-T_R2.fastq.gz"
    for t in (1, 2):
        align_unsorted(r1, r2, bwa_index, tmp_path / f"u{t}.bam", "P8-T", threads=t, batch_bases=1_000_000)
        sort_markdup(tmp_path / f"u{t}.bam", tmp_path / f"s{t}.bam", tmp_path / f"m{t}.txt", threads=t)
    assert records(tmp_path / "s1.bam") == records(tmp_path / "s2.bam")


def test_minimap2_agrees_with_bwa(small_demo, tmp_path):
    index = build_index(small_demo / "genome.fa.gz", tmp_path / "mm2", "minimap2")
    r1, r2 = small_demo / "reads/P1_R1.fastq.gz", small_demo / "reads/P1_R2.fastq.gz"
    align_unsorted(r1, r2, index, tmp_path / "mm.bam", "P1", aligner="minimap2", threads=2)
    bwa_idx = build_index(small_demo / "genome.fa.gz", tmp_path / "bwa", "bwa")
    align_unsorted(r1, r2, bwa_idx, tmp_path / "bwa.bam", "P1", aligner="bwa", threads=2)

    def positions(bam):
        with pysam.AlignmentFile(str(bam), check_sq=False) as fh:
            return {
                (r.query_name, r.is_read1): (r.reference_name, r.reference_start)
                for r in fh
                if not r.is_secondary and not r.is_supplementary and not r.is_unmapped
            }

    a, b = positions(tmp_path / "mm.bam"), positions(tmp_path / "bwa.bam")
    same = sum(a[k] == b.get(k) for k in a)
    assert same / len(a) > 0.98


def test_proper_pair_bounds_follow_bwa():
    # quartiles 300 and 380 (IQR 80) give BWA-MEM's (60, 620)
    tlens = [300] * 26 + [340] * 48 + [380] * 26
    assert proper_pair_bounds(tlens) == (60, 620)
    assert proper_pair_bounds([300]) == (1, 10_000)  # too few pairs to estimate


def _fq(path: Path, names: list[str], gz: bool = True) -> Path:
    text = "".join(f"@{n}\nACGT\n+\nIIII\n" for n in names)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_read_pairs_reports_mismatched_names(tmp_path):
    r1 = _fq(tmp_path / "a_R1.fq.gz", ["r1", "r2"])
    r2 = _fq(tmp_path / "a_R2.fq.gz", ["r1", "rX"])
    with pytest.raises(InputError, match=r"a_R2.fq.gz, line 5: read 'rX' does not match its mate 'r2'"):
        list(read_pairs(r1, r2))


def test_read_pairs_reports_different_counts(tmp_path):
    r1 = _fq(tmp_path / "a_R1.fq.gz", ["r1", "r2"])
    r2 = _fq(tmp_path / "a_R2.fq.gz", ["r1"])
    with pytest.raises(
        InputError, match=r"a_R2.fq.gz, line 5: ends after 1 reads while its mate file .*a_R1.fq.gz has more"
    ):
        list(read_pairs(r1, r2))


def test_read_pairs_reports_truncated_gzip(tmp_path):
    r1 = _fq(tmp_path / "a_R1.fq.gz", [f"r{k}" for k in range(2000)])
    data = r1.read_bytes()
    r1.write_bytes(data[: len(data) // 2])
    r2 = _fq(tmp_path / "a_R2.fq.gz", [f"r{k}" for k in range(2000)])
    with pytest.raises(InputError, match=r"a_R1.fq.gz, line \d+: the gzip stream is truncated or corrupt"):
        list(read_pairs(r1, r2))


def test_read_pairs_reports_malformed_record(tmp_path):
    r1 = tmp_path / "m_R1.fq"
    r1.write_text("@r1\nACGT\n+\nIII\n")
    r2 = _fq(tmp_path / "m_R2.fq", ["r1"], gz=False)
    with pytest.raises(InputError, match=r"m_R1.fq, line 2: sequence has 4 bases but quality has 3"):
        list(read_pairs(r1, r2))


def test_joint_calling_and_subsetting(small_demo, bwa_index, p1_bam, tmp_path):
    from seq2rx.variants.germline import CallParams, call_variants, subset_sample

    r1, r2 = small_demo / "reads/P8-T_R1.fastq.gz", small_demo / "reads/P8-T_R2.fastq.gz"
    align_unsorted(r1, r2, bwa_index, tmp_path / "u.bam", "P8-T", threads=2)
    sort_markdup(tmp_path / "u.bam", tmp_path / "P8-T.bam", tmp_path / "md.txt", threads=2)
    joint = tmp_path / "joint.vcf.gz"
    call_variants(
        [p1_bam, tmp_path / "P8-T.bam"], small_demo / "genome.fa.gz", joint, CallParams(min_depth=4), threads=2
    )
    with pysam.VariantFile(str(joint)) as fh:
        assert list(fh.header.samples) == ["P1", "P8-T"]
    subset_sample(joint, "P1", tmp_path / "P1.vcf.gz")
    with pysam.VariantFile(str(tmp_path / "P1.vcf.gz")) as fh:
        assert list(fh.header.samples) == ["P1"]
        gts = {(r.chrom, r.pos): r.samples["P1"]["GT"] for r in fh}
    # every record kept for P1 carries an alternate allele in P1; CYP2C19*2 is homozygous
    assert all(any(a for a in gt if a) for gt in gts.values())
    assert gts[("chr10", 94781859)] == (1, 1)


def test_soft_filters_and_sample_names(small_demo, p1_bam, tmp_path):
    from seq2rx.variants.germline import CallParams, call_variants

    fasta = small_demo / "genome.fa.gz"
    call_variants([p1_bam], fasta, tmp_path / "a.vcf.gz", CallParams(), samples=["PATIENT-1"])
    assert htslib_warnings(tmp_path / "a.vcf.gz") == []  # INFO/MQ declared a Float, as htslib checks
    with pysam.VariantFile(str(tmp_path / "a.vcf.gz")) as fh:
        assert fh.header.info["MQ"].type == "Float"
        assert list(fh.header.samples) == ["PATIENT-1"]  # the sheet's name, not the read group's
        kept = [set(r.filter.keys()) for r in fh]
    assert len(kept) > 100 and sum(f == {"PASS"} for f in kept) / len(kept) > 0.9
    call_variants([p1_bam], fasta, tmp_path / "b.vcf.gz", CallParams(min_qual=1e6, min_depth=1000))
    with pysam.VariantFile(str(tmp_path / "b.vcf.gz")) as fh:
        assert all(set(r.filter.keys()) == {"LowQual", "LowDepth"} for r in fh)
