# The cohort database: each sample's rows as Parquet shards, combined into results/cohort.duckdb
# (adding a sample re-runs one shard job and the cheap combine); cohorts defined as SQL files.

COHORT_SQL_DIR = Path(config["cohorts"]["sql_dir"])
COHORTS = sorted(p.stem for p in COHORT_SQL_DIR.glob("*.sql"))
COHORT_SHARD_TABLES = ("samples", "qc", "variants", "pgx_genes", "pgx_drugs", "actionable")
PREDICTIONS = "results/ml/predictions.tsv"


wildcard_constraints:
    cohort=_alternatives(COHORTS),


def cohort_variant_sources(sample):
    """``(origin, vcf, consequences)`` of each call set of a sample, as the cohort database labels it."""
    csq = bool(config["reference"]["gff3"])
    if sample in TUMOR_ALIGNED:
        return [
            (
                "tumor_mixed",
                f"results/calls/{sample}.vcf.gz",
                f"results/annotate/{sample}.consequences.tsv" if csq else None,
            ),
            (
                "somatic",
                f"results/somatic/{sample}.vcf.gz",
                f"results/somatic/{sample}.consequences.tsv" if csq else None,
            ),
        ]
    origin = "somatic" if sample in TUMOR_SAMPLES else "germline"
    return [
        (
            origin,
            f"results/calls/{sample}.vcf.gz",
            f"results/annotate/{sample}.consequences.tsv" if csq else None,
        )
    ]


def get_cohort_shard_inputs(wildcards):
    """Every per-sample output the cohort database takes one sample's rows from."""
    s = wildcards.sample
    out = {
        "variants": [p for src in cohort_variant_sources(s) for p in src[1:] if p],
        "pgx_genes": f"results/pgx/{s}.genes.tsv",
        "pgx_drugs": f"results/pgx/{s}.drugs.tsv",
    }
    if s in ALIGNED_SAMPLES:
        out["qc"] = f"results/qc/summary/{s}.json"
    if s in TUMOR_SAMPLES:
        out["actionable"] = f"results/actionability/{s}.tsv"
    return out


def get_cohort_predictions(wildcards):
    """The prediction table, when a rule of this workflow writes it (the ML stage may be off)."""
    makes = any(PREDICTIONS in map(str, r.output) for r in workflow.rules)
    return PREDICTIONS if makes else []


def get_cohort_outputs():
    out = ["results/cohort.duckdb", "results/cohort/tables.tsv"]
    for name in COHORTS:
        out += [
            f"results/cohorts/{name}/{f}"
            for f in ("members.tsv", "summary.tsv", "km.svg", "km.tsv")
        ]
    return out


rule cohort_shard:
    input:
        unpack(get_cohort_shard_inputs),
    output:
        samples="results/cohort/shards/{sample}/samples.parquet",
        qc="results/cohort/shards/{sample}/qc.parquet",
        variants="results/cohort/shards/{sample}/variants.parquet",
        pgx_genes="results/cohort/shards/{sample}/pgx_genes.parquet",
        pgx_drugs="results/cohort/shards/{sample}/pgx_drugs.parquet",
        actionable="results/cohort/shards/{sample}/actionable.parquet",
    log:
        "logs/cohort_shard/{sample}.log",
    benchmark:
        "benchmarks/cohort_shard/{sample}.tsv"
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
            table=COHORT_SHARD_TABLES,
        ),
        sheet=config["samples"],
        clinical=config["clinical"] or [],
        predictions=get_cohort_predictions,
    output:
        db="results/cohort.duckdb",
        tables="results/cohort/tables.tsv",
    log:
        "logs/cohort_database/cohort.log",
    benchmark:
        "benchmarks/cohort_database/cohort.tsv"
    conda:
        "../envs/cohort.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        rows=[SAMPLES[s] for s in sorted(SAMPLES)],
        tables=COHORT_SHARD_TABLES,
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
        "benchmarks/cohort_members/{cohort}.tsv"
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
