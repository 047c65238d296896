# Variant calling: bcftools mpileup | call, norm and soft filters; or the sheet's own VCF,
# normalised the same way. Calling is scattered over calling intervals when there are several
# (one job per sample and interval, then a gather job: concat, norm, filters) and restricted to
# the padded targets when there are targets; one interval keeps one job per sample.

if CALLING_REGIONS:

    rule calling_intervals:
        input:
            fasta=config["reference"]["fasta"],
            targets=config["targets"] or [],
            positions=BASEDIR / "resources" / "kb" / "pgx" / "positions.tsv",
        output:
            beds=expand("results/intervals/{interval}.bed", interval=INTERVALS),
            somatic=expand(
                "results/intervals/{interval}.somatic.bed", interval=INTERVALS
            ),
            table="results/intervals/intervals.tsv",
        log:
            "logs/calling_intervals/intervals.log",
        benchmark:
            "logs/benchmarks/calling_intervals/intervals.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            intervals=N_INTERVALS,
            padding=config["calling"]["target_padding"],
            build=config["reference"]["build"],
        script:
            "../scripts/calling_intervals.py"


if config["calling"]["joint"] and len(ALIGNED_SAMPLES) > 1:
    if SCATTER:

        rule bcftools_call_joint_interval:
            input:
                bams=[bam_of(s)["bam"] for s in ALIGNED_SAMPLES],
                bais=[bam_of(s)["bai"] for s in ALIGNED_SAMPLES],
                fasta=config["reference"]["fasta"],
                regions="results/intervals/{interval}.bed",
            output:
                bcf=temp("results/calls/joint/intervals/{interval}.bcf"),
            log:
                "logs/bcftools_call_joint_interval/{interval}.log",
            benchmark:
                "logs/benchmarks/bcftools_call_joint_interval/{interval}.tsv"
            wildcard_constraints:
                interval=r"\d{4}",
            conda:
                "../envs/calling.yaml"
            threads: 1
            resources:
                mem_mb=sized("bcftools_call", "mem_mb", share=N_INTERVALS),
                runtime=sized("bcftools_call", "runtime", share=N_INTERVALS),
            params:
                calling=CALL_SETTINGS,
                samples=ALIGNED_SAMPLES,
                margin=PILEUP_MARGIN,
            script:
                "../scripts/bcftools_call.py"

        rule bcftools_call_joint:
            input:
                parts=expand(
                    "results/calls/joint/intervals/{interval}.bcf", interval=INTERVALS
                ),
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
                mem_mb=2000,
                runtime=120,
            params:
                calling=CALL_SETTINGS,
            script:
                "../scripts/bcftools_gather.py"

    else:

        rule bcftools_call_joint:
            input:
                bams=[bam_of(s)["bam"] for s in ALIGNED_SAMPLES],
                bais=[bam_of(s)["bai"] for s in ALIGNED_SAMPLES],
                fasta=config["reference"]["fasta"],
                regions=calling_regions(),
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
                calling=CALL_SETTINGS,
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

elif SCATTER:

    rule bcftools_call_interval:
        input:
            unpack(get_bam),
            fasta=config["reference"]["fasta"],
            regions="results/intervals/{interval}.bed",
        output:
            bcf=temp("results/calls/intervals/{sample}/{interval}.bcf"),
        log:
            "logs/bcftools_call_interval/{sample}/{interval}.log",
        benchmark:
            "logs/benchmarks/bcftools_call_interval/{sample}/{interval}.tsv"
        wildcard_constraints:
            sample=_alternatives(ALIGNED_SAMPLES),
            interval=r"\d{4}",
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=sized("bcftools_call", "mem_mb", share=N_INTERVALS),
            runtime=sized("bcftools_call", "runtime", share=N_INTERVALS),
        params:
            calling=CALL_SETTINGS,
            samples=lambda wc: [wc.sample],
            margin=PILEUP_MARGIN,
        script:
            "../scripts/bcftools_call.py"

    rule bcftools_call:
        input:
            parts=expand(
                "results/calls/intervals/{{sample}}/{interval}.bcf", interval=INTERVALS
            ),
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
        threads: 1
        resources:
            mem_mb=2000,
            runtime=60,
        params:
            calling=CALL_SETTINGS,
        script:
            "../scripts/bcftools_gather.py"

else:

    rule bcftools_call:
        input:
            unpack(get_bam),
            fasta=config["reference"]["fasta"],
            regions=calling_regions(),
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
            calling=CALL_SETTINGS,
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
