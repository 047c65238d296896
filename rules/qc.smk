# Quality control: samtools stats/flagstat/idxstats, coverage over the targets, bcftools
# stats, a per-sample verdict, and one MultiQC report over all of it.


rule qc_targets:
    input:
        fasta=[] if config["targets"] else config["reference"]["fasta"],
        targets=config["targets"] or [],
    output:
        bed="results/qc/targets.bed",
    log:
        "logs/qc_targets/targets.log",
    benchmark:
        "logs/benchmarks/qc_targets/targets.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        min_gap=config["align"]["island_min_gap"],
    script:
        "../scripts/qc_targets.py"


rule samtools_stats:
    input:
        unpack(get_bam),
        fasta=config["reference"]["fasta"],
        targets="results/qc/targets.bed",
        reads=get_reads_report,
    output:
        stats="results/qc/samtools/{sample}.stats.txt",
        flagstat="results/qc/samtools/{sample}.flagstat.txt",
        idxstats="results/qc/samtools/{sample}.idxstats.txt",
        coverage="results/qc/coverage/{sample}.tsv",
        summary="results/qc/summary/{sample}.json",
        versions="results/versions/samtools_stats/{sample}.json",
    log:
        "logs/samtools_stats/{sample}.log",
    benchmark:
        "logs/benchmarks/samtools_stats/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(ALIGNED_SAMPLES),
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=sized("samtools_stats", "mem_mb"),
        runtime=sized("samtools_stats", "runtime"),
    params:
        thresholds=config["qc"],
        targets=bool(config["targets"]),
        min_mapq=config["calling"]["min_mapq"],
        min_baseq=config["calling"]["min_baseq"],
        build=config["reference"]["build"],
    script:
        "../scripts/samtools_stats.py"


rule bcftools_stats:
    input:
        vcf="results/calls/{sample}.vcf.gz",
        fasta=config["reference"]["fasta"],
    output:
        stats="results/qc/bcftools/{sample}.bcftools_stats.txt",
        versions="results/versions/bcftools_stats/{sample}.json",
    log:
        "logs/bcftools_stats/{sample}.log",
    benchmark:
        "logs/benchmarks/bcftools_stats/{sample}.tsv"
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    script:
        "../scripts/bcftools_stats.py"


rule multiqc_report:
    input:
        stats=expand("results/qc/samtools/{sample}.stats.txt", sample=ALIGNED_SAMPLES),
        flagstat=expand(
            "results/qc/samtools/{sample}.flagstat.txt", sample=ALIGNED_SAMPLES
        ),
        idxstats=expand(
            "results/qc/samtools/{sample}.idxstats.txt", sample=ALIGNED_SAMPLES
        ),
        cutadapt=expand(
            "results/qc/cutadapt/{sample}.cutadapt.json", sample=READ_SAMPLES
        ),
        bcftools=expand(
            "results/qc/bcftools/{sample}.bcftools_stats.txt", sample=sorted(SAMPLES)
        ),
        summaries=expand("results/qc/summary/{sample}.json", sample=ALIGNED_SAMPLES),
        pgx=expand("results/pgx/{sample}.json", sample=sorted(SAMPLES)),
        actionability=expand(
            "results/actionability/{sample}.json", sample=TUMOUR_SAMPLES
        ),
        pgx_kb=PGX_KB_FILES,
        config=BASEDIR / "resources" / "report" / "multiqc_config.yaml",
    output:
        html=report(
            "results/qc/multiqc/multiqc_report.html",
            caption="../resources/report/multiqc.rst",
            category="Quality control",
        ),
        general="results/qc/multiqc/multiqc_report_data/multiqc_general_stats.txt",
        table="results/qc/multiqc/seq2rx_qc_mqc.tsv",
        findings="results/qc/multiqc/seq2rx_findings_mqc.tsv",
        versions="results/versions/multiqc_report/multiqc.json",
    log:
        "logs/multiqc_report/multiqc.log",
    benchmark:
        "logs/benchmarks/multiqc_report/multiqc.tsv"
    conda:
        "../envs/qc.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/multiqc_report.py"
