"""The tables of the cohort database: names, column types and meanings.

This module is the single description of the database. The builder creates every table from it
(so an empty input still gives a table with the documented columns), the export reads from it
which columns identify a person, hold a date or hold free text, and ``docs/cohort-db.md`` is
checked against it by a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a DuckDB type: VARCHAR, INTEGER, BIGINT, DOUBLE, DATE
    meaning: str
    #: ``patient`` or ``sample`` when the value identifies one (pseudonymised on export)
    identifies: str = ""
    #: free text written by a person: dropped on export
    free_text: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    meaning: str
    columns: tuple[Column, ...]
    #: columns that order the rows (the database and every export list rows in this order)
    order: tuple[str, ...]
    #: written per sample as a Parquet shard (else built once from run-level inputs)
    per_sample: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        cols = ", ".join(f'"{c.name}" {c.type}' for c in self.columns)
        return f'CREATE TABLE "{self.name}" ({cols})'


_PATIENT = Column("patient", "VARCHAR", "patient ID of the sample sheet", identifies="patient")
_SAMPLE = Column("sample", "VARCHAR", "sample ID of the sample sheet", identifies="sample")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "patients",
            "One row per patient of the sample sheet, with the clinical table's columns (NULL when the "
            "run has no clinical table or the patient has no row in it).",
            (
                _PATIENT,
                Column("sex", "VARCHAR", "`female` or `male` (sample sheet)"),
                Column("tumor_type", "VARCHAR", "OncoTree code of the patient's tumour; NULL for germline-only"),
                Column("age", "INTEGER", "age in years at diagnosis (or at sampling)"),
                Column("ecog", "INTEGER", "ECOG performance status, 0-4"),
                Column("stage", "VARCHAR", "stage at diagnosis: I, II, III or IV"),
                Column("egfr", "DOUBLE", "estimated glomerular filtration rate, mL/min/1.73 m2"),
                Column("diagnosis_date", "DATE", "date of diagnosis (shifted per patient on export)"),
                Column("medications", "VARCHAR", "current prescriptions as given: `;`-separated, lower case"),
                Column("treatment", "VARCHAR", "treatment whose outcome is recorded: chemotherapy or targeted"),
                Column("response", "INTEGER", "1 = objective response to `treatment`, 0 = none"),
                Column("time_months", "DOUBLE", "follow-up from the start of `treatment`, months"),
                Column("event", "INTEGER", "1 = progression or death at `time_months`, 0 = censored"),
                Column("smoking", "VARCHAR", "smoking status: current, former or never (the clinical table or a note)"),
            ),
            ("patient",),
        ),
        Table(
            "medications",
            "One row per patient x current prescription (the `medications` cell split at `;`).",
            (_PATIENT, Column("drug", "VARCHAR", "drug name, lower case")),
            ("patient", "drug"),
        ),
        Table(
            "samples",
            "One row per sample of the sample sheet.",
            (
                _SAMPLE,
                _PATIENT,
                Column("type", "VARCHAR", "germline, normal or tumor"),
                Column("sex", "VARCHAR", "female or male"),
                Column("tumor_type", "VARCHAR", "OncoTree code; NULL when the sheet says NA"),
                Column("starts_from", "VARCHAR", "what the sheet gave: fastq, bam or vcf"),
            ),
            ("sample",),
            per_sample=True,
        ),
        Table(
            "qc",
            "One row per aligned sample: the QC summary (`results/qc/summary/{sample}.json`).",
            (
                _SAMPLE,
                _PATIENT,
                Column("verdict", "VARCHAR", "pass, warn or fail"),
                Column("reasons", "VARCHAR", "`;`-separated reasons for a warn or fail verdict"),
                Column("reads", "BIGINT", "reads in the BAM"),
                Column("mapped_fraction", "DOUBLE", "fraction of reads mapped"),
                Column("properly_paired_fraction", "DOUBLE", "fraction of reads properly paired"),
                Column("duplicate_fraction", "DOUBLE", "fraction of reads marked duplicate"),
                Column("mean_target_coverage", "DOUBLE", "mean depth over the target regions"),
                Column("target_fraction_20x", "DOUBLE", "fraction of target bases at 20x or more"),
            ),
            ("sample",),
            per_sample=True,
        ),
        Table(
            "variants",
            "One row per sample x variant x transcript (a variant outside genes has one row with NULL "
            "annotation). Every call of the sample's VCF is here, with its FILTER.",
            (
                _SAMPLE,
                _PATIENT,
                Column(
                    "origin",
                    "VARCHAR",
                    "`germline` (calls on a germline or normal sample), `somatic` (the somatic caller's calls "
                    "on a tumour, or a tumour VCF from elsewhere) or `tumor_mixed` (the germline caller's calls "
                    "on tumour DNA: germline and somatic together)",
                ),
                Column("chrom", "VARCHAR", "contig"),
                Column("pos", "BIGINT", "1-based position"),
                Column("ref", "VARCHAR", "reference allele"),
                Column("alt", "VARCHAR", "alternate allele"),
                Column("filter", "VARCHAR", "PASS, or the `;`-separated FILTER names"),
                Column("genotype", "VARCHAR", "GT of the sample, e.g. 0/1"),
                Column("gene", "VARCHAR", "gene symbol (bcftools csq)"),
                Column("transcript", "VARCHAR", "transcript ID"),
                Column("biotype", "VARCHAR", "transcript biotype"),
                Column("strand", "VARCHAR", "+ or -"),
                Column("consequence", "VARCHAR", "consequence class, e.g. missense, stop_gained, intron"),
                Column(
                    "aa_change", "VARCHAR", "protein change in csq notation, e.g. 12G>12D (seq2rx's own derivation)"
                ),
                Column("dna_change", "VARCHAR", "DNA change as bcftools csq wrote it, e.g. 25245350C>T"),
                Column("hgvs_p", "VARCHAR", "HGVS protein notation, e.g. p.Gly12Asp"),
                Column("protein_pos", "INTEGER", "first affected residue"),
                Column("protein_length", "INTEGER", "protein length in residues"),
                Column("blosum62", "INTEGER", "BLOSUM62 score of a missense change"),
                Column("grantham", "INTEGER", "Grantham distance of a missense change"),
                Column("clinvar_significance", "VARCHAR", "ClinVar clinical significance, when configured"),
                Column("clinvar_review", "VARCHAR", "ClinVar review status"),
            ),
            ("sample", "origin", "chrom", "pos", "ref", "alt", "transcript"),
            per_sample=True,
        ),
        Table(
            "pgx_genes",
            "One row per sample x pharmacogene (`results/pgx/{sample}.genes.tsv`).",
            (
                _SAMPLE,
                _PATIENT,
                Column("gene", "VARCHAR", "pharmacogene"),
                Column("status", "VARCHAR", "called, outside call, or why not"),
                Column("diplotypes", "VARCHAR", "diplotype(s), `|`-separated when ambiguous"),
                Column("phenotype", "VARCHAR", "e.g. Poor Metabolizer; NULL when not called"),
                Column("activity_score", "DOUBLE", "CPIC activity score where the gene has one"),
                Column("missing_positions", "INTEGER", "definition positions without a genotype"),
                Column("warnings", "VARCHAR", "caller warnings"),
            ),
            ("sample", "gene"),
            per_sample=True,
        ),
        Table(
            "pgx_drugs",
            "One row per sample x drug x guideline gene (`results/pgx/{sample}.drugs.tsv`).",
            (
                _SAMPLE,
                _PATIENT,
                Column("drug", "VARCHAR", "drug name, lower case"),
                Column("genes", "VARCHAR", "gene(s) of the recommendation"),
                Column("phenotype", "VARCHAR", "the phenotype the recommendation is for"),
                Column("recommendation", "VARCHAR", "CPIC recommendation text (knowledge base, not patient text)"),
                Column("strength", "VARCHAR", "Strong, Moderate, Optional, No recommendation"),
                Column("source", "VARCHAR", "guideline citation"),
            ),
            ("sample", "drug", "genes", "phenotype"),
            per_sample=True,
        ),
        Table(
            "actionable",
            "One row per tumour sample x alteration x knowledge-base rule (`results/actionability/{sample}.tsv`).",
            (
                _SAMPLE,
                _PATIENT,
                Column("chrom", "VARCHAR", "contig"),
                Column("pos", "BIGINT", "1-based position"),
                Column("ref", "VARCHAR", "reference allele"),
                Column("alt", "VARCHAR", "alternate allele"),
                Column("gene", "VARCHAR", "gene symbol"),
                Column("alteration", "VARCHAR", "alteration, e.g. V600E, TMB-high"),
                Column("vaf", "DOUBLE", "variant allele fraction in the tumour"),
                Column("depth", "INTEGER", "tumour depth at the position"),
                Column("tier", "VARCHAR", "AMP/ASCO/CAP tier and level: I-A, I-B, II-C, II-D, III"),
                Column("therapies", "VARCHAR", "therapy or combination"),
                Column("response", "VARCHAR", "sensitive or resistant"),
                Column("evidence", "VARCHAR", "evidence level, e.g. FDA-approved, guideline"),
                Column("tumor_type_match", "VARCHAR", "exact, ancestor or other type"),
                Column("rule_tumor_type", "VARCHAR", "tumour type of the knowledge-base rule"),
                Column("rule", "VARCHAR", "knowledge-base rule ID"),
                Column("source", "VARCHAR", "citation"),
                Column("role", "VARCHAR", "therapy (a rule for a therapy) or resistance; NULL before issue 16"),
                Column("overridden", "VARCHAR", "true when a co-occurring resistance alteration overrides the therapy"),
            ),
            ("sample", "chrom", "pos", "ref", "alt", "rule", "therapies"),
            per_sample=True,
        ),
        Table(
            "predictions",
            "One row per patient x task x model (`results/ml/predictions.tsv`); empty when the run made none.",
            (
                _PATIENT,
                Column(
                    "task",
                    "VARCHAR",
                    "response (P(response)), pfs (P(progression-free) at the horizon), benefit or pfs_benefit",
                ),
                Column(
                    "treatment", "VARCHAR", "the treatment the estimate is for; for the benefits, 'treated - reference'"
                ),
                Column("model", "VARCHAR", "pipeline name, e.g. penalised"),
                Column("estimate", "DOUBLE", "point estimate"),
                Column("lower", "DOUBLE", "lower end of the 90% interval"),
                Column("upper", "DOUBLE", "upper end of the 90% interval"),
                Column(
                    "favours",
                    "VARCHAR",
                    "for `benefit` / `pfs_benefit`: the treatment with the higher predicted response / progression-free",
                ),
            ),
            ("patient", "task", "treatment", "model"),
        ),
        Table(
            "ehr_drug_exposures",
            "One row per linked patient x drug exposure of the OMOP CDM (`clinical_omop.path`) x RxNorm "
            "ingredient; empty when no CDM is configured. Only persons linked to a sample-sheet patient are read.",
            (
                _PATIENT,
                Column("ingredient", "VARCHAR", "RxNorm ingredient (concept_ancestor), lower case, e.g. clopidogrel"),
                Column("start_date", "DATE", "drug_exposure_start_date (shifted per patient on export)"),
                Column(
                    "end_date",
                    "DATE",
                    "drug_exposure_end_date, else start + days_supply - 1, else the start (shifted on export)",
                ),
            ),
            ("patient", "ingredient", "start_date", "end_date"),
        ),
        Table(
            "ehr_conditions",
            "One row per linked patient x condition_occurrence of the OMOP CDM; empty when no CDM is configured.",
            (
                _PATIENT,
                Column("concept_id", "BIGINT", "condition_concept_id (OMOP standard concept; 0 when unmapped)"),
                Column("concept_name", "VARCHAR", "the concept's name in the CDM's concept table (vocabulary text)"),
                Column("start_date", "DATE", "condition_start_date (shifted per patient on export)"),
            ),
            ("patient", "start_date", "concept_id"),
        ),
        Table(
            "ehr_cohorts",
            "One row per linked patient x entry of an OMOP cohort definition (Circe JSON or SQL) of "
            "`cohorts.omop_definitions`, run on the CDM; empty when no CDM or no definitions are configured.",
            (
                _PATIENT,
                Column("cohort", "VARCHAR", "the definition's file name without .json or .sql"),
                Column("cohort_start_date", "DATE", "start of the entry (shifted per patient on export)"),
                Column("cohort_end_date", "DATE", "end of the entry; NULL when the definition gives none (shifted)"),
            ),
            ("patient", "cohort", "cohort_start_date"),
        ),
    )
}

#: tables written per sample as Parquet shards, in a fixed order
SHARD_TABLES: tuple[str, ...] = tuple(name for name, t in TABLES.items() if t.per_sample)
#: tables of EHR rows from an OMOP CDM, for the patients linked to the sample sheet (computed by
#: :func:`seq2rx.ehr.linked_rows` and handed to :func:`seq2rx.cohort.build_database` as rows)
EHR_TABLES: tuple[str, ...] = ("ehr_drug_exposures", "ehr_conditions", "ehr_cohorts")
