# The cohort database: each sample's rows as Parquet shards, combined into results/cohort.duckdb
# (adding a sample re-runs one shard job and the cheap combine); cohorts defined as SQL files.


wildcard_constraints:
    cohort=s2c.id_constraint(COHORTS, COHORTS),


rule cohort_shard:
    input:
        unpack(get_cohort_shard_inputs),
    output:
        # one Parquet shard per table the library writes per sample (seq2rx.cohort.schema)
        **{t: f"results/cohort/shards/{{sample}}/{t}.parquet" for t in SHARD_TABLES},
    log:
        "logs/cohort_shard/{sample}.log",
    benchmark:
        "logs/benchmarks/cohort_shard/{sample}.tsv"
    conda:
        "../envs/cohort.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        row=lambda wc: SAMPLES[wc.sample],
        variants=lambda wc: cohort_variant_sources(wc.sample),
    script:
        "../scripts/cohort_shard.py"


rule cohort_database:
    input:
        shards=expand(
            "results/cohort/shards/{sample}/{table}.parquet",
            sample=sorted(SAMPLES),
            table=SHARD_TABLES,
        ),
        sheet=config["samples"],
        clinical=clinical_table() or [],
        predictions=get_cohort_predictions,
        # an OMOP CDM: the ehr_* tables of the linked patients (empty without one)
        cdm=cdm_inputs(),
        omop_definitions=COHORT_OMOP_DEFINITIONS,
    output:
        db="results/cohort.duckdb",
        tables="results/cohort/tables.tsv",
    log:
        "logs/cohort_database/cohort.log",
    benchmark:
        "logs/benchmarks/cohort_database/cohort.tsv"
    conda:
        "../envs/cohort.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        rows=[SAMPLES[s] for s in sorted(SAMPLES)],
        tables=SHARD_TABLES,
        # the CDM itself (the inputs may be its files, for the demo's)
        cdm=lambda wildcards: config["clinical_omop"]["path"],
        link=config["clinical_omop"]["link"],
        omop_definitions=lambda wildcards: config["cohorts"]["omop_definitions"],
    script:
        "../scripts/cohort_database.py"


rule cohort_members:
    input:
        db="results/cohort.duckdb",
        sql=str(COHORT_SQL_DIR / "{cohort}.sql"),
    output:
        members="results/cohorts/{cohort}/members.tsv",
        summary=report(
            "results/cohorts/{cohort}/summary.tsv",
            caption="../resources/report/cohort.rst",
            category="Cohorts",
            labels={"cohort": "{cohort}", "table": "summary"},
        ),
        km_svg=report(
            "results/cohorts/{cohort}/km.svg",
            caption="../resources/report/cohort.rst",
            category="Cohorts",
            labels={"cohort": "{cohort}", "table": "Kaplan-Meier"},
        ),
        km_tsv="results/cohorts/{cohort}/km.tsv",
    log:
        "logs/cohort_members/{cohort}.log",
    benchmark:
        "logs/benchmarks/cohort_members/{cohort}.tsv"
    conda:
        "../envs/cohort.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        parameters=config["cohorts"]["parameters"],
        min_count=config["cohorts"]["min_count"],
    script:
        "../scripts/cohort_members.py"
