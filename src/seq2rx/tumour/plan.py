"""What a workflow does for one tumour beyond small variants, decided from its sample-sheet row alone
(no file is read): copy number with CNVkit (against its matched normal or the run's pooled
reference) or from the sheet's ``cna`` file; fusions called from its reads or from the sheet's
``fusions`` file; MSI by the mode :func:`seq2rx.tumour.msi.msi_mode` chooses. A modality that cannot
be assessed says why, in words a report can print ("the sample started from a VCF: ...").
"""

from __future__ import annotations

from seq2rx.tumour.msi import msi_mode

STAGES = ("fastq", "bam", "vcf")
_FROM_VCF = "the sample started from a VCF: {what} need reads (or a {column} file in the sample sheet)"
_NO_POOL = "tumour-only, and the run has no aligned normal or germline sample to build a {what} from"


def tumour_plan(
    *,
    stage: str,
    matched_normal: bool,
    pool: int,
    cna: str | None = None,
    fusions: str | None = None,
    gene_models: bool = True,
) -> dict:
    """The plan of one tumour: for ``copy_number``, ``fusions`` and ``msi`` a dict with ``how``
    (``None`` when the modality is not assessed) and ``reason`` (why not; ``None`` when it is).

    ``stage`` is where the row starts (``fastq``, ``bam``, ``vcf``); ``matched_normal`` whether the
    patient has an aligned normal; ``pool`` how many aligned normal and germline samples the run
    has (a pooled CNVkit reference and the MSI baseline are built from them); ``cna`` and
    ``fusions`` the sheet's files from another caller, which are used instead of calling;
    ``gene_models`` whether the reference has a GFF3 (CNVkit's genes and the fusion frame check
    need it).

    ``copy_number.how``: ``file``, ``cnvkit-matched`` or ``cnvkit-pooled``; ``fusions.how``:
    ``file`` or ``call``; ``msi.how``: a mode of :func:`seq2rx.tumour.msi.msi_mode`.

    >>> p = tumour_plan(stage="fastq", matched_normal=False, pool=7)
    >>> p["copy_number"]["how"], p["fusions"]["how"], p["msi"]["how"]
    ('cnvkit-pooled', 'call', 'msisensor-baseline')
    >>> tumour_plan(stage="vcf", matched_normal=False, pool=0)["fusions"]["reason"]
    'the sample started from a VCF: fusions need reads (or a fusions file in the sample sheet)'
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {list(STAGES)}, got {stage!r}")
    if pool < 0:
        raise ValueError(f"pool must be a count >= 0, got {pool!r}")
    aligned = stage != "vcf"

    def entry(how: str | None, reason: str | None = None) -> dict:
        return {"how": how, "reason": None if how else reason}

    no_models = "{what} need gene models: set reference.gff3"
    if cna:
        copy_number = entry("file")
    elif not aligned:
        copy_number = entry(None, _FROM_VCF.format(what="copy-number calls", column="cna"))
    elif not gene_models:
        copy_number = entry(None, no_models.format(what="gene-level copy-number calls"))
    elif matched_normal:
        copy_number = entry("cnvkit-matched")
    elif pool:
        copy_number = entry("cnvkit-pooled")
    else:
        copy_number = entry(None, _NO_POOL.format(what="CNVkit reference"))
    if fusions:
        fusion = entry("file")
    elif not aligned:
        fusion = entry(None, _FROM_VCF.format(what="fusions", column="fusions"))
    elif not gene_models:
        fusion = entry(None, no_models.format(what="fusion calls"))
    else:
        fusion = entry("call")
    mode = msi_mode(aligned=aligned, matched_normal=matched_normal)
    if mode == "msisensor-baseline" and not pool:
        msi = entry(None, _NO_POOL.format(what="MSI baseline"))
    else:
        msi = entry(mode)
    return {"copy_number": copy_number, "fusions": fusion, "msi": msi}


def not_assessed(plan: dict) -> dict[str, str]:
    """The reasons of a :func:`tumour_plan`'s modalities that are not assessed, by the modality
    names of the actionability document (``copy number``, ``fusions``, ``MSI``).

    >>> not_assessed(tumour_plan(stage="fastq", matched_normal=True, pool=1))
    {}
    """
    names = {"copy_number": "copy number", "fusions": "fusions", "msi": "MSI"}
    return {names[k]: v["reason"] for k, v in plan.items() if v["how"] is None}


def steps_not_assessed(*, copy_number: dict | None = None, fusions: dict | None = None) -> dict[str, str]:
    """The reasons the tumour's own steps gave for not assessing a modality they ran for: the CNVkit
    step's JSON (too little coverage) and the fusion caller's (no usable reads on the genes), by the
    modality names of :func:`not_assessed`. A step that assessed its modality, or did not run, gives none.

    >>> steps_not_assessed(copy_number={"status": "not assessed", "reason": "too little coverage"})
    {'copy number': 'too little coverage'}
    """
    out = {}
    for name, doc in (("copy number", copy_number), ("fusions", fusions)):
        if doc and doc.get("status") == "not assessed":
            out[name] = doc.get("reason") or f"{name} not assessed"
    return out
