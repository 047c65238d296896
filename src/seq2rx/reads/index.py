"""The aligner's index: reuse one that exists, check it against the reference, or build one.

Which index an alignment uses is decided in this order, and the run says which path it took:

1. **existing index at P**: ``align.index`` names one, or one lies beside the FASTA (BWA's
   ``.amb/.ann/.bwt/.pac/.sa`` with the FASTA's path as prefix, as ``bwa index ref.fa`` writes;
   minimap2's ``ref.fa.mmi`` or ``ref.mmi``). It is used as it is: nothing is built or copied.
   Its contig names and lengths must be the FASTA's, in the FASTA's order (BWA's ``.ann`` and the
   ``.mmi`` header list them), or the run stops before any job.
2. **islands of a mostly-N reference**: with no index to reuse and fewer than
   :data:`MIN_NON_N_FRACTION` of the reference's bases A, C, G or T (the demo genome: real contig
   lengths padded with N), the workflow indexes only the runs of sequence between N gaps
   (:func:`seq2rx.genome.reference.write_islands`) and lifts every alignment back.
3. **index built for the whole reference**: otherwise the workflow indexes the whole FASTA once per
   results folder, and the lift is the identity. ``seq2rx index --fasta F`` builds it beside the
   FASTA instead, once for every run (path 1).

BWA's aligner (pybwa) also needs a sequence dictionary beside the prefix; for an index reused as it
is, the alignment step gives it one in a temporary folder of links (:func:`open_bwa_index`), so
the user's folder is never written to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam

from seq2rx.core.errors import InputError
from seq2rx.core.io import atomic_output, remove_stale
from seq2rx.genome.reference import IslandMap, scan_islands, write_islands

ALIGNERS = ("bwa", "minimap2")
#: below this share of A/C/G/T bases a reference is "mostly N" and its islands are indexed instead
MIN_NON_N_FRACTION = 0.5
#: BWA's index files; the suffix-array file is placed last, so a complete set means a finished build
BWA_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")
#: minimap2's short-read preset, whose k-mer and window sizes a prebuilt .mmi fixes
MINIMAP2_PRESET = "sr"
MMI_MAGIC = b"MMI\x02"

EXISTING = "existing index at {}"
ISLANDS = "islands of a mostly-N reference"
WHOLE = "index built for the whole reference"


# --------------------------------------------------------------------------- reading indexes


def fai_contigs(fasta: str | Path) -> dict[str, int]:
    """Contig -> length from the FASTA's ``.fai`` (read as text: nothing is written or scanned)."""
    contigs: dict[str, int] = {}
    with open(f"{fasta}.fai", encoding="utf-8", errors="replace") as fh:
        for row in fh:
            fields = row.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[1].isdigit():
                contigs[fields[0]] = int(fields[1])
    return contigs


def bwa_files(prefix: str | Path) -> list[Path]:
    """The five index files of a BWA prefix (``P.amb`` ..., or ``P.64.amb`` ... as ``bwa index -6``
    names them), whichever of the two sets has a ``.bwt``."""
    for stem in (f"{prefix}.64", str(prefix)):
        if Path(stem + ".bwt").exists():
            return [Path(stem + s) for s in BWA_SUFFIXES]
    return [Path(f"{prefix}{s}") for s in BWA_SUFFIXES]


