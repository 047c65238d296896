"""The ``seq2rx`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seq2rx import __version__
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError


def _cmd_demo(args: argparse.Namespace) -> int:
    from seq2rx.sim import simulate

    summary = simulate(args.spec, args.sites, args.outdir, seed=args.seed)
    for sample, counts in summary["samples"].items():
        print(f"{sample}\t{counts['pairs']} read pairs\t{counts['duplicates']} duplicates")
    print(f"demo data written to {args.outdir}/")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from seq2rx.core.io import atomic_output
    from seq2rx.variants.compare import compare, format_table

    result = compare(
        args.truth,
        args.query,
        reference=args.reference,
        regions=args.regions,
        truth_sample=args.truth_sample,
        query_sample=args.query_sample,
        pass_only=not args.all_filters,
    )
    print(format_table(result))
    if args.json:
        with atomic_output(args.json) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_annotate(args: argparse.Namespace) -> int:
    from seq2rx.variants.annotate import annotate

    n = annotate(
        args.vcf, args.fasta, args.gff3, args.out, out_vcf=args.out_vcf, sample=args.sample, clinvar_vcf=args.clinvar
    )
    print(f"{n} consequence rows written to {args.out}")
    return 0


def _cmd_pgx_import(args: argparse.Namespace) -> int:
    from seq2rx.pgx.definitions import import_tier1, import_translation, write_kb, write_tier1

    folder = Path(getattr(args, "from"))
    files = sorted(folder.glob("*_translation.json"))
    if args.genes:
        wanted = set(args.genes)
        files = [f for f in files if f.name.split("_translation")[0] in wanted]
        missing = wanted - {f.name.split("_translation")[0] for f in files}
        if missing:
            raise InputError(str(folder), f"no *_translation.json for {sorted(missing)}")
    if not files:
        raise InputError(str(folder), "holds no *_translation.json allele-definition files")
    defs = [import_translation(f) for f in files]
    positions, alleles = write_kb(defs, args.out)
    if (folder / "exemptions.json").exists():
        tier1 = import_tier1(folder / "exemptions.json", {d.gene for d in defs}, defs[0].date)
        source = "AMP tier-1 alleles (exemptions.json) via PharmCAT " + defs[0].source.rsplit(" ", 1)[-1]
        print(f"AMP tier-1 alleles of {len(tier1)} genes to {write_tier1(tier1, args.out, source, defs[0].date)}")
    print(
        f"{len(defs)} genes: {sum(len(d.positions) for d in defs)} positions to {positions}, "
        f"{sum(len(d.alleles) for d in defs)} alleles to {alleles}"
    )
    return 0


def _cmd_pgx_phenotypes(args: argparse.Namespace) -> int:
    from seq2rx.pgx.phenotypes import import_phenotype_file, write_kb

    folder = Path(getattr(args, "from"))
    files = sorted(f for f in folder.glob("*.json") if not args.genes or f.stem in set(args.genes))
    if not files:
        raise InputError(str(folder), "holds no per-gene phenotype files (GENE.json)")
    genes = [import_phenotype_file(f) for f in files]
    write_kb(genes, args.out)
    print(
        f"{len(genes)} genes: {sum(len(g.functions) for g in genes)} allele functions, "
        f"{sum(len(g.rules) for g in genes)} phenotype rules written to {args.out}"
    )
    return 0


def _cmd_pgx_call(args: argparse.Namespace) -> int:
    from seq2rx.pgx.pipeline import PgxKnowledge, call_vcf, write_json, write_tsv

    if not args.vcf or not args.json:
        raise InputError(
            "seq2rx pgx", "needs --vcf and --json (or a subcommand: import-definitions, import-phenotypes)"
        )
    kb = PgxKnowledge.load(args.kb)
    docs = call_vcf(kb, args.vcf, [args.sample] if args.sample else None, args.outside_calls, args.min_depth)
    if len(docs) > 1 and not args.all_samples:
        raise InputError(args.vcf, f"has {len(docs)} samples; choose one with --sample, or pass --all-samples")
    write_json(docs[0] if len(docs) == 1 else {"samples": docs}, args.json)
    if args.tsv:
        write_tsv(docs, args.tsv, args.drugs_tsv)
    for doc in docs:
        for gene, r in doc["genes"].items():
            print(f"{doc['sample']}\t{gene}\t{'|'.join(r['diplotypes']) or r['status']}\t{r['phenotype'] or '.'}")
    return 0


def _cmd_actionable(args: argparse.Namespace) -> int:
    from seq2rx import actionability as actionability

    kb = actionability.load(args.kb)
    doc = actionability.run(
        kb,
        args.vcf,
        args.sample,
        args.tumor_type,
        args.build,
        consequences=args.consequences,
        callable_bases=int(args.callable_mb * 1e6) if args.callable_mb else None,
    )
    actionability.write_table(doc["rows"], doc["sample"] or Path(args.vcf).name, args.out)
    if args.json:
        actionability.write_json(doc, args.json)
    for r in doc["rows"]:
        if r["tier"] != "III":
            print(f"{r['tier']}\t{r['gene']}\t{r['alteration']}\t{r['therapies']}\t{r['response']}")
    return 0


def _cmd_ml_cv(args: argparse.Namespace) -> int:
    from seq2rx.ml.evaluate import run_cv, write_json

    if bool(args.time) != bool(args.event) or bool(args.outcome) == bool(args.time):
        raise InputError("seq2rx ml cv", "give either --outcome COL, or --time COL and --event COL")
    doc = run_cv(
        args.table,
        outcome=args.outcome,
        time=args.time,
        event=args.event,
        treatment=args.treatment,
        model=args.model,
        folds=args.folds,
        seed=args.seed,
        exclude=args.exclude,
        replicates=args.bootstrap,
    )
    write_json(doc, args.json)
    m = doc["cross_validation"]["metrics"]
    shown = ["c_index", "mean_time_auc"] if doc["task"] == "survival" else ["roc_auc", "pr_auc", "brier"]
    for name in shown:
        print(f"{name}\t{m[name]['estimate']:.3f}\t95% CI {m[name]['ci95'][0]:.3f}-{m[name]['ci95'][1]:.3f}")
    if "treatment" in doc:
        t, eff = doc["treatment"], doc["treatment"]["effect"]
        print(
            f"{t['column']} {t['treated']} vs {t['reference']}\t{eff['measure']} {eff['estimate']:.3f}\t"
            f"95% CI {eff['ci95'][0]:.3f}-{eff['ci95'][1]:.3f}\tp={eff['p_value']:.3g}\t"
            f"benefit favours treatment in {t['benefit']['favouring_treatment']:.0%}"
        )
    print(f"written to {args.json}")
    return 0


def _at_least(low: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _cmd_verify(args: argparse.Namespace) -> int:
    from seq2rx.provenance.record import verify

    problems = verify(args.results)
    bad = 0
    for kind in ("record", "edited", "removed", "added"):
        for item in problems[kind]:
            print(f"{kind}\t{item}")
            bad += 1
    if bad:
        print(f"seq2rx: {args.results}: {bad} difference(s) from provenance.json", file=sys.stderr)
        return 1
    print(f"{args.results}: every output matches provenance.json")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from seq2rx.inputs.config import check_reference, load_yaml, oncotree_codes, read_sample_sheet, validate_config

    schemas = Path(args.schemas)
    cfg = validate_config(load_yaml(args.configfile), load_yaml(schemas / "config.schema.yaml"), args.configfile)
    check_reference(cfg, args.configfile)
    codes = oncotree_codes(data_path("kb", "actionability", "oncotree.tsv"))
    rows = read_sample_sheet(cfg["samples"], load_yaml(schemas / "samples.schema.yaml"), tumor_types=codes)
    print(f"{args.configfile}: valid; {len(rows)} samples in {cfg['samples']}")
    return 0


def _cmd_cohort_query(args: argparse.Namespace) -> int:
    from seq2rx.cohort.sql import parse_param, run_query, to_tsv

    values = dict(parse_param(p) for p in args.param)
    columns, rows = run_query(args.db, args.sql, values, source="seq2rx cohort query")
    sys.stdout.write(to_tsv(columns, rows))
    return 0


def _cmd_cohort_export(args: argparse.Namespace) -> int:
    from seq2rx.cohort.privacy import export

    result = export(args.db, args.out, args.key_file)
    made = "created" if result["key_created"] else "used"
    print(
        f"de-identified copy written to {args.out}/ ({sum(result['rows'].values())} rows in {len(result['rows'])} tables)"
    )
    print(f"dropped free-text columns: {', '.join(result['dropped'])}")
    print(f"pseudonym key {made}: {result['key_file']} (keep it local and private; it is not in the export)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seq2rx", description="From sequencing reads to treatment insight.")
    parser.add_argument("--version", action="version", version=f"seq2rx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="simulate the demo data set (genome, reads, truth VCFs)")
    p.add_argument("--outdir", default="demo")
    p.add_argument("--seed", type=int, default=None, help="override the seed in the spec")
    p.add_argument("--spec", default=str(data_path("demo", "demo.yaml")))
    p.add_argument("--sites", default=str(data_path("kb", "pgx", "positions.tsv")))
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("compare-vcf", help="SNV/indel precision, recall and F1 of a VCF against a truth VCF")
    p.add_argument("--truth", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--regions", help="BED of regions to compare in (e.g. confident regions)")
    p.add_argument("--reference", help="FASTA used to left-align indels on both sides")
    p.add_argument("--truth-sample")
    p.add_argument("--query-sample")
    p.add_argument("--all-filters", action="store_true", help="count query records that did not PASS")
    p.add_argument("--json", help="also write the result as JSON here")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("annotate", help="consequences per variant x transcript (bcftools csq + Biopython)")
    p.add_argument("--vcf", required=True, help="normalised VCF (bgzipped or plain)")
    p.add_argument("--fasta", required=True, help="reference FASTA with .fai")
    p.add_argument("--gff3", required=True, help="Ensembl-style GFF3")
    p.add_argument("--out", required=True, help="consequence table (TSV)")
    p.add_argument("--out-vcf", help="also keep the csq-annotated VCF here (.vcf.gz)")
    p.add_argument("--sample", help="sample whose genotypes are used (default: the first)")
    p.add_argument("--clinvar", help="local ClinVar VCF (bgzipped, indexed) for significance and review status")
    p.set_defaults(func=_cmd_annotate)

    p = sub.add_parser(
        "pgx",
        help="pharmacogenomics: diplotypes, phenotypes and drug guidance from a VCF",
        description="Call star alleles, phenotypes and CPIC guidance from a VCF "
        "(seq2rx pgx --vcf V --json OUT), or import a newer knowledge-base release (subcommands).",
    )
    p.add_argument("--vcf", help="VCF with genotypes at the definition positions (reference calls included)")
    p.add_argument("--sample", help="sample to call (default: the only one)")
    p.add_argument("--all-samples", action="store_true", help="call every sample; the JSON holds a list")
    p.add_argument("--outside-calls", help="TSV of GENE<TAB>DIPLOTYPE calls made elsewhere (CYP2D6, HLA-A, HLA-B)")
    p.add_argument("--min-depth", type=int, default=0, help="FORMAT/DP below this makes a position missing")
    p.add_argument("--json", help="write the result here")
    p.add_argument("--tsv", help="also write one row per gene here")
    p.add_argument("--drugs-tsv", help="also write one row per recommendation here (needs --tsv)")
    p.add_argument("--kb", default=str(data_path("kb", "pgx")), help="knowledge-base folder")
    p.set_defaults(func=_cmd_pgx_call)
    pgx_sub = p.add_subparsers(dest="pgx_command", required=False)
    q = pgx_sub.add_parser("import-definitions", help="import published allele definitions (*_translation.json)")
    q.add_argument("--from", required=True, help="folder of *_translation.json files")
    q.add_argument("--genes", nargs="+", help="only these genes (default: every file)")
    q.add_argument("--out", default="resources/kb/pgx")
    q.set_defaults(func=_cmd_pgx_import)
    q = pgx_sub.add_parser("import-phenotypes", help="import published allele-function / phenotype files (GENE.json)")
    q.add_argument("--from", required=True, help="folder of per-gene phenotype JSON files")
    q.add_argument("--genes", nargs="+", help="only these genes (default: every file)")
    q.add_argument("--out", default="resources/kb/pgx")
    q.set_defaults(func=_cmd_pgx_phenotypes)

    p = sub.add_parser(
        "actionable",
        help="actionable tumour biomarkers with AMP/ASCO/CAP tiers from a somatic VCF",
        description="Match a tumour's somatic variants to the actionability knowledge base and tier them for "
        "the tumour type. Works on an unannotated VCF by coordinates; --consequences adds protein, codon, "
        "exon and truncating matches and TMB.",
    )
    p.add_argument("--vcf", required=True, help="somatic VCF (Mutect2/Strelka/PCGR-style or seq2rx's)")
    p.add_argument("--build", required=True, choices=["GRCh38", "GRCh37"])
    p.add_argument("--tumor-type", required=True, help="OncoTree code, e.g. LUAD, COAD, BRCA")
    p.add_argument("--out", required=True, help="tiered table (TSV)")
    p.add_argument("--json", help="also write the whole result as JSON here")
    p.add_argument("--sample", help="tumour sample column (default: the first)")
    p.add_argument("--consequences", help="seq2rx consequence table of the same VCF (seq2rx annotate)")
    p.add_argument("--callable-mb", type=float, help="callable megabases, for TMB (with --consequences)")
    p.add_argument("--kb", default=str(data_path("kb", "actionability")))
    p.set_defaults(func=_cmd_actionable)

    p = sub.add_parser(
        "ml",
        help="treatment-response models on a cohort table",
        description="Prediction models for a cohort table (one row per patient).",
    )
    ml_sub = p.add_subparsers(dest="ml_command", required=True)
    q = ml_sub.add_parser(
        "cv",
        help="nested cross-validated metrics with bootstrap intervals (and a treatment's effect)",
        description="Nested cross-validation of a penalised or forest model on every column but the outcome: "
        "ROC-AUC, PR-AUC, Brier score and calibration for a 0/1 outcome; C-index and time-dependent AUC for "
        "survival; each with a bootstrap 95%% interval. With --treatment, also the adjusted odds or hazard "
        "ratio and the distribution of per-patient predicted benefit.",
    )
    q.add_argument("--table", required=True, help="CSV (.csv) or TSV (.tsv) table, one row per patient")
    q.add_argument("--outcome", help="0/1 response column (1 = response)")
    q.add_argument("--time", help="time to event or censoring (with --event)")
    q.add_argument("--event", help="0/1 event column: 1 = event at --time, 0 = censored")
    q.add_argument("--treatment", help="two-valued treatment column (also a feature)")
    q.add_argument("--model", default="penalised", choices=["penalised", "forest"])
    q.add_argument("--folds", type=_at_least(2), default=5, help="outer folds (default 5)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--exclude", nargs="+", default=[], metavar="COL", help="columns that are not features (IDs)")
    q.add_argument("--bootstrap", type=_at_least(200), default=1000, help="bootstrap replicates (default 1000)")
    q.add_argument("--json", required=True, help="write the result here")
    q.set_defaults(func=_cmd_ml_cv)

    p = sub.add_parser(
        "cohort",
        help="query the cohort database, or write a de-identified copy of it",
        description="SQL over results/cohort.duckdb (read-only, parameters bound, never pasted into the SQL), "
        "and a de-identified export for collaborators.",
    )
    cohort_sub = p.add_subparsers(dest="cohort_command", required=True)
    q = cohort_sub.add_parser("query", help="run one SELECT and print the result as TSV")
    q.add_argument("sql", help="one SELECT statement; use $name for values given with --param")
    q.add_argument("--db", default="results/cohort.duckdb")
    q.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="bind $NAME to VALUE (integers and decimals become numbers); repeatable",
    )  # fmt: skip
    q.set_defaults(func=_cmd_cohort_query)
    q = cohort_sub.add_parser(
        "export",
        help="de-identified copy: keyed-hash pseudonyms, shifted dates, free text dropped",
        description="Write a copy of the database for sharing: patient and sample IDs replaced by HMAC-SHA256 "
        "pseudonyms under a local key, dates shifted per patient by an offset derived from the key, ages above 89 "
        "recorded as 90, free-text columns dropped. The key file is created (mode 600) when missing and never "
        "written into the export.",
    )
    q.add_argument("--db", default="results/cohort.duckdb")
    q.add_argument("--out", required=True, help="new folder for the export")
    q.add_argument("--key-file", required=True, help="local key file (created if missing); keep it out of --out")
    q.set_defaults(func=_cmd_cohort_export)

    p = sub.add_parser("verify", help="check results/ against its provenance record (edited, removed, added files)")
    p.add_argument("results", nargs="?", default="results")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("validate", help="check a configuration and its sample sheet")
    p.add_argument("--configfile", default="config/config.yaml")
    p.add_argument("--schemas", default=str(data_path("schemas")))
    p.set_defaults(func=_cmd_validate)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"seq2rx: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
