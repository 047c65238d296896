"""The code systems, profiles and codes of the HL7 Genomics Reporting IG (STU3, on FHIR R4) that the
bundle uses. These are the format's own vocabulary (like a file format's field names), not knowledge:
the knowledge the bundle codes (gene IDs, chromosome accessions, phenotype answer codes) is in
``resources/kb/fhir/``.
"""

IG = "http://hl7.org/fhir/uv/genomics-reporting"


def profile(name: str) -> str:
    """The canonical URL of one of the IG's profiles, e.g. ``profile("genotype")``."""
    return f"{IG}/StructureDefinition/{name}"


PROFILES = {
    "report": profile("genomic-report"),
    "variant": profile("variant"),
    "genotype": profile("genotype"),
    "implication": profile("therapeutic-implication"),
    "biomarker": profile("molecular-biomarker"),
    "task": profile("medication-recommendation"),
}
RECOMMENDED_ACTION = profile("recommended-action")
RELATED_ARTIFACT = "http://hl7.org/fhir/StructureDefinition/workflow-relatedArtifact"

LOINC = "http://loinc.org"
TBD = f"{IG}/CodeSystem/tbd-codes-cs"
HGNC = "http://www.genenames.org"
HGVS = "http://varnomen.hgvs.org"
REFSEQ = "http://www.ncbi.nlm.nih.gov/refseq"
ENSEMBL = "http://www.ensembl.org"
DBSNP = "http://www.ncbi.nlm.nih.gov/projects/SNP"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0487 = "http://terminology.hl7.org/CodeSystem/v2-0487"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

#: (system, code, display) of every fixed code the bundle uses
REPORT_CODE = (LOINC, "81247-9", "Master HL7 genetic variant reporting panel")
GENETICS = (V2_0074, "GE", "Genetics")
LABORATORY = (OBS_CATEGORY, "laboratory", "Laboratory")
BIOMARKER_CATEGORY = (TBD, "biomarker-category", "Biomarker Category")
VARIANT_CODE = (LOINC, "69548-6", "Genetic variant assessment")
GENOTYPE_CODE = (LOINC, "84413-4", "Genotype display name")
IMPLICATION_CODE = (TBD, "therapeutic-implication", "Therapeutic Implication")
TMB_CODE = (LOINC, "94076-7", "Mutations/Megabase [# Ratio] in Tumor")
MSI_CODE = (LOINC, "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen Qualitative")
PRESENT = (LOINC, "LA9633-4", "Present")
SEQUENCING = (LOINC, "LA26398-0", "Sequencing")
TUMOUR_SPECIMEN = (V2_0487, "TUMOR", "Tumor")
NOT_PERFORMED = (DATA_ABSENT, "not-performed", "Not Performed")
UNKNOWN = (DATA_ABSENT, "unknown", "Unknown")

#: Observation.component codes (IG slice name -> code)
COMPONENT = {
    "gene-studied": (LOINC, "48018-6", "Gene studied [ID]"),
    "reference-sequence-assembly": (LOINC, "62374-4", "Human reference sequence assembly version"),
    "genomic-ref-seq": (LOINC, "48013-7", "Genomic reference sequence [ID]"),
    "genomic-hgvs": (LOINC, "81290-9", "Genomic DNA change (gHGVS)"),
    "coordinate-system": (LOINC, "92822-6", "Genomic coordinate system [Type]"),
    "exact-start-end": (LOINC, "81254-5", "Genomic allele start-end"),
    "ref-allele": (LOINC, "69547-8", "Genomic ref allele [ID]"),
    "alt-allele": (LOINC, "69551-0", "Genomic alt allele [ID]"),
    "genomic-source-class": (LOINC, "48002-0", "Genomic source class [Type]"),
    "allelic-state": (LOINC, "53034-5", "Allelic state"),
    "sample-allelic-frequency": (LOINC, "81258-6", "Sample variant allelic frequency [NFr]"),
    "allelic-read-depth": (LOINC, "82121-5", "Allelic read depth"),
    "variation-code": (LOINC, "81252-9", "Discrete genetic variant"),
    "representative-protein-hgvs": (LOINC, "48005-3", "Amino acid change (pHGVS)"),
    "representative-transcript-ref-seq": (LOINC, "51958-7", "Transcript reference sequence [ID]"),
    "copy-number": (LOINC, "82155-3", "Genomic structural variant copy number"),
    "therapeutic-implication": IMPLICATION_CODE,
    "medication-assessed": (LOINC, "51963-7", "Medication assessed [ID]"),
    "evidence-level": (LOINC, "93044-6", "Level of evidence"),
    "phenotypic-treatment-context": (LOINC, "81259-4", "Associated phenotype"),
    "conclusion-string": (TBD, "conclusion-string", "Conclusion String"),
}
ASSEMBLY = {"GRCh38": (LOINC, "LA26806-2", "GRCh38"), "GRCh37": (LOINC, "LA14029-5", "GRCh37")}
ONE_BASED = (LOINC, "LA30102-0", "1-based character counting")
SOURCE_CLASS = {"germline": (LOINC, "LA6683-2", "Germline"), "somatic": (LOINC, "LA6684-0", "Somatic")}
ALLELIC_STATE = {"het": (LOINC, "LA6706-1", "Heterozygous"), "hom": (LOINC, "LA6705-3", "Homozygous")}
RESPONSE = {"sensitive": (LOINC, "LA6677-4", "Responsive"), "resistant": (LOINC, "LA6676-6", "Resistant")}
MSI_STATUS = {"MSI-H": (LOINC, "LA26203-2", "MSI-H"), "MSS": (LOINC, "LA14122-8", "Stable")}