def bwa_contigs(prefix: str | Path) -> dict[str, int]:
    """Contig -> length, in index order, from BWA's ``.ann`` (a line ``l_pac n_seqs seed``, then per
    contig a line ``gi name annotation`` and a line ``offset length n_ambiguous``)."""
    ann = next(p for p in bwa_files(prefix) if p.suffix == ".ann")
    with open(ann, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    try:
        n = int(lines[0].split()[1])
        contigs = {}
        for k in range(n):
            name = lines[1 + 2 * k].split(" ")[1]
            contigs[name] = int(lines[2 + 2 * k].split()[1])
    except (IndexError, ValueError):
        raise InputError(
            str(ann), "is not a BWA .ann file (or it was cut short)", hint="rebuild the index with 'seq2rx index'"
        ) from None
    return contigs


def mmi_contigs(path: str | Path) -> dict[str, int]:
    """Contig -> length, in index order, from a minimap2 ``.mmi`` header (``MMI\\2``, five uint32
    w, k, b, n_seq, flag, then per contig a uint8 name length, the name and a uint32 length). A
    multi-part index (more bases than minimap2's ``-I``) lists the first part's contigs here."""
    with open(path, "rb") as fh:
        head = fh.read(24)
        if len(head) < 24 or head[:4] != MMI_MAGIC:
            raise InputError(
                str(path), "is not a minimap2 index (.mmi)", hint="rebuild it with 'seq2rx index --aligner minimap2'"
            )
        n = struct.unpack_from("<5I", head, 4)[3]
        contigs = {}
        for _ in range(n):
            size = fh.read(1)
            name = fh.read(size[0] if size else 0)
            raw = fh.read(4)
            if not size or len(raw) < 4:
                raise InputError(str(path), "its header is cut short", hint="rebuild it with 'seq2rx index'")
            contigs[name.decode("utf-8", "replace")] = struct.unpack("<I", raw)[0]
    return contigs


def index_contigs(index: str | Path, aligner: str) -> dict[str, int]:
    return bwa_contigs(index) if aligner == "bwa" else mmi_contigs(index)


def index_file(index: str | Path, aligner: str) -> str:
    """The file that lists an index's contigs: BWA's ``.ann``, or the ``.mmi`` itself."""
    if aligner == "bwa":
        return str(next(p for p in bwa_files(index) if p.suffix == ".ann"))
    return str(index)


def check_index_matches(
    index: str | Path, aligner: str, fasta: str | Path, contigs: dict[str, int] | None = None
) -> None:
    """Stop with an :class:`InputError` naming the index file and the first contig (in the FASTA's
    order) whose name or length differs, or that one side lacks. ``contigs``: the FASTA's, when
    already read (default: its ``.fai``)."""
    want = list((contigs if contigs is not None else fai_contigs(fasta)).items())
    have = list(index_contigs(index, aligner).items())
    where = index_file(index, aligner)
    fix = (
        f"rebuild it with 'seq2rx index --fasta {fasta} --force"
        + (" --aligner minimap2" if aligner == "minimap2" else "")
        + "', or set align.index to an index of this FASTA"
    )
    for k in range(max(len(want), len(have))):
        if k >= len(have):
            problem = f"the FASTA's contig {want[k][0]!r} (number {k + 1}) is not in the index"
        elif k >= len(want):
            problem = f"the index's contig {have[k][0]!r} (number {k + 1}) is not in {fasta}"
        elif want[k][0] != have[k][0]:
            problem = f"contig number {k + 1} is {have[k][0]!r} in the index but {want[k][0]!r} in {fasta}"
        elif want[k][1] != have[k][1]:
            problem = f"contig {have[k][0]!r} is {have[k][1]} bp long in the index but {want[k][1]} bp in {fasta}"
        else:
            continue
        raise InputError(where, f"this index was not built from {fasta}: {problem}", hint=fix)


# --------------------------------------------------------------------------- finding an index


def mmi_candidates(fasta: str | Path) -> list[Path]:
    """Where a minimap2 index of ``fasta`` may lie: ``ref.fa.gz.mmi``, ``ref.fa.mmi``, ``ref.mmi``."""
    name = str(fasta)
    stems = [name]
    if name.endswith((".gz", ".bgz")):
        name = name.rsplit(".", 1)[0]
        stems.append(name)
    for ext in (".fa", ".fasta", ".fna"):
        if name.endswith(ext):
            stems.append(name[: -len(ext)])
    return [Path(s + ".mmi") for s in dict.fromkeys(stems)]


def bwa_candidates(fasta: str | Path) -> list[str]:
    """BWA prefixes of ``fasta``: its own path (as ``bwa index`` names it) and, for a bgzipped FASTA,
    the plain file's path (indexed before it was compressed)."""
    name = str(fasta)
    out = [name]
    if name.endswith((".gz", ".bgz")):
        out.append(name.rsplit(".", 1)[0])
    return out


def mmi_path(prefix: str | Path) -> Path:
    """minimap2's index file for a prefix or a path: ``P`` if it ends with ``.mmi``, else ``P.mmi``."""
    return Path(prefix) if str(prefix).endswith(".mmi") else Path(f"{prefix}.mmi")


def _incomplete(prefix: str, files: list[Path]) -> InputError:
    missing = ", ".join(p.name for p in files if not p.exists())
    return InputError(
        prefix,
        f"the BWA index is incomplete: {missing} missing (an index build stopped or still running?)",
        hint="build it again with 'seq2rx index --fasta FASTA --prefix " + prefix + "', or remove the partial files",
    )


def find_index(fasta: str | Path, aligner: str, configured: str = "") -> str | None:
    """The index to reuse: ``configured`` (a BWA prefix, or a ``.mmi`` path or prefix) when given,
    else one beside the FASTA; ``None`` when there is none. A configured index that is missing, and a
    partial BWA index (some of its five files only) in either place, are errors."""
    if aligner not in ALIGNERS:
        raise ValueError(f"aligner must be one of {sorted(ALIGNERS)}, got {aligner!r}")
    if configured:
        if aligner == "bwa":
            if configured.endswith(".mmi"):
                raise InputError(
                    configured,
                    "align.index names a minimap2 index but align.aligner is bwa",
                    hint="set align.aligner: minimap2, or point align.index at a BWA prefix",
                )
            files = bwa_files(configured)
            if not any(p.exists() for p in files):
                raise InputError(
                    configured,
                    "align.index names no BWA index: none of " + ", ".join(p.name for p in files) + " exists",
                    hint=f"build it with 'seq2rx index --fasta FASTA --prefix {configured}', or leave align.index "
                    "empty to find or build one",
                )
            if not all(p.exists() for p in files):
                raise _incomplete(configured, files)
            return configured
        mmi = mmi_path(configured)
        if not mmi.is_file():
            raise InputError(
                str(mmi),
                "align.index names no minimap2 index: the file does not exist",
                hint=f"build it with 'seq2rx index --fasta FASTA --aligner minimap2 --prefix {mmi}', or leave "
                "align.index empty to find or build one",
            )
        return str(mmi)
    if aligner == "bwa":
        for prefix in bwa_candidates(fasta):
            files = bwa_files(prefix)
            if all(p.exists() for p in files):
                return prefix
            if any(p.exists() for p in files):
                raise _incomplete(prefix, files)
        return None
    return next((str(p) for p in mmi_candidates(fasta) if p.is_file()), None)


@dataclass(frozen=True)
class IndexPlan:
    """What the align step reads: an existing index (``existing``: its BWA prefix or ``.mmi``) or the
    one the workflow builds in ``outdir``. ``files`` are the index files (the align step's inputs);
    ``path`` is what the aligner opens; ``lift_map`` is the built index's map (none when reused)."""

    aligner: str
    existing: str | None
    outdir: str

    @property
    def path(self) -> str:
        if self.existing:
            return self.existing
        return f"{self.outdir}/ref" + (".mmi" if self.aligner == "minimap2" else "")

    @property
    def files(self) -> list[str]:
        if self.aligner == "minimap2":
            return [self.path]
        return [str(p) for p in bwa_files(self.path)] if self.existing else [self.path + s for s in BWA_SUFFIXES]

    @property
    def seqdict(self) -> list[str]:
        """The sequence dictionary a built BWA index gets beside it (pybwa reads its header there)."""
        return [f"{self.path}.dict"] if self.aligner == "bwa" and not self.existing else []

    @property
    def lift_map(self) -> str | None:
        return None if self.existing else str(lift_map_path(self.path))


def index_path(files: list[str], aligner: str) -> str:
    """What the aligner opens, from an index's files: the BWA prefix (``P`` of ``P.amb`` ...,
    ``P.64`` of ``P.64.amb`` ..., which pybwa finds as well), or the ``.mmi``."""
    first = str(files[0])
    return first[: -len(".amb")] if aligner == "bwa" else first


def plan_index(
    fasta: str,
    aligner: str,
    configured: str = "",
    *,
    outdir: str = "results/index",
    fasta_ready: Callable[[str], bool] = lambda p: Path(p).is_file() and Path(p + ".fai").is_file(),
) -> IndexPlan:
    """The index an alignment will use, decided before any job (cheap: file names, the ``.ann`` or
    ``.mmi`` header and the ``.fai``). An existing index is checked against the FASTA when the FASTA
    is already there (a demo FASTA that a job will simulate is checked by the align step)."""
    existing = find_index(fasta, aligner, configured)
    if existing and fasta_ready(fasta):
        check_index_matches(existing, aligner, fasta)
    return IndexPlan(aligner, existing, f"{outdir}/{aligner}")


# --------------------------------------------------------------------------- building


def non_n_fraction(fasta: str | Path, chunk: int = 4_000_000) -> float:
    """Share of the reference's bases that are not ``N``/``n`` (0.0 for an empty FASTA). Reads in
    chunks through the ``.fai`` when there is one, else streams the records."""
    total = n = 0
    if Path(f"{fasta}.fai").is_file():
        with pysam.FastaFile(str(fasta)) as fa:
            for contig, length in zip(fa.references, fa.lengths, strict=True):
                for c0 in range(0, length, chunk):
                    seq = fa.fetch(contig, c0, min(length, c0 + chunk))
                    n += seq.count("N") + seq.count("n")
                total += length
    else:
        with pysam.FastxFile(str(fasta)) as fx:
            for rec in fx:
                seq = rec.sequence or ""
                n += seq.count("N") + seq.count("n")
                total += len(seq)
    return (total - n) / total if total else 0.0


def is_mostly_n(fraction: float) -> bool:
    """True below :data:`MIN_NON_N_FRACTION` of A/C/G/T bases: the islands are indexed instead."""
    return fraction < MIN_NON_N_FRACTION


def write_seqdict(contigs: dict[str, int], path: str | Path) -> None:
    """A sequence dictionary of names and lengths only (what pybwa reads its header from)."""
    with atomic_output(path) as tmp:
        Path(tmp).write_text(
            "@HD\tVN:1.6\n" + "".join(f"@SQ\tSN:{name}\tLN:{length}\n" for name, length in contigs.items())
        )


def _bwa_build(fasta: str | Path, prefix: Path) -> None:
    """``bwa index`` through pybwa (a plain or bgzipped FASTA; it also writes ``prefix.dict``)."""
    from pybwa import BwaIndex

    BwaIndex.index(fasta=fasta, prefix=prefix)


def _minimap2_index(fasta: str | Path, out: Path) -> None:
    import pyminimap2

    _stdout, stderr = pyminimap2.main(["-x", MINIMAP2_PRESET, "-d", str(out), str(fasta)])
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"minimap2 could not index {fasta}: {stderr[-2000:]}")


