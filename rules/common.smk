# Validation of the configuration and the sample sheet, wildcard constraints and input
# functions. Everything here runs before any job starts; nothing here reads data files.
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from seq2rx import config as s2c  # noqa: E402
from seq2rx.demo import demo_layout, load_spec  # noqa: E402
from seq2rx.errors import InputError  # noqa: E402

BASEDIR = Path(workflow.basedir)
SCHEMAS = BASEDIR / "config" / "schemas"
DEMO_SPEC = BASEDIR / "resources" / "demo" / "demo.yaml"
DEMO_SITES = BASEDIR / "resources" / "kb" / "pgx" / "positions.tsv"
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
    }
    for sample, (r1, r2) in layout["reads"].items():
        files[f"{sample}_R1"] = str(r1)
        files[f"{sample}_R2"] = str(r2)
    for sample, truth in layout["truth"].items():
        files[f"{sample}_truth"] = str(truth)
    for sample, outside in layout["outside"].items():
        files[f"{sample}_outside"] = str(outside)
    return files


try:
    config = s2c.validate_config(
        config, s2c.load_yaml(SCHEMAS / "config.schema.yaml"), str(CONFIG_SOURCE)
    )
    DEMO_FILES = _demo_files(config)
    _will_exist = lambda p: str(Path(p)) in {str(Path(x)) for x in DEMO_FILES.values()}
    s2c.check_reference(config, str(CONFIG_SOURCE), _will_exist)
    SHEET = s2c.read_sample_sheet(
        config["samples"], s2c.load_yaml(SCHEMAS / "samples.schema.yaml"), _will_exist
    )
except InputError as exc:
    sys.exit(f"seq2rx: configuration error: {exc}")

SAMPLES = {row["sample"]: row for row in SHEET}
# a tumour's type decides its tiers: check it against the OncoTree codes before any job starts
_ONCOTREE = BASEDIR / "resources" / "kb" / "actionability" / "oncotree.tsv"
_CODES = {
    line.split("\t")[0] for line in _ONCOTREE.read_text().splitlines()[1:] if line
}
for _row in SHEET:
    if _row["type"] == "tumor" and _row["tumor_type"] not in _CODES:
        sys.exit(
            f"seq2rx: configuration error: {config['samples']}, sample {_row['sample']}, field "
            f"'tumor_type': {_row['tumor_type']!r} is not an OncoTree code of {_ONCOTREE.name} "
            "(a tumour sample needs one, e.g. LUAD, COAD, BRCA)"
        )
PATIENTS = sorted({row["patient"] for row in SHEET})
READ_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "fastq")
BAM_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "bam")
VCF_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["stage"] == "vcf")
ALIGNED_SAMPLES = sorted(READ_SAMPLES + BAM_SAMPLES)
TUMOR_SAMPLES = sorted(s for s, r in SAMPLES.items() if r["type"] == "tumor")
# tumours called from reads (somatic caller); a tumour VCF from elsewhere is taken as somatic
TUMOR_ALIGNED = sorted(set(TUMOR_SAMPLES) & set(ALIGNED_SAMPLES))
ALIGNER = config["align"]["aligner"]
CONFIG_SHA256 = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


# Sets and a patient -> rows index for the input functions: each is called once per job, so a
# scan of the sheet inside one would make planning grow with the square of the sheet.
ALIGNED_SET = set(ALIGNED_SAMPLES)
TUMOR_SET = set(TUMOR_SAMPLES)
TUMOR_ALIGNED_SET = set(TUMOR_ALIGNED)
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


def get_reads(wildcards):
    """R1 and R2 FASTQ of a sample that starts from reads."""
    row = SAMPLES[wildcards.sample]
    return {"r1": row["fastq1"], "r2": row["fastq2"]}


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


