"""What a job asks a cluster for: memory (``mem_mb``) and time (``runtime``, minutes) of the heavy
steps, sized from their input, so one set of rules submits the demo and a 30x genome alike.

The rules call :func:`job_resources` through one helper in ``rules/common.smk``; Snakemake
evaluates it per job, when the job is about to run (its input exists by then), and again on each
retry with the next ``attempt``. Everything here is a plain function of numbers, except
:func:`genome_bases` and :func:`data_bytes`, which look at file sizes and the FASTA's ``.fai``
(never the whole file).

How each step is sized, and why (``B``: the step's data in bytes as stored, gzip FASTQ, BAM or
VCF; ``G``: the bases the aligner indexes; ``t``: threads):

* **memory** is the tool's own need plus :data:`OVERHEAD_MB` for the Python process that drives it
  (pysam, numpy; the demo's largest step peaks at 0.5 GB), never below :data:`FLOOR_MB`:

  - ``aligner_index``: BWA builds small references (up to 50 Mb) with the IS algorithm, 5.37 bytes
    per base (BWA's manual), and larger ones with BWT-SW in blocks, about 1.7 bytes per base
    (GRCh38's 3.1 Gb in about 5 GB); minimap2's short-read index holds about 3.6 bytes per base.
  - ``align_reads``: the index in memory (BWA's ``.bwt``, ``.sa`` and ``.pac`` are about 1.75
    bytes per base: 5.4 GB for GRCh38; minimap2's 3.6) plus a batch of reads per thread
    (:data:`ALIGN_THREAD_MB`): about 6.5 GB for GRCh38 on 2 threads, as BWA-MEM needs.
  - ``fastq_split`` and ``samtools_cat`` (``align.split_fastq``) stream; each ``align_chunk`` job
    is an ``align_reads`` job sized by its own chunk.
  - ``samtools_markdup``: ``samtools sort`` keeps 768 MB per thread (its ``-m`` default) in
    memory before it spills to disk; markdup streams.
  - pileup callers (``bcftools_call``, ``somatic_call``), QC, fusions: they stream the BAM;
    their memory does not grow with it (mpileup caps depth per file). Fusion candidates (split
    and discordant reads) do grow, by :data:`FUSION_MB_PER_GB` per GB of BAM.
  - ``cnvkit``: one row per bin of the genome (1 kb bins over GRCh38: 3.1 M rows), about 1 MB per
    Mb of genome.
  - ``bcftools_csq``: the gene models in memory, about 4 bytes per byte of plain GFF3 (a gzip
    GFF3 counts 10 times its size).

* **runtime** is the data over a planning throughput (per thread where the tool uses threads),
  plus :data:`FIXED_MIN` minutes for start-up, never below :data:`FLOOR_MIN`. The throughputs
  (:data:`THROUGHPUT`, MB of input per second) are published rules of thumb on the slow side,
  not measured here (the demo's jobs take seconds): BWA-MEM aligns about 150 kbp per second
  per thread, at 0.8 bytes of gzip FASTQ per base 0.12 MB/s; cutadapt trims about 1 M reads of
  150 bp (90 bytes of gzip each) per minute per core, 1.5 MB/s; bcftools mpileup is
  single-threaded and takes a day or more over a 30x genome. A job that runs out of time is
  retried with twice as much.

* **retries** (``attempt`` 2, 3, ...; the SLURM profile retries once) ask ``attempt`` times the
  memory and time, as nf-core/sarek does: a job killed for memory or time gets twice as much.

The sizes of a 30x genome (2 x 40 GB of FASTQ, GRCh38) and of the demo are pinned by
``tests/unit/test_resources.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MB = 1_000_000  # input sizes: bytes per MB (as ``ls -lh --si``); memory is asked in SLURM's MB
#: memory of the Python process that drives each tool (pysam, numpy, the script)
OVERHEAD_MB = 500
#: no sized job asks for less memory (MB) or time (minutes)
FLOOR_MB = 1000
FLOOR_MIN = 20
#: start-up, index loading and the last steps (indexing the output), minutes
FIXED_MIN = 10
#: BWA: bases above which ``bwa index`` uses BWT-SW instead of IS (bwa's own switch)
BWA_IS_MAX_BASES = 50_000_000
#: bytes of memory per indexed base while building the index
INDEX_BUILD_BYTES_PER_BASE = {"bwa-is": 5.37, "bwa": 1.7, "minimap2": 3.6}
#: bytes of memory per indexed base while aligning (the index loaded)
INDEX_LOADED_BYTES_PER_BASE = {"bwa": 1.75, "minimap2": 3.6}
#: working memory per aligner thread (a batch of reads and its alignments), MB
ALIGN_THREAD_MB = 300
#: ``samtools sort -m``'s default, MB per thread
SORT_THREAD_MB = 768
#: steps that stream their data: the tools' own buffers, MB (QC: samtools stats' tables, 1 Mb of
#: depth counts at a time)
STREAMING_MB = {"trim": 500, "split": 500, "cat": 500, "call": 500, "somatic": 500, "qc": 1000}
#: fusion candidates kept per GB of BAM, MB
FUSION_MB_PER_GB = 25
#: CNVkit: MB per Mb of genome (one row per 1 kb bin)
CNV_MB_PER_MB = 1.0
#: bcftools csq: memory per byte of plain GFF3; gzip GFF3 expands about this much
CSQ_BYTES_PER_GFF3_BYTE = 4.0
GZIP_EXPANSION = 10
#: a gzip FASTA stores at least ~2 bits per base of A/C/G/T, while runs of N cost almost nothing:
#: it holds at most this many non-N bases per byte (a FASTA of highly repetitive sequence may
#: beat it: the retry then asks for twice the memory)
GZIP_FASTA_BASES_PER_BYTE = 4
#: planning throughput, MB of input per second (per thread for those in ``PER_THREAD``); the
#: index builders' in Mb of genome per second
THROUGHPUT = {
    "trim": 1.5,  # gzip FASTQ
    "split": 10.0,  # gzip FASTQ: records copied into chunks (about 270,000 pairs, 48 MB, a CPU second)
    "align": 0.12,  # gzip FASTQ
    "cat": 20.0,  # the chunks' BAMs, joined block by block (no recompression)
    "markdup": 3.0,  # unsorted BAM: fixmate, sort, markdup, index
    "call": 0.5,  # BAM(s): mpileup | call, norm, filter
    "somatic": 0.5,  # tumour (+ normal) BAM
    "cnv": 5.0,  # BAM(s): coverage per bin, then segmentation
    "fusions": 5.0,  # BAM: split and discordant reads, in Python
    "qc": 2.0,  # BAM: samtools stats, flagstat, idxstats, coverage over targets
    "csq": 2.0,  # VCF
    "index": 0.5,  # Mb of genome per second
}
PER_THREAD = frozenset({"trim", "split", "align", "markdup"})
#: the steps sized here and their kind (the rules name the step, several rules share a kind)
STEPS = {
    "cutadapt_trim": "trim",
    "aligner_index": "index",
    "fastq_split": "split",
    "align_reads": "align",  # and each align_chunk (align.split_fastq), sized by its chunk
    "samtools_cat": "cat",
    "samtools_markdup": "markdup",
    "bcftools_call": "call",
    "somatic_call": "somatic",
    "cnvkit_reference": "cnv",
    "cnvkit_copy_number": "cnv",
    "fusions_call": "fusions",
    "samtools_stats": "qc",
    "bcftools_csq": "csq",
}
#: the named inputs that are a step's data (FASTQ, BAM, VCF); the reference, its index, the
#: knowledge bases and the target BED are not
DATA_INPUTS = frozenset({"r1", "r2", "bam", "bams", "tumour_bam", "normal_bam", "vcf"})


@dataclass(frozen=True)
class Resources:
    mem_mb: int
    runtime: int  # minutes


def memory_mb(
    kind: str, *, data_bytes: int, genome: int, threads: int, aligner: str = "bwa", gene_model_bytes: int = 0
) -> int:
    """Memory (MB) of one attempt of a step of ``kind`` (see the module's notes)."""
    if kind == "index":
        key = "bwa-is" if aligner == "bwa" and genome <= BWA_IS_MAX_BASES else aligner
        tool = INDEX_BUILD_BYTES_PER_BASE[key] * genome / MB
    elif kind == "align":
        tool = INDEX_LOADED_BYTES_PER_BASE[aligner] * genome / MB + ALIGN_THREAD_MB * threads
    elif kind == "markdup":
        tool = SORT_THREAD_MB * threads
    elif kind == "fusions":
        tool = FUSION_MB_PER_GB * data_bytes / 1e9
    elif kind == "cnv":
        tool = CNV_MB_PER_MB * genome / MB
    elif kind == "csq":
        tool = CSQ_BYTES_PER_GFF3_BYTE * gene_model_bytes / MB
    elif kind in STREAMING_MB:
        tool = STREAMING_MB[kind]
    else:
        raise ValueError(f"kind must be one of {sorted(THROUGHPUT)}, got {kind!r}")
    return max(FLOOR_MB, math.ceil(tool + OVERHEAD_MB))


def runtime_min(kind: str, *, data_bytes: int, genome: int, threads: int) -> int:
    """Time limit (minutes) of one attempt of a step of ``kind``: its input over the planning
    throughput, plus :data:`FIXED_MIN`, at least :data:`FLOOR_MIN`."""
    if kind not in THROUGHPUT:
        raise ValueError(f"kind must be one of {sorted(THROUGHPUT)}, got {kind!r}")
    rate = THROUGHPUT[kind] * (max(1, threads) if kind in PER_THREAD else 1)
    amount = genome if kind == "index" else data_bytes
    return max(FLOOR_MIN, math.ceil(amount / MB / rate / 60 + FIXED_MIN))


def job_resources(
    step: str,
    *,
    data_bytes: int,
    genome: int,
    threads: int,
    attempt: int = 1,
    aligner: str = "bwa",
    gene_model_bytes: int = 0,
) -> Resources:
    """``mem_mb`` and ``runtime`` of one job of ``step`` (a key of :data:`STEPS`), ``attempt``
    times those of a first attempt."""
    if step not in STEPS:
        raise ValueError(f"step must be one of {sorted(STEPS)}, got {step!r}")
    if aligner not in INDEX_LOADED_BYTES_PER_BASE:
        raise ValueError(f"aligner must be one of {sorted(INDEX_LOADED_BYTES_PER_BASE)}, got {aligner!r}")
    kind, attempt = STEPS[step], max(1, attempt)
    mem = memory_mb(kind, data_bytes=data_bytes, genome=genome, threads=threads, aligner=aligner,
                    gene_model_bytes=gene_model_bytes)  # fmt: skip
    time = runtime_min(kind, data_bytes=data_bytes, genome=genome, threads=threads)
    return Resources(mem * attempt, time * attempt)


def _size(path: str | Path) -> int:
    """A file's size in bytes; 0 for a file not there (yet)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def data_bytes(inputs: Iterable[tuple[str, object]]) -> int:
    """Bytes of a job's data: its inputs named in :data:`DATA_INPUTS` (``(name, path or list of
    paths)`` pairs, as Snakemake's ``input.items()`` gives them); a file not there counts 0."""
    total = 0
    for name, value in inputs:
        if name in DATA_INPUTS:
            paths = [value] if isinstance(value, str | Path) else list(value)
            total += sum(_size(p) for p in paths)
    return total


