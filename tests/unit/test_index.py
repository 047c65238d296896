"""The aligner index: an existing one is reused as it is and checked against the FASTA; a mostly-N
reference gets its islands indexed; any other gets an index of the whole reference; `seq2rx index`
builds one once, atomically, beside the FASTA."""

from __future__ import annotations

import os
from pathlib import Path

import pysam
import pytest

from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.reads.align import align_unsorted, build_index
from seq2rx.reads.index import (
    MIN_NON_N_FRACTION,
    build_reusable_index,
    bwa_contigs,
    check_index_matches,
    describe_index,
    find_index,
    index_path,
    is_mostly_n,
    mmi_contigs,
    non_n_fraction,
    plan_index,
)
from seq2rx.sim.large_genome import random_contigs, write_fasta, write_read_pairs

CONTIGS = {"chrA": 30_000, "chrB": 20_000}


@pytest.fixture(scope="module")
def genome() -> dict[str, bytes]:
    contigs = random_contigs(60_000, 2, seed=7)
    return {name: contigs[f"sim{k + 1}"][:length] for k, (name, length) in enumerate(CONTIGS.items())}


@pytest.fixture
def fasta(genome, tmp_path) -> Path:
    return write_fasta(genome, tmp_path / "ref" / "ref.fa")


def _write(path: Path, contigs: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_fasta(contigs, path)


# --------------------------------------------------------------------------- the check


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
def test_an_index_of_the_same_fasta_passes_and_lists_its_contigs(fasta, aligner):
    path, built = build_reusable_index(fasta, aligner)
    assert built
    read = bwa_contigs(path) if aligner == "bwa" else mmi_contigs(path)
    assert read == CONTIGS  # names, lengths and order, from the .ann or the .mmi header
    check_index_matches(path, aligner, fasta)


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
@pytest.mark.parametrize(
    ("other", "message"),
    [
        ({"chrA": 30_000, "chrC": 20_000}, r"contig number 2 is 'chrC' in the index but 'chrB' in .*ref.fa"),
        ({"chrA": 30_000, "chrB": 19_000}, r"contig 'chrB' is 19000 bp long in the index but 20000 bp in"),
        ({"chrA": 30_000}, r"the FASTA's contig 'chrB' \(number 2\) is not in the index"),
        ({"chrA": 30_000, "chrB": 20_000, "chrM": 500}, r"the index's contig 'chrM' \(number 3\) is not in"),
    ],
)
def test_an_index_of_another_fasta_stops_naming_the_index_file_and_contig(
    genome, fasta, tmp_path, aligner, other, message
):
    seqs = {name: (genome.get(name) or genome["chrA"])[:length] for name, length in other.items()}
    other_fa = _write(tmp_path / "other" / "other.fa", seqs)
    path, _ = build_reusable_index(other_fa, aligner)
    with pytest.raises(InputError, match=message) as err:
        check_index_matches(path, aligner, fasta)
    text = str(err.value)
    index_file = f"{path}.ann" if aligner == "bwa" else str(path)
    assert text.startswith(index_file + ": this index was not built from")
    assert "seq2rx index --fasta" in text and "align.index" in text  # what to do


def test_missing_and_partial_indexes_are_named(fasta, tmp_path):
    with pytest.raises(InputError, match=r"align.index names no BWA index: none of nowhere.amb"):
        find_index(fasta, "bwa", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=r"align.index names no minimap2 index"):
        find_index(fasta, "minimap2", str(tmp_path / "nowhere.mmi"))
    with pytest.raises(InputError, match=r"names a minimap2 index but align.aligner is bwa"):
        find_index(fasta, "bwa", str(tmp_path / "x.mmi"))
    prefix, _ = build_reusable_index(fasta, "bwa")
    Path(prefix + ".sa").unlink()  # as a stopped build leaves it
    with pytest.raises(InputError, match=r"ref.fa: the BWA index is incomplete: ref.fa.sa missing"):
        find_index(fasta, "bwa")
    with pytest.raises(InputError, match=r"incomplete: ref.fa.sa missing"):
        find_index(fasta, "bwa", prefix)
    bad = tmp_path / "bad.mmi"
    bad.write_bytes(b"not an index")
    with pytest.raises(InputError, match=r"bad.mmi: is not a minimap2 index"):
        mmi_contigs(bad)


def test_an_index_beside_the_fasta_is_found_and_planned_as_it_is(fasta, tmp_path):
    assert plan_index(str(fasta), "bwa").existing is None  # nothing there yet: the workflow builds one
    plan = plan_index(str(fasta), "bwa")
    assert plan.files == [f"results/index/bwa/ref{s}" for s in (".amb", ".ann", ".bwt", ".pac", ".sa")]
    assert plan.lift_map == "results/index/bwa/ref.lift.tsv"
    build_reusable_index(fasta, "bwa")
    build_reusable_index(fasta, "minimap2")
    bwa = plan_index(str(fasta), "bwa")
    assert bwa.existing == str(fasta) and bwa.path == str(fasta) and bwa.lift_map is None
    assert bwa.files == [f"{fasta}{s}" for s in (".amb", ".ann", ".bwt", ".pac", ".sa")]
    assert index_path(bwa.files, "bwa") == str(fasta)  # what the align rule opens, from its inputs
    assert bwa.seqdict == [] and plan.seqdict == ["results/index/bwa/ref.dict"]
    mm2 = plan_index(str(fasta), "minimap2")
    assert mm2.existing == str(fasta.with_suffix(".mmi")) and mm2.files == [mm2.existing]
    assert index_path(mm2.files, "minimap2") == mm2.existing
    # a configured prefix elsewhere wins; an index of another FASTA there stops the plan
    other = _write(tmp_path / "other" / "o.fa", {"chrZ": b"ACGT" * 1000})
    elsewhere, _ = build_reusable_index(other, "bwa", tmp_path / "elsewhere" / "o")
    with pytest.raises(InputError, match=r"o.ann: this index was not built from .*contig number 1 is 'chrZ'"):
        plan_index(str(fasta), "bwa", elsewhere)


# --------------------------------------------------------------------------- which path


def test_mostly_n_detection(tmp_path):
    seq = random_contigs(1000, 1, seed=3)["sim1"]
    few = _write(tmp_path / "few.fa", {"c1": seq[:100] + b"N" * 900})  # 10% A/C/G/T
    half = _write(tmp_path / "half.fa", {"c1": seq[:500] + b"n" * 500})  # exactly the threshold
    most = _write(tmp_path / "most.fa", {"c1": seq[:900] + b"N" * 100, "c2": seq[:1000]})
    assert non_n_fraction(few) == pytest.approx(0.1)
    assert non_n_fraction(half) == pytest.approx(0.5)
    assert non_n_fraction(most) == pytest.approx(1900 / 2000)
    assert MIN_NON_N_FRACTION == 0.5
    assert is_mostly_n(non_n_fraction(few))
    assert not is_mostly_n(non_n_fraction(half))  # below half, not at half
    assert not is_mostly_n(non_n_fraction(most))
    (tmp_path / "plain.fa").write_text(">c1\nACGTNN\n")  # no .fai: the records are streamed
    assert non_n_fraction(tmp_path / "plain.fa") == pytest.approx(4 / 6)


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
def test_a_mostly_n_reference_gets_its_islands_indexed(genome, tmp_path, aligner):
    padded = {"chrA": b"N" * 100_000 + genome["chrA"][:5000] + b"N" * 100_000 + genome["chrB"][:5000] + b"N" * 5000}
    fa = _write(tmp_path / "padded.fa", padded)
    index = build_index(fa, tmp_path / "index", aligner)
    assert describe_index(index) == f"islands of a mostly-N reference at {index}"
    lift = (tmp_path / "index" / "ref.lift.tsv").read_text()
    assert "island\tchrA__100000\tchrA\t100000\n" in lift and "island\tchrA__205000\tchrA\t205000\n" in lift
    contigs = bwa_contigs(index) if aligner == "bwa" else mmi_contigs(index)
    assert contigs == {"chrA__100000": 5000, "chrA__205000": 5000}  # the padding is not indexed


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
def test_a_normal_reference_gets_an_index_of_the_whole_reference(fasta, tmp_path, aligner):
    index = build_index(fasta, tmp_path / "index", aligner)
    assert describe_index(index) == f"index built for the whole reference at {index}"
    contigs = bwa_contigs(index) if aligner == "bwa" else mmi_contigs(index)
    assert contigs == CONTIGS
    lift = (tmp_path / "index" / "ref.lift.tsv").read_text().splitlines()
    assert "island\tchrA\tchrA\t0" in lift and "island\tchrB\tchrB\t0" in lift  # the identity


# --------------------------------------------------------------------------- aligning against a reused index


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
def test_alignment_against_a_reused_index_is_the_identity_lift_and_writes_nothing_beside_it(
    genome, fasta, tmp_path, aligner
):
    path, _ = build_reusable_index(fasta, aligner)
    r1, r2 = tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz"
    write_read_pairs(genome, r1, r2, 400, seed=5)
    before = sorted(os.listdir(fasta.parent))
    assert describe_index(path) == f"existing index at {path}"
    align_unsorted(r1, r2, path, tmp_path / "u.bam", "S", aligner=aligner, threads=1, fasta=fasta)
    assert sorted(os.listdir(fasta.parent)) == before  # no .dict, no copy, nothing built
    with pysam.AlignmentFile(str(tmp_path / "u.bam"), check_sq=False) as bam:
        assert dict(zip(bam.references, bam.lengths, strict=True)) == CONTIGS
        recs = [r for r in bam if not r.is_secondary and not r.is_supplementary]
    mapped = [r for r in recs if not r.is_unmapped]
    assert len(mapped) / len(recs) > 0.99
    # error-free reads: each lies where its bases are in the FASTA (the identity lift)
    with pysam.FastaFile(str(fasta)) as fa:
        exact = [r for r in mapped if r.cigarstring == "150M"]
        assert len(exact) > 0.95 * len(mapped)
        for rec in exact[:100]:
            assert fa.fetch(rec.reference_name, rec.reference_start, rec.reference_end) == rec.query_sequence


def test_alignment_stops_when_the_reused_index_no_longer_matches(genome, fasta, tmp_path):
    other = _write(tmp_path / "other" / "o.fa", {"chrA": genome["chrA"], "chrB": genome["chrB"][:100]})
    prefix, _ = build_reusable_index(other, "bwa")
    r1, r2 = tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz"
    write_read_pairs(genome, r1, r2, 10)
    with pytest.raises(InputError, match=r"o.fa.ann: .*contig 'chrB' is 100 bp long in the index but 20000"):
        align_unsorted(r1, r2, prefix, tmp_path / "u.bam", "S", fasta=fasta)
    assert not (tmp_path / "u.bam").exists()


# --------------------------------------------------------------------------- seq2rx index


def test_seq2rx_index_builds_once_beside_a_bgzipped_fasta(genome, tmp_path, capsys):
    plain = _write(tmp_path / "g" / "ref.fa", genome)
    gz = Path(str(plain) + ".gz")
    pysam.tabix_compress(str(plain), str(gz))
    pysam.faidx(str(gz))
    assert main(["index", "--fasta", str(gz)]) == 0
    assert "written at" in capsys.readouterr().out
    assert bwa_contigs(gz) == CONTIGS  # ref.fa.gz.amb ... as `bwa index ref.fa.gz` names them
    assert not [p for p in os.listdir(gz.parent) if p.startswith(".tmp") or p.endswith(".dict")]
    assert main(["index", "--fasta", str(gz)]) == 0
    assert "nothing built" in capsys.readouterr().out
    assert main(["index", "--fasta", str(gz), "--aligner", "minimap2"]) == 0
    assert mmi_contigs(tmp_path / "g" / "ref.mmi") == CONTIGS
    assert find_index(gz, "minimap2") == str(tmp_path / "g" / "ref.mmi")


def test_seq2rx_index_refuses_a_mostly_n_reference(tmp_path, capsys):
    fa = _write(tmp_path / "padded.fa", {"c1": b"ACGT" * 100 + b"N" * 10_000})
    assert main(["index", "--fasta", str(fa)]) == 2
    err = capsys.readouterr().err
    assert "seq2rx: error:" in err and "only 3.85% of its bases are A, C, G or T" in err
    assert "the workflow indexes this reference's islands itself" in err
    assert not list(tmp_path.glob("padded.fa.*[!i]"))  # nothing but the .fai


def test_seq2rx_index_in_a_read_only_folder_says_where_to_write_instead(fasta, monkeypatch, capsys):
    def refuse(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert main(["index", "--fasta", str(fasta)]) == 2
    err = capsys.readouterr().err
    assert f"seq2rx: error: {fasta.parent}: cannot write the index here (Permission denied)" in err
    assert "pass --prefix DIR/ref.fa in a folder you can write to, and set align.index" in err


def test_a_stopped_build_leaves_nothing_that_looks_like_an_index(fasta, monkeypatch):
    from seq2rx.reads import index as module

    build_reusable_index(fasta, "bwa")  # an older, complete index
    stamp = Path(f"{fasta}.bwt").stat().st_mtime_ns

    def half_written(fasta, prefix, **kwargs):
        Path(f"{prefix}.bwt").write_bytes(b"partial")
        raise KeyboardInterrupt  # as a killed build

    monkeypatch.setattr(module, "_bwa_build", half_written)
    with pytest.raises(KeyboardInterrupt):
        build_reusable_index(fasta, "bwa", force=True)
    assert Path(f"{fasta}.bwt").stat().st_mtime_ns == stamp  # the old index untouched
    assert not [p for p in os.listdir(fasta.parent) if p.startswith(".tmp")]


def test_coverage_regions_without_targets_are_the_islands_named_as_the_index_names_them(genome, tmp_path):
    from seq2rx.genome.reference import write_islands
    from seq2rx.reads.qc import write_targets

    fa = _write(tmp_path / "p.fa", {"c1": b"N" * 3000 + genome["chrA"][:2000] + b"N" * 3000, "c2": genome["chrB"]})
    write_targets(None, fa, tmp_path / "targets.bed", min_gap=1000)
    rows = [line.split("\t") for line in (tmp_path / "targets.bed").read_text().splitlines()]
    assert rows == [["c1", "3000", "5000", "c1__3000"], ["c2", "0", "20000", "c2"]]
    imap = write_islands(fa, tmp_path / "i.fa", tmp_path / "i.tsv", min_gap=1000)
    assert [r[3] for r in rows] == list(imap.islands)
