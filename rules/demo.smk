# The demo data set, simulated by seq2rx's own deterministic simulator.


if config["demo"]["simulate"]:

    rule demo_simulate:
        input:
            spec=DEMO_SPEC,
            sites=DEMO_SITES,
        output:
            fasta=DEMO_FILES["fasta"],
            fai=DEMO_FILES["fasta"] + ".fai",
            gzi=DEMO_FILES["fasta"] + ".gzi",
            gff3=DEMO_FILES["gff3"],
            targets=DEMO_FILES["targets"],
            confident=DEMO_FILES["confident"],
            fingerprint_sites=DEMO_FILES["fingerprint_sites"],
            reads=[v for k, v in DEMO_FILES.items() if k.endswith(("_R1", "_R2"))],
            truth=[v for k, v in DEMO_FILES.items() if k.endswith("_truth")],
            outside=[v for k, v in DEMO_FILES.items() if k.endswith("_outside")],
        log:
            "logs/demo_simulate/demo.log",
        benchmark:
            "logs/benchmarks/demo_simulate/demo.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            outdir=lambda w, output: str(Path(output.fasta).parent),
            seed=config["demo"]["seed"],
        script:
            "../scripts/demo_simulate.py"

    rule demo_history:
        input:
            spec=DEMO_SPEC,
            sites=DEMO_SITES,
        output:
            clinical=f"{config['demo']['outdir']}/history/clinical.tsv",
            features=f"{config['demo']['outdir']}/history/features.tsv",
            truth=f"{config['demo']['outdir']}/history/truth.tsv",
        log:
            "logs/demo_history/history.log",
        benchmark:
            "logs/benchmarks/demo_history/history.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            seed=config["demo"]["seed"],
        script:
            "../scripts/demo_history.py"

    rule demo_omop:
        input:
            spec=DEMO_SPEC,
            clinical=DEMO_CLINICAL,
        output:
            tables=[v for k, v in DEMO_FILES.items() if k.startswith("omop_")],
        log:
            "logs/demo_omop/omop.log",
        benchmark:
            "logs/benchmarks/demo_omop/omop.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            outdir=lambda w, output: str(Path(output.tables[0]).parent),
            seed=config["demo"]["seed"],
        script:
            "../scripts/demo_omop.py"

    rule demo_compare_truth:
        input:
            truth=lambda wc: DEMO_FILES[f"{wc.sample}_truth"],
            query="results/calls/{sample}.vcf.gz",
            fasta=config["reference"]["fasta"],
            regions=DEMO_FILES["confident"],
        output:
            json="results/truth/{sample}.json",
        log:
            "logs/demo_compare_truth/{sample}.log",
        benchmark:
            "logs/benchmarks/demo_compare_truth/{sample}.tsv"
        conda:
            "../envs/calling.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        script:
            "../scripts/compare_truth.py"

    rule demo_truth_summary:
        input:
            # the demo's samples only: a sample added to the sheet has no truth set
            expand(
                "results/truth/{sample}.json",
                sample=[s for s in sorted(SAMPLES) if f"{s}_truth" in DEMO_FILES],
            ),
        output:
            tsv=report(
                "results/truth/summary.tsv",
                caption="../resources/report/truth.rst",
                category="Demo truth",
            ),
        log:
            "logs/demo_truth_summary/summary.log",
        benchmark:
            "logs/benchmarks/demo_truth_summary/summary.tsv"
        conda:
            "../envs/seq2rx.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        script:
            "../scripts/truth_summary.py"
