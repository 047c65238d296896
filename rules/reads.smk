# Read preparation: adapter and quality trimming with cutadapt.


rule cutadapt_trim:
    input:
        unpack(get_reads),
    output:
        r1=temp("results/reads/{sample}_R1.trimmed.fastq.gz"),
        r2=temp("results/reads/{sample}_R2.trimmed.fastq.gz"),
        json="results/qc/cutadapt/{sample}.cutadapt.json",
        txt="results/qc/cutadapt/{sample}.cutadapt.txt",
        reads="results/qc/reads/{sample}.json",
        versions="results/versions/cutadapt_trim/{sample}.json",
    log:
        "logs/cutadapt_trim/{sample}.log",
    benchmark:
        "logs/benchmarks/cutadapt_trim/{sample}.tsv"
    conda:
        "../envs/reads.yaml"
    threads: 2
    resources:
        mem_mb=sized("cutadapt_trim", "mem_mb"),
        runtime=sized("cutadapt_trim", "runtime"),
    params:
        adapter_r1=config["reads"]["adapter_r1"],
        adapter_r2=config["reads"]["adapter_r2"],
        min_quality=config["reads"]["min_quality"],
        min_length=config["reads"]["min_length"],
        phred64=config["reads"]["phred64"],
    script:
        "../scripts/cutadapt_trim.py"
