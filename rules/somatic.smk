# Tumour samples: somatic calls from reads (tumour-normal, or tumour-only with germline
# filters), their consequences, and actionable biomarkers tiered for the tumour type.

from seq2rx.variants.somatic import CALLING_KEYS as SOMATIC_CALLING_KEYS

ACTIONABILITY_KB = BASEDIR / "resources" / "kb" / "actionability"
ACTIONABILITY_KB_FILES = [
    ACTIONABILITY_KB / name for name in ("biomarkers.tsv", "oncotree.tsv", "exons.tsv")
]


if SCATTER:

    rule somatic_call_interval:
        input:
            unpack(get_somatic_inputs),
            fasta=config["reference"]["fasta"],
            kb=ACTIONABILITY_KB_FILES,
            population=config["somatic"]["population_vcf"] or [],
            regions="results/intervals/{interval}.somatic.bed",
        output:
            vcf=temp("results/somatic/intervals/{sample}/{interval}.vcf.gz"),
            tbi=temp("results/somatic/intervals/{sample}/{interval}.vcf.gz.tbi"),
            callable=temp("results/somatic/intervals/{sample}/{interval}.callable.json"),
        log:
            "logs/somatic_call_interval/{sample}/{interval}.log",
        benchmark:
            "logs/benchmarks/somatic_call_interval/{sample}/{interval}.tsv"
        wildcard_constraints:
            sample=_alternatives(TUMOUR_ALIGNED),
            interval=r"\d{4}",
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=sized("somatic_call", "mem_mb", share=N_INTERVALS),
            runtime=sized("somatic_call", "runtime", share=N_INTERVALS),
        params:
            somatic=config["somatic"],
            calling={k: config["calling"][k] for k in SOMATIC_CALLING_KEYS},
            normal=lambda wc: matched_normal(wc.sample),
            build=config["reference"]["build"],
            margin=PILEUP_MARGIN,
        script:
            "../scripts/somatic_call.py"

    rule somatic_call:
        input:
            parts=expand(
                "results/somatic/intervals/{{sample}}/{interval}.vcf.gz",
                interval=INTERVALS,
            ),
            counts=expand(
                "results/somatic/intervals/{{sample}}/{interval}.callable.json",
                interval=INTERVALS,
            ),
        output:
            vcf="results/somatic/{sample}.vcf.gz",
            tbi="results/somatic/{sample}.vcf.gz.tbi",
            callable="results/somatic/{sample}.callable.json",
            versions="results/versions/somatic_call/{sample}.json",
        log:
            "logs/somatic_call/{sample}.log",
        benchmark:
            "logs/benchmarks/somatic_call/{sample}.tsv"
        wildcard_constraints:
            sample=_alternatives(TUMOUR_ALIGNED),
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=30,
        script:
            "../scripts/somatic_gather.py"

else:

    rule somatic_call:
        input:
            unpack(get_somatic_inputs),
            fasta=config["reference"]["fasta"],
            kb=ACTIONABILITY_KB_FILES,
            population=config["somatic"]["population_vcf"] or [],
            regions=calling_regions("somatic"),
        output:
            vcf="results/somatic/{sample}.vcf.gz",
            tbi="results/somatic/{sample}.vcf.gz.tbi",
            callable="results/somatic/{sample}.callable.json",
            versions="results/versions/somatic_call/{sample}.json",
        log:
            "logs/somatic_call/{sample}.log",
        benchmark:
            "logs/benchmarks/somatic_call/{sample}.tsv"
        wildcard_constraints:
            sample=_alternatives(TUMOUR_ALIGNED),
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=sized("somatic_call", "mem_mb"),
            runtime=sized("somatic_call", "runtime"),
        params:
            somatic=config["somatic"],
            # only the read filters it shares: another calling setting reruns no somatic job
            calling={k: config["calling"][k] for k in SOMATIC_CALLING_KEYS},
            normal=lambda wc: matched_normal(wc.sample),
            build=config["reference"]["build"],
        script:
            "../scripts/somatic_call.py"


rule bcftools_csq_somatic:
    input:
        vcf="results/somatic/{sample}.vcf.gz",
        fasta=config["reference"]["fasta"],
        gff3=config["reference"]["gff3"],
        clinvar=config["annotation"]["clinvar_vcf"] or [],
    output:
        vcf="results/somatic/{sample}.csq.vcf.gz",
        tbi="results/somatic/{sample}.csq.vcf.gz.tbi",
        table="results/somatic/{sample}.consequences.tsv",
        versions="results/versions/somatic_csq/{sample}.json",
    log:
        "logs/bcftools_csq_somatic/{sample}.log",
    benchmark:
        "logs/benchmarks/bcftools_csq_somatic/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(TUMOUR_ALIGNED),
    conda:
        "../envs/annotate.yaml"
    threads: 1
    resources:
        mem_mb=sized("bcftools_csq", "mem_mb"),
        runtime=sized("bcftools_csq", "runtime"),
    script:
        "../scripts/bcftools_csq.py"


rule actionability_tier:
    input:
        unpack(get_actionability_inputs),
        kb=ACTIONABILITY_KB_FILES
        + [ACTIONABILITY_KB / n for n in ("genes.tsv", "kinase_domains.tsv")],
    output:
        tsv=report(
            "results/actionability/{sample}.tsv",
            caption="../resources/report/actionability.rst",
            category="Tumour actionability",
            labels={"sample": "{sample}"},
        ),
        json="results/actionability/{sample}.json",
        versions="results/versions/actionability/{sample}.json",
    log:
        "logs/actionability_tier/{sample}.log",
    benchmark:
        "logs/benchmarks/actionability_tier/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(TUMOUR_SAMPLES),
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tumor_type=lambda wc: SAMPLES[wc.sample]["tumor_type"],
        build=config["reference"]["build"],
        plan=lambda wc: TUMOUR_PLANS[wc.sample],
        copy_number=config["copy_number"],
        fusions_file=lambda wc: SAMPLES[wc.sample].get("fusions"),
    script:
        "../scripts/actionability.py"
