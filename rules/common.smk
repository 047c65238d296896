# Validation of the configuration and the sample sheet, wildcard constraints and input
# functions. Everything here runs before any job starts; of the data it reads only the user's
# small tables (the clinical table, other callers' copy-number and fusion files), to check them.
import hashlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from snakemake.io import is_flagged

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from seq2rx.inputs import config as s2c  # noqa: E402
from seq2rx.sim import demo_layout, load_spec  # noqa: E402
from seq2rx.inputs.clinical import read_clinical  # noqa: E402
from seq2rx.cohort.schema import SHARD_TABLES  # noqa: E402
from seq2rx.core.errors import InputError  # noqa: E402
from seq2rx.genome.intervals import interval_count, interval_name  # noqa: E402
from seq2rx.tumour.plan import tumour_plan  # noqa: E402
from seq2rx.tumour.settings import check_sheet_files, check_tumour_config  # noqa: E402
from seq2rx.variants.germline import CallParams, READ_REACH  # noqa: E402
from seq2rx.variants.inputs import check_sheet_vcfs  # noqa: E402
from seq2rx.variants.somatic import SomaticParams  # noqa: E402

BASEDIR = Path(workflow.basedir)
SCHEMAS = BASEDIR / "config" / "schemas"
DEMO_SPEC = BASEDIR / "resources" / "demo" / "demo.yaml"
DEMO_SITES = BASEDIR / "resources" / "kb" / "pgx" / "positions.tsv"
# the demo's clinical table, which the demo's OMOP CDM is written from (rule demo_omop)
DEMO_CLINICAL = BASEDIR / "config" / "clinical.tsv"
CONFIG_SOURCE = (
    workflow.overwrite_configfiles[-1]
    if workflow.overwrite_configfiles
    else "config/config.yaml"
)


def _demo_files(cfg):
    """Paths the demo simulator will write (so they may be missing before the run)."""
    if not cfg["demo"]["simulate"]:
        return {}
    layout = demo_layout(cfg["demo"]["outdir"], load_spec(DEMO_SPEC))
    files = {
        "fasta": str(layout["fasta"]),
        "gff3": str(layout["gff3"]),
        "targets": str(layout["targets"]),
        "confident": str(layout["confident"]),
        "fingerprint_sites": str(layout["fingerprint_sites"]),
    }
    for sample, (r1, r2) in layout["reads"].items():
        files[f"{sample}_R1"] = str(r1)
        files[f"{sample}_R2"] = str(r2)
    for sample, truth in layout["truth"].items():
        files[f"{sample}_truth"] = str(truth)
    for sample, outside in layout["outside"].items():
        files[f"{sample}_outside"] = str(outside)
    for table, path in layout["omop"].items():
        files[f"omop_{table}"] = str(path)
    return files


def _check_clinical_omop(cfg, will_exist):
    """A configured OMOP CDM (clinical_omop.path) is there with its required tables, and so is its
    concept table; the demo's own CDM passes before demo_omop has written it."""
    omop = cfg["clinical_omop"]
    demo_cdm = {
        str(Path(p).parent) for k, p in DEMO_FILES.items() if k.startswith("omop_")
    }
    if omop["path"] and str(Path(omop["path"])) not in demo_cdm:
        from seq2rx.ehr import check_cdm

        check_cdm(omop["path"], where="clinical_omop.path")
    if (
        omop["concepts"]
        and not will_exist(omop["concepts"])
        and not Path(omop["concepts"]).is_file()
    ):
        raise InputError(
            omop["concepts"],
            "no such file",
            field="clinical_omop.concepts",
            hint="name a concept table like resources/kb/omop/concepts.tsv, or leave it empty",
        )


def _demo_cdm_files(path):
    """The demo CDM's CSV files when ``path`` is the demo's CDM folder (demo_omop writes them), else None."""
    demo = {
        k[len("omop_") :]: p for k, p in DEMO_FILES.items() if k.startswith("omop_")
    }
    if path and demo and str(Path(path)) == str(Path(demo["person"]).parent):
        return demo
    return None


def _check_clinical_notes(cfg):
    """Configured clinical notes are there (the demo's CDM passes before demo_omop has written it),
    with a clinical table to fill (seq2rx.notes.check_notes_config)."""
    from seq2rx.notes import check_notes_config

    path = cfg["clinical_notes"]["path"]
    check_notes_config(
        cfg, str(CONFIG_SOURCE), path_will_exist=bool(path and _demo_cdm_files(path))
    )