def lift_map_path(index: str | Path) -> Path:
    """The lift map of an index the workflow built: ``ref.lift.tsv`` beside prefix ``ref`` or
    ``ref.mmi``. An index reused as it is has none (the lift is the identity)."""
    name = str(index)
    return Path((name[:-4] if name.endswith(".mmi") else name) + ".lift.tsv")


def build_workflow_index(fasta: str | Path, outdir: str | Path, aligner: str, min_gap: int = 1000) -> str:
    """Build the workflow's own index in ``outdir`` (``ref.*`` for BWA, ``ref.mmi`` for minimap2,
    and the lift map ``ref.lift.tsv``): of the islands for a mostly-N reference, else of the whole
    FASTA. Returns the path taken, in words, with the share of A/C/G/T bases."""
    if aligner not in ALIGNERS:
        raise ValueError(f"aligner must be one of {sorted(ALIGNERS)}, got {aligner!r}")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    runs, bases = scan_islands(fasta, min_gap=min_gap)  # one pass: the share of bases and the islands
    contigs = fai_contigs(fasta)
    fraction = bases / max(1, sum(contigs.values()))
    if fraction == 0.0:
        raise InputError(str(fasta), "the reference holds no A, C, G or T bases", hint="check the FASTA file")
    share = f"{100 * fraction:.2f}% of its bases A, C, G or T"
    with tempfile.TemporaryDirectory(dir=outdir, prefix=".tmp.islands.") as td:
        if is_mostly_n(fraction):
            source = Path(td) / "islands.fa"
            write_islands(fasta, source, lift_map_path(outdir / "ref"), min_gap=min_gap, runs=runs)
            kind = f"{ISLANDS} ({share}, below {100 * MIN_NON_N_FRACTION:.0f}%)"
        else:
            source = Path(fasta)
            IslandMap({name: (name, 0) for name in contigs}, contigs).write(lift_map_path(outdir / "ref"))
            kind = f"{WHOLE} ({share})"
        if aligner == "bwa":
            _bwa_build(source, outdir / "ref")
            # pybwa's own dictionary names the run's absolute path: names and lengths only, so the
            # index is the same bytes wherever the workflow runs
            write_seqdict(bwa_contigs(outdir / "ref"), outdir / "ref.dict")
        else:
            with atomic_output(outdir / "ref.mmi") as tmp:
                _minimap2_index(source, tmp)
    return kind


