# Pharmacogenomics: every position an allele definition names is genotyped, reference calls
# included; positions without enough reads are listed as missing.

PGX_KB = BASEDIR / "resources" / "kb" / "pgx"
PGX_KB_FILES = [
    PGX_KB / name
    for name in (
        "positions.tsv",
        "allele_definitions.tsv",
        "allele_functions.tsv",
        "phenotype_rules.tsv",
        "outside_allele_functions.tsv",
        "outside_phenotype_rules.tsv",
        "drug_guidance.tsv",
        "alert_levels.tsv",
        "drug_codes.tsv",
    )
]


rule pgx_genotype_positions:
    input:
        unpack(get_bam),
        fasta=config["reference"]["fasta"],
        positions=PGX_KB / "positions.tsv",
    output:
        vcf="results/pgx/{sample}.sites.vcf.gz",
        tbi="results/pgx/{sample}.sites.vcf.gz.tbi",
        table="results/pgx/{sample}.positions.tsv",
        versions="results/versions/pgx_genotype_positions/{sample}.json",
    log:
        "logs/pgx_genotype_positions/{sample}.log",
    benchmark:
        "logs/benchmarks/pgx_genotype_positions/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(ALIGNED_SAMPLES),
    conda:
        "../envs/calling.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        min_depth=config["pgx"]["min_depth"],
        min_mapq=config["calling"]["min_mapq"],
        min_baseq=config["calling"]["min_baseq"],
    script:
        "../scripts/pgx_genotype_positions.py"


rule pgx_call:
    input:
        unpack(get_pgx_inputs),
        kb=PGX_KB_FILES,
    output:
        json="results/pgx/{sample}.json",
        genes="results/pgx/{sample}.genes.tsv",
        drugs=report(
            "results/pgx/{sample}.drugs.tsv",
            caption="../resources/report/pgx_drugs.rst",
            category="Pharmacogenomics",
            labels={"sample": "{sample}"},
        ),
        versions="results/versions/pgx_call/{sample}.json",
    log:
        "logs/pgx_call/{sample}.log",
    benchmark:
        "logs/benchmarks/pgx_call/{sample}.tsv"
    wildcard_constraints:
        sample=_alternatives(SAMPLES),
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        # positions without this depth are missing; an input VCF without FORMAT/DP is taken as is
        min_depth=config["pgx"]["min_depth"],
        # FILTER values read; absent positions as reference (a sites-only cohort VCF)
        filters=config["pgx"]["vcf_filters"],
        absent_as_reference=config["pgx"]["absent_as_reference"],
        sample_type=lambda wc: SAMPLES[wc.sample]["type"],
    script:
        "../scripts/pgx_call.py"