try:
    # Snakemake's own reading of the file keeps the last of two equal keys silently: read it again,
    # strictly (a key given twice, text that is not UTF-8), as `seq2rx validate` does
    if Path(CONFIG_SOURCE).is_file():
        s2c.load_yaml(CONFIG_SOURCE)
    config = s2c.validate_config(
        config, s2c.load_yaml(SCHEMAS / "config.schema.yaml"), str(CONFIG_SOURCE)
    )
    # keys checked against each other as the tumour steps will read them (copy_number, msi, ...)
    check_tumour_config(config, str(CONFIG_SOURCE))
    DEMO_FILES = _demo_files(config)
    _will_exist = lambda p: str(Path(p)) in {str(Path(x)) for x in DEMO_FILES.values()}
    s2c.check_reference(config, str(CONFIG_SOURCE), _will_exist)
    # a tumour's type decides its tiers: it is checked against the OncoTree codes here too
    SHEET = s2c.read_sample_sheet(
        config["samples"],
        s2c.load_yaml(SCHEMAS / "samples.schema.yaml"),
        _will_exist,
        tumor_types=s2c.oncotree_codes(
            BASEDIR / "resources" / "kb" / "actionability" / "oncotree.tsv"
        ),
    )
    # so do the tumours' copy-number and fusion files from other callers (on the configured build)
    check_sheet_files(SHEET, config["reference"]["build"], _will_exist)
    # and each VCF row's column (vcf_sample, the sample's name or the only one), as validate does
    check_sheet_vcfs(SHEET, config["samples"], _will_exist)
    # a bad clinical table stops the run here, before any job, with the file, line and field
    if config["clinical"]:
        read_clinical(config["clinical"], patients={row["patient"] for row in SHEET})
    # a configured OMOP CDM is there and has person and observation_period (rules/ehr.smk)
    _check_clinical_omop(config, _will_exist)
    _check_clinical_notes(config)
    # a cohort definition's file name becomes a results folder and a wildcard
    s2c.check_cohort_names(config, str(CONFIG_SOURCE))
    # the OMOP cohort definitions the cohort database runs on the CDM (only with a CDM), each read
    # and checked before any job
    COHORT_OMOP_DEFINITIONS = []
    if config["cohorts"]["omop_definitions"] and config["clinical_omop"]["path"]:
        from seq2rx.ehr import read_definitions

        COHORT_OMOP_DEFINITIONS = [
            d.path for d in read_definitions(config["cohorts"]["omop_definitions"])
        ]
except InputError as exc:
    sys.exit(f"seq2rx: configuration error: {exc}")

# calling is scattered over this many intervals per sample (rules/call.smk); the count is planned
# here, from the config, the targets BED or a sample of the reference; the intervals' BED files
# are written once per run by a job, when calling is scattered or restricted to targets
try:
    N_INTERVALS = interval_count(
        config["calling"]["intervals"],
        config["calling"]["interval_bases"],
        fasta=config["reference"]["fasta"],
        targets=config["targets"],
        padding=config["calling"]["target_padding"],
    )
except InputError as exc:
    sys.exit(f"seq2rx: configuration error: {exc}")
INTERVALS = [interval_name(k) for k in range(1, N_INTERVALS + 1)]
SCATTER = N_INTERVALS > 1
CALLING_REGIONS = SCATTER or bool(config["targets"])
# a tile of a whole genome is read from a read's length before it (targets: the regions themselves)
PILEUP_MARGIN = 0 if config["targets"] else READ_REACH
# the caller's own settings: another key of `calling` (intervals, padding) reruns no calling job
CALL_SETTINGS = asdict(CallParams.from_config(config["calling"]))

SAMPLES = {row["sample"]: row for row in SHEET}
PATIENTS = sorted({row["patient"] for row in SHEET})
READ_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "fastq")
BAM_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "bam")
VCF_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "vcf")
ALIGNED_SAMPLES = sorted(READ_SAMPLES + BAM_SAMPLES)
TUMOUR_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["type"] == "tumor")
# tumours called from reads (somatic caller); a tumour VCF from elsewhere is taken as somatic
TUMOUR_ALIGNED = sorted(set(TUMOUR_SAMPLES) & set(ALIGNED_SAMPLES))
ALIGNER = config["align"]["aligner"]
CONFIG_SHA256 = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