def _stream_contigs(fasta: str | Path) -> dict[str, int]:
    with pysam.FastxFile(str(fasta)) as fx:
        return {rec.name: len(rec.sequence or "") for rec in fx}


def _writable_folder(target: Path) -> None:
    """Stop with a one-line message naming the folder when the index cannot be written there."""
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".tmp.{os.getpid()}.{target.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            str(folder),
            f"cannot write the index here ({exc.strerror or exc})",
            hint=f"pass --prefix DIR/{target.name} in a folder you can write to, and set align.index to "
            "that prefix in the configuration",
        ) from None


def build_reusable_index(fasta: str | Path, aligner: str = "bwa", prefix: str | Path | None = None,
                         *, force: bool = False) -> tuple[str, bool]:  # fmt: skip
    """``seq2rx index``: build an index of the whole FASTA for many runs, beside the FASTA by default
    (BWA: prefix = the FASTA's path, as ``bwa index`` writes; minimap2: ``ref.mmi``). Returns (the
    prefix or ``.mmi`` path, whether it was built). An index already there whose contigs match is
    kept unless ``force``.

    Atomic: BWA's files are built in a folder beside the target and moved in with the ``.sa`` last
    (an older ``.sa`` is removed first), so a stopped build never leaves five files that look like a
    finished index; the ``.mmi`` is one file renamed into place. A mostly-N reference is refused: the
    workflow indexes its islands itself, in seconds."""
    if aligner not in ALIGNERS:
        raise ValueError(f"aligner must be one of {sorted(ALIGNERS)}, got {aligner!r}")
    target = str(prefix) if prefix else (str(fasta) if aligner == "bwa" else str(mmi_candidates(fasta)[-1]))
    if aligner == "minimap2":
        target = str(mmi_path(target))
    existing = all(p.exists() for p in bwa_files(target)) if aligner == "bwa" else Path(target).is_file()
    if existing and not force:
        contigs = fai_contigs(fasta) if Path(f"{fasta}.fai").is_file() else _stream_contigs(fasta)
        check_index_matches(target, aligner, fasta, contigs)
        return target, False
    fraction = non_n_fraction(fasta)
    if is_mostly_n(fraction):
        raise InputError(
            str(fasta),
            f"only {100 * fraction:.2f}% of its bases are A, C, G or T (a mostly-N reference, below "
            f"{100 * MIN_NON_N_FRACTION:.0f}%): an index of every padded base would be large and slow",
            hint="leave align.index empty: the workflow indexes this reference's islands itself in results/index",
        )
    _writable_folder(Path(target))
    if aligner == "minimap2":
        with atomic_output(target) as tmp:
            _minimap2_index(fasta, tmp)
        return target, True
    with _build_folder(Path(target)) as work:
        _bwa_build(fasta, work / "ix")
        Path(target + ".sa").unlink(missing_ok=True)  # the old set no longer looks complete meanwhile
        for suffix in BWA_SUFFIXES:  # .sa last
            os.replace(work / f"ix{suffix}", target + suffix)
    return target, True


