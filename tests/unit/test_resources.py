"""Jobs sized by their input (seq2rx.ops.resources): a 30x genome asks for what it needs, the demo for
little, a retry for more; the genome size comes from the .fai and file sizes, never the sequence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seq2rx.ops.resources import (
    FLOOR_MB,
    FLOOR_MIN,
    STEPS,
    data_bytes,
    genome_bases,
    job_resources,
    step_resources,
)

GB = 10**9
GRCH38 = 3_099_734_149  # bases in GRCh38's primary assembly (N included), as its .fai adds up


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk (only its size is looked at)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def fai(path: Path, total: int, contigs: int = 4) -> None:
    each = total // contigs
    lengths = [each] * (contigs - 1) + [total - each * (contigs - 1)]
    path.write_text("".join(f"chr{i + 1}\t{n}\t{i * 100}\t60\t61\n" for i, n in enumerate(lengths)))


@pytest.fixture
def grch38(tmp_path) -> Path:
    fasta = sparse(tmp_path / "GRCh38.fa.gz", 900_000_000)  # gzip: ~0.29 bytes per base
    fai(Path(f"{fasta}.fai"), GRCH38)
    return fasta


def test_genome_size_from_the_fai(grch38, tmp_path):
    assert genome_bases(grch38) == GRCH38  # 4 x 0.9 GB bounds nothing here
    plain = sparse(tmp_path / "plain.fa", 3_150_000_000)  # with its newlines
    fai(Path(f"{plain}.fai"), GRCH38)
    assert genome_bases(plain) == GRCH38
    # the demo: 1.17 Gb of real-length contigs, mostly N, in 4.47 MB of gzip -> at most 4 bases a byte
    demo = sparse(tmp_path / "demo.fa.gz", 4_473_796)
    fai(Path(f"{demo}.fai"), 1_169_693_754)
    assert genome_bases(demo) == 4 * 4_473_796
    # no .fai: the bound from the size alone; not there yet (the demo before it is simulated): 0
    assert genome_bases(sparse(tmp_path / "nofai.fa", 1000)) == 1000
    assert genome_bases(tmp_path / "missing.fa.gz") == 0


def test_data_bytes_count_only_the_data(tmp_path):
    r1, r2 = sparse(tmp_path / "r1.fq.gz", 40 * GB), sparse(tmp_path / "r2.fq.gz", 40 * GB)
    ref = sparse(tmp_path / "ref.fa", 3 * GB)
    items = [("r1", str(r1)), ("r2", str(r2)), ("index", str(ref)), ("fasta", str(ref))]
    assert data_bytes(items) == 80 * GB  # the reference and its index are not the step's data
    bams = [str(sparse(tmp_path / f"n{i}.bam", 10 * GB)) for i in range(3)]
    assert data_bytes([("bams", bams), ("bais", [str(ref)])]) == 30 * GB
    assert data_bytes([("bam", str(tmp_path / "not_yet.bam"))]) == 0


# a 30x genome: 2 x 40 GB of gzip FASTQ, a 60 GB BAM (70 GB before duplicate marking), GRCh38
def thirty_x(step, threads=2, data=0, **kw):
    return job_resources(step, data_bytes=data, genome=GRCH38, threads=threads, **kw)


def test_a_30x_genome_asks_for_what_it_needs():
    # BWA-MEM: GRCh38's index (5.4 GB) and a batch per thread: 6-8 GB; 80 GB on 2 threads takes days
    align = thirty_x("align_reads", data=80 * GB)
    assert 6000 <= align.mem_mb <= 8000 and 2 * 1440 <= align.runtime <= 5 * 1440
    wide = thirty_x("align_reads", threads=16, data=80 * GB)
    assert 8 * 60 <= wide.runtime <= 16 * 60 and wide.mem_mb > align.mem_mb  # more threads: faster, more batches
    # bwa index: about 5 GB and one to three hours for GRCh38; minimap2's index is about twice as large
    index = thirty_x("aligner_index", threads=1)
    assert 5000 <= index.mem_mb <= 7000 and 60 <= index.runtime <= 180
    assert 11000 <= thirty_x("aligner_index", threads=1, aligner="minimap2").mem_mb <= 13000
    # trimming streams: little memory; hours of time
    trim = thirty_x("cutadapt_trim", data=80 * GB)
    assert trim.mem_mb <= 2000 and 4 * 60 <= trim.runtime <= 12 * 60
    # sort keeps 768 MB per thread
    markdup = thirty_x("samtools_markdup", data=70 * GB)
    assert 2000 <= markdup.mem_mb <= 3000 and 2 * 60 <= markdup.runtime <= 6 * 60
    # mpileup is single-threaded: a day or more over a whole 30x genome (scatter it), little memory
    call = thirty_x("bcftools_call", data=60 * GB)
    assert call.mem_mb <= 2000 and 24 * 60 <= call.runtime <= 3 * 1440
    assert 24 * 60 <= thirty_x("somatic_call", threads=1, data=120 * GB).runtime <= 5 * 1440
    # CNVkit holds a row per 1 kb bin of the genome: a few GB; QC hours
    assert 3000 <= thirty_x("cnvkit_copy_number", threads=1, data=60 * GB).mem_mb <= 5000
    assert 4 * 60 <= thirty_x("samtools_stats", threads=1, data=60 * GB).runtime <= 12 * 60


def test_a_30x_genome_in_chunks():
    # align.split_fastq at sarek's 50 M pairs: a chunk is about 10 GB of the 80; each align_chunk job
    # is an align_reads job sized by its chunk: hours, not days; the split and the join take about an hour
    chunk = thirty_x("align_reads", data=10 * GB)
    assert 8 * 60 <= chunk.runtime <= 16 * 60 and chunk.mem_mb == thirty_x("align_reads", data=80 * GB).mem_mb
    assert thirty_x("fastq_split", data=80 * GB).runtime <= 3 * 60
    assert thirty_x("samtools_cat", threads=1, data=70 * GB).runtime <= 3 * 60


def test_the_demo_asks_for_little(tmp_path):
    fasta = sparse(tmp_path / "genome.fa.gz", 4_473_796)
    fai(Path(f"{fasta}.fai"), 1_169_693_754)
    reads = [("r1", str(sparse(tmp_path / "r1.fq.gz", 4_064_192))),
             ("r2", str(sparse(tmp_path / "r2.fq.gz", 4_063_801)))]  # fmt: skip
    bam = [("bam", str(sparse(tmp_path / "P1.bam", 6_411_164)))]
    gff3 = sparse(tmp_path / "genes.gff3", 34_239)
    asked = {
        step: step_resources(
            step,
            reads if step in ("cutadapt_trim", "fastq_split", "align_reads") else bam,
            fasta=fasta,
            threads=2,
            attempt=1,
            gene_models=gff3,
        )  # fmt: skip
        for step in STEPS
    }
    assert all(r.runtime == FLOOR_MIN for r in asked.values()), asked  # seconds of work: the floor
    assert all(FLOOR_MB <= r.mem_mb <= 2100 for r in asked.values()), asked
    assert asked["align_reads"].mem_mb == 1132  # 1.75 x 17.9 Mb of index + 2 x 300 MB + 500 MB
    assert asked["samtools_markdup"].mem_mb == 2036  # 2 x 768 MB of sort buffers + 500 MB


def test_a_retry_asks_for_more():
    first = job_resources("align_reads", data_bytes=80 * GB, genome=GRCH38, threads=2)
    second = job_resources("align_reads", data_bytes=80 * GB, genome=GRCH38, threads=2, attempt=2)
    assert (second.mem_mb, second.runtime) == (2 * first.mem_mb, 2 * first.runtime)
    floor = job_resources("bcftools_call", data_bytes=0, genome=0, threads=1, attempt=3)
    assert (floor.mem_mb, floor.runtime) == (3 * FLOOR_MB, 3 * FLOOR_MIN)


def test_gene_models_size_the_consequences(tmp_path):
    fasta = sparse(tmp_path / "g.fa", 1000)
    plain = sparse(tmp_path / "genes.gff3", 500_000_000)  # Ensembl's GRCh38 GFF3, uncompressed
    gz = sparse(tmp_path / "genes.gff3.gz", 50_000_000)
    big = step_resources("bcftools_csq", {}, fasta=fasta, threads=1, attempt=1, gene_models=plain)
    assert big.mem_mb == 4 * 500 + 500
    assert step_resources("bcftools_csq", {}, fasta=fasta, threads=1, attempt=1, gene_models=gz) == big


def test_unknown_steps_and_aligners_are_refused():
    with pytest.raises(ValueError, match="step must be one of"):
        job_resources("bwa_mem", data_bytes=0, genome=0, threads=1)
    with pytest.raises(ValueError, match="aligner must be one of"):
        job_resources("align_reads", data_bytes=0, genome=0, threads=1, aligner="bowtie2")


def test_the_rules_size_the_heavy_steps_through_one_helper(repo):
    text = "".join(p.read_text() for p in sorted((repo / "rules").glob("*.smk")))
    called = re.findall(r'(mem_mb|runtime)=sized\("(\w+)", "(\w+)"\)', text)
    assert called and all(key == what for key, _, what in called)  # mem_mb=sized(..., "mem_mb")
    assert {step for _, step, _ in called} == set(STEPS)  # every sized step is wired, no unknown one
    assert "def sized(" in (repo / "rules" / "common.smk").read_text()