# Sets and a patient -> rows index for the input functions: each is called once per job, so a
# scan of the sheet inside one would make planning grow with the square of the sheet.
ALIGNED_SET = set(ALIGNED_SAMPLES)
TUMOUR_SET = set(TUMOUR_SAMPLES)
TUMOUR_ALIGNED_SET = set(TUMOUR_ALIGNED)
PATIENT_ROWS = {}
for _s in sorted(SAMPLES):
    PATIENT_ROWS.setdefault(SAMPLES[_s]["patient"], []).append(SAMPLES[_s])


def _alternatives(names):
    """Wildcard constraint: exactly these sample IDs of the sheet, as a short regex where it can
    be (a list of every ID would make planning grow with the square of the sheet)."""
    return s2c.id_constraint(names, SAMPLES)


wildcard_constraints:
    sample=_alternatives(SAMPLES),
    patient=s2c.id_constraint(PATIENTS, PATIENTS),
    chunk=r"\d\d\d\d+",


def get_reads(wildcards):
    """R1 and R2 FASTQ of a sample that starts from reads (R1 alone: one interleaved file)."""
    row = SAMPLES[wildcards.sample]
    return {k: row[c] for k, c in (("r1", "fastq1"), ("r2", "fastq2")) if c in row}


def get_align_reads(wildcards):
    """The read pair one alignment job aligns: the sample's trimmed pair, or one chunk of it
    when align.split_fastq splits it (align_chunk's jobs have a ``chunk`` wildcard)."""
    if "chunk" not in wildcards.keys():
        return {
            "r1": f"results/reads/{wildcards.sample}_R1.trimmed.fastq.gz",
            "r2": f"results/reads/{wildcards.sample}_R2.trimmed.fastq.gz",
        }
    folder = f"results/reads/chunks/{wildcards.sample}"
    return {f"r{m}": f"{folder}/{wildcards.chunk}_R{m}.fastq.gz" for m in (1, 2)}


def get_aligned_chunks(wildcards):
    """A split sample's aligned chunks in chunk order (BAMs and version records), and the folder of
    chunks: fastq_split is a checkpoint, so the chunks are listed once it has run. While the
    version records are walked, chunk 0000 stands for all (every split has it; they are one job
    each with other reads)."""
    folder = f"results/reads/chunks/{wildcards.sample}"
    if "walking" in _VERSIONS:
        chunks = ["0000"]
    else:
        done = checkpoints.fastq_split.get(sample=wildcards.sample).output.chunks
        chunks = glob_wildcards(os.path.join(done, "{chunk}_R1.fastq.gz")).chunk
    out = f"results/align/chunks/{wildcards.sample}"
    chunks = sorted(chunks, key=int)
    return {
        "bams": [f"{out}/{c}.unsorted.bam" for c in chunks],
        "versions": [f"{out}/{c}.versions.json" for c in chunks],
        "chunks": folder,
    }


def get_reads_report(wildcards):
    """What reading the FASTQ files found, for the QC summary (none for a BAM-start sample)."""
    if SAMPLES[wildcards.sample]["stage"] == "fastq":
        return f"results/qc/reads/{wildcards.sample}.json"
    return []


def bam_of(sample):
    """The duplicate-marked BAM of a sample: our own, or the one the sheet provides."""
    row = SAMPLES[sample]
    if row["stage"] == "bam":
        return {"bam": row["bam"], "bai": row["bam"] + ".bai"}
    return {
        "bam": f"results/align/{sample}.bam",
        "bai": f"results/align/{sample}.bam.bai",
    }


def get_bam(wildcards):
    """Input function: the BAM and index of ``wildcards.sample``."""
    return bam_of(wildcards.sample)


def get_targets():
    return "results/qc/targets.bed"


def get_patient_rows(patient):
    """The sheet's rows of ``patient``, by sample ID."""
    return list(PATIENT_ROWS.get(patient, ()))


def findings_plan(patient):
    """What the findings document of one patient is assembled from: its sample rows, the files
    each sample contributes and the patient-level files (shape: ``seq2rx.findings.build``).
    """
    rows = get_patient_rows(patient)
    files = {}
    for r in rows:
        s = r["sample"]
        f = {"vcf": f"results/calls/{s}.vcf.gz", "pgx": f"results/pgx/{s}.json"}
        if s in ALIGNED_SET:
            f["qc"] = f"results/qc/summary/{s}.json"
            f["coverage"] = f"results/qc/coverage/{s}.tsv"
            f["identity"] = f"results/qc/identity/{s}.json"
        if s in TUMOUR_SET:
            f["actionability"] = f"results/actionability/{s}.json"
        if s in TUMOUR_ALIGNED:
            f["somatic_vcf"] = f"results/somatic/{s}.vcf.gz"
        if config["reference"]["gff3"]:
            f["consequences"] = f"results/annotate/{s}.consequences.tsv"
            if s in TUMOUR_ALIGNED:
                f["somatic_consequences"] = f"results/somatic/{s}.consequences.tsv"
        files[s] = f
    ml = ML_ENABLED and patient in ML_PATIENTS
    return {
        "samples": rows,
        "files": files,
        "targets": get_targets() if ALIGNED_SAMPLES else None,
        "predictions": "results/ml/patients.json" if ml else None,
        "similarity": "results/similarity/patients.json" if ml else None,
        "clinical": clinical_table() or None,
    }