@contextlib.contextmanager
def _build_folder(target: Path) -> Iterator[Path]:
    remove_stale(target, ".index.d")
    folder = target.with_name(f".tmp.{os.getpid()}.{target.name}.index.d")
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- using


def resolve_lift_map(index: str | Path) -> Path | None:
    """The lift map beside an index the workflow built (:func:`lift_map_path`), or None."""
    path = lift_map_path(index)
    return path if path.is_file() else None


def lift_map_of(index: str | Path, aligner: str, lift_map: str | Path | None, fasta: str | Path | None) -> IslandMap:
    """The map that lifts alignments onto the reference's contigs: the built index's
    ``ref.lift.tsv``, or for an index reused as it is the identity over its contigs (checked
    against the FASTA's ``.fai`` first, when there is one)."""
    if lift_map:
        return IslandMap.read(lift_map)
    if fasta and Path(f"{fasta}.fai").is_file():
        check_index_matches(index, aligner, fasta)
    contigs = index_contigs(index, aligner)
    return IslandMap({name: (name, 0) for name in contigs}, contigs)


def describe_index(index: str | Path) -> str:
    """The path taken, in the words the logs and version records use: "existing index at P",
    "islands of a mostly-N reference at P" or "index built for the whole reference at P"."""
    lift_map = resolve_lift_map(index)
    if lift_map is None:
        return EXISTING.format(index)
    imap = IslandMap.read(lift_map)
    identity = list(imap.islands) == list(imap.contigs) and all(imap.islands[n] == (n, 0) for n in imap.islands)
    return f"{WHOLE if identity else ISLANDS} at {index}"


