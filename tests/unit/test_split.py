"""Split alignment (align.split_fastq): chunks of whole BWA batches, aligned one by one and joined,
give the records of one alignment job, and the duplicate-marked BAM's very bytes."""

from __future__ import annotations

import gzip
import json
from itertools import accumulate
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import repeat_genome

from seq2rx.core.errors import InputError
from seq2rx.provenance.versions import combine_versions
from seq2rx.reads.align import _batches, align_unsorted, build_index, sort_markdup
from seq2rx.reads.fastq import read_pairs
from seq2rx.reads.split import chunk_name, merge_chunk_bams, split_pairs

PAIRS = 3000
READ = 100
#: 200 pairs of 2 x 100 bases per batch: 15 batches
BATCH = 40_000


def _rc(s: str) -> str:
    return s.translate(str.maketrans("ACGT", "TGCA"))[::-1]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """Two contigs, one with an N gap (two islands to lift back) and a 1.5 kb segment repeated
    across the gap (reads there have two equal hits: BWA picks one by the read's index in its
    batch); read pairs whose insert sizes change halfway (300 then 520 bp, and every 97th pair
    700-1400 bp), so each batch's proper-pair bounds differ."""
    d = tmp_path_factory.mktemp("split")
    rng = np.random.default_rng(7)
    bases = np.array(list("ACGT"))
    contigs = repeat_genome(d / "ref.fa", rng)
    r1, r2 = [], []
    while len(r1) < PAIRS:
        i = len(r1)
        size = max(READ + 10, int(rng.normal(300 if i < PAIRS // 2 else 520, 30)))
        if i % 97 == 0:
            size = int(rng.integers(700, 1400))
        name = "chrA" if rng.random() < 0.75 else "chrB"
        start = int(rng.integers(0, len(contigs[name]) - size))
        frag = contigs[name][start : start + size]
        if "N" in frag:
            continue
        if rng.random() < 0.5:
            frag = _rc(frag)
        a, b = list(frag[:READ]), list(_rc(frag)[:READ])
        for mate in (a, b):
            for j in rng.integers(0, READ, 2):
                mate[j] = bases[rng.integers(0, 4)]
        qual = "".join(chr(33 + int(q)) for q in rng.integers(20, 40, READ))
        r1.append(f"@p{i}\n{''.join(a)}\n+\n{qual}\n")
        r2.append(f"@p{i}\n{''.join(b)}\n+\n{qual}\n")
    for mate, records in (("R1", r1), ("R2", r2)):
        with gzip.open(d / f"{mate}.fq.gz", "wt") as fh:
            fh.write("".join(records))
    return {"dir": d, "r1": d / "R1.fq.gz", "r2": d / "R2.fq.gz", "fastq": (r1, r2)}


@pytest.fixture(scope="module")
def bwa(data) -> Path:
    return build_index(data["dir"] / "ref.fa", data["dir"] / "bwa", "bwa")


def header_and_records(bam: Path) -> tuple[str, list[str]]:
    with pysam.AlignmentFile(str(bam), check_sq=False) as fh:
        return str(fh.header), [r.to_string() for r in fh]


def align_split(data, index: Path, out: Path, *, pairs_per_chunk: int, aligner: str = "bwa") -> list[int]:
    """fastq_split, one align_chunk per chunk, samtools_cat: the workflow's split path."""
    counts = split_pairs(data["r1"], data["r2"], out / "chunks", pairs_per_chunk=pairs_per_chunk, batch_bases=BATCH)
    bams = []
    for k in range(len(counts)):
        c = chunk_name(k)
        bam = out / f"{c}.unsorted.bam"
        align_unsorted(
            out / f"chunks/{c}_R1.fastq.gz", out / f"chunks/{c}_R2.fastq.gz", index, bam, "S1",
            aligner=aligner, batch_bases=BATCH,
        )  # fmt: skip
        bams.append(bam)
    merge_chunk_bams(bams, out / "merged.unsorted.bam")
    return counts


def test_chunks_are_whole_batches_holding_the_reads_in_order(data, tmp_path):
    # 500 pairs reach into the 3rd batch of 200 pairs: a chunk closes at 600, so 3000 pairs make 5
    counts = split_pairs(data["r1"], data["r2"], tmp_path / "c", pairs_per_chunk=500, batch_bases=BATCH)
    assert counts == [600] * 5
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        f"{k:04d}_R{m}.fastq.gz" for k in range(5) for m in (1, 2)
    ]
    # the chunks, read back in order, are the input's reads, record for record
    back = [
        pair
        for k in range(5)
        for pair in read_pairs(tmp_path / f"c/{k:04d}_R1.fastq.gz", tmp_path / f"c/{k:04d}_R2.fastq.gz")
    ]
    assert back == list(read_pairs(data["r1"], data["r2"]))
    # one pair per chunk asked: each chunk is one batch; more pairs than there are: one chunk
    assert split_pairs(data["r1"], data["r2"], tmp_path / "one", pairs_per_chunk=1, batch_bases=BATCH) == [200] * 15
    assert split_pairs(data["r1"], data["r2"], tmp_path / "all", pairs_per_chunk=10**9, batch_bases=BATCH) == [3000]


def test_chunks_end_where_the_aligner_ends_a_batch(tmp_path):
    """Reads of many lengths (as trimming leaves them), lower-case bases, IUPAC codes and Windows
    line ends in one file: the chunk boundaries fall on the aligner's own batch boundaries."""
    rng = np.random.default_rng(3)
    lines1, lines2 = [], []
    for i in range(2000):
        for lines, end in ((lines1, "\n"), (lines2, "\r\n")):
            n = int(rng.integers(20, 151))
            seq = "".join(rng.choice(list("ACGTNacgtRY"), n))
            lines.append(f"@r{i} 1:N:0{end}{seq}{end}+{end}{'I' * n}{end}")
    (tmp_path / "R1.fq").write_text("".join(lines1))
    (tmp_path / "R2.fq").write_bytes("".join(lines2).encode())
    batch = 25_000
    ends = list(accumulate(len(b) // 2 for b in _batches(tmp_path / "R1.fq", tmp_path / "R2.fq", batch)))
    assert len(ends) > 10
    for per_chunk in (1, 300, 1000):
        counts = split_pairs(tmp_path / "R1.fq", tmp_path / "R2.fq", tmp_path / f"c{per_chunk}",
                             pairs_per_chunk=per_chunk, batch_bases=batch)  # fmt: skip
        cuts = list(accumulate(counts))
        assert set(cuts) <= set(ends) and cuts[-1] == ends[-1] == 2000
        # each chunk ends at the first batch end at which it holds per_chunk pairs or more
        for start, end in zip([0, *cuts], cuts, strict=False):
            assert end == next((e for e in ends if e - start >= per_chunk), 2000)
    assert split_pairs(tmp_path / "R1.fq", tmp_path / "R2.fq", tmp_path / "d", pairs_per_chunk=1,
                       batch_bases=batch) == [b - a for a, b in zip([0, *ends], ends, strict=False)]  # fmt: skip


def test_split_is_deterministic(data, tmp_path):
    for run in ("a", "b"):
        split_pairs(data["r1"], data["r2"], tmp_path / run, pairs_per_chunk=700, batch_bases=BATCH)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 8  # 800, 800, 800, 600 pairs
    for name in names:  # scratch files: their records, not their compressed bytes, are what counts
        assert gzip.decompress((tmp_path / "a" / name).read_bytes()) == gzip.decompress(
            (tmp_path / "b" / name).read_bytes()
        )


def test_split_alignment_has_the_records_and_bytes_of_one_job(data, bwa, tmp_path):
    align_unsorted(data["r1"], data["r2"], bwa, tmp_path / "whole.unsorted.bam", "S1", batch_bases=BATCH)
    counts = align_split(data, bwa, tmp_path, pairs_per_chunk=500)
    assert len(counts) == 5
    whole_header, whole = header_and_records(tmp_path / "whole.unsorted.bam")
    split_header, split = header_and_records(tmp_path / "merged.unsorted.bam")
    assert split == whole and len(whole) >= 2 * PAIRS
    # one @RG and one @PG, as one job writes them: samtools cat added no @PG line of its own
    assert split_header == whole_header
    assert split_header.count("@PG") == 1 and split_header.count("@RG") == 1
    for name in ("whole", "merged"):
        sort_markdup(tmp_path / f"{name}.unsorted.bam", tmp_path / f"{name}.bam", tmp_path / f"{name}.txt")
    assert (tmp_path / "merged.bam").read_bytes() == (tmp_path / "whole.bam").read_bytes()

    def stats(name: str) -> list[str]:  # markdup's counts; its first line names the files
        return [line for line in (tmp_path / f"{name}.txt").read_text().splitlines() if not line.startswith("COMMAND")]

    assert stats("merged") == stats("whole") and any(line.startswith("DUPLICATE TOTAL") for line in stats("whole"))


def test_chunks_that_cut_a_batch_would_change_records(data, bwa, tmp_path):
    """Why chunks end on batch boundaries: chunks of exactly 500 pairs (not whole batches of 200)
    give other records on these reads (other proper-pair bounds, other picks between repeats)."""
    align_unsorted(data["r1"], data["r2"], bwa, tmp_path / "whole.bam", "S1", batch_bases=BATCH)
    r1, r2 = data["fastq"]
    bams = []
    for k in range(0, PAIRS, 500):
        for mate, records in ((1, r1), (2, r2)):
            with gzip.open(tmp_path / f"cut{k}_R{mate}.fq.gz", "wt") as fh:
                fh.write("".join(records[k : k + 500]))
        bam = tmp_path / f"cut{k}.bam"
        align_unsorted(tmp_path / f"cut{k}_R1.fq.gz", tmp_path / f"cut{k}_R2.fq.gz", bwa, bam, "S1", batch_bases=BATCH)
        bams.append(bam)
    merge_chunk_bams(bams, tmp_path / "cut.bam")
    whole, cut = header_and_records(tmp_path / "whole.bam")[1], header_and_records(tmp_path / "cut.bam")[1]
    assert len(whole) == len(cut)
    assert sum(a != b for a, b in zip(whole, cut, strict=True)) > 0


def test_minimap2_split_alignment_has_the_records_of_one_job(data, tmp_path):
    index = build_index(data["dir"] / "ref.fa", tmp_path / "mm2", "minimap2")
    align_unsorted(data["r1"], data["r2"], index, tmp_path / "whole.bam", "S1", aligner="minimap2")
    align_split(data, index, tmp_path, pairs_per_chunk=1000, aligner="minimap2")
    assert header_and_records(tmp_path / "merged.unsorted.bam") == header_and_records(tmp_path / "whole.bam")


def test_empty_reads_give_one_empty_chunk_and_the_header_alone(data, bwa, tmp_path):
    for mate in ("R1", "R2"):
        with gzip.open(tmp_path / f"e_{mate}.fq.gz", "wt"):
            pass
    assert split_pairs(tmp_path / "e_R1.fq.gz", tmp_path / "e_R2.fq.gz", tmp_path / "c", pairs_per_chunk=10) == [0]
    align_unsorted(tmp_path / "c/0000_R1.fastq.gz", tmp_path / "c/0000_R2.fastq.gz", bwa, tmp_path / "c.bam", "S1")
    align_unsorted(tmp_path / "e_R1.fq.gz", tmp_path / "e_R2.fq.gz", bwa, tmp_path / "whole.bam", "S1")
    merge_chunk_bams([tmp_path / "c.bam"], tmp_path / "merged.bam")
    assert header_and_records(tmp_path / "merged.bam") == header_and_records(tmp_path / "whole.bam")
    assert header_and_records(tmp_path / "merged.bam")[1] == []


def test_merge_refuses_chunks_aligned_with_another_header(data, bwa, tmp_path):
    split_pairs(data["r1"], data["r2"], tmp_path / "c", pairs_per_chunk=1500, batch_bases=BATCH)
    for k, sample in ((0, "S1"), (1, "S2")):
        c = chunk_name(k)
        align_unsorted(tmp_path / f"c/{c}_R1.fastq.gz", tmp_path / f"c/{c}_R2.fastq.gz", bwa, tmp_path / f"{c}.bam",
                       sample, batch_bases=BATCH)  # fmt: skip
    with pytest.raises(ValueError, match=r"0001.bam has another header than .*0000.bam"):
        merge_chunk_bams([tmp_path / "0000.bam", tmp_path / "0001.bam"], tmp_path / "merged.bam")
    assert not (tmp_path / "merged.bam").exists()


def test_split_checks_its_arguments_and_leaves_no_partial_folder(data, tmp_path):
    with pytest.raises(ValueError, match="pairs_per_chunk must be 1 or more, got 0"):
        split_pairs(data["r1"], data["r2"], tmp_path / "c", pairs_per_chunk=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full/x").write_text("x")
    with pytest.raises(FileExistsError, match="already holds files"):
        split_pairs(data["r1"], data["r2"], tmp_path / "full", pairs_per_chunk=10)
    # files of different lengths, or one cut inside a record, stop the split; no folder is left
    r1, r2 = data["fastq"]
    for name, text in (("short", "".join(r2[:-1])), ("cut", "".join(r2)[: -(READ + 1)])):
        bad = tmp_path / f"{name}_R2.fq.gz"
        with gzip.open(bad, "wt") as fh:
            fh.write(text)
        with pytest.raises(InputError, match=rf"{name}_R2.fq.gz: does not hold as many reads as .*R1.fq.gz, or one "
                           rf"of them ends inside a record \(after 2999 read pairs\)"):  # fmt: skip
            split_pairs(data["r1"], bad, tmp_path / "c", pairs_per_chunk=10)
        assert not (tmp_path / "c").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_combined_versions_keep_every_version_the_chunks_ran(tmp_path):
    for k, ver in enumerate(("2.3.2", "2.3.2", "2.3.1")):
        (tmp_path / f"{k}.json").write_text(json.dumps({"step": "align_reads", "tools": {"pybwa": ver}}))
    rec = combine_versions(tmp_path / "out.json", "align_reads", sorted(tmp_path.glob("*.json")), ["samtools"])
    assert rec["step"] == "align_reads"
    assert rec["tools"]["pybwa"] == "2.3.1, 2.3.2"
    assert "pysam" in rec["tools"]["samtools"]  # samtools as bundled in pysam
    assert json.loads((tmp_path / "out.json").read_text()) == rec