def clinical_table():
    """The clinical table every step reads: the one rules/ehr.smk derives (from the OMOP CDM and
    ``clinical``, gaps filled from clinical notes) when ``clinical_omop.path`` or
    ``clinical_notes.path`` is set, else ``clinical`` (may be "")."""
    if config["clinical_omop"]["path"] or config["clinical_notes"]["path"]:
        return "results/clinical/clinical.tsv"
    return config["clinical"]


def cdm_inputs():
    """The configured OMOP CDM as a rule's input: the demo's CSV files when it is the demo's (so that
    demo_omop writes them first), else the path (a .duckdb file or a folder); [] without a CDM.
    """
    path = config["clinical_omop"]["path"]
    demo = _demo_cdm_files(path)
    if demo:
        return [p for t, p in sorted(demo.items()) if t != "concepts"]
    return path or []


def notes_inputs():
    """The configured clinical notes as a rule's input: the demo CDM's note and person files when
    they are the demo's, else the path (a TSV, a .duckdb file or a CDM folder)."""
    path = config["clinical_notes"]["path"]
    demo = _demo_cdm_files(path)
    if demo:
        return [demo["note"], demo["person"]]
    return path


def get_ehr_clinical_inputs(wildcards):
    """The clinical TSV (when configured), the CDM (:func:`cdm_inputs`), its concept table (when
    configured) and the items found in the clinical notes (when configured)."""
    omop = config["clinical_omop"]
    out = {"cdm": cdm_inputs()}
    if config["clinical_notes"]["path"]:
        out["notes"] = "results/notes/items.json"
    if config["clinical"]:
        out["clinical"] = config["clinical"]
    if omop["concepts"]:
        out["concepts"] = omop["concepts"]
    return out


def get_patient_inputs(wildcards):
    """The files of the patient's findings plan, and the version records of its steps."""
    plan = FINDINGS_PLAN[wildcards.patient]
    out = {
        "files": [p for f in plan["files"].values() for p in f.values()],
        "versions": get_patient_version_files(wildcards.patient),
    }
    out.update(
        {
            k: plan[k]
            for k in ("targets", "predictions", "similarity", "clinical")
            if plan[k]
        }
    )
    return out


def findings_settings(patient):
    """What the findings document takes from the configuration (``seq2rx.findings.build``)."""
    return {
        "genome_build": config["reference"]["build"],
        "qc_thresholds": config["qc"],
        "config_sha256": CONFIG_SHA256,
        "analysis_date": config["report"]["date"],
        "predictions_reason": predictions_reason(patient),
        "calling": {
            "germline": asdict(CallParams.from_config(config["calling"])),
            "somatic": asdict(
                SomaticParams.from_config(config["somatic"], config["calling"])
            ),
        },
    }


def get_pgx_inputs(wildcards):
    """The sample's genotypes at the definition positions, and its outside calls if any."""
    sample = wildcards.sample
    if sample in ALIGNED_SET:
        out = {"vcf": f"results/pgx/{sample}.sites.vcf.gz"}
    else:
        out = {"vcf": f"results/calls/{sample}.vcf.gz"}
    if SAMPLES[sample].get("outside_calls"):
        out["outside"] = SAMPLES[sample]["outside_calls"]
    return out


def matched_normal(sample):
    """The aligned normal sample of a tumour's patient, or None (tumour-only)."""
    patient = SAMPLES[sample]["patient"]
    normals = [
        row["sample"]
        for row in PATIENT_ROWS[patient]
        if row["sample"] in ALIGNED_SET and row["type"] in ("normal", "germline")
    ]
    if len(normals) > 1:
        sys.exit(
            f"seq2rx: configuration error: {config['samples']}: patient {patient} has "
            f"{len(normals)} normal/germline samples ({', '.join(normals)}); keep one"
        )
    return normals[0] if normals else None


