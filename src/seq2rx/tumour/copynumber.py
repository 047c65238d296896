"""Copy number of a tumour from its BAM, with CNVkit (Talevich et al., PLoS Comput Biol 2016) as the
engine, called through its Python API (``cnvlib``), step for step as ``cnvkit.py batch`` does it:

1. **bins**: the targets BED split into bins of ``target_bin_size`` (CNVkit ``target``), and for
   hybrid capture off-target bins (``antitarget``) in the reference's sequence (its non-N islands,
   CNVkit's ``access``); without a targets BED, bins of ``wgs_bin_size`` over the non-N islands
   (CNVkit's ``wgs`` protocol);
2. **coverage** of each bin in the tumour and in the normals (``coverage``);
3. **reference**: the matched normal alone, or a pooled reference of several normal and germline
   samples (``reference``); which one was used is written in the JSON. :func:`build_reference`
   writes it once (a run's pooled reference serves all its tumours); :func:`copy_number` takes
   either the normals' BAMs or that reference;
4. **fix**: tumour over reference, GC, repeat and edge bias corrected (``fix``): the per-bin log2
   ratios;
5. **segment** (``segment``, :data:`SEGMENTATIONS`): pip-only methods, ``haar`` by default, as CBS
   needs R and DNAcopy;
6. **call**: CNVkit's ``call`` on the segments (its ``batch`` filters: confidence-interval merge,
   re-centring on the median), integer copy number by its thresholds, after rescaling for a
   configured purity;
7. **genes**: each coding gene of the GFF3 takes the copy number of the segment covering most of its
   bins, and is called ``amplification`` at ``amplification_min_cn`` total copies or more,
   ``deletion`` at ``deletion_max_cn`` or fewer, else ``neutral`` (PCGR's gene-level convention).

Purity and ploidy are not estimated: purity is the configured value (1.0 by default) and ploidy 2,
and the JSON says so (``"purity assumed 1.0, not estimated"``).

:func:`write_access` writes the reference's non-N regions once per run (scanning an N-padded FASTA
for them costs 1.4 s on the demo genome). Measured with CNVkit 0.9.14 on 2 shared cores: a tumour
of 1.98 M reads against a prebuilt reference, 6.5 s (most of it samtools bedcov); a demo tumour
(40 k reads), 0.7-0.9 s plus 1.3-1.6 s to import cnvlib (pandas, scipy, matplotlib).

Outputs (``{prefix}.bins.tsv``, ``.segments.tsv``, ``.genes.tsv``, ``.json``) are written
atomically and are byte-identical for the same inputs: no timestamps, no paths, fixed decimals.
Coordinates in the TSVs are 1-based and closed (as in GFF3 and PCGR's segment files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, scratch_dir, write_json
from seq2rx.tumour.copynumber_io import CopyNumberThresholds, GeneCopyNumber

#: segmentation methods that run from pip alone (``cbs``, CNVkit's default, needs R and DNAcopy).
#: ``haar`` (HaarSeg, Ben-Yaacov & Eldar 2008) is the default: deterministic, numpy only, and on the
#: test genome (a 4.5-fold amplification and a homozygous deletion among 6 genes, 8x and 30x) it
#: found exactly the 6 true segments and 9 copies for the 9-copy gene. CNVkit 0.9.14's ``hmm`` and
#: ``hmm-tumor`` (now numpy/scipy, no pomegranate) also called both events but split the genome into
#: 11-15 segments and put the 9-copy gene at 6-8 copies, close to the amplification threshold.
#: ``none`` (one segment per chromosome arm) is left out: it averages a focal amplification into its
#: whole arm, and on the test genome called every gene on the amplified and deleted arms.
SEGMENTATIONS = ("haar", "hmm", "hmm-tumor")
#: below this median read depth over the tumour's target bins (wgs: all bins) copy number is not
#: assessed: a 267-bp bin then holds about 13 reads of 100 bp, a Poisson spread of 28% (about 0.4 in
#: log2, wider than the 0.2-0.7 gap between CNVkit's gain cut-offs), and an empty or wrong BAM, whose
#: bins are all 0, would otherwise come out neutral everywhere after median centring
MIN_MEDIAN_DEPTH = 5.0
#: CNVkit's sequencing protocols (``batch --method``)
SEQ_METHODS = ("hybrid", "amplicon", "wgs")
CALL_METHODS = ("threshold", "clonal")
GENE_CALLS = ("amplification", "deletion", "neutral")
#: where the calls come from, as the ``source`` column of the gene table (PCGR's files say another)
SOURCE = "cnvkit"
GENE_COLUMNS = ("gene", "chrom", "start", "end", "log2", "copy_number", "total_cn", "call", "source", "bins")
SEGMENT_COLUMNS = ("chrom", "start", "end", "log2", "copy_number", "total_cn", "bins", "genes")
BIN_COLUMNS = ("chrom", "start", "end", "kind", "depth", "log2", "weight")


@dataclass(frozen=True)
class CopyNumberParams:
    """How bins are laid, segmented and called. Defaults are CNVkit's own unless said otherwise.

    * ``target_bin_size`` 267 bp (``cnvkit.py target --avg-size``, 200/0.75),
      ``antitarget_bin_size`` 150 kb (``antitarget --avg-size``), ``wgs_bin_size`` 5 kb (``batch``'s
      WGS default without a normal to size bins from), ``min_mapq`` 0 (``coverage --min-mapq``).
    * ``segmentation`` ``haar`` (see :data:`SEGMENTATIONS` and the README for why), with CNVkit's
      significance threshold for it (``segment --threshold``, 1e-4).
    * ``call_method`` ``threshold`` with ``thresholds`` (-1.1, -0.25, 0.2, 0.7), CNVkit's ``call``
      defaults: log2 at or below each gives 0, 1, 2, 3 copies; above 0.7, ``ceil(2 * 2**log2)``
      (cnvlib/call.py ``absolute_threshold``; the cut-offs assume single-copy changes in 50% of
      cells, with ±0.1 noise).
    * ``amplification_min_cn`` 6 total copies: PCGR's ``--n_copy_gain`` default (PCGR 2.x docs,
      "minimum number of total copy number for segments considered as gains/amplifications").
      ``deletion_max_cn`` 0: a homozygous deletion, PCGR's ``homdel`` (total copy number 0); a
      one-copy loss is not a deletion call, as the knowledge base's deletion rules (CDKN2A, PTEN)
      mean loss of both copies.
    * ``purity`` 1.0 and ``ploidy`` 2: assumed, not estimated (``call --purity --ploidy``); a purity
      below 1 rescales the log2 ratios before calling, as CNVkit does.
    """

    seq_method: str = "hybrid"
    target_bin_size: int = 267
    antitarget_bin_size: int = 150_000
    wgs_bin_size: int = 5000
    min_mapq: int = 0
    segmentation: str = "haar"
    segment_threshold: float = 1e-4
    call_method: str = "threshold"
    thresholds: tuple[float, float, float, float] = (-1.1, -0.25, 0.2, 0.7)
    amplification_min_cn: int = 6
    deletion_max_cn: int = 0
    purity: float = 1.0
    ploidy: int = 2

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("seq_method", self.seq_method, SEQ_METHODS),
            ("segmentation", self.segmentation, SEGMENTATIONS),
            ("call_method", self.call_method, CALL_METHODS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
        object.__setattr__(self, "thresholds", tuple(float(t) for t in self.thresholds))
        if len(self.thresholds) != 4 or list(self.thresholds) != sorted(self.thresholds):
            raise ValueError(f"thresholds must be 4 increasing log2 ratios, got {list(self.thresholds)}")
        if not 0 < self.purity <= 1:
            raise ValueError(f"purity must be in (0, 1], got {self.purity!r}")
        if self.ploidy < 1:
            raise ValueError(f"ploidy must be at least 1, got {self.ploidy!r}")
        if self.amplification_min_cn <= self.ploidy:
            raise ValueError(
                f"amplification_min_cn ({self.amplification_min_cn}) must be above the ploidy ({self.ploidy})"
            )
        if self.deletion_max_cn >= self.ploidy:
            raise ValueError(f"deletion_max_cn ({self.deletion_max_cn}) must be below the ploidy ({self.ploidy})")

    @classmethod
    def from_config(cls, section: dict) -> CopyNumberParams:
        """The parameters of the config's ``copy_number`` section (its schema holds the defaults)."""
        return cls(**{f.name: section[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class GeneEstimate:
    """One gene's copy number. ``gene, chrom, start, end, total_cn, call, source`` are the columns
    every gene-level copy-number call carries (as read from PCGR's segment files too); ``log2`` and
    ``copy_number`` (unrounded, ``ploidy * 2**log2`` after purity rescaling) and ``bins`` are
    CNVkit's evidence. ``start``/``end`` are 1-based, closed: the gene's coding span in the GFF3."""

    gene: str
    chrom: str
    start: int
    end: int
    log2: float
    copy_number: float
    total_cn: int
    call: str
    source: str
    bins: int


def gene_call(total_cn: int, params: CopyNumberParams) -> str:
    """``amplification``, ``deletion`` or ``neutral`` for a total copy number.

    >>> p = CopyNumberParams()
    >>> [gene_call(cn, p) for cn in (0, 1, 2, 5, 6, 12)]
    ['deletion', 'neutral', 'neutral', 'neutral', 'amplification', 'amplification']
    """
    if total_cn >= params.amplification_min_cn:
        return "amplification"
    if total_cn <= params.deletion_max_cn:
        return "deletion"
    return "neutral"


def reference_kind(normal_bams: Sequence, matched: bool) -> str:
    """``matched normal`` or ``pooled reference of N samples``, or an error saying what to give.

    >>> reference_kind(["n.bam"], matched=True)
    'matched normal'
    >>> reference_kind(["a.bam", "b.bam"], matched=False)
    'pooled reference of 2 samples'
    """
    if not normal_bams:
        raise InputError(
            "copy number reference",
            "no normal BAM and no reference given: CNVkit needs the matched normal, or normal/germline samples to pool",
            hint="give the tumour's matched normal, or the run's normal and germline BAMs for a pooled reference "
            "(or a reference built from them with build_reference)",
        )
    if matched:
        if len(normal_bams) != 1:
            raise ValueError(f"a matched normal is one BAM, got {len(normal_bams)}")
        return "matched normal"
    return f"pooled reference of {len(normal_bams)} sample{'s' if len(normal_bams) > 1 else ''}"


def _check_bam(path: str | Path) -> str:
    path = str(path)
    if not os.path.exists(path):
        raise InputError(path, "does not exist")
    if not any(os.path.exists(p) for p in (path + ".bai", path + ".csi", path.removesuffix(".bam") + ".bai")):
        raise InputError(path, "has no index (.bai or .csi)", hint=f"run: samtools index {path}")
    return path


def _check_fasta(path: str | Path) -> str:
    path = str(path)
    if not os.path.exists(path + ".fai"):
        raise InputError(path, "has no .fai index", hint=f"run: samtools faidx {path}")
    return path


def write_access(fasta: str | Path, out_bed: str | Path) -> int:
    """Write the reference's sequence-accessible regions (its non-N runs, CNVkit's ``access``) as a
    BED; return how many. Computing them reads the whole FASTA (1.4 s on the demo's N-padded 1 Gb
    genome), so a run does it once and passes the BED to :func:`copy_number` for every tumour."""
    from seq2rx.genome.reference import find_islands

    rows = find_islands(_check_fasta(fasta))
    with atomic_output(out_bed) as tmp:
        Path(tmp).write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
    return len(rows)


def _bins(fasta: str, targets, access, params: CopyNumberParams, td: str) -> tuple[str, str, str]:
    """Write the target and antitarget bin BEDs; return their paths and the protocol used."""
    from cnvlib import antitarget, target
    from skgenome import GenomicArray as GA
    from skgenome import tabio

    from seq2rx.genome.reference import find_islands

    if access is None:
        accessible = GA.from_rows(find_islands(fasta))
    else:
        accessible = tabio.read(str(access), "bed3")
        if not len(accessible):
            raise InputError(
                str(access), "holds no regions", hint="write it with seq2rx.tumour.copynumber.write_access"
            )
    method = params.seq_method if targets else "wgs"
    if targets:
        baits = tabio.read_auto(str(targets))
        if not len(baits):
            raise InputError(
                str(targets), "holds no regions", hint="give a BED of capture targets, or none for WGS bins"
            )
        bins = target.do_target(baits, None, False, True, avg_size=params.target_bin_size)
    else:
        bins = target.do_target(accessible, None, False, True, avg_size=params.wgs_bin_size)
    if method == "hybrid":
        anti = antitarget.do_antitarget(bins, access=accessible, avg_bin_size=params.antitarget_bin_size)
    else:
        anti = GA([])
    tgt_bed, anti_bed = os.path.join(td, "targets.bed"), os.path.join(td, "antitargets.bed")
    tabio.write(bins, tgt_bed, "bed4")
    tabio.write(anti, anti_bed, "bed4")
    return tgt_bed, anti_bed, method


def _coverage(bed: str, bam: str, fasta: str, params: CopyNumberParams):
    """CNVkit's coverage of the bins in one BAM; a BAM that does not fit the bins is named."""
    from cnvlib import coverage

    try:
        return coverage.do_coverage(bed, bam, by_count=False, min_mapq=params.min_mapq, processes=1, fasta=fasta)
    except RuntimeError as exc:  # CNVkit: "must be sorted by coordinates"
        raise InputError(bam, str(exc), hint=f"sort it: samtools sort -o sorted.bam {bam}") from None
    except ValueError as exc:
        if "chromosome names" not in str(exc):
            raise
        raise InputError(
            bam, "shares no contig name with the bins (targets BED or reference)",
            hint="align to the configured reference; contig names must match exactly (chr1 vs 1)",
        ) from None  # fmt: skip


def build_reference(
    normal_bams: Sequence[str | Path],
    *,
    fasta: str | Path,
    out: str | Path,
    targets: str | Path | None = None,
    access: str | Path | None = None,
    matched: bool = False,
    params: CopyNumberParams = CopyNumberParams(),
) -> dict:
    """Write CNVkit's reference (``out``, a ``.cnn``) from the normals' coverage of the bins, and
    ``{out}.json`` saying what it is (matched normal or pooled, how many samples, the protocol).

    A pooled reference is built once per run and given to :func:`copy_number` for every tumour,
    so each normal's coverage is computed once. ``targets``, ``access`` and ``matched`` as for
    :func:`copy_number`."""
    from cnvlib import reference
    from skgenome import tabio

    kind = reference_kind(normal_bams, matched)
    normals = [_check_bam(b) for b in normal_bams]
    fasta = _check_fasta(fasta)
    for path in (targets, access):
        if path is not None and not os.path.exists(path):
            raise InputError(str(path), "does not exist")
    with scratch_dir(out) as td:
        tgt_bed, anti_bed, method = _bins(fasta, targets, access, params, td)
        tgt_cnn, anti_cnn = [], []
        for k, bam in enumerate(normals):
            for bed, cnns in ((tgt_bed, tgt_cnn), (anti_bed, anti_cnn)):
                path = os.path.join(td, f"normal{k}.{len(cnns)}.{os.path.basename(bed)}.cnn")
                tabio.write(_coverage(bed, bam, fasta, params), path)
                cnns.append(path)
        ref = reference.do_reference(
            tgt_cnn, anti_cnn, fasta, is_haploid_x_reference=False, do_gc=True, do_edge=method == "hybrid",
            do_rmask=True, do_cluster=False,
        )  # fmt: skip
    with atomic_output(out) as tmp:
        tabio.write(ref, str(tmp))
    doc = {"reference": kind, "reference_samples": len(normals), "protocol": method}
    write_json(doc, f"{out}.json")
    return doc


def copy_number(
    tumour_bam: str | Path,
    normal_bams: Sequence[str | Path] = (),
    *,
    fasta: str | Path,
    gff3: str | Path,
    prefix: str | Path,
    reference: str | Path | None = None,
    targets: str | Path | None = None,
    access: str | Path | None = None,
    matched: bool = False,
    sex: str | None = None,
    params: CopyNumberParams = CopyNumberParams(),
) -> dict:
    """Call copy number in ``tumour_bam`` and write ``{prefix}.*``; return the JSON document.

    The reference is either built here from ``normal_bams`` (the matched normal, ``matched=True``,
    one BAM; or the samples to pool), or ``reference``, a ``.cnn`` written by
    :func:`build_reference` (its bins are then the reference's, and ``targets``/``access`` are not
    used). ``targets`` is the capture BED, or ``None`` for bins over the reference's non-N islands;
    ``access`` the BED of :func:`write_access` (computed from ``fasta`` when not given); ``sex`` the
    sample sheet's (``female`` or ``male``; anything else, e.g. ``unknown``, lets CNVkit infer it
    from chrX/chrY coverage, taking female when it cannot tell). Both ways give the same bytes.
    """
    if reference is not None and normal_bams:
        raise ValueError("give normal_bams or a prebuilt reference, not both")
    if reference is None:
        reference_kind(normal_bams, matched)  # no normals: say what to give before any work
        _check_bam(tumour_bam)
        with scratch_dir(f"{prefix}.reference") as td:
            ref = os.path.join(td, "reference.cnn")
            build_reference(normal_bams, fasta=fasta, out=ref, targets=targets, access=access, matched=matched,
                            params=params)  # fmt: skip
            return _call(tumour_bam, ref, fasta=fasta, gff3=gff3, prefix=prefix, sex=sex, params=params)
    return _call(tumour_bam, reference, fasta=fasta, gff3=gff3, prefix=prefix, sex=sex, params=params)


def _read_reference(path: str | Path):
    """CNVkit's reference and what :func:`build_reference` said about it, or an error naming it."""
    from cnvlib.cmdutil import read_cna

    path = str(path)
    for p in (path, path + ".json"):
        if not os.path.exists(p):
            raise InputError(
                p, "does not exist", hint="build the reference with seq2rx.tumour.copynumber.build_reference"
            )
    with open(path + ".json") as fh:
        about = json.load(fh)
    return read_cna(path), about


def _call(tumour_bam, reference_cnn, *, fasta, gff3, prefix, sex, params: CopyNumberParams) -> dict:
    from cnvlib import call, fix, segmentation, segmetrics
    from cnvlib.cmdutil import verify_sample_sex
    from cnvlib.reference import reference2regions
    from skgenome import tabio

    tumour = _check_bam(tumour_bam)
    fasta = _check_fasta(fasta)
    genes = _genes(gff3)
    ref, about = _read_reference(reference_cnn)
    method = about["protocol"]
    with scratch_dir(f"{prefix}.bins") as td:
        tgt_bed, anti_bed = os.path.join(td, "targets.bed"), os.path.join(td, "antitargets.bed")
        for regions, bed in zip(reference2regions(ref), (tgt_bed, anti_bed), strict=True):
            tabio.write(regions, bed, "bed4")
        raw_tgt = _coverage(tgt_bed, tumour, fasta, params)
        raw_anti = _coverage(anti_bed, tumour, fasta, params)
    depth = float(raw_tgt["depth"].median()) if len(raw_tgt) else 0.0
    if depth < MIN_MEDIAN_DEPTH:
        return _not_assessed(prefix, about, method, params, len(raw_tgt) + len(raw_anti), depth)
    cnr = fix.do_fix(raw_tgt, raw_anti, ref, do_gc=True, do_edge=method == "hybrid", do_rmask=True, do_cluster=False)
    female = verify_sample_sex(cnr, sex if sex in ("female", "male") else None, False, None)
    segs = segmentation.do_segmentation(
        cnr, params.segmentation, threshold=params.segment_threshold if params.segmentation == "haar" else None,
        processes=1,
    )  # fmt: skip
    # what cnvkit.py batch does after segmenting: merge segments whose confidence intervals overlap,
    # re-centre on the median, then call integer copy numbers
    segs = segmetrics.do_segmetrics(cnr, segs, interval_stats=["ci"], alpha=0.5, smoothed=True)
    segs = call.do_call(segs, method="none", filters=["ci"], is_sample_female=female)
    segs.center_all("median")
    observed = segs["log2"].to_numpy().copy()  # a purity below 1 makes call rescale log2 in place
    segs = call.do_call(
        segs, method=params.call_method, ploidy=params.ploidy, purity=params.purity,
        thresholds=params.thresholds, is_sample_female=female,
    )  # fmt: skip
    seg_rows = _segment_rows(segs, observed, genes, params)
    gene_rows = _gene_rows(genes, cnr, seg_rows, params)
    doc = {
        **_run_facts("assessed", None, depth, about, method, params),
        "sex": ("female" if female else "male")
        + (" (sample sheet)" if sex in ("female", "male") else " (inferred by CNVkit from chrX/chrY coverage)"),
        "purity": params.purity,
        "purity_assumed": True,
        "ploidy": params.ploidy,
        "ploidy_assumed": True,
        "purity_ploidy_note": f"purity assumed {params.purity}, not estimated; ploidy assumed {params.ploidy}",
        "call_method": params.call_method,
        "thresholds": {
            "log2_cn": list(params.thresholds),
            "amplification_min_cn": params.amplification_min_cn,
            "deletion_max_cn": params.deletion_max_cn,
        },
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "coordinates": "1-based, closed",
        "bins": len(cnr),
        "segments": len(seg_rows),
        "genes_assessed": len(gene_rows),
        "genes_without_bins": sorted({g[0] for g in genes} - {g.gene for g in gene_rows}),
        "calls": {c: sorted(g.gene for g in gene_rows if g.call == c) for c in GENE_CALLS if c != "neutral"},
    }
    _write_tsv(f"{prefix}.bins.tsv", BIN_COLUMNS, _bin_rows(cnr))
    _write_tsv(f"{prefix}.segments.tsv", SEGMENT_COLUMNS, [_fmt_segment(r) for r in seg_rows])
    _write_tsv(f"{prefix}.genes.tsv", GENE_COLUMNS, [_fmt_gene(g) for g in gene_rows])
    write_json(doc, f"{prefix}.json")
    return doc


def _run_facts(status: str, reason: str | None, depth: float, about: dict, method: str, params) -> dict:
    """What every copy-number JSON starts with, assessed or not: the status, and how CNVkit ran."""
    import cnvlib

    return {
        "status": status,
        "reason": reason,
        "median_depth": round(depth, 2),
        "method": "CNVkit (cnvlib API: coverage, reference, fix, segment, call)",
        "cnvkit_version": cnvlib.__version__,
        "protocol": method,
        "segmentation": params.segmentation,
        "reference": about["reference"],
        "reference_samples": about["reference_samples"],
    }


def _not_assessed(prefix, about: dict, method: str, params: CopyNumberParams, bins: int, depth: float) -> dict:
    """The outputs of a tumour too thinly covered to call: tables with their headers and no rows, and
    a JSON that says why (``status`` ``not assessed``, ``reason``), so no gene reads as neutral."""
    reason = (f"the tumour's median read depth over its {bins} bins is {depth:.1f}, below {MIN_MEDIAN_DEPTH:g}: "
              "too little coverage for copy number (check the BAM and the targets)")  # fmt: skip
    doc = {
        **_run_facts("not assessed", reason, depth, about, method, params),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(params).items()},
        "bins": bins,
        "segments": 0,
        "genes_assessed": 0,
        "calls": {c: [] for c in GENE_CALLS if c != "neutral"},
    }
    _write_tsv(f"{prefix}.bins.tsv", BIN_COLUMNS, [])
    _write_tsv(f"{prefix}.segments.tsv", SEGMENT_COLUMNS, [])
    _write_tsv(f"{prefix}.genes.tsv", GENE_COLUMNS, [])
    write_json(doc, f"{prefix}.json")
    return doc


def _genes(gff3: str | Path) -> list[tuple[str, str, int, int]]:
    """(gene, chrom, 0-based start, end) of each coding gene: the span of its coding transcripts."""
    from seq2rx.variants.annotate import load_transcripts

    if not os.path.exists(gff3):
        raise InputError(str(gff3), "does not exist")
    spans: dict[tuple[str, str], list[int]] = {}
    for tx in load_transcripts(gff3).values():
        s, e = min(a for a, _b in tx.exons), max(b for _a, b in tx.exons)
        span = spans.setdefault((tx.gene, tx.chrom), [s, e])
        span[0], span[1] = min(span[0], s), max(span[1], e)
    return sorted((g, c, s, e) for (g, c), (s, e) in spans.items())


def _absolute(log2: float, params: CopyNumberParams) -> float:
    """Unrounded copy number of an autosomal log2 ratio, after purity rescaling (CNVkit's formula)."""
    n = params.ploidy * 2.0**log2
    if params.purity < 1:
        n = max(0.0, (n - params.ploidy * (1 - params.purity)) / params.purity)
    return n


@dataclass
class _Segment:
    chrom: str
    start: int
    end: int
    log2: float
    copy_number: float
    total_cn: int
    bins: int
    genes: list[str]


def _segment_rows(segs, observed, genes, params) -> list[_Segment]:
    """The called segments with their observed log2 (before any purity rescaling)."""
    rows = []
    for seg, log2 in zip(segs.data.itertuples(index=False), observed, strict=True):
        start, end = int(seg.start), int(seg.end)
        names = [g for g, c, s, e in genes if c == seg.chromosome and s < end and e > start]
        rows.append(_Segment(str(seg.chromosome), start + 1, end, float(log2), _absolute(float(log2), params),
                             int(seg.cn), int(seg.probes), names))  # fmt: skip
    return rows


def _gene_rows(genes, cnr, seg_rows: list[_Segment], params) -> list[GeneEstimate]:
    """Each gene takes the segment holding most of its bins (ties: the first); genes without bins are left out."""
    data = cnr.data
    out = []
    for gene, chrom, s, e in genes:
        sel = data[(data.chromosome == chrom) & (data.start < e) & (data.end > s)]
        if not len(sel):
            continue
        best, best_n = None, 0
        for seg in seg_rows:
            if seg.chrom != chrom:
                continue
            n = int(((sel.start < seg.end) & (sel.end > seg.start - 1)).sum())
            if n > best_n:
                best, best_n = seg, n
        if best is None:
            continue  # all the gene's bins were dropped from segmentation (no coverage in the reference)
        out.append(GeneEstimate(gene, chrom, s + 1, e, best.log2, best.copy_number, best.total_cn,
                                  gene_call(best.total_cn, params), SOURCE, len(sel)))  # fmt: skip
    return out


def _bin_rows(cnr) -> list[list[str]]:
    return [
        [
            str(b.chromosome),
            str(int(b.start) + 1),
            str(int(b.end)),
            "antitarget" if b.gene == "Antitarget" else "target",
            f"{b.depth:.3f}",
            f"{b.log2:.4f}",
            f"{b.weight:.4f}",
        ]  # fmt: skip
        for b in cnr.data.itertuples(index=False)
    ]


def _fmt_segment(r: _Segment) -> list[str]:
    return [r.chrom, str(r.start), str(r.end), f"{r.log2:.4f}", f"{r.copy_number:.2f}", str(r.total_cn), str(r.bins),
            ",".join(r.genes) or "."]  # fmt: skip


def _fmt_gene(g: GeneEstimate) -> list[str]:
    return [g.gene, g.chrom, str(g.start), str(g.end), f"{g.log2:.4f}", f"{g.copy_number:.2f}", str(g.total_cn),
            g.call, g.source, str(g.bins)]  # fmt: skip


def _write_tsv(path: str, columns: Sequence[str], rows: list[list[str]]) -> None:
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\t".join(columns) + "\n" + "".join("\t".join(r) + "\n" for r in rows))


def read_genes(path: str | Path) -> list[GeneEstimate]:
    """The gene table written by :func:`copy_number`."""
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if tuple(header) != GENE_COLUMNS:
            raise InputError(str(path), f"is not a seq2rx gene copy-number table (columns {header})", line=1)
        out = []
        for line in fh:
            f = dict(zip(header, line.rstrip("\n").split("\t"), strict=True))
            out.append(GeneEstimate(f["gene"], f["chrom"], int(f["start"]), int(f["end"]), float(f["log2"]),
                                      float(f["copy_number"]), int(f["total_cn"]), f["call"], f["source"],
                                      int(f["bins"])))  # fmt: skip
    return out


def gene_copy_numbers(path: str | Path, keep: Iterable[str] | None = None) -> list[GeneCopyNumber]:
    """The gene table of :func:`copy_number` as the gene-level calls the knowledge base is matched
    against (:class:`seq2rx.tumour.copynumber_io.GeneCopyNumber`, as another caller's file gives
    them). With ``keep``, only those genes and any gene called amplified or deleted (so that a
    genome's 20,000 neutral genes do not fill the findings); an empty table gives no calls."""
    wanted = set(keep) if keep is not None else None
    return [
        GeneCopyNumber(g.gene, g.chrom, g.start, g.end, g.total_cn, g.call, g.source)
        for g in read_genes(path)
        if wanted is None or g.gene in wanted or g.call != "neutral"
    ]


def file_thresholds(section: dict) -> CopyNumberThresholds:
    """The thresholds another caller's segment file is read with, from the same config section
    (``copy_number``) as CNVkit's own calls, so both call a gene at the same copy numbers:
    ``amplification_min_cn``, ``deletion_max_cn`` and ``min_gene_overlap``.

    >>> file_thresholds({"amplification_min_cn": 8, "deletion_max_cn": 0, "min_gene_overlap": 0.5})
    CopyNumberThresholds(amplification_min_copies=8, deletion_max_copies=0, min_gene_overlap=0.5)
    """
    return CopyNumberThresholds(
        amplification_min_copies=section["amplification_min_cn"],
        deletion_max_copies=section["deletion_max_cn"],
        min_gene_overlap=section["min_gene_overlap"],
    )