def genome_bases(fasta: str | Path, fai: str | Path | None = None) -> int:
    """Bases an aligner will index, from the FASTA's ``.fai`` (contig lengths) and its size on disk;
    the sequence itself is never read.

    The ``.fai`` total counts N too. A gzip FASTA (``.gz``) holds at most
    :data:`GZIP_FASTA_BASES_PER_BYTE` non-N bases per byte, so a mostly-N reference (the demo:
    1.17 Gb of contigs, 4.5 MB of gzip) counts that instead; a plain FASTA's size bounds it too.
    Without a ``.fai``, the bound from the size alone; 0 when the FASTA is not there yet.
    """
    fasta = Path(fasta)
    size = _size(fasta)
    bound = size * (GZIP_FASTA_BASES_PER_BYTE if fasta.name.endswith(".gz") else 1)
    fai = Path(fai) if fai else Path(f"{fasta}.fai")
    try:
        st = fai.stat()
    except OSError:
        return bound
    total = _fai_total(str(fai), st.st_mtime_ns, st.st_size)
    return min(total, bound) if bound else total


@lru_cache(maxsize=16)
def _fai_total(path: str, mtime_ns: int, size: int) -> int:
    """Sum of a ``.fai``'s contig lengths; cached per file version (every job of a run asks, and
    GRCh38 with its alternate contigs has 3,366 lines)."""
    total = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            fields = line.split("\t")
            if len(fields) >= 2 and fields[1].isdigit():
                total += int(fields[1])
    return total


def step_resources(
    step: str,
    inputs: Mapping[str, object] | Iterable[tuple[str, object]],
    *,
    fasta: str | Path,
    threads: int,
    attempt: int,
    aligner: str = "bwa",
    gene_models: str | Path | None = None,
) -> Resources:
    """:func:`job_resources` of a job from its named inputs, the run's reference FASTA and gene
    models (GFF3): what the rules' helper calls."""
    items = inputs.items() if isinstance(inputs, Mapping) else inputs
    models = _size(gene_models) if gene_models else 0
    if gene_models and str(gene_models).endswith(".gz"):
        models *= GZIP_EXPANSION
    return job_resources(step, data_bytes=data_bytes(items), genome=genome_bases(fasta), threads=threads,
                         attempt=attempt, aligner=aligner, gene_model_bytes=models)  # fmt: skip
