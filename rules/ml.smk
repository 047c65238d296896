# Treatment-response prediction: the patients' feature matrix, then models trained on the past
# patients (config ml.history) that predict for the tumour patients of this run.

if ML_ENABLED:

    rule ml_features:
        input:
            files=[
                p
                for entry in ML_PLAN.values()
                for f in entry["files"].values()
                for p in f.values()
            ],
            clinical=clinical_table() or [],
            targets=get_targets(),
        output:
            "results/ml/features.tsv",
        log:
            "logs/ml_features/features.log",
        benchmark:
            "logs/benchmarks/ml_features/features.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            plan=ML_PLAN,
        script:
            "../scripts/ml_features.py"

    rule ml_predict:
        input:
            features="results/ml/features.tsv",
            history_features=ml_history("features.tsv"),
            history_clinical=ml_history("clinical.tsv"),
        output:
            predictions="results/ml/predictions.tsv",
            contributions="results/ml/contributions.tsv",
            metrics="results/ml/metrics.json",
            patients="results/ml/patients.json",
            contribution_plots=expand(
                "results/ml/contributions/{patient}.svg", patient=ML_PATIENTS
            ),
            card="results/ml/model_card.md",
            models=multiext("results/ml/", "response.skops", "survival.skops"),
            plots=multiext(
                "results/ml/plots/",
                "roc.svg",
                "calibration.svg",
                "importance.svg",
                "km_risk.svg",
            ),
            versions="results/versions/ml_predict/ml.json",
        log:
            "logs/ml_predict/ml.log",
        benchmark:
            "logs/benchmarks/ml_predict/ml.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        params:
            ml=config["ml"],
        script:
            "../scripts/ml_predict.py"

    rule snf_similarity:
        input:
            features="results/ml/features.tsv",
            history_features=ml_history("features.tsv"),
            history_clinical=ml_history("clinical.tsv"),
        output:
            patients="results/similarity/patients.json",
            summary="results/similarity/network.json",
            plots=multiext(
                "results/similarity/", "network.svg", "heatmap.svg", "km_clusters.svg"
            ),
            versions="results/versions/similarity/similarity.json",
        log:
            "logs/snf_similarity/similarity.log",
        benchmark:
            "logs/benchmarks/snf_similarity/similarity.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            similarity=config["similarity"],
        script:
            "../scripts/similarity.py"
