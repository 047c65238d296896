"""A second opinion on fusions: delly (a field SV caller, BSD-3-Clause) beside our own caller.

:func:`run_delly` runs ``delly call -t BND,INV,DEL,DUP -g FASTA -o OUT.bcf TUMOUR.bam
[NORMAL.bam]`` (an argument list, no shell) on the whole BAM: delly's ``-x`` drops every read in
an excluded region, so excluding all but the fusion genes would also drop the partner's end of a
junction (EML4 of EML4-ALK). Its calls can be narrowed afterwards (:func:`restrict`) to those with
an end in the genes that were scanned. :func:`read_delly` reads the BCF into :class:`DellyCall`
breakpoint pairs, with each end's kept side from delly's ``CT`` tag (``3``: the molecule keeps
the sequence up to the base, our ``+``; ``5``: from the base on, our ``-``), so that both callers
speak in :class:`~seq2rx.tumour.fusions.Breakend`.

:func:`compare` matches our breakpoint pairs (from :func:`~seq2rx.tumour.fusions.call_fusions` or
its JSON) to delly's: two pairs agree when their ends lie on the same contigs, on the same kept
sides, within ``tolerance`` bases (either end order; ``imprecise_tolerance`` when either call is
imprecise). Each call is matched at most once, nearest first. :func:`cross_check` does it all
for the workflow and writes a TSV and a JSON.

Cost: delly reads the BAM once per sample (seconds on the test BAMs; minutes on a whole genome).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError, ToolError
from seq2rx.core.io import atomic_output, scratch_dir, write_json
from seq2rx.tumour.fusions import Breakend, Fusion, gene_models, gene_regions, read_kinase_domains

#: SV types asked of delly (it also knows INS, which no fusion is)
DELLY_TYPES = ("BND", "INV", "DEL", "DUP")
#: delly's SV types in our :attr:`~seq2rx.tumour.fusions.BreakpointPair.kind` words
KINDS = {"BND": "translocation", "INV": "inversion", "DEL": "deletion", "DUP": "duplication"}
#: how to get delly
INSTALL = "install it with `apt-get install delly` (Debian, Ubuntu) or `conda env create -f envs/delly.yaml`"
TSV_COLUMNS = (
    "status", "our_fusion", "our_kind", "our_call", "our_breakends", "split_reads", "spanning_pairs",
    "delly_id", "delly_type", "delly_breakends", "ct", "pe", "sr", "filter", "delly_precise",
    "normal_support", "distance",
)  # fmt: skip


@dataclass(frozen=True)
class DellyCall:
    """One delly record as a breakpoint pair: ends ``a`` (CHROM/POS) and ``b`` (END, or CHR2/POS2
    for a translocation), with delly's support and verdict."""

    id: str
    svtype: str  # BND, INV, DEL, DUP
    a: Breakend
    b: Breakend
    ct: str  # e.g. 3to5
    pe: int  # paired-end support
    sr: int  # split-read support
    filter: str  # PASS or LowQual
    precise: bool
    normal_support: int | None = None  # the normal's variant pairs + junction reads (DV + RV); None without

    @property
    def kind(self) -> str:
        return KINDS[self.svtype]


@dataclass
class Match:
    """One row of a comparison: a pair both callers found, or one only one of them did."""

    status: str  # agreed, only_ours, only_delly
    ours: dict | None = None  # name, kind, call, breakends, split_reads, spanning_pairs, precise
    delly: DellyCall | None = None
    distance: int | None = None  # sum of the two ends' offsets, when agreed


@dataclass
class Comparison:
    rows: list[Match]
    tolerance: int
    imprecise_tolerance: int
    summary: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- running delly


def _delly() -> str:
    exe = shutil.which("delly")
    if exe is None:
        raise ToolError("delly", "not found on PATH; the delly cross-check needs it", hint=INSTALL)
    return exe