def get_somatic_inputs(wildcards):
    """Tumour BAM, matched normal BAM when the patient has one, and the targets (the TMB
    denominator counts callable bases within them; the calling regions are the interval's).
    """
    out = {f"tumour_{k}": v for k, v in bam_of(wildcards.sample).items()}
    normal = matched_normal(wildcards.sample)
    if normal:
        out.update({f"normal_{k}": v for k, v in bam_of(normal).items()})
    if config["targets"]:
        out["callable_targets"] = get_targets()
    return out


def calling_regions(kind="germline", interval="0001"):
    """The BED of an interval's calling regions (germline, or somatic: without the pharmacogene
    positions); none when calling is neither scattered nor restricted to targets."""
    if not CALLING_REGIONS:
        return []
    return f"results/intervals/{interval}{'.somatic' if kind == 'somatic' else ''}.bed"


# --- tumours beyond small variants (rules/tumour.smk): one plan per tumour, from the sheet alone

# the run's aligned normal and germline samples: a pooled CNVkit reference and the MSI baseline
NORMAL_POOL = sorted(
    s for s in ALIGNED_SAMPLES if SAMPLES[s]["type"] in ("normal", "germline")
)


def _tumour_plan(sample):
    row = SAMPLES[sample]
    return tumour_plan(
        stage=row["stage"],
        matched_normal=bool(matched_normal(sample)) if sample in ALIGNED_SET else False,
        pool=len(NORMAL_POOL),
        cna=row.get("cna"),
        fusions=row.get("fusions"),
        gene_models=bool(config["reference"]["gff3"]),
    )


TUMOUR_PLANS = {s: _tumour_plan(s) for s in TUMOUR_SAMPLES}
CNV_SAMPLES = sorted(
    s
    for s, p in TUMOUR_PLANS.items()
    if p["copy_number"]["how"] in ("cnvkit-matched", "cnvkit-pooled")
)
FUSION_SAMPLES = sorted(
    s for s, p in TUMOUR_PLANS.items() if p["fusions"]["how"] == "call"
)
MSI_SAMPLES = sorted(s for s, p in TUMOUR_PLANS.items() if p["msi"]["how"])


def get_cnvkit_inputs(wildcards):
    """Tumour BAM; the matched normal's BAM, or else the run's pooled reference; access regions."""
    s = wildcards.sample
    out = {f"tumour_{k}": v for k, v in bam_of(s).items()}
    if TUMOUR_PLANS[s]["copy_number"]["how"] == "cnvkit-matched":
        out.update({f"normal_{k}": v for k, v in bam_of(matched_normal(s)).items()})
    else:
        out["reference"] = "results/cnv/reference.cnn"
    if config["targets"]:
        out["targets"] = get_targets()
    return out


def get_normal_pool_bams(wildcards):
    """The BAMs and indexes of the run's aligned normal and germline samples."""
    return {
        "bams": [bam_of(s)["bam"] for s in NORMAL_POOL],
        "bais": [bam_of(s)["bai"] for s in NORMAL_POOL],
    }


def get_msi_inputs(wildcards):
    """What the tumour's MSI mode reads: tumour and normal BAMs, the baseline, or its VCF."""
    s = wildcards.sample
    mode = TUMOUR_PLANS[s]["msi"]["how"]
    out = {"sites": "results/msi/sites.tsv"}
    if mode == "vcf-indel-profile":
        out["vcf"] = f"results/calls/{s}.vcf.gz"
        return out
    out.update({f"tumour_{k}": v for k, v in bam_of(s).items()})
    if mode == "msisensor-paired":
        out.update({f"normal_{k}": v for k, v in bam_of(matched_normal(s)).items()})
    else:
        out["baseline"] = "results/msi/baseline.tsv"
    return out


def get_delly_inputs(wildcards):
    """The tumour's BAM and, when the patient has one, its matched normal's (delly's control)."""
    out = {f"tumour_{k}": v for k, v in bam_of(wildcards.sample).items()}
    normal = matched_normal(wildcards.sample)
    if normal:
        out.update({f"normal_{k}": v for k, v in bam_of(normal).items()})
    return out


def get_identity_inputs(wildcards):
    """The sample's BAM; for a tumour with a matched normal, the normal's BAM and the SNP panel."""
    s = wildcards.sample
    out = dict(bam_of(s))
    normal = matched_normal(s) if s in TUMOUR_SET else None
    if normal:
        out.update({f"normal_{k}": v for k, v in bam_of(normal).items()})
        # the configured SNP panel; else the demo's common SNPs, or the pharmacogene positions
        out["sites"] = (
            config["identity"]["sites"]
            or DEMO_FILES.get("fingerprint_sites")
            or str(DEMO_SITES)
        )
    if config["targets"]:
        out["targets"] = get_targets()
    return out


