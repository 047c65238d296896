# seq2rx: from a patient's sequencing reads to treatment insight.
# This file only wires the stages together; the logic lives in src/seq2rx/.
from snakemake.utils import min_version

min_version("9.0")


# A user's --configfile replaces the demo configuration instead of being merged into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "resources/report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/ehr.smk"
include: "rules/reads.smk"
include: "rules/align.smk"
include: "rules/call.smk"
include: "rules/annotate.smk"
include: "rules/pgx.smk"
include: "rules/somatic.smk"
include: "rules/tumour.smk"
include: "rules/ml.smk"
include: "rules/qc.smk"
include: "rules/cohort.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