def delly_version() -> str:
    """delly's version, e.g. ``1.1.6`` (from ``delly --version``); :class:`ToolError` without delly."""
    out = subprocess.run([_delly(), "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"Delly version: v?(\d+(?:\.\d+)+)", out.stdout + out.stderr)
    if m is None:
        raise ToolError("delly", f"`delly --version` printed no version: {(out.stdout + out.stderr).strip()[:200]!r}")
    return m.group(1)


def run_delly(
    tumour_bam: str | Path,
    fasta: str | Path,
    out_bcf: str | Path,
    normal_bam: str | Path | None = None,
    *,
    types: Iterable[str] = DELLY_TYPES,
    exclude: str | Path | None = None,
) -> list[str]:
    """Run ``delly call`` on the tumour (and normal) BAM; returns the command as run.

    The FASTA needs its ``.fai`` (and ``.gzi`` when bgzipped), each BAM its index. ``exclude`` is
    delly's ``-x`` file of regions to leave out (e.g. its own centromere and telomere list).
    A missing delly, or one that fails, is a :class:`ToolError` with delly's last words.
    """
    exe = _delly()
    fasta = Path(fasta)
    if not Path(f"{fasta}.fai").exists():
        raise InputError(str(fasta), "has no .fai index", hint="run samtools faidx on it")
    bams = [Path(tumour_bam)] + ([Path(normal_bam)] if normal_bam else [])
    for bam in bams:
        if not bam.exists():
            raise InputError(str(bam), "not found")
        if not (Path(f"{bam}.bai").exists() or Path(f"{bam}.csi").exists() or bam.with_suffix(".bai").exists()):
            raise InputError(str(bam), "has no index (.bai or .csi)", hint="run samtools index on it")
    types = list(types)
    unknown = sorted(set(types) - set(KINDS))
    if unknown:
        raise ValueError(f"delly SV types must be among {sorted(KINDS)}, got {unknown}")
    cmd = [exe, "call", "-t", ",".join(types), "-g", str(fasta), "-o", str(out_bcf)]
    if exclude:
        cmd += ["-x", str(exclude)]
    cmd += [str(b) for b in bams]
    Path(out_bcf).parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not Path(out_bcf).exists():
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ToolError("delly", f"`{' '.join(cmd)}` failed with status {done.returncode}: {tail}")
    return cmd


# --------------------------------------------------------------------------- reading its calls

_SIDE = {"3": "+", "5": "-"}


def read_delly(bcf: str | Path) -> list[DellyCall]:
    """delly's calls in a BCF/VCF as breakpoint pairs (the first sample is the tumour, a second
    the normal). Records of other types (INS) or without a ``CT`` of ``3``/``5`` ends are skipped."""
    out = []
    with pysam.VariantFile(str(bcf)) as vf:
        samples = list(vf.header.samples)
        for rec in vf:
            svtype = rec.info.get("SVTYPE")
            ct = rec.info.get("CT", "")
            m = re.fullmatch(r"([35])to([35])", ct)
            if svtype not in KINDS or m is None:
                continue
            if svtype == "BND":
                b = Breakend(rec.info["CHR2"], int(rec.info["POS2"]), _SIDE[m.group(2)])
            else:
                b = Breakend(rec.chrom, int(rec.stop), _SIDE[m.group(2)])
            normal = None
            if len(samples) > 1:
                fmt = rec.samples[samples[1]]
                normal = sum(int(fmt.get(k) or 0) for k in ("DV", "RV") if k in fmt)
            out.append(
                DellyCall(
                    id=rec.id or f"{rec.chrom}:{rec.pos}",
                    svtype=svtype,
                    a=Breakend(rec.chrom, rec.pos, _SIDE[m.group(1)]),
                    b=b,
                    ct=ct,
                    pe=int(rec.info.get("PE", 0)),
                    sr=int(rec.info.get("SR", 0)),
                    filter=";".join(rec.filter.keys()) or "PASS",
                    precise="PRECISE" in rec.info,
                    normal_support=normal,
                )
            )
    return out


def restrict(calls: Iterable[DellyCall], regions: list[tuple[str, int, int]]) -> list[DellyCall]:
    """The calls with at least one end in a (chrom, 0-based start, end) region."""

    def inside(e: Breakend) -> bool:
        return any(c == e.chrom and s < e.pos <= t for c, s, t in regions)

    return [c for c in calls if inside(c.a) or inside(c.b)]


# --------------------------------------------------------------------------- comparing


def _breakend(text: str) -> Breakend:
    chrom, pos, side = text.rsplit(":", 2)
    return Breakend(chrom, int(pos), side)


def _ours(fusion: Fusion | dict) -> dict:
    f = asdict(fusion) if isinstance(fusion, Fusion) else fusion
    return {
        "name": f"{f['five_prime']}--{f['three_prime']}",
        "kind": f["kind"],
        "call": f["call"],
        "breakends": list(f["breakends"]),
        "split_reads": f["split_reads"],
        "spanning_pairs": f["spanning_pairs"],
        "precise": f["precise"],
    }


def _distance(ours: dict, call: DellyCall, tolerance: int) -> int | None:
    """Summed offset of the two ends (either order) when both lie within ``tolerance`` on the same
    contig and kept side; else None."""
    x, y = (_breakend(e) for e in ours["breakends"])
    best = None
    for p, q in ((call.a, call.b), (call.b, call.a)):
        if (x.chrom, x.side, y.chrom, y.side) == (p.chrom, p.side, q.chrom, q.side):
            dx, dy = abs(x.pos - p.pos), abs(y.pos - q.pos)
            if dx <= tolerance and dy <= tolerance and (best is None or dx + dy < best):
                best = dx + dy
    return best


def compare(
    delly_calls: Iterable[DellyCall],
    our_fusions: Iterable[Fusion | dict],
    tolerance: int = 10,
    *,
    imprecise_tolerance: int = 1000,
) -> Comparison:
    """Match our breakpoint pairs (:class:`Fusion` objects, or their dicts from the fusion JSON)
    to delly's calls, one to one, nearest first: rows ``agreed``, ``only_ours`` and
    ``only_delly``, and a summary.

    ``tolerance`` (bases, each end) holds when both calls are precise; ``imprecise_tolerance``
    (default: our ``max_insert``) when either is not, as a pair-only call is placed at the mates'
    innermost ends rather than at the junction.
    """
    delly = list(delly_calls)
    ours = [_ours(f) for f in our_fusions]
    candidates = []
    for i, o in enumerate(ours):
        for j, d in enumerate(delly):
            tol = tolerance if (o["precise"] and d.precise) else max(tolerance, imprecise_tolerance)
            dist = _distance(o, d, tol)
            if dist is not None:
                candidates.append((dist, i, j))
    rows: list[Match] = []
    used_o: set[int] = set()
    used_d: set[int] = set()
    for dist, i, j in sorted(candidates):
        if i not in used_o and j not in used_d:
            used_o.add(i)
            used_d.add(j)
            rows.append(Match("agreed", ours[i], delly[j], dist))
    rows += [Match("only_ours", o) for i, o in enumerate(ours) if i not in used_o]
    rows += [Match("only_delly", delly=d) for j, d in enumerate(delly) if j not in used_d]
    comparison = Comparison(rows, tolerance, imprecise_tolerance)
    comparison.summary = _summary(rows)
    return comparison


def _summary(rows: list[Match]) -> dict:
    agreed = [r for r in rows if r.status == "agreed"]
    ours = [r for r in rows if r.ours is not None]
    fusions = [r for r in ours if r.ours["call"] == "fusion"]
    fusions_agreed = [r for r in fusions if r.status == "agreed"]
    only_delly = [r for r in rows if r.status == "only_delly"]
    out = {
        "agreed": len(agreed),
        "only_ours": sum(r.status == "only_ours" for r in rows),
        "only_delly": len(only_delly),
        "only_delly_pass": sum(r.delly.filter == "PASS" for r in only_delly),
        "our_fusions": len(fusions),
        "our_fusions_agreed": len(fusions_agreed),
        "kind_differs": sorted(r.ours["name"] for r in agreed if r.ours["kind"] != r.delly.kind),
    }
    out["text"] = (
        f"delly confirms {len(fusions_agreed)} of our {len(fusions)} fusion call(s) "
        f"and {len(agreed)} of our {len(ours)} breakpoint pair(s); "
        f"it has {len(only_delly)} more ({out['only_delly_pass']} PASS)"
    )
    return out


# --------------------------------------------------------------------------- the workflow's entry point


def _row(m: Match) -> list:
    o, d = m.ours or {}, m.delly
    return [
        m.status, o.get("name", ""), o.get("kind", ""), o.get("call", ""), ",".join(o.get("breakends", [])),
        o.get("split_reads", ""), o.get("spanning_pairs", ""),
        d.id if d else "", d.svtype if d else "",
        f"{d.a.chrom}:{d.a.pos}:{d.a.side},{d.b.chrom}:{d.b.pos}:{d.b.side}" if d else "",
        d.ct if d else "", d.pe if d else "", d.sr if d else "", d.filter if d else "",
        d.precise if d else "", "" if d is None or d.normal_support is None else d.normal_support,
        "" if m.distance is None else m.distance,
    ]  # fmt: skip


def write_comparison(comparison: Comparison, out_tsv: str | Path, out_json: str | Path, **meta) -> None:
    """One TSV row per breakpoint pair (:data:`TSV_COLUMNS`), and a JSON with the summary, the
    rows and ``meta`` (e.g. delly's version and command)."""
    with atomic_output(out_tsv) as tmp, open(tmp, "w") as fh:
        fh.write("\t".join(TSV_COLUMNS) + "\n")
        for m in comparison.rows:
            fh.write("\t".join(map(str, _row(m))) + "\n")
    doc = {
        **meta,
        "tolerance": comparison.tolerance,
        "imprecise_tolerance": comparison.imprecise_tolerance,
        "summary": comparison.summary,
        "rows": [dict(zip(TSV_COLUMNS, _row(m), strict=True)) for m in comparison.rows],
    }
    write_json(doc, out_json)


def cross_check(
    tumour_bam: str | Path,
    normal_bam: str | Path | None,
    fasta: str | Path,
    our_fusions_json: str | Path,
    out_tsv: str | Path,
    out_json: str | Path,
    *,
    gff3: str | Path | None = None,
    tolerance: int | None = None,
    exclude: str | Path | None = None,
    bcf: str | Path | None = None,
) -> Comparison:
    """Run delly on the tumour (and normal) BAM and compare it with our fusion JSON
    (:func:`~seq2rx.tumour.fusions.write_fusions`); writes ``out_tsv`` and ``out_json``.

    With ``gff3``, delly's calls are kept only when an end lies in a gene our caller scanned (its
    span plus the JSON's ``flank``), as our caller sees nothing else. ``tolerance`` defaults to
    the JSON's; ``bcf`` keeps delly's output (else it goes to a scratch folder beside ``out_tsv``).
    The JSON also records delly's version, its command (file names only) and its call count
    before the restriction to the genes.
    """
    version = delly_version()  # first: without delly, nothing else matters
    try:
        doc = json.loads(Path(our_fusions_json).read_text())
        fusions, params = doc["fusions"], doc["params"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(str(our_fusions_json), f"not a fusion JSON from seq2rx ({exc})") from None
    tolerance = params.get("tolerance", 10) if tolerance is None else tolerance
    with scratch_dir(out_tsv) as scratch:
        out_bcf = Path(bcf) if bcf else Path(scratch) / "delly.bcf"
        cmd = run_delly(tumour_bam, fasta, out_bcf, normal_bam, exclude=exclude)
        calls = read_delly(out_bcf)
    found = len(calls)
    if gff3 is not None:
        regions = gene_regions(gene_models(gff3, read_kinase_domains()), doc.get("genes_scanned", []), params["flank"])
        calls = restrict(calls, regions)
    comparison = compare(calls, fusions, tolerance, imprecise_tolerance=params.get("max_insert", 1000))
    write_comparison(
        comparison, out_tsv, out_json,
        sample=doc.get("sample"), delly_version=version, delly_calls=found,
        command=[Path(a).name if "/" in a else a for a in cmd],  # file names only: the same in any folder
        restricted_to_genes=doc.get("genes_scanned") if gff3 is not None else None,
    )  # fmt: skip
    return comparison
