# Alignment: BWA-MEM (pybwa) or minimap2 against an existing index used as it is, or an index the
# workflow builds (of the islands of a mostly-N reference, lifted back onto the real contigs, or of
# the whole reference); then fixmate, sort, duplicate marking and index with pysam's samtools.


from seq2rx.reads.index import index_path, plan_index  # noqa: E402

try:
    # an existing index (align.index, or beside the FASTA) is used as it is, after its contigs are
    # checked against the FASTA's; else the workflow builds one in results/index
    INDEX = plan_index(
        config["reference"]["fasta"],
        ALIGNER,
        config["align"]["index"],
        outdir="results/index",
        fasta_ready=lambda p: not _will_exist(p) and Path(f"{p}.fai").is_file(),
    )
except InputError as exc:
    sys.exit(f"seq2rx: configuration error: {exc}")


if not INDEX.existing:

    rule aligner_index:
        input:
            fasta=config["reference"]["fasta"],
        output:
            index=INDEX.files,
            seqdict=INDEX.seqdict,
            lift_map=INDEX.lift_map,
            versions=f"results/versions/aligner_index/{ALIGNER}.json",
        log:
            f"logs/aligner_index/{ALIGNER}.log",
        benchmark:
            f"logs/benchmarks/aligner_index/{ALIGNER}.tsv"
        conda:
            "../envs/align.yaml"
        threads: 1
        resources:
            mem_mb=sized("aligner_index", "mem_mb"),
            runtime=sized("aligner_index", "runtime"),
        params:
            aligner=ALIGNER,
            outdir=lambda w, output: str(Path(output.lift_map).parent),
            min_gap=config["align"]["island_min_gap"],
        script:
            "../scripts/aligner_index.py"


rule align_reads:
    input:
        unpack(get_align_reads),
        index=INDEX.files,
        lift_map=INDEX.lift_map or [],
    output:
        bam=temp("results/align/{sample}.unsorted.bam"),
        versions="results/versions/align_reads/{sample}.json",
    log:
        "logs/align_reads/{sample}.log",
    benchmark:
        "logs/benchmarks/align_reads/{sample}.tsv"
    conda:
        "../envs/align.yaml"
    threads: 2
    resources:
        mem_mb=sized("align_reads", "mem_mb"),
        runtime=sized("align_reads", "runtime"),
    params:
        aligner=ALIGNER,
        index=lambda w, input: index_path(input.index, ALIGNER),
        fasta=config["reference"]["fasta"],
        platform=config["align"]["platform"],
    script:
        "../scripts/align_reads.py"


# align.split_fastq: a sample's trimmed pairs are split into chunks of whole BWA batches (a
# checkpoint: how many depends on the reads), each chunk aligns as its own align_chunk job, and
# samtools_cat joins the chunks' BAMs in chunk order. The records are those of one align_reads job,
# and samtools_cat writes that job's outputs (the unsorted BAM and the step's version record), so
# every later job reads the same files either way.
if config["align"]["split_fastq"]:

    ruleorder: samtools_cat > align_reads

    checkpoint fastq_split:
        input:
            r1="results/reads/{sample}_R1.trimmed.fastq.gz",
            r2="results/reads/{sample}_R2.trimmed.fastq.gz",
        output:
            chunks=temp(directory("results/reads/chunks/{sample}")),
        log:
            "logs/fastq_split/{sample}.log",
        benchmark:
            "logs/benchmarks/fastq_split/{sample}.tsv"
        # cutadapt's environment: its isal gzip reads and writes in threads
        conda:
            "../envs/reads.yaml"
        threads: 2
        resources:
            mem_mb=sized("fastq_split", "mem_mb"),
            runtime=sized("fastq_split", "runtime"),
        params:
            pairs_per_chunk=config["align"]["split_fastq"],
        script:
            "../scripts/fastq_split.py"

    use rule align_reads as align_chunk with:
        output:
            bam=temp("results/align/chunks/{sample}/{chunk}.unsorted.bam"),
            versions=temp("results/align/chunks/{sample}/{chunk}.versions.json"),
        log:
            "logs/align_chunk/{sample}/{chunk}.log",
        benchmark:
            "logs/benchmarks/align_chunk/{sample}/{chunk}.tsv"

    rule samtools_cat:
        input:
            # the folder of chunks too, so that it (a temp() output) stays until all are aligned
            unpack(get_aligned_chunks),
        output:
            bam=temp("results/align/{sample}.unsorted.bam"),
            # the alignment step's record, whichever way it ran
            versions="results/versions/align_reads/{sample}.json",
        log:
            "logs/samtools_cat/{sample}.log",
        benchmark:
            "logs/benchmarks/samtools_cat/{sample}.tsv"
        conda:
            "../envs/align.yaml"
        threads: 1
        resources:
            mem_mb=sized("samtools_cat", "mem_mb"),
            runtime=sized("samtools_cat", "runtime"),
        script:
            "../scripts/samtools_cat.py"


rule samtools_markdup:
    input:
        bam="results/align/{sample}.unsorted.bam",
    output:
        bam="results/align/{sample}.bam",
        bai="results/align/{sample}.bam.bai",
        stats="results/qc/markdup/{sample}.markdup.txt",
        versions="results/versions/samtools_markdup/{sample}.json",
    log:
        "logs/samtools_markdup/{sample}.log",
    benchmark:
        "logs/benchmarks/samtools_markdup/{sample}.tsv"
    conda:
        "../envs/align.yaml"
    threads: 2
    resources:
        mem_mb=sized("samtools_markdup", "mem_mb"),
        runtime=sized("samtools_markdup", "runtime"),
    script:
        "../scripts/samtools_markdup.py"