def get_patient_inputs(wildcards):
    """Everything the findings document of one patient is assembled from."""
    rows = get_patient_rows(wildcards.patient)
    samples = [r["sample"] for r in rows]
    aligned = [s for s in samples if s in ALIGNED_SET]
    out = {
        "vcfs": [f"results/calls/{s}.vcf.gz" for s in samples],
        "qc": [f"results/qc/summary/{s}.json" for s in aligned],
        "coverage": [f"results/qc/coverage/{s}.tsv" for s in aligned],
        "pgx": [f"results/pgx/{s}.json" for s in samples],
        "actionability": [
            f"results/actionability/{s}.json" for s in samples if s in TUMOR_SET
        ],
        "versions": "results/versions.json",
    }
    if config["reference"]["gff3"]:
        out["consequences"] = [
            f"results/annotate/{s}.consequences.tsv" for s in samples
        ]
    return out


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
    """Tumour BAM, matched normal BAM when the patient has one, and the target regions."""
    out = {f"tumor_{k}": v for k, v in bam_of(wildcards.sample).items()}
    normal = matched_normal(wildcards.sample)
    if normal:
        out.update({f"normal_{k}": v for k, v in bam_of(normal).items()})
    if config["targets"]:
        out["regions"] = get_targets()
    return out


def get_actionability_inputs(wildcards):
    """A tumour's somatic calls (from reads, or its VCF from elsewhere) and their consequences."""
    s = wildcards.sample
    if s in TUMOR_ALIGNED_SET:
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
    return out


def sample_sheet_inputs():
    """Every data file the sample sheet names (reads, BAMs, VCFs, outside calls)."""
    cols = ("fastq1", "fastq2", "bam", "vcf", "outside_calls")
    return sorted({row[c] for row in SAMPLES.values() for c in cols if row.get(c)})


def get_provenance_inputs(wildcards):
    """The run's final outputs: the provenance record is written after all of them."""
    return [p for p in get_final_output() if p != "results/provenance.json"]


def get_version_files():
    files = [f"results/versions/bcftools_call/{s}.json" for s in ALIGNED_SAMPLES]
    files += [f"results/versions/cutadapt_trim/{s}.json" for s in READ_SAMPLES]
    files += [f"results/versions/align_reads/{s}.json" for s in READ_SAMPLES]
    files += [f"results/versions/samtools_markdup/{s}.json" for s in READ_SAMPLES]
    files += [f"results/versions/samtools_stats/{s}.json" for s in ALIGNED_SAMPLES]
    files += [
        f"results/versions/pgx_genotype_positions/{s}.json" for s in ALIGNED_SAMPLES
    ]
    files += [f"results/versions/bcftools_norm_input/{s}.json" for s in VCF_SAMPLES]
    files += [f"results/versions/pgx_call/{s}.json" for s in sorted(SAMPLES)]
    files += [f"results/versions/somatic_call/{s}.json" for s in TUMOR_ALIGNED]
    files += [f"results/versions/actionability/{s}.json" for s in TUMOR_SAMPLES]
    files += [f"results/versions/bcftools_stats/{s}.json" for s in sorted(SAMPLES)]
    if config["reference"]["gff3"]:
        files += [f"results/versions/bcftools_csq/{s}.json" for s in sorted(SAMPLES)]
        files += [f"results/versions/primer3_design/{p}.json" for p in PATIENTS]
    if READ_SAMPLES:
        files.append(f"results/versions/aligner_index/{ALIGNER}.json")
    if ALIGNED_SAMPLES:
        files.append("results/versions/multiqc_report/multiqc.json")
    return files


def get_final_output():
    out = [f"results/calls/{s}.vcf.gz" for s in sorted(SAMPLES)]
    if config["reference"]["gff3"]:
        out += [f"results/annotate/{s}.consequences.tsv" for s in sorted(SAMPLES)]
        out += [f"results/primers/{p}.tsv" for p in PATIENTS]
    out += [f"results/pgx/{s}.positions.tsv" for s in ALIGNED_SAMPLES]
    out += [f"results/pgx/{s}.json" for s in sorted(SAMPLES)]
    out += [f"results/actionability/{s}.tsv" for s in TUMOR_SAMPLES]
    out += [f"results/findings/{p}.json" for p in PATIENTS]
    out += [f"results/reports/{p}.html" for p in PATIENTS]
    out.append("results/versions.json")
    out.append("results/provenance.json")
    if ALIGNED_SAMPLES:
        out.append("results/qc/multiqc/multiqc_report.html")
    if config["demo"]["simulate"]:
        out.append("results/truth/summary.tsv")
    return out
