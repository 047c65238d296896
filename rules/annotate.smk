# Annotation: bcftools csq consequences and an independent Biopython derivation of the protein
# change, one row per variant x transcript.


rule bcftools_csq:
    input:
        vcf="results/calls/{sample}.vcf.gz",
        fasta=config["reference"]["fasta"],
        gff3=config["reference"]["gff3"],
        clinvar=config["annotation"]["clinvar_vcf"] or [],
    output:
        vcf="results/annotate/{sample}.csq.vcf.gz",
        tbi="results/annotate/{sample}.csq.vcf.gz.tbi",
        table="results/annotate/{sample}.consequences.tsv",
        versions="results/versions/bcftools_csq/{sample}.json",
    log:
        "logs/bcftools_csq/{sample}.log",
    benchmark:
        "logs/benchmarks/bcftools_csq/{sample}.tsv"
    conda:
        "../envs/annotate.yaml"
    threads: 1
    resources:
        mem_mb=sized("bcftools_csq", "mem_mb"),
        runtime=sized("bcftools_csq", "runtime"),
    script:
        "../scripts/bcftools_csq.py"


rule primer3_design:
    input:
        tables=lambda wc: [
            f"results/annotate/{r['sample']}.consequences.tsv"
            for r in get_patient_rows(wc.patient)
        ],
        vcfs=lambda wc: [
            f"results/calls/{r['sample']}.vcf.gz" for r in get_patient_rows(wc.patient)
        ],
        fasta=config["reference"]["fasta"],
    output:
        tsv="results/primers/{patient}.tsv",
        versions="results/versions/primer3_design/{patient}.json",
    log:
        "logs/primer3_design/{patient}.log",
    benchmark:
        "logs/benchmarks/primer3_design/{patient}.tsv"
    conda:
        "../envs/annotate.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        settings=config["annotation"],
    script:
        "../scripts/primer3_design.py"