def get_tumour_modality_inputs(sample):
    """A tumour's copy number, fusions and MSI, by its plan (the sheet's files or ours)."""
    plan, row, out = TUMOUR_PLANS[sample], SAMPLES[sample], {}
    if plan["copy_number"]["how"] == "file":
        out["cna"] = row["cna"]
    elif plan["copy_number"]["how"]:
        out["cnv_genes"] = f"results/cnv/{sample}.genes.tsv"
        out["cnv_json"] = f"results/cnv/{sample}.json"
    if plan["fusions"]["how"] == "file":
        out["fusions"] = row["fusions"]
    elif plan["fusions"]["how"]:
        out["fusions"] = f"results/fusions/{sample}.tsv"
        out["fusions_json"] = f"results/fusions/{sample}.json"
    if plan["msi"]["how"]:
        out["msi"] = f"results/msi/{sample}.json"
    return out


def get_actionability_inputs(wildcards):
    """A tumour's somatic calls (from reads, or its VCF from elsewhere) and their consequences,
    and its copy number, fusions and MSI."""
    s = wildcards.sample
    if s in TUMOUR_ALIGNED_SET:
        out = {
            "vcf": f"results/somatic/{s}.vcf.gz",
            "callable": f"results/somatic/{s}.callable.json",
        }
        if config["reference"]["gff3"]:
            out["consequences"] = f"results/somatic/{s}.consequences.tsv"
    else:
        out = {"vcf": f"results/calls/{s}.vcf.gz"}
        if config["reference"]["gff3"]:
            out["consequences"] = f"results/annotate/{s}.consequences.tsv"
    out.update(get_tumour_modality_inputs(s))
    return out


def sample_sheet_inputs():
    """Every data file the sample sheet names (reads, BAMs, VCFs, outside calls, other callers'
    copy number and fusions)."""
    cols = ("fastq1", "fastq2", "bam", "vcf", "outside_calls", "cna", "fusions")
    return sorted({row[c] for row in SAMPLES.values() for c in cols if row.get(c)})


def get_provenance_inputs(wildcards):
    """The run's final outputs: the provenance record is written after all of them."""
    return [p for p in get_final_output() if p != "results/provenance.json"]


# --- version records: every rule with a named output `versions` writes one per job


_VERSIONS = {}  # filled once, at DAG time, by version_records()


def _producers(path):
    """(rule, wildcards) of the rule whose job writes ``path``, chosen as Snakemake does (the
    rules' wildcard constraints; a rule without wildcards first); none for a file the run does
    not write."""
    found = [(r, r.get_wildcards(path)) for r in workflow.rules if r.is_producer(path)]
    return [(r, wc) for r, wc in found if not wc] or found


