# Pharmacogenomics: every position an allele definition names is genotyped, reference calls
# included; positions without enough reads are listed as missing.

PGX_KB = BASEDIR / "resources" / "kb" / "pgx"


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
        "benchmarks/pgx_genotype_positions/{sample}.tsv"
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
