# Variant calling: bcftools mpileup | call, norm and soft filters; or the sheet's own VCF,
# normalised the same way.

if config["calling"]["joint"] and len(ALIGNED_SAMPLES) > 1:

    rule bcftools_call_joint:
        input:
            bams=[bam_of(s)["bam"] for s in ALIGNED_SAMPLES],
            bais=[bam_of(s)["bai"] for s in ALIGNED_SAMPLES],
            fasta=config["reference"]["fasta"],
        output:
            vcf="results/calls/joint/all.vcf.gz",
            tbi="results/calls/joint/all.vcf.gz.tbi",
        log:
            "logs/bcftools_call_joint/all.log",
        benchmark:
            "logs/benchmarks/bcftools_call_joint/all.tsv"
        conda:
            "../envs/calling.yaml"
        threads: 2
        resources:
            mem_mb=sized("bcftools_call", "mem_mb"),
            runtime=sized("bcftools_call", "runtime"),
        params:
            calling=config["calling"],
            samples=ALIGNED_SAMPLES,
        script:
            "../scripts/bcftools_call.py"

    rule bcftools_call:
        input:
            joint="results/calls/joint/all.vcf.gz",
        output:
            vcf="results/calls/{sample}.vcf.gz",
            tbi="results/calls/{sample}.vcf.gz.tbi",
            versions="results/versions/bcftools_call/{sample}.json",
        log:
            "logs/bcftools_call/{sample}.log",
        benchmark:
            "logs/benchmarks/bcftools_call/{sample}.tsv"
        wildcard_constraints:
            sample=_alternatives(ALIGNED_SAMPLES),
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        script:
            "../scripts/bcftools_subset.py"

else:

    rule bcftools_call:
        input:
            unpack(get_bam),
            fasta=config["reference"]["fasta"],
        output:
            vcf="results/calls/{sample}.vcf.gz",
            tbi="results/calls/{sample}.vcf.gz.tbi",
            versions="results/versions/bcftools_call/{sample}.json",
        log:
            "logs/bcftools_call/{sample}.log",
        benchmark:
            "logs/benchmarks/bcftools_call/{sample}.tsv"
        wildcard_constraints:
            sample=_alternatives(ALIGNED_SAMPLES),
        conda:
            "../envs/calling.yaml"
        threads: 2
        resources:
            mem_mb=sized("bcftools_call", "mem_mb"),
            runtime=sized("bcftools_call", "runtime"),
        params:
            calling=config["calling"],
            samples=lambda wc: [wc.sample],
        script:
            "../scripts/bcftools_call.py"


rule bcftools_norm_input:
    input:
        vcf=lambda wc: SAMPLES[wc.sample]["vcf"],
        fasta=config["reference"]["fasta"],
    output:
        vcf="results/calls/{sample}.vcf.gz",
        tbi="results/calls/{sample}.vcf.gz.tbi",
        versions="results/versions/bcftools_norm_input/{sample}.json",
    log:
        "logs/bcftools_norm_input/{sample}.log",
    benchmark:
        "logs/benchmarks/bcftools_norm_input/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(VCF_SAMPLES),
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        build=config["reference"]["build"],
        vcf_sample=lambda wc: SAMPLES[wc.sample].get("vcf_sample"),
    script:
        "../scripts/bcftools_norm_input.py"