def version_records():
    """The version record of every job the final outputs need, from the rules themselves: the
    jobs are found by walking back from get_final_output() through each rule's inputs, and a
    job's record is its rule's ``versions`` output with the job's wildcards. Returns
    ``{"run": [path, ...], "patients": {patient: [path, ...]}}``: a patient's records are those
    of its own jobs (a wildcard naming one of its samples, or it) and of the run-wide jobs they
    depend on (e.g. the aligner index), not those of jobs over the whole run (MultiQC, the models).
    """
    if _VERSIONS:
        return _VERSIONS
    _VERSIONS["walking"] = (
        True  # the inputs of the jobs that take version records add no job
    )
    jobs, made_by = {}, {}  # job key -> [rule, wildcards, keys of the jobs it needs]

    def keys_of(path):
        if path not in made_by:
            made_by[path] = []
            for r, wc in _producers(path):
                key = (r.name, tuple(sorted(wc.items())))
                made_by[path].append(key)
                if key not in jobs:
                    jobs[key] = [r, wc, None]
                    todo.append(key)
        return made_by[path]

    todo = []
    for path in get_final_output():
        keys_of(path)
    while todo:
        key = todo.pop()
        r, wc, _ = jobs[key]
        inputs = r.expand_input(wc)[0]
        jobs[key][2] = {k for f in inputs for k in keys_of(str(f))}
    record = {
        key: str(r.expand_output(wc)[0].versions)
        for key, (r, wc, _) in jobs.items()
        if "versions" in r.output.keys()
        # a temp record (an aligned chunk's) is folded into another job's (samtools_cat's)
        and not is_flagged(r.output.versions, "temp")
    }

    runwide = (
        {}
    )  # job key -> the run-wide (wildcard-free) jobs with a record it depends on

    def runwide_upstream(key):
        if key not in runwide:
            runwide[key] = set()
            for k in jobs[key][2]:
                runwide[key] |= runwide_upstream(k)
                if k in record and not jobs[k][1]:
                    runwide[key].add(k)
        return runwide[key]

    after = {}  # job key -> whether it reads a findings document (directly or not)

    def after_findings(key):
        if key not in after:
            after[key] = False  # no job needs itself; guards the walk
            after[key] = any(
                k[0] == "findings_patient" or after_findings(k) for k in jobs[key][2]
            )
        return after[key]

    patients = {p: set() for p in PATIENTS}
    for key in record:
        if after_findings(key):
            # a step that reads the findings (the FHIR bundle) is no input of them
            continue
        wc = jobs[key][1]
        patient = (
            SAMPLES[wc["sample"]]["patient"] if "sample" in wc else wc.get("patient")
        )
        if patient in patients:
            patients[patient] |= {key} | runwide_upstream(key)
    _VERSIONS.update(
        # two rules may write one record (align_reads, or samtools_cat for a split alignment)
        run=sorted(set(record.values())),
        patients={p: sorted({record[k] for k in keys}) for p, keys in patients.items()},
    )
    del _VERSIONS["walking"]
    return _VERSIONS


def get_version_files(wildcards):
    """Input function: the version record of every job of the run."""
    return [] if "walking" in _VERSIONS else version_records()["run"]


def get_patient_version_files(patient):
    """The version records of the steps that made one patient's results. Not the run-wide
    versions.json: adding a sample must not redo every other patient's findings."""
    return [] if "walking" in _VERSIONS else version_records()["patients"][patient]


def get_final_output():
    out = [f"results/calls/{s}.vcf.gz" for s in sorted(SAMPLES)]
    if config["reference"]["gff3"]:
        out += [f"results/annotate/{s}.consequences.tsv" for s in sorted(SAMPLES)]
        out += [f"results/primers/{p}.tsv" for p in PATIENTS]
    out += [f"results/pgx/{s}.positions.tsv" for s in ALIGNED_SAMPLES]
    out += [f"results/pgx/{s}.json" for s in sorted(SAMPLES)]
    # every call set's bcftools stats, also in a run of VCFs alone (no MultiQC there to ask for them)
    out += [f"results/qc/bcftools/{s}.bcftools_stats.txt" for s in sorted(SAMPLES)]
    out += [f"results/actionability/{s}.tsv" for s in TUMOUR_SAMPLES]
    if config["fusions"]["cross_check"]:
        out += [f"results/fusions/{s}.delly.json" for s in FUSION_SAMPLES]
    if ML_ENABLED:
        out += ["results/ml/predictions.tsv", "results/ml/model_card.md"]
        out += ["results/similarity/patients.json"]
    out += [f"results/findings/{p}.json" for p in PATIENTS]
    out += [f"results/reports/{p}.html" for p in PATIENTS]
    out += [f"results/fhir/{p}.json" for p in PATIENTS]
    out.append("results/cds/index.sqlite")
    out.append("results/reports/cohort.html")
    out.append("results/versions.json")
    out.append("results/provenance.json")
    if ALIGNED_SAMPLES:
        out.append("results/qc/multiqc/multiqc_report.html")
    if config["demo"]["simulate"]:
        out.append("results/truth/summary.tsv")
    out += get_cohort_outputs()
    return out


# --- the cohort database (rules/cohort.smk) ---

COHORT_SQL_DIR = Path(config["cohorts"]["sql_dir"])
COHORTS = sorted(p.stem for p in COHORT_SQL_DIR.glob("*.sql"))
PREDICTIONS = "results/ml/predictions.tsv"


def cohort_variant_sources(sample):
    """``(origin, vcf, consequences)`` of each call set of a sample, as the cohort database labels it."""
    csq = bool(config["reference"]["gff3"])
    if sample in TUMOUR_ALIGNED:
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
    origin = "somatic" if sample in TUMOUR_SAMPLES else "germline"
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
    if s in TUMOUR_SAMPLES:
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


# --- treatment-response prediction and similarity (rules/ml.smk)