def load_bwa_index(prefix: str | Path):
    """pybwa's :class:`BwaIndex` of ``prefix``, loaded into memory. pybwa reads its header from a
    ``.dict`` beside the prefix; when that is missing or lists other contigs (an index reused as
    it is), the index is loaded through a temporary folder of links with a dictionary of the
    index's own contigs: nothing is written beside the user's index."""
    from pybwa import BwaIndex

    contigs = bwa_contigs(prefix)
    seqdict = Path(prefix).with_suffix(".dict")
    if seqdict.is_file() and _dict_contigs(seqdict) == list(contigs.items()):
        return BwaIndex(prefix=prefix)
    with tempfile.TemporaryDirectory(prefix="seq2rx-bwa-") as td:
        for src, suffix in zip(bwa_files(prefix), BWA_SUFFIXES, strict=True):
            os.symlink(src.resolve(), Path(td) / f"ix{suffix}")
        write_seqdict(contigs, Path(td) / "ix.dict")
        return BwaIndex(prefix=Path(td) / "ix")  # read whole into memory: the links may go


def _dict_contigs(path: Path) -> list[tuple[str, int]]:
    """(name, length) of a sequence dictionary's ``@SQ`` lines, in order."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("@SQ"):
                tags = dict(f.split(":", 1) for f in line.rstrip("\n").split("\t")[1:] if ":" in f)
                out.append((tags.get("SN", ""), int(tags["LN"]) if tags.get("LN", "").isdigit() else -1))
    return out
