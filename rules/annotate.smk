# Annotation: bcftools csq consequences and an independent Biopython derivation of the protein
# change, one row per variant x transcript.


rule bcftools_csq:
    input:
        vcf="results/calls/{sample}.vcf.gz",
        fasta=config["reference"]["fasta"],
        gff3=config["reference"]["gff3"],
    output:
        vcf="results/annotate/{sample}.csq.vcf.gz",
        tbi="results/annotate/{sample}.csq.vcf.gz.tbi",
        table="results/annotate/{sample}.consequences.tsv",
        versions="results/versions/bcftools_csq/{sample}.json",
    log:
        "logs/bcftools_csq/{sample}.log",
    benchmark:
        "benchmarks/bcftools_csq/{sample}.tsv"
    conda:
        "../envs/annotate.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    script:
        "../scripts/bcftools_csq.py"