ML_PATIENTS = sorted({SAMPLES[s]["patient"] for s in TUMOUR_SAMPLES})
ML_ENABLED = bool(
    config["ml"]["history"] and config["reference"]["gff3"] and ML_PATIENTS
)


def ml_plan():
    """Per tumour patient: its sample-sheet rows and the files each sample contributes."""
    plan = {}
    for patient in ML_PATIENTS:
        rows = get_patient_rows(patient)
        files = {}
        for r in rows:
            s = r["sample"]
            f = {
                "consequences": f"results/annotate/{s}.consequences.tsv",
                "calls_vcf": f"results/calls/{s}.vcf.gz",
                "pgx": f"results/pgx/{s}.genes.tsv",
            }
            if s in TUMOUR_SAMPLES:
                f["actionability"] = f"results/actionability/{s}.tsv"
                f["actionability_json"] = f"results/actionability/{s}.json"
            if s in TUMOUR_ALIGNED:
                f["somatic_consequences"] = f"results/somatic/{s}.consequences.tsv"
                f["somatic_vcf"] = f"results/somatic/{s}.vcf.gz"
            files[s] = f
        samples = [
            {k: r[k] for k in ("sample", "type", "sex", "tumor_type")} for r in rows
        ]
        plan[patient] = {"samples": samples, "files": files}
    return plan


ML_PLAN = ml_plan() if ML_ENABLED else {}
FINDINGS_PLAN = {p: findings_plan(p) for p in PATIENTS}


def predictions_reason(patient):
    """Why a patient's findings have no predictions ("" when they do)."""
    if not config["ml"]["history"]:
        return "no prediction model is configured: set ml.history to a folder of past patients"
    if not config["reference"]["gff3"]:
        return "predictions need variant consequences: set reference.gff3"
    if patient not in ML_PATIENTS:
        return "predictions are made for patients with a tumour sample; this patient has none"
    return ""


def ml_history(name):
    return str(Path(config["ml"]["history"]) / name)


def get_contribution_plot(wildcards):
    """The ML step's contribution plot of a tumour patient, for its report; none without predictions."""
    if ML_ENABLED and wildcards.patient in ML_PATIENTS:
        return f"results/ml/contributions/{wildcards.patient}.svg"
    return []


def get_cohort_summary_inputs(wildcards):
    """The findings of every patient and the run-level outputs the cohort report shows."""
    out = {"findings": [f"results/findings/{p}.json" for p in PATIENTS]}
    if ML_ENABLED:
        out["metrics"] = "results/ml/metrics.json"
        out["ml_plots"] = [
            f"results/ml/plots/{n}.svg"
            for n in ("roc", "calibration", "importance", "km_risk")
        ]
        out["network"] = "results/similarity/network.json"
        out["sim_plots"] = [
            f"results/similarity/{n}.svg" for n in ("network", "heatmap", "km_clusters")
        ]
    out["cohorts"] = [f"results/cohorts/{name}/summary.tsv" for name in COHORTS]
    out["km"] = [f"results/cohorts/{name}/km.svg" for name in COHORTS]
    return out


def get_cohort_report_inputs(wildcards):
    """The cohort summary and the SVG figures it names."""
    inputs = get_cohort_summary_inputs(wildcards)
    figures = [*inputs.get("ml_plots", []), *inputs.get("sim_plots", []), *inputs["km"]]
    return {"summary": "results/cohort/summary.json", "figures": figures}


# --- resources of the heavy steps, sized per job from its input (seq2rx.ops.resources)
from seq2rx.ops.resources import (
    FLOOR_MIN as RESOURCE_FLOOR_MIN,
    step_resources,
)  # noqa: E402


def sized(step, what, share=1):
    """A ``resources:`` callable: ``what`` (``mem_mb`` or ``runtime``) of one job of ``step``, from
    the sizes of its data inputs (FASTQ, BAM, VCF), the reference's ``.fai`` and the gene models,
    times the attempt (a retry gets more). Snakemake calls it when the job is about to run.
    ``share``: the job does one of that many equal parts of the step's work (a calling interval
    reads the whole BAM's index but only its part of the reads), so its time is that share.
    """

    def size(wildcards, input, threads, attempt):
        r = step_resources(
            step,
            input.items(),
            fasta=config["reference"]["fasta"],
            threads=threads,
            attempt=attempt,
            aligner=ALIGNER,
            gene_models=config["reference"]["gff3"] or None,
        )
        if what == "runtime" and share > 1:
            return max(RESOURCE_FLOOR_MIN * attempt, -(-r.runtime // share))
        return getattr(r, what)

    return size
