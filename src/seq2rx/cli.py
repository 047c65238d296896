"""The ``seq2rx`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from seq2rx import __version__
from seq2rx.core.data import data_path
from seq2rx.core.errors import InputError, OutputError, ToolError, file_problem, output_error


def _cmd_demo(args: argparse.Namespace) -> int:
    from seq2rx.sim import simulate

    summary = simulate(args.spec, args.sites, args.outdir, seed=args.seed)
    for sample, counts in summary["samples"].items():
        print(f"{sample}\t{counts['pairs']} read pairs\t{counts['duplicates']} duplicates")
    print(f"demo data written to {args.outdir}/")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    import time

    from seq2rx.reads.index import build_reusable_index

    start = time.monotonic()
    path, built = build_reusable_index(args.fasta, args.aligner, args.prefix, force=args.force)
    if built:
        print(f"{args.aligner} index of {args.fasta} written at {path} ({time.monotonic() - start:.0f} s)")
    else:
        print(f"an index of {args.fasta} is already at {path} and its contigs match: nothing built (--force rebuilds)")
    if args.prefix:
        print(f"runs use it with align.index: {path} (and align.aligner: {args.aligner})")
    else:
        print(f"runs find it beside the FASTA (align.aligner: {args.aligner}, align.index empty)")
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
    table = format_table(result)
    print(table)
    if args.tsv:  # the SNV/indel rows; the genotype-concordance line is in the JSON
        with atomic_output(args.tsv) as tmp:
            Path(tmp).write_text("\n".join(table.splitlines()[:3]) + "\n")
    if args.json:
        with atomic_output(args.json) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 0


def _cmd_annotate(args: argparse.Namespace) -> int:
    from seq2rx.variants.annotate import annotate

    n = annotate(
        args.vcf, args.fasta, args.gff3, args.tsv, out_vcf=args.out_vcf, sample=args.sample, clinvar_vcf=args.clinvar
    )
    print(f"{n} consequence rows written to {args.tsv}")
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
    positions, alleles = write_kb(defs, args.outdir)
    if (folder / "exemptions.json").exists():
        tier1 = import_tier1(folder / "exemptions.json", {d.gene for d in defs}, defs[0].date)
        source = "AMP tier-1 alleles (exemptions.json) via PharmCAT " + defs[0].source.rsplit(" ", 1)[-1]
        print(f"AMP tier-1 alleles of {len(tier1)} genes to {write_tier1(tier1, args.outdir, source, defs[0].date)}")
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
    write_kb(genes, args.outdir)
    print(
        f"{len(genes)} genes: {sum(len(g.functions) for g in genes)} allele functions, "
        f"{sum(len(g.rules) for g in genes)} phenotype rules written to {args.outdir}"
    )
    return 0


def _cmd_pgx_recommendations(args: argparse.Namespace) -> int:
    from seq2rx.pgx.cpic import compare, draft_rows, read_records, release_month, summary_line, write_outputs
    from seq2rx.pgx.pipeline import PgxKnowledge

    source = getattr(args, "from")
    date = release_month(args.date) if args.date is not None else ""
    kind, records = read_records(source)
    if not records:
        raise InputError(source, "holds no CPIC recommendation records")
    kb = PgxKnowledge.load(args.kb)
    comparison = compare(kind, records, kb.guidance, kb.known_genes)
    drafts = draft_rows(records, comparison, date=date)
    paths = write_outputs(comparison, drafts, args.outdir)
    print(summary_line(kind, comparison, drafts, paths["drafts"]))
    return 0


def _cmd_pgx_call(args: argparse.Namespace) -> int:
    from seq2rx.pgx.pipeline import PgxKnowledge, ResultsWriter, call_cohort, read_outside_calls
    from seq2rx.pgx.vcf import read_cohort

    if not args.vcf or not args.json:
        raise InputError(
            "seq2rx pgx", "needs --vcf and --json (or a subcommand: import-definitions, import-phenotypes)"
        )
    if args.build != "GRCh38":
        raise InputError(
            "seq2rx pgx",
            f"--build {args.build}: the PGx knowledge base holds GRCh38 positions only",
            hint="lift the VCF over to GRCh38 first, e.g. with bcftools +liftover",
        )
    kb = PgxKnowledge.load(args.kb)
    filters = args.filters or ["PASS"]
    # the VCF is read once, compactly; each sample's result is then made, written and dropped
    cohort = read_cohort(args.vcf, kb.definitions, [args.sample] if args.sample else None, args.min_depth,
                         filters=filters, absent_as_reference=args.absent_as_reference)  # fmt: skip
    if len(cohort) > 1 and not args.all_samples:
        raise InputError(args.vcf, f"has {len(cohort)} samples; choose one with --sample, or pass --all-samples")
    outside = read_outside_calls(args.outside_calls, kb) if args.outside_calls else None
    tables = {"genes_tsv": args.tsv, "drugs_tsv": args.drugs_tsv if args.tsv else None}
    with ResultsWriter(args.json, single=len(cohort) == 1, **tables) as out:
        for doc in call_cohort(kb, cohort, outside, filters=filters):
            out.add(doc)
            for gene, r in doc["genes"].items():
                print(f"{doc['sample']}\t{gene}\t{'|'.join(r['diplotypes']) or r['status']}\t{r['phenotype'] or '.'}")
    return 0


#: the MSI statuses --msi-status takes (actionability.MSI_STATUSES; not imported: the command line starts fast)
MSI_STATUSES = ("MSI-H", "MSS")


def _msi_status(text: str) -> str:
    """``--msi-status`` in any case (``msi-h`` is MSI-H); MSI-L and anything else is refused."""
    status = text.strip().upper()
    if status in MSI_STATUSES:
        return status
    if status == "MSI-L":
        hint = ("MSI-L is not a separate class in current guidelines: it is reported and treated as MSS, so "
                "give --msi-status MSS (and the caller's score with --msi-score)")  # fmt: skip
    else:
        hint = "give the MSI caller's call: MSI-H (unstable) or MSS (stable)"
    raise InputError("--msi-status", f"{text!r} is not one of {', '.join(MSI_STATUSES)}", hint=hint)


def _cmd_actionable(args: argparse.Namespace) -> int:
    from seq2rx import actionability as actionability
    from seq2rx.tumour import CopyNumberThresholds

    msi = None
    if args.msi_status is not None:
        msi = {"status": _msi_status(args.msi_status), "score": args.msi_score, "method": args.msi_method}
    elif args.msi_score is not None:
        raise InputError("--msi-score", "needs --msi-status (MSI-H or MSS): the status is the method's call")
    if args.cna_amp_copies <= 2:
        raise InputError("--cna-amp-copies", f"{args.cna_amp_copies} is not above 2",
                         hint="an amplification is a gain over the 2 copies of a diploid genome; PCGR's default is 6")  # fmt: skip
    if not 0 < args.cna_min_overlap <= 1:
        raise InputError("--cna-min-overlap", f"{args.cna_min_overlap:g} is not a fraction in (0, 1]",
                         hint="the share of a gene one segment must cover: 0.5 for PCGR's --cna_overlap_pct 50")  # fmt: skip
    thresholds = CopyNumberThresholds(
        amplification_min_copies=args.cna_amp_copies, min_gene_overlap=args.cna_min_overlap
    )
    kb = actionability.load(args.kb)
    doc = actionability.run(
        kb,
        args.vcf,
        args.sample,
        args.tumor_type,
        args.build,
        consequences=args.consequences,
        callable_bases=int(args.callable_mb * 1e6) if args.callable_mb else None,
        cna=args.cna,
        fusions=args.fusions,
        msi=msi,
        cna_thresholds=thresholds,
    )
    actionability.write_table(doc["rows"], doc["sample"] or Path(args.vcf).name, args.tsv)
    if args.json:
        actionability.write_json(doc, args.json)
    for r in doc["rows"]:
        if r["tier"] != "III":
            by = "; ".join(f"{o['rule']} {o['gene']} {o['alteration']}" for o in r["overridden_by"])
            print(f"{r['tier']}\t{r['gene']}\t{r['alteration']}\t{r['therapies']}\t{r['response']}\t{r['role']}"
                  + (f"\toverridden by {by}" if by else ""))  # fmt: skip
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
    from seq2rx.tumour.settings import check_sheet_files, check_tumour_config

    cfg = validate_config(load_yaml(args.configfile), load_yaml(schemas / "config.schema.yaml"), args.configfile)
    check_tumour_config(cfg, args.configfile)
    check_reference(cfg, args.configfile)
    codes = oncotree_codes(data_path("kb", "actionability", "oncotree.tsv"))
    rows = read_sample_sheet(cfg["samples"], load_yaml(schemas / "samples.schema.yaml"), tumor_types=codes)
    check_sheet_files(rows, cfg["reference"]["build"])
    # as the workflow does before any job: the clinical table and the cohort definitions' names
    from seq2rx.inputs.clinical import read_clinical
    from seq2rx.inputs.config import check_cohort_names

    if cfg["clinical"]:
        read_clinical(cfg["clinical"], patients={row["patient"] for row in rows})
    omop = cfg["clinical_omop"]
    if omop["path"]:  # the CDM opens, its link column holds patient IDs, the concept table reads
        from seq2rx.ehr import check_cdm, derive_clinical, open_cdm, read_concepts

        check_cdm(omop["path"], where="clinical_omop.path")
        concepts = read_concepts(omop["concepts"] or None)
        with open_cdm(omop["path"]) as cdm:
            derive_clinical(cdm, link=omop["link"], index_date=omop["index_date"], concepts=concepts)
        if cfg["cohorts"]["omop_definitions"]:  # the OMOP cohort definitions the cohort database runs
            from seq2rx.ehr import read_definitions

            read_definitions(cfg["cohorts"]["omop_definitions"])
    notes = cfg["clinical_notes"]
    if notes["path"]:  # the notes read, and the term and target lists they are read with
        from seq2rx.notes import check_notes_config, load_context_terms, load_targets, read_notes

        check_notes_config(cfg, args.configfile)
        read_notes(notes["path"], link=cfg["clinical_omop"]["link"])
        load_context_terms(notes["terms"] or None)
        load_targets(notes["targets"] or None)
    check_cohort_names(cfg, args.configfile)
    from seq2rx.variants.inputs import check_sheet_vcfs

    check_sheet_vcfs(rows, cfg["samples"])
    print(f"{args.configfile}: valid; {len(rows)} samples in {cfg['samples']}")
    return 0


def _cmd_ehr_clinical(args: argparse.Namespace) -> int:
    from seq2rx.ehr import clinical_from_cdm, write_clinical, write_sources

    table, report = clinical_from_cdm(
        args.cdm, clinical=args.clinical, link=args.link, index_date=args.index_date, concepts=args.concepts
    )
    if args.notes:  # the workflow's notes_extract + fill, in one step
        from seq2rx.ehr import fill_from_notes
        from seq2rx.notes import extract_notes, read_notes

        items = extract_notes(read_notes(args.notes, link=args.link))["items"]
        table, report = fill_from_notes(table, report, items)
    write_clinical(table, args.tsv)
    if args.json:
        write_sources(report, args.json)
    for note in report["cdm_notes"]:
        print(f"note: {note}")
    dated = int((table["diagnosis_date"] != "NA").sum())
    print(f"{len(table)} patients written to {args.tsv} ({dated} with an index date)")
    if args.notes:
        print(f"{report['filled_from_notes']} field(s) filled from the notes of {args.notes} (source: note)")
    if len(table) and not dated and args.index_date == "first_diagnosis":
        print("note: no person has a condition of a 'diagnosis' concept (or its descendants), so every dated field "
              "is NA: name the CDM's index condition in a --concepts table (role 'diagnosis'), or use "
              "--index-date observation_start or observation_end")  # fmt: skip
    if args.clinical:
        print(f"{len(report['differences'])} field(s) where {args.clinical} and the CDM differ (the TSV's value kept)")
    return 0


def _cmd_fhir(args: argparse.Namespace) -> int:
    from seq2rx.fhir import count_resources, load_tables, write_bundle

    bundle = write_bundle(args.findings, args.json, tables=load_tables(args.kb))
    counts = ", ".join(f"{n} {kind}" for kind, n in count_resources(bundle).items())
    print(f"FHIR R4 bundle (Genomics Reporting IG) written to {args.json}: {counts}")
    return 0


def _cmd_cohort_query(args: argparse.Namespace) -> int:
    from seq2rx.cohort.sql import parse_param, run_query, to_tsv

    values = dict(parse_param(p) for p in args.param)
    columns, rows = run_query(args.db, args.sql, values, source="seq2rx cohort query")
    if args.tsv:
        from seq2rx.core.io import atomic_output

        with atomic_output(args.tsv) as tmp:
            Path(tmp).write_text(to_tsv(columns, rows))
        print(f"{len(rows)} rows written to {args.tsv}")
    else:
        sys.stdout.write(to_tsv(columns, rows))
    return 0


def _cmd_cohort_export(args: argparse.Namespace) -> int:
    from seq2rx.cohort.privacy import export

    result = export(args.db, args.outdir, args.key_file)
    made = "created" if result["key_created"] else "used"
    print(
        f"de-identified copy written to {args.outdir}/ ({sum(result['rows'].values())} rows in {len(result['rows'])} tables)"
    )
    if result["dropped"]:
        print(f"dropped free-text columns: {', '.join(result['dropped'])}")
    print(f"pseudonym key {made}: {result['key_file']} (keep it local and private; it is not in the export)")
    return 0


# --- EHR: cohorts on an OMOP CDM (seq2rx ehr cohort, seq2rx ehr table1) ---


def _cmd_ehr_cohort(args: argparse.Namespace) -> int:
    from seq2rx.core.io import write_json
    from seq2rx.ehr.circe import run_cohort

    result = run_cohort(args.cdm, args.definition, schema=args.schema, members=args.members)
    write_json(result, args.json)
    print(f"{result['definition']} ({result['kind']}): {result['persons']} persons, {result['entries']} entries "
          f"-> {args.json}")  # fmt: skip
    return 0


def _cmd_ehr_table1(args: argparse.Namespace) -> int:
    from seq2rx.core.io import atomic_output, write_json
    from seq2rx.ehr.table1 import table1, table1_tsv

    result = table1(args.cdm, args.target, args.comparator, top=args.top, min_count=args.min_count,
                    schema=args.schema)  # fmt: skip
    if args.tsv:
        with atomic_output(args.tsv) as tmp:
            Path(tmp).write_text(table1_tsv(result), encoding="utf-8")
    write_json(result, args.json)
    sizes = " vs ".join(str(result["cohorts"][arm]["persons"]) for arm in ("target", "comparator"))
    print(f"Table 1 of {result['cohorts']['target']['definition']} vs {result['cohorts']['comparator']['definition']}"
          f" ({sizes} persons, {len(result['rows'])} rows) -> {args.json}")  # fmt: skip
    return 0


def _cmd_ehr_km(args: argparse.Namespace) -> int:
    from seq2rx.core.io import atomic_output, write_json
    from seq2rx.ehr.table1 import survival, survival_svg

    result = survival(args.cdm, args.definition, args.outcome, min_count=args.min_count, schema=args.schema)
    if args.svg:
        title = f"{result['outcome']['definition']} after the start of {result['cohort']['definition']}"
        svg = survival_svg(result, title)
        with atomic_output(args.svg) as tmp:
            Path(tmp).write_text(svg, encoding="utf-8")
    write_json(result, args.json)
    print(f"Kaplan-Meier: {result['persons']} persons, {result['events']} events -> {args.json}")
    return 0


def _cdm_argument(q) -> None:
    q.add_argument("--cdm", required=True, metavar="PATH",
                   help="OMOP CDM v5.3/5.4: a DuckDB file (read-only) or a folder of CDM CSV files")  # fmt: skip


def _cdm_options(q, *, sharing: bool) -> None:
    """--schema, and --min-count for the outputs meant for sharing (Table 1, Kaplan-Meier)."""
    if sharing:
        q.add_argument("--min-count", type=int, default=5, help="counts below this are shown as <N (default: 5)")
    q.add_argument("--schema", default="main", help="schema of the CDM tables in the file (default: main)")


def _add_ehr_commands(sub) -> None:
    p = sub.add_parser(
        "ehr",
        help="EHR data in: the clinical table from an OMOP CDM, and cohorts on it (Circe JSON or one SELECT)",
        description="Read an OMOP CDM v5.3/5.4 (a DuckDB file, opened read-only, or a folder of CDM CSV files): "
        "derive the clinical table, or run cohort definitions the OHDSI way.",
    )
    ehr_sub = p.add_subparsers(dest="ehr_command", required=True, metavar="SUBCOMMAND")
    q = ehr_sub.add_parser(
        "clinical",
        help="derive the clinical table (config/clinical.tsv's columns) from an OMOP CDM",
        description="Derive age at the index date, sex, stage, ECOG, eGFR, current medications (RxNorm "
        "ingredients), follow-up and death for every person of an OMOP CDM, by the rules of docs/data-model.md; "
        "concepts are matched with their descendants (concept_ancestor). With --clinical, a clinical TSV's values "
        "win per field and the CDM fills its gaps; --json says where each value came from and lists differences.",
    )
    q.add_argument("--cdm", required=True, metavar="PATH", help="OMOP CDM: a .duckdb file or a folder of <table>.csv")
    q.add_argument("--link", default="person_source_value", choices=["person_source_value", "person_id"],
                   help="person column holding the sample sheet's patient ID (default: person_source_value)")  # fmt: skip
    q.add_argument("--index-date", default="first_diagnosis", choices=["first_diagnosis", "observation_start", "observation_end"],
                   help="the index date (diagnosis_date): first condition of a 'diagnosis' concept (default), or the "
                   "first or last day observed")  # fmt: skip
    q.add_argument("--concepts", metavar="TSV", help="concept table (default: the shipped kb/omop/concepts.tsv)")
    q.add_argument("--clinical", metavar="TSV", help="a clinical table whose values win over the CDM's, field by field")
    q.add_argument("--notes", metavar="PATH", help="clinical notes (a TSV, or the CDM itself for its note table): "
                   "ECOG and smoking found in them fill the table's empty cells (source: note)")  # fmt: skip
    q.add_argument("--tsv", required=True, metavar="FILE", help="write the clinical table here")
    q.add_argument("--json", metavar="FILE", help="also write each value's source and the TSV/CDM differences here")
    q.set_defaults(func=_cmd_ehr_clinical)
    q = ehr_sub.add_parser(
        "cohort",
        help="run one cohort definition (Circe JSON or SQL) and write its persons and entries",
        description="A .json definition is a Circe cohort expression (an ATLAS export), turned into SQL by "
        "ohdsi-circepy, rendered and translated to DuckDB; a .sql definition is one SELECT of subject_id, "
        "cohort_start_date, cohort_end_date over the CDM tables. The CDM file is never written to.",
    )
    _cdm_argument(q)
    q.add_argument("--definition", required=True, metavar="FILE", help="Circe JSON (.json) or one SELECT (.sql)")
    q.add_argument("--json", required=True, metavar="FILE", help="write {persons, entries, ...} here")
    _cdm_options(q, sharing=False)
    q.add_argument("--members", action="store_true", help="also list the entries (subject, start, end)")
    q.set_defaults(func=_cmd_ehr_cohort)
    q = ehr_sub.add_parser(
        "table1",
        help="characterise two cohorts: demographics, top conditions and drugs, standardized differences",
        description="Table 1 of a target and a comparator cohort (Circe JSON or SQL definitions), persons at their "
        "first cohort start: age (mean, SD, 10-year bands), sex, the top conditions and drug ingredients of the 365 "
        "days up to index, each as count and percent with the standardized mean difference (OHDSI's convention). "
        "Counts below --min-count are suppressed (docs/cohorts-omop.md).",
    )
    _cdm_argument(q)
    q.add_argument(
        "--target", required=True, metavar="FILE", help="target cohort: Circe JSON (.json) or one SELECT (.sql)"
    )
    q.add_argument("--comparator", required=True, metavar="FILE", help="comparator cohort: Circe JSON or one SELECT")
    q.add_argument("--json", required=True, metavar="FILE", help="write Table 1 (rows, cohorts, conventions) here")
    q.add_argument("--tsv", metavar="FILE", help="also write Table 1 as TSV here")
    q.add_argument("--top", type=int, default=10, help="conditions and drug ingredients listed (default: 10)")
    _cdm_options(q, sharing=True)
    q.set_defaults(func=_cmd_ehr_table1)
    q = ehr_sub.add_parser(
        "km",
        help="Kaplan-Meier from OMOP dates: days from cohort start to an outcome cohort or death",
        description="Days from each person's first cohort start to their first outcome on or after it (the start of "
        "the outcome cohort's first entry, or death_date with --outcome death), censored at the end of the "
        "observation period holding the index. Persons with the outcome before index are left out. Counts below "
        "--min-count are suppressed and the curve stops where fewer remain at risk.",
    )
    _cdm_argument(q)
    q.add_argument(
        "--definition", required=True, metavar="FILE", help="the cohort: Circe JSON (.json) or one SELECT (.sql)"
    )
    q.add_argument("--outcome", required=True, metavar="FILE|death", help="outcome cohort definition, or 'death'")
    q.add_argument(
        "--json", required=True, metavar="FILE", help="write persons, events, survival at set days and the curve"
    )
    q.add_argument("--svg", metavar="FILE", help="also draw the curve here")
    _cdm_options(q, sharing=True)
    q.set_defaults(func=_cmd_ehr_km)


# --- the CDS Hooks service (seq2rx cds index, seq2rx serve) ---


def _cmd_cds_index(args: argparse.Namespace) -> int:
    from seq2rx.cds import build_index

    results = Path(args.results)
    files = sorted((results / "findings").glob("*.json"))
    if not files:
        raise InputError(str(results / "findings"), "holds no findings documents (*.json)",
                         hint="run the workflow first, or point --results at a run's results folder")  # fmt: skip
    out = Path(args.sqlite) if args.sqlite else results / "cds" / "index.sqlite"
    codes = args.drug_codes
    if codes is None:
        shipped = data_path("kb", "pgx", "drug_codes.tsv")
        codes = str(shipped) if shipped.is_file() else None
    counts = build_index(files, out, drug_codes=codes or None)
    print(f"{counts['patients']} patients, {counts['cards']} card-making recommendations, "
          f"{counts['drugs']} drugs ({counts['coded']} with an RxNorm code) indexed in {out}")  # fmt: skip
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from seq2rx.cds.app import serve

    serve(args.results, host=args.host, port=args.port, jwks=args.jwks, issuer=args.issuer,
          public_url=args.public_url, max_body=args.max_body, cors_origin=args.cors_origin, index_path=args.index)  # fmt: skip
    return 0


def _add_cds_commands(sub) -> None:
    p = sub.add_parser(
        "cds",
        help="the CDS Hooks service's patient index (seq2rx cds index)",
        description="Build the read-only index the CDS Hooks service answers from (seq2rx serve).",
    )
    cds_sub = p.add_subparsers(dest="cds_command", required=True, metavar="SUBCOMMAND")
    q = cds_sub.add_parser("index", help="index a run's findings documents for the CDS Hooks service")
    q.add_argument("--results", default="results", metavar="DIR", help="results folder of a run (default: results)")
    q.add_argument("--sqlite", metavar="FILE", help="index to write (default: RESULTS/cds/index.sqlite)")
    q.add_argument(
        "--drug-codes",
        metavar="TSV",
        help="drug names and RxNorm ingredient codes (columns drug, rxnorm, source, date; default: the shipped "
        "knowledge base's drug_codes.tsv, when there is one; '' for none)",
    )
    q.set_defaults(func=_cmd_cds_index)

    p = sub.add_parser(
        "serve",
        help="run the CDS Hooks service (order-select, order-sign) over a run's PGx findings",
        description="Serve CDS Hooks discovery at /cds-services and the order-select and order-sign services, "
        "from RESULTS/cds/index.sqlite (seq2rx cds index). Every call needs a Bearer JWT signed by the CDS "
        "client (RS384 or ES384) with a key of --jwks, iss = --issuer, aud = the URL called, exp at most 5 "
        "minutes ahead and a jti never used before. Plain HTTP is served on a loopback address only: put a TLS "
        "terminator in front and give --public-url https://... . Logs say method, path, status and latency, and "
        "why a token was refused; never a patient id, a body or a token.",
    )
    p.add_argument("--results", default="results", metavar="DIR", help="results folder of a run (default: results)")
    p.add_argument("--index", metavar="FILE", help="index to serve (default: RESULTS/cds/index.sqlite)")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to listen on (default: 127.0.0.1); another address needs an https "
                   "--public-url")  # fmt: skip
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    p.add_argument("--jwks", required=True, metavar="FILE", help="the CDS client's public JWK Set (JSON)")
    p.add_argument("--issuer", required=True, metavar="ISS", help="the iss the client signs its JWTs with")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="base URL clients call when it is not http://HOST:PORT (behind a proxy or TLS terminator); the "
        "tokens' aud is checked against it",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=1 << 20,
        metavar="BYTES",
        help="largest request body, at most 64 MiB (default: 1048576)",
    )
    p.add_argument("--cors-origin", metavar="ORIGIN",
                   help="allow this one browser origin, https://host[:port] (default: CORS off)")  # fmt: skip
    p.set_defaults(func=_cmd_serve)


# --- clinical notes (seq2rx notes extract, seq2rx notes assert) ---


def _cmd_notes_extract(args: argparse.Namespace) -> int:
    from seq2rx.core.io import write_json
    from seq2rx.notes import extract_notes, read_notes

    notes = read_notes(args.notes, link=args.link)
    doc = extract_notes(notes, targets=args.targets, terms=args.terms)
    write_json(doc, args.json)
    print(f"{len(doc['items'])} items from {doc['notes']} notes of {doc['patients']} patients written to {args.json}")
    if notes.unlinked:
        print(f"{notes.unlinked} notes of {notes.unlinked_persons} persons without a person_source_value left out "
              "(--link person_id links them by person_id)")  # fmt: skip
    return 0


def _cmd_notes_assert(args: argparse.Namespace) -> int:
    from seq2rx.notes import assert_file

    counts = assert_file(args.input, args.tsv, terms=args.terms)
    print(f"{counts['Negated']} negated, {counts['Affirmed']} affirmed: written to {args.tsv}")
    return 0


def _add_notes_commands(sub) -> None:
    p = sub.add_parser(
        "notes",
        help="clinical notes: concepts with ConText assertions (seq2rx notes extract, seq2rx notes assert)",
        description="Read clinical notes with ConText's categories on negspaCy's NegEx (rule-based; no model is "
        "downloaded).",
    )
    notes_sub = p.add_subparsers(dest="notes_command", required=True, metavar="SUBCOMMAND")
    terms_help = "ConText trigger terms (TSV; default: the shipped kb/nlp/context_terms.tsv)"
    q = notes_sub.add_parser(
        "extract",
        help="find ECOG, smoking, therapies, adverse drug reactions and cancers (family history) in notes",
        description="Find the target list's concepts in clinical notes and assert each with ConText's categories "
        "(negated, family, hypothetical, historical, possible, affirmed). Writes note id, patient, date, character "
        "span, concept and value per item; never the note's text.",
    )
    q.add_argument("--notes", required=True, metavar="PATH",
                   help="notes: a TSV (patient, date, text; note_id optional), an OMOP CDM DuckDB file (note table) "
                   "or a folder of OMOP CDM CSV files (note.csv, person.csv for the patient IDs)")  # fmt: skip
    q.add_argument("--json", required=True, metavar="FILE", help="extracted items (JSON)")
    q.add_argument("--link", choices=("person_source_value", "person_id"), default="person_source_value",
                   help="a CDM note's patient: its person's person_source_value (default; persons without one are "
                   "left out and counted) or its person_id; a TSV ignores it")  # fmt: skip
    q.add_argument("--targets", metavar="TSV", help="target list (default: the shipped kb/nlp/targets.tsv)")
    q.add_argument("--terms", metavar="TSV", help=terms_help)
    q.set_defaults(func=_cmd_notes_extract)
    q = notes_sub.add_parser(
        "assert",
        help="NegEx's annotation format: add a Negation column (Affirmed or Negated) to each row",
        description="Read NegEx's annotation format (columns Report No., Concept, Sentence) and write the same "
        "rows with a Negation column, Affirmed or Negated; an input Negation column is replaced, never read.",
    )
    q.add_argument("--in", dest="input", required=True, metavar="FILE", help="annotation file (TSV)")
    # --out is the spelling issue 20 gives; the convention names a TSV output --tsv (tests/unit/test_cli.py)
    q.add_argument("--tsv", "--out", dest="tsv", required=True, metavar="FILE",
                   help="the rows with their Negation column (TSV); --out is the same option")  # fmt: skip
    q.add_argument("--terms", metavar="TSV", help=terms_help)
    q.set_defaults(func=_cmd_notes_assert)


#: genome builds a command that matches coordinates against a shipped knowledge base accepts
BUILDS = ("GRCh38", "GRCh37")
#: the release in which the deprecated option spellings go away
ALIASES_REMOVED_IN = "0.2"


class _Renamed(argparse.Action):
    """``store``, under the convention's name and the old spellings, which still work for one release.

    An old spelling prints one line to stderr naming the new one; the help lists it as deprecated.
    """

    def __init__(self, option_strings, dest, old: tuple[str, ...] = (), **kwargs):
        self.old = tuple(old)
        if self.old:
            kwargs["help"] = (
                f"{kwargs.get('help', '')} [deprecated spelling: {', '.join(self.old)}; "
                f"removed in seq2rx {ALIASES_REMOVED_IN}]"
            )
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string in self.old:
            print(
                f"seq2rx: note: {option_string} is deprecated, use {self.option_strings[0]} "
                f"(removed in seq2rx {ALIASES_REMOVED_IN})",
                file=sys.stderr,
            )
        setattr(namespace, self.dest, values)


def _renamed(p: argparse.ArgumentParser, new: str, *old: str, **kwargs) -> argparse.Action:
    """Add option ``new``, also accepted as the deprecated spellings ``old``."""
    return p.add_argument(new, *old, action=_Renamed, old=old, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole ``seq2rx`` command line (every command, subcommand and option, each with help)."""
    parser = argparse.ArgumentParser(
        prog="seq2rx",
        description="From sequencing reads to treatment insight.",
        epilog="Output options are named for what they write: --tsv FILE a command's main table, --json FILE "
        "its whole result, --outdir DIR a folder of outputs. --build {GRCh38,GRCh37} is taken by the commands "
        "that match coordinates against a shipped knowledge base (pgx, actionable).",
    )
    parser.add_argument("--version", action="version", version=f"seq2rx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="simulate the demo data set (genome, reads, truth VCFs)")
    p.add_argument("--outdir", default="demo", metavar="DIR", help="folder to write the data set to (default: demo)")
    p.add_argument("--seed", type=int, default=None, help="override the seed in the spec")
    p.add_argument(
        "--spec",
        default=str(data_path("demo", "demo.yaml")),
        metavar="YAML",
        help="data-set specification (default: the demo's, shipped with seq2rx)",
    )
    p.add_argument(
        "--sites",
        default=str(data_path("kb", "pgx", "positions.tsv")),
        metavar="TSV",
        help="PGx positions to plant variants at (default: the shipped knowledge base's positions.tsv)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "index", help="build an aligner index of a reference once, for many runs (beside the FASTA by default)"
    )
    p.add_argument("--fasta", required=True, help="reference FASTA (plain or bgzipped, with a .fai)")
    p.add_argument("--aligner", choices=["bwa", "minimap2"], default="bwa", help="aligner to index for (default: bwa)")
    p.add_argument(
        "--prefix",
        metavar="P",
        help="where to write it: BWA's P.amb ... P.sa, or minimap2's P (.mmi added) (default: beside the FASTA, "
        "where runs find it; elsewhere, set align.index: P)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even when a matching index is already there")
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser("compare-vcf", help="SNV/indel precision, recall and F1 of a VCF against a truth VCF")
    p.add_argument("--truth", required=True, metavar="VCF", help="truth VCF (bgzipped or plain)")
    p.add_argument("--query", required=True, metavar="VCF", help="VCF to assess against the truth")
    p.add_argument("--regions", metavar="BED", help="BED of regions to compare in (e.g. confident regions)")
    p.add_argument("--reference", metavar="FASTA", help="FASTA used to left-align indels on both sides")
    p.add_argument("--truth-sample", metavar="NAME", help="truth sample column (default: the first)")
    p.add_argument("--query-sample", metavar="NAME", help="query sample column (default: the first)")
    p.add_argument("--all-filters", action="store_true", help="count query records that did not PASS")
    p.add_argument("--tsv", metavar="FILE", help="also write the SNV/indel table (as printed) here")
    p.add_argument("--json", metavar="FILE", help="also write the whole result as JSON here")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("annotate", help="consequences per variant x transcript (bcftools csq + Biopython)")
    p.add_argument("--vcf", required=True, help="normalised VCF (bgzipped or plain)")
    p.add_argument("--fasta", required=True, help="reference FASTA with .fai (its build is the annotation's)")
    p.add_argument("--gff3", required=True, help="Ensembl-style GFF3 on the same build as --fasta")
    _renamed(p, "--tsv", "--out", required=True, metavar="FILE", help="write the consequence table (TSV) here")
    p.add_argument("--out-vcf", metavar="FILE", help="also keep the csq-annotated VCF here (.vcf.gz)")
    p.add_argument("--sample", help="sample whose genotypes are used (default: the first)")
    p.add_argument(
        "--clinvar", metavar="VCF", help="local ClinVar VCF (bgzipped, indexed) for significance and review status"
    )
    p.set_defaults(func=_cmd_annotate)

    p = sub.add_parser(
        "pgx",
        help="pharmacogenomics: diplotypes, phenotypes and drug guidance from a VCF",
        description="Call star alleles, phenotypes and CPIC guidance from a VCF "
        "(seq2rx pgx --vcf V --json OUT [--tsv GENES]), or import a newer knowledge-base release (subcommands).",
    )
    p.add_argument("--vcf", help="VCF with genotypes at the definition positions (reference calls included)")
    p.add_argument(
        "--build",
        choices=BUILDS,
        default="GRCh38",
        help="genome build of --vcf (default GRCh38); the PGx knowledge base is GRCh38, so GRCh37 is refused",
    )
    p.add_argument("--sample", help="sample to call (default: the only one)")
    p.add_argument(
        "--all-samples",
        action="store_true",
        help="call every sample; the JSON holds a list, written one sample at a time (memory does not grow with the cohort)",
    )
    p.add_argument(
        "--outside-calls", metavar="TSV", help="TSV of GENE<TAB>DIPLOTYPE calls made elsewhere (CYP2D6, HLA-A, HLA-B)"
    )
    p.add_argument("--min-depth", type=int, default=0, help="FORMAT/DP below this makes a position missing")
    p.add_argument(
        "--filters",
        nargs="+",
        metavar="FILTER",
        help="FILTER values a record may carry and still be read (default: PASS; '.' always passes)",
    )
    p.add_argument(
        "--absent-as-reference",
        action="store_true",
        help="take definition positions without a record as reference (a cohort VCF of variant sites only, "
        "e.g. 1000 Genomes); the result says it was used",
    )
    p.add_argument("--json", metavar="FILE", help="write the whole result here (needed with --vcf)")
    p.add_argument("--tsv", metavar="FILE", help="also write the gene table (one row per sample and gene) here")
    p.add_argument("--drugs-tsv", metavar="FILE", help="also write one row per recommendation here (needs --tsv)")
    p.add_argument(
        "--kb",
        default=str(data_path("kb", "pgx")),
        metavar="DIR",
        help="knowledge-base folder (default: the shipped one)",
    )
    p.set_defaults(func=_cmd_pgx_call)
    pgx_sub = p.add_subparsers(dest="pgx_command", required=False, metavar="SUBCOMMAND")
    kb_out = (
        "folder to write the knowledge-base tables to (default: resources/kb/pgx, relative to the working "
        "folder, i.e. a checkout's own; an installed seq2rx never writes into its package: point --kb at "
        "this folder to use the import)"
    )
    q = pgx_sub.add_parser("import-definitions", help="import published allele definitions (*_translation.json)")
    q.add_argument("--from", required=True, metavar="DIR", help="folder of *_translation.json files")
    q.add_argument("--genes", nargs="+", help="only these genes (default: every file)")
    _renamed(q, "--outdir", "--out", default="resources/kb/pgx", metavar="DIR", help=kb_out)
    q.set_defaults(func=_cmd_pgx_import)
    q = pgx_sub.add_parser("import-phenotypes", help="import published allele-function / phenotype files (GENE.json)")
    q.add_argument("--from", required=True, metavar="DIR", help="folder of per-gene phenotype JSON files")
    q.add_argument("--genes", nargs="+", help="only these genes (default: every file)")
    _renamed(q, "--outdir", "--out", default="resources/kb/pgx", metavar="DIR", help=kb_out)
    q.set_defaults(func=_cmd_pgx_phenotypes)
    q = pgx_sub.add_parser(
        "import-recommendations",
        help="compare CPIC's published recommendation records (or a PharmCAT report.json) with the drug "
        "guidance and draft rows for what is missing",
        description="Compare CPIC's published recommendation records (or a PharmCAT report.json) with the "
        "knowledge base's drug guidance: per record, whether a patient with that genotype gets a row, ours and "
        "CPIC's strength, and whether a curator needs to review it (comparison.tsv/.json), with draft rows in "
        "CPIC's words for what is missing (draft_guidance.tsv), to be paraphrased before use.",
    )
    q.add_argument("--from", required=True, metavar="FILE", help="CPIC recommendation JSON or PharmCAT report.json")
    q.add_argument("--kb", default=str(data_path("kb", "pgx")), metavar="DIR",
                   help="knowledge-base folder to compare with (default: the shipped one)")  # fmt: skip
    q.add_argument("--outdir", required=True, metavar="DIR",
                   help="folder for comparison.json, comparison.tsv and draft_guidance.tsv")  # fmt: skip
    q.add_argument("--date", metavar="YYYY-MM", help="release date for the draft rows (default: the records' version)")
    q.set_defaults(func=_cmd_pgx_recommendations)

    p = sub.add_parser(
        "actionable",
        help="actionable tumour biomarkers with AMP/ASCO/CAP tiers from a somatic VCF",
        description="Match a tumour's somatic variants to the actionability knowledge base and tier them for "
        "the tumour type. Works on an unannotated VCF by coordinates; --consequences adds protein, codon, "
        "exon and truncating matches and TMB. --cna, --fusions and --msi-status add copy number, fusions and "
        "MSI from other callers; with any of them the JSON lists each modality as assessed or not, with why. "
        "Resistance is reconciled: each row has a role (therapy or resistance) and, when a resistance marker of "
        "the same tumour makes its regimen fail, overridden (true) and overridden_by (rule, gene, alteration); "
        "the JSON lists the options left and the resistance flags.",
    )
    p.add_argument("--vcf", required=True, help="somatic VCF (Mutect2/Strelka/PCGR-style or seq2rx's)")
    p.add_argument(
        "--build",
        required=True,
        choices=BUILDS,
        help="genome build of --vcf (required: the knowledge base holds both builds' coordinates, and a wrong "
        "guess would silently miss matches)",
    )
    p.add_argument("--tumor-type", required=True, help="OncoTree code, e.g. LUAD, COAD, BRCA")
    _renamed(p, "--tsv", "--out", required=True, metavar="FILE", help="write the tiered table (TSV) here")
    p.add_argument("--json", metavar="FILE", help="also write the whole result as JSON here")
    p.add_argument("--sample", help="tumour sample column (default: the first)")
    p.add_argument(
        "--consequences", metavar="TSV", help="seq2rx consequence table of the same VCF (seq2rx annotate --tsv)"
    )
    p.add_argument("--callable-mb", type=float, help="callable megabases, for TMB (with --consequences)")
    p.add_argument(
        "--cna",
        metavar="TSV",
        help="copy-number segments in PCGR's format (Chromosome Start End nMajor nMinor) on --build; the "
        "knowledge base's genes are called amplified, deleted or neutral and matched to its rules",
    )
    p.add_argument(
        "--cna-amp-copies",
        type=int,
        default=6,
        metavar="N",
        help="total copies at or above which a gene is amplified (default: 6, PCGR's --n_copy_gain)",
    )
    p.add_argument(
        "--cna-min-overlap",
        type=float,
        default=0.5,
        metavar="FRACTION",
        help="share of a gene one segment must cover to call it (default: 0.5, PCGR's --cna_overlap_pct 50)",
    )
    p.add_argument(
        "--fusions",
        metavar="TSV",
        help="gene fusions in PCGR's format (FusionGene as 5'--3', LeftBreakpoint, RightBreakpoint, "
        "SplitReads) on --build, matched to the knowledge base's fusion rules",
    )
    p.add_argument(
        "--msi-status",
        metavar="{MSI-H,MSS}",
        help="the tumour's MSI status from an MSI caller, in any case (MSI-L is refused: give MSS); MSI-H fires "
        "the knowledge base's MSI-H rules",
    )
    p.add_argument("--msi-score", type=float, metavar="SCORE", help="the MSI caller's score (with --msi-status)")
    p.add_argument(
        "--msi-method",
        default="given on the command line",
        metavar="TEXT",
        help="how the MSI status was found, e.g. 'MSIsensor-pro' (with --msi-status; shown in the rows' note)",
    )
    p.add_argument(
        "--kb",
        default=str(data_path("kb", "actionability")),
        metavar="DIR",
        help="actionability knowledge-base folder (default: the shipped one)",
    )
    p.set_defaults(func=_cmd_actionable)

    p = sub.add_parser(
        "ml",
        help="treatment-response models on a cohort table",
        description="Prediction models for a cohort table (one row per patient).",
    )
    ml_sub = p.add_subparsers(dest="ml_command", required=True, metavar="SUBCOMMAND")
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
    q.add_argument(
        "--model",
        default="penalised",
        choices=["penalised", "forest"],
        help="penalised regression (logistic / Cox) or a random (survival) forest (default: penalised)",
    )
    q.add_argument("--folds", type=_at_least(2), default=5, help="outer folds (default 5)")
    q.add_argument("--seed", type=int, default=0, help="seed for folds, model and bootstrap (default 0)")
    q.add_argument("--exclude", nargs="+", default=[], metavar="COL", help="columns that are not features (IDs)")
    q.add_argument("--bootstrap", type=_at_least(200), default=1000, help="bootstrap replicates (default 1000)")
    q.add_argument("--json", required=True, metavar="FILE", help="write the whole result here")
    q.set_defaults(func=_cmd_ml_cv)

    p = sub.add_parser(
        "cohort",
        help="query the cohort database, or write a de-identified copy of it",
        description="SQL over results/cohort.duckdb (read-only, parameters bound, never pasted into the SQL), "
        "and a de-identified export for collaborators.",
    )
    cohort_sub = p.add_subparsers(dest="cohort_command", required=True, metavar="SUBCOMMAND")
    db_help = "cohort database (DuckDB) written by the workflow (default: results/cohort.duckdb)"
    q = cohort_sub.add_parser("query", help="run one SELECT and print the result as TSV")
    q.add_argument("sql", help="one SELECT statement; use $name for values given with --param")
    q.add_argument("--db", default="results/cohort.duckdb", help=db_help)
    q.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="bind $NAME to VALUE (integers and decimals become numbers); repeatable",
    )  # fmt: skip
    q.add_argument("--tsv", metavar="FILE", help="write the result table here instead of to standard output")
    q.set_defaults(func=_cmd_cohort_query)
    q = cohort_sub.add_parser(
        "export",
        help="de-identified copy: keyed-hash pseudonyms, shifted dates, free text dropped",
        description="Write a copy of the database for sharing: patient and sample IDs replaced by HMAC-SHA256 "
        "pseudonyms under a local key, dates shifted per patient by an offset derived from the key, ages above 89 "
        "recorded as 90, free-text columns dropped (the database holds no note text). The key file is created (mode 600) when missing and never "
        "written into the export.",
    )
    q.add_argument("--db", default="results/cohort.duckdb", help=db_help)
    _renamed(q, "--outdir", "--out", required=True, metavar="DIR", help="new folder for the export")
    q.add_argument("--key-file", required=True, help="local key file (created if missing); keep it out of --outdir")
    q.set_defaults(func=_cmd_cohort_export)

    p = sub.add_parser(
        "fhir",
        help="write a patient's findings as a FHIR R4 Genomics Reporting bundle",
        description="Write one patient's findings document (results/findings/{patient}.json) as an HL7 FHIR R4 "
        "Bundle following the Genomics Reporting IG: genotypes, phenotypes, variants, biomarkers, therapeutic "
        "implications and medication recommendations, checked with the R4B models before it is written.",
    )
    p.add_argument("--findings", required=True, metavar="JSON", help="results/findings/{patient}.json")
    p.add_argument(
        "--json",
        "--out",
        dest="json",
        required=True,
        metavar="FILE",
        help="the bundle to write, e.g. results/fhir/{patient}.json (--out is the same option)",
    )
    p.add_argument(
        "--kb", default=None, metavar="DIR", help="folder of the FHIR code tables (default: the shipped kb/fhir)"
    )
    p.set_defaults(func=_cmd_fhir)

    p = sub.add_parser("verify", help="check results/ against its provenance record (edited, removed, added files)")
    p.add_argument(
        "results", nargs="?", default="results", help="results folder holding provenance.json (default: results)"
    )
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("validate", help="check a configuration and its sample sheet")
    p.add_argument(
        "--configfile", default="config/config.yaml", metavar="YAML", help="configuration (default: config/config.yaml)"
    )
    p.add_argument(
        "--schemas",
        default=str(data_path("schemas")),
        metavar="DIR",
        help="folder of config.schema.yaml and samples.schema.yaml (default: the shipped ones)",
    )
    p.set_defaults(func=_cmd_validate)
    _add_cds_commands(sub)
    _add_ehr_commands(sub)
    _add_notes_commands(sub)
    return parser


