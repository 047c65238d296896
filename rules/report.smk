# The findings document of each patient, and the reports rendered from it.

FHIR_KB_FILES = [
    BASEDIR / "resources" / "kb" / "fhir" / name
    for name in ("hgnc_genes.tsv", "refseq_chromosomes.tsv", "phenotype_codes.tsv")
]


rule collect_versions:
    input:
        get_version_files,
    output:
        json="results/versions.json",
    log:
        "logs/collect_versions/versions.log",
    benchmark:
        "logs/benchmarks/collect_versions/versions.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/collect_versions.py"


rule findings_patient:
    input:
        unpack(get_patient_inputs),
    output:
        json="results/findings/{patient}.json",
    log:
        "logs/findings_patient/{patient}.log",
    benchmark:
        "logs/benchmarks/findings_patient/{patient}.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        plan=lambda wc: FINDINGS_PLAN[wc.patient],
        settings=lambda wc: findings_settings(wc.patient),
    script:
        "../scripts/findings_patient.py"


rule report_patient:
    input:
        json="results/findings/{patient}.json",
        contributions=get_contribution_plot,
    output:
        html=report(
            "results/reports/{patient}.html",
            caption="../resources/report/patient_report.rst",
            category="Patient reports",
            labels={"patient": "{patient}"},
        ),
        variants="results/reports/{patient}.variants.tsv",
    log:
        "logs/report_patient/{patient}.log",
    benchmark:
        "logs/benchmarks/report_patient/{patient}.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/report_patient.py"


rule fhir_bundle:
    input:
        json="results/findings/{patient}.json",
        kb=FHIR_KB_FILES,
        positions=PGX_KB / "positions.tsv",
    output:
        json="results/fhir/{patient}.json",
        versions="results/versions/fhir_bundle/{patient}.json",
    log:
        "logs/fhir_bundle/{patient}.log",
    benchmark:
        "logs/benchmarks/fhir_bundle/{patient}.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/fhir_bundle.py"


rule provenance_record:
    input:
        outputs=get_provenance_inputs,
        versions="results/versions.json",
    output:
        json="results/provenance.json",
    log:
        "logs/provenance_record/provenance.log",
    benchmark:
        "logs/benchmarks/provenance_record/provenance.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config_sha256=CONFIG_SHA256,
        kb_dirs={
            "pgx": str(BASEDIR / "resources" / "kb" / "pgx"),
            "actionability": str(BASEDIR / "resources" / "kb" / "actionability"),
            "fhir": str(BASEDIR / "resources" / "kb" / "fhir"),
        },
        inputs=lambda wc: sample_sheet_inputs(),
    script:
        "../scripts/provenance.py"


rule cohort_summary:
    input:
        unpack(get_cohort_summary_inputs),
    output:
        json="results/cohort/summary.json",
    log:
        "logs/cohort_summary/cohort.log",
    benchmark:
        "logs/benchmarks/cohort_summary/cohort.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/cohort_summary.py"


rule report_cohort:
    input:
        unpack(get_cohort_report_inputs),
    output:
        html=report(
            "results/reports/cohort.html",
            caption="../resources/report/cohort_report.rst",
            category="Cohort report",
        ),
    log:
        "logs/report_cohort/cohort.log",
    benchmark:
        "logs/benchmarks/report_cohort/cohort.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/report_cohort.py"


rule cds_index:
    input:
        findings=expand("results/findings/{patient}.json", patient=PATIENTS),
        drug_codes=PGX_KB / "drug_codes.tsv",
    output:
        index="results/cds/index.sqlite",
        versions="results/versions/cds_index/index.json",
    log:
        "logs/cds_index/index.log",
    benchmark:
        "logs/benchmarks/cds_index/index.tsv"
    conda:
        "../envs/seq2rx.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/cds_index.py"
