# Alignment: BWA-MEM (pybwa) or minimap2 on the reference's islands, lifted back onto the real
# contigs; then fixmate, sort, duplicate marking and index with pysam's samtools.


rule aligner_index:
    input:
        fasta=config["reference"]["fasta"],
    output:
        islands=f"results/index/{ALIGNER}/islands.fa",
        islands_map=f"results/index/{ALIGNER}/islands.tsv",
        seqdict=f"results/index/{ALIGNER}/islands.dict",
        bwa_index=(
            multiext(
                f"results/index/{ALIGNER}/islands.fa",
                ".amb",
                ".ann",
                ".bwt",
                ".pac",
                ".sa",
            )
            if ALIGNER == "bwa"
            else []
        ),
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
        min_gap=config["align"]["island_min_gap"],
    script:
        "../scripts/aligner_index.py"


rule align_reads:
    input:
        r1="results/reads/{sample}_R1.trimmed.fastq.gz",
        r2="results/reads/{sample}_R2.trimmed.fastq.gz",
        index=rules.aligner_index.output.islands,
        islands_map=rules.aligner_index.output.islands_map,
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
        platform=config["align"]["platform"],
    script:
        "../scripts/align_reads.py"


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