#: options that name an input file (not a folder), given a first look before the command runs
#: (:mod:`seq2rx.core.filecheck`); compare-vcf reads plain-gzip VCFs itself
INPUT_FILES = ("vcf", "truth", "query", "regions", "reference", "fasta", "gff3", "clinvar", "outside_calls",
               "consequences", "cna", "fusions", "table", "spec", "sites", "configfile", "jwks", "drug_codes", "findings", "concepts", "clinical")  # fmt: skip


def _check_inputs(args: argparse.Namespace) -> None:
    from seq2rx.core.filecheck import check_input

    for dest in INPUT_FILES:
        value = getattr(args, dest, None)
        if isinstance(value, (str, Path)) and str(value):
            check_input(value, plain_gzip_vcf=args.command == "compare-vcf")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_inputs(args)
        return args.func(args)
    except (InputError, ToolError) as exc:
        print(f"seq2rx: error: {exc}", file=sys.stderr)
        return 2
    except (OutputError, OSError) as exc:
        # a full disk or a read-only folder, then a missing file, a folder where a file is wanted,
        # no permission: one line each; any other OSError is a bug to report
        err = exc if isinstance(exc, OutputError) else output_error(exc, "an output")
        if err is not None:
            print(f"seq2rx: error: {err}", file=sys.stderr)
            return 1
        problem = file_problem(exc)
        if problem is None:
            raise
        print(f"seq2rx: error: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
