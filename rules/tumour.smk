# Tumours beyond small variants, from the same reads: copy number (CNVkit), DNA fusions, MSI, and
# every aligned sample's identity (sex against the sheet; a tumour against its matched normal).
# Which tumour gets what is its plan (TUMOUR_PLANS in common.smk, seq2rx.tumour.tumour_plan).


rule cnvkit_access:
    input:
        fasta=config["reference"]["fasta"],
    output:
        bed="results/cnv/access.bed",
        versions="results/versions/cnvkit_access.json",
    log:
        "logs/cnvkit_access/cnvkit_access.log",
    benchmark:
        "logs/benchmarks/cnvkit_access/cnvkit_access.tsv"
    conda:
        "../envs/cnvkit.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/cnvkit_access.py"


rule cnvkit_reference:
    input:
        unpack(get_normal_pool_bams),
        fasta=config["reference"]["fasta"],
        access="results/cnv/access.bed",
        targets=get_targets() if config["targets"] else [],
    output:
        cnn="results/cnv/reference.cnn",
        about="results/cnv/reference.cnn.json",
        versions="results/versions/cnvkit_reference.json",
    log:
        "logs/cnvkit_reference/cnvkit_reference.log",
    benchmark:
        "logs/benchmarks/cnvkit_reference/cnvkit_reference.tsv"
    conda:
        "../envs/cnvkit.yaml"
    threads: 1
    resources:
        mem_mb=sized("cnvkit_reference", "mem_mb"),
        runtime=sized("cnvkit_reference", "runtime"),
    params:
        copy_number=config["copy_number"],
    script:
        "../scripts/cnvkit_reference.py"


rule cnvkit_copy_number:
    input:
        unpack(get_cnvkit_inputs),
        fasta=config["reference"]["fasta"],
        gff3=config["reference"]["gff3"],
        access="results/cnv/access.bed",
    output:
        bins="results/cnv/{sample}.bins.tsv",
        segments="results/cnv/{sample}.segments.tsv",
        genes="results/cnv/{sample}.genes.tsv",
        json="results/cnv/{sample}.json",
        versions="results/versions/cnvkit_copy_number/{sample}.json",
    log:
        "logs/cnvkit_copy_number/{sample}.log",
    benchmark:
        "logs/benchmarks/cnvkit_copy_number/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(CNV_SAMPLES),
    conda:
        "../envs/cnvkit.yaml"
    threads: 1
    resources:
        mem_mb=sized("cnvkit_copy_number", "mem_mb"),
        runtime=sized("cnvkit_copy_number", "runtime"),
    params:
        prefix="results/cnv/{sample}",
        copy_number=config["copy_number"],
        sex=lambda wc: SAMPLES[wc.sample]["sex"],
    script:
        "../scripts/cnvkit_copy_number.py"


rule fusions_call:
    input:
        unpack(get_bam),
        fasta=config["reference"]["fasta"],
        gff3=config["reference"]["gff3"],
        kb=ACTIONABILITY_KB_FILES,
        kinase_domains=ACTIONABILITY_KB / "kinase_domains.tsv",
    output:
        tsv="results/fusions/{sample}.tsv",
        json="results/fusions/{sample}.json",
        versions="results/versions/fusions_call/{sample}.json",
    log:
        "logs/fusions_call/{sample}.log",
    benchmark:
        "logs/benchmarks/fusions_call/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(FUSION_SAMPLES),
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=sized("fusions_call", "mem_mb"),
        runtime=sized("fusions_call", "runtime"),
    params:
        # the caller's own options: turning the cross-check on reruns no fusion call
        fusions={k: v for k, v in config["fusions"].items() if k != "cross_check"},
    script:
        "../scripts/fusions_call.py"


if config["fusions"]["cross_check"] == "delly":

    rule delly_cross_check:
        input:
            unpack(get_delly_inputs),
            fasta=config["reference"]["fasta"],
            gff3=config["reference"]["gff3"],
            fusions="results/fusions/{sample}.json",
        output:
            tsv="results/fusions/{sample}.delly.tsv",
            json="results/fusions/{sample}.delly.json",
            versions="results/versions/delly_cross_check/{sample}.json",
        log:
            "logs/delly_cross_check/{sample}.log",
        benchmark:
            "logs/benchmarks/delly_cross_check/{sample}.tsv"
        wildcard_constraints:
            sample=_alternatives(FUSION_SAMPLES),
        conda:
            "../envs/delly.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=120,
        script:
            "../scripts/delly_cross_check.py"


rule msi_sites:
    input:
        fasta=config["reference"]["fasta"],
        targets=get_targets() if config["targets"] else [],
    output:
        tsv="results/msi/sites.tsv",
        versions="results/versions/msi_sites.json",
    log:
        "logs/msi_sites/msi_sites.log",
    benchmark:
        "logs/benchmarks/msi_sites/msi_sites.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        msi=config["msi"],
    script:
        "../scripts/msi_sites.py"


rule msi_baseline:
    input:
        unpack(get_normal_pool_bams),
        sites="results/msi/sites.tsv",
    output:
        tsv="results/msi/baseline.tsv",
        versions="results/versions/msi_baseline.json",
    log:
        "logs/msi_baseline/msi_baseline.log",
    benchmark:
        "logs/benchmarks/msi_baseline/msi_baseline.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        msi=config["msi"],
    script:
        "../scripts/msi_baseline.py"


rule msi_score:
    input:
        unpack(get_msi_inputs),
        fasta=config["reference"]["fasta"],
    output:
        json="results/msi/{sample}.json",
        sites="results/msi/{sample}.sites.tsv",
        versions="results/versions/msi_score/{sample}.json",
    log:
        "logs/msi_score/{sample}.log",
    benchmark:
        "logs/benchmarks/msi_score/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(MSI_SAMPLES),
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        mode=lambda wc: TUMOUR_PLANS[wc.sample]["msi"]["how"],
        vcf_sample=None,
        msi=config["msi"],
    script:
        "../scripts/msi_score.py"


rule identity_check:
    input:
        unpack(get_identity_inputs),
        fasta=config["reference"]["fasta"],
    output:
        json="results/qc/identity/{sample}.json",
        versions="results/versions/identity_check/{sample}.json",
    log:
        "logs/identity_check/{sample}.log",
    benchmark:
        "logs/benchmarks/identity_check/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(ALIGNED_SAMPLES),
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        sex=lambda wc: SAMPLES[wc.sample]["sex"],
        normal=lambda wc: matched_normal(wc.sample) if wc.sample in TUMOUR_SET else None,
        build=config["reference"]["build"],
        # the SNP panel is an input file; the other keys are IdentityParams
        identity={k: v for k, v in config["identity"].items() if k != "sites"},
    script:
        "../scripts/identity_check.py"
