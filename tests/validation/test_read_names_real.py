"""Real reads as other pipelines write them: NA12878 (GIAB HG001) on a 12 kb piece of GRCh37 chr22.

The same 1,633 read pairs (3,266 reads) are written again (in a temporary folder; the shared files are only
read) with each read-name convention found in public data, and with Phred+64 qualities, then go
through the library's trimming, alignment and calling. Every variant must give the 14 GIAB SNVs
back, and the BAM's read names must be the names both mates share, as BWA would write them.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pysam
import pytest
from test_na12878 import assert_all_14_snvs

from seq2rx.core.errors import InputError
from seq2rx.reads.align import align_unsorted, build_index
from seq2rx.reads.trim import trim_pairs

pytestmark = pytest.mark.validation

TINY = "na12878-chr22-tiny"


def _pairs(d: Path) -> list[tuple[tuple[str, str, str], tuple[str, str, str]]]:
    def records(path):
        with pysam.FastxFile(str(path)) as fh:
            return [(r.name, r.sequence, r.quality) for r in fh]

    a = records(d / "NA12878.chr22.tiny_R1.fastq.gz")
    b = records(d / "NA12878.chr22.tiny_R2.fastq.gz")
    assert len(a) == len(b) == 1633 and all(x[0] == y[0] for x, y in zip(a, b, strict=True))
    return list(zip(a, b, strict=True))


def _names(style: str, k: int, name: str) -> tuple[str, str, str]:
    """(read-1 header, read-2 header, the name the BAM must show) for pair ``k`` (from 1)."""
    return {
        "slash": (f"{name}/1", f"{name}/2", name),
        "casava": (f"{name} 1:N:0:ACGTACGT", f"{name} 2:N:0:ACGTACGT", name),
        "sra": (f"SRR622461.{k} {k} length=151", f"SRR622461.{k} {k} length=151", f"SRR622461.{k}"),
        "sra_readids": (f"SRR622461.{k}.1 {k} length=151", f"SRR622461.{k}.2 {k} length=151", f"SRR622461.{k}"),
        "interleaved": (f"{name}/1", f"{name}/2", name),
        "phred64": (f"{name}/1", f"{name}/2", name),
    }[style]


def _write(pairs, style: str, folder: Path) -> tuple[Path, Path | None, set[str]]:
    shift = str.maketrans({chr(c): chr(c + 31) for c in range(33, 96)}) if style == "phred64" else None
    r1, r2 = folder / "in_R1.fastq.gz", folder / "in_R2.fastq.gz"
    expected = set()
    out1 = gzip.open(r1, "wt")
    out2 = out1 if style == "interleaved" else gzip.open(r2, "wt")
    with out1, out2:
        for k, ((name, s1, q1), (_, s2, q2)) in enumerate(pairs, 1):
            h1, h2, bam_name = _names(style, k, name)
            expected.add(bam_name)
            if shift:
                q1, q2 = q1.translate(shift), q2.translate(shift)
            out1.write(f"@{h1}\n{s1}\n+\n{q1}\n")
            out2.write(f"@{h2}\n{s2}\n+\n{q2}\n")
    return r1, (None if style == "interleaved" else r2), expected


@pytest.fixture(scope="module")
def tiny(shared_data, tmp_path_factory):
    d = shared_data / TINY
    index = build_index(d / "q.fa", tmp_path_factory.mktemp("index"), "bwa")
    return d, index, _pairs(d)


@pytest.mark.parametrize("style", ["slash", "casava", "sra", "sra_readids", "interleaved", "phred64"])
def test_each_naming_gives_all_14_giab_snvs(tiny, tmp_path, style):
    d, index, pairs = tiny
    r1, r2, expected = _write(pairs, style, tmp_path)
    t1, t2 = tmp_path / "t_R1.fastq.gz", tmp_path / "t_R2.fastq.gz"
    trim = dict(adapter_r1="AGATCGGAAGAGCACACGTCTGAACTCCAGTCA", adapter_r2="AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT")
    if style == "phred64":
        with pytest.raises(InputError, match=r"in_R1.fastq.gz, line 4: the qualities are Phred\+64"):
            trim_pairs(r1, r2, t1, t2, tmp_path / "c.json", tmp_path / "c.txt", **trim)
        assert not t1.exists()
    reads = trim_pairs(r1, r2, t1, t2, tmp_path / "c.json", tmp_path / "c.txt", **trim, threads=2, phred64="convert")
    assert reads["pairs"] == 1633
    assert reads["layout"] == ("interleaved" if style == "interleaved" else "two files")
    if style == "phred64":
        assert reads["quality_encoding"] == "Phred+64, converted to Phred+33"
    align_unsorted(t1, t2, index, tmp_path / "u.bam", "NA12878", threads=2)
    with pysam.AlignmentFile(str(tmp_path / "u.bam"), "rb") as fh:
        names = {rec.query_name for rec in fh}
    # every pair keeps its one name (cutadapt drops a few short pairs; none is renamed)
    assert names <= expected and len(names) > 1600
    assert_all_14_snvs(d, tmp_path / "u.bam", tmp_path)
