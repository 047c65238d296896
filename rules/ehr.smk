# EHR data in: the clinical table derived from an OMOP CDM (clinical_omop), merged with the
# clinical TSV when one is configured (the TSV wins field by field; the CDM fills its gaps), and
# its remaining ECOG and smoking gaps filled from clinical notes (clinical_notes).
# Every step reads the clinical table through clinical_table() (rules/common.smk).

if config["clinical_notes"]["path"]:

    rule notes_extract:
        input:
            notes=notes_inputs(),
        output:
            # the items found, with their note IDs and character spans; never the note text
            found="results/notes/items.json",
        log:
            "logs/notes_extract/notes.log",
        benchmark:
            "logs/benchmarks/notes_extract/notes.tsv"
        conda:
            "../envs/cohort.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            # the path itself (the inputs may be the demo CDM's files): a CDM folder or a file
            notes=lambda wildcards: config["clinical_notes"]["path"],
            # a CDM's notes are linked to patients as the clinical table is
            link=config["clinical_omop"]["link"],
            terms=config["clinical_notes"]["terms"],
            targets=config["clinical_notes"]["targets"],
        script:
            "../scripts/notes_extract.py"


if config["clinical_omop"]["path"] or config["clinical_notes"]["path"]:

    rule ehr_clinical:
        input:
            unpack(get_ehr_clinical_inputs),
        output:
            table="results/clinical/clinical.tsv",
            sources="results/clinical/sources.json",
        log:
            "logs/ehr_clinical/clinical.log",
        benchmark:
            "logs/benchmarks/ehr_clinical/clinical.tsv"
        conda:
            "../envs/cohort.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            cdm=config["clinical_omop"]["path"],
            link=config["clinical_omop"]["link"],
            index_date=config["clinical_omop"]["index_date"],
            # the sheet's patients: the CDM's other persons are left out
            patients=PATIENTS,
        script:
            "../scripts/ehr_clinical.py"
