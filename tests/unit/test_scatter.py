"""Scatter-gather calling gives the bytes of unscattered calling (germline and somatic), with cuts
inside covered sequence and at indels; targets restrict calling and set the TMB denominator."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pysam
import pytest

from seq2rx.genome.intervals import plan_intervals, tiles, write_intervals
from seq2rx.genome.sequence import revcomp
from seq2rx.reads.align import align_unsorted, build_index, sort_markdup
from seq2rx.variants.germline import READ_REACH, CallParams, call_variants, gather_calls, pileup_call
from seq2rx.variants.somatic import SomaticParams, call_somatic, gather_somatic

CONTIGS = {"chr1": 12_000 + 1_500 + 8_000, "chr2": 6_000}
#: germline variants (1-based VCF position, REF, ALT, genotype): SNVs, a deletion and an insertion
#: at the positions the hand-made cuts below fall on, and a deletion in a homopolymer that
#: normalisation left-aligns
INDEL_CUT = 4_000  # the anchor of a 3-base deletion: one cut just after it, one just before
#: somatic SNVs of the tumour, each at 20% VAF (one lies outside the targets of the last test)
SOMATIC = [("chr1", 2_500), ("chr1", 15_000), ("chr2", 3_000)]


def _reference(rng: random.Random) -> dict[str, str]:
    seq = {c: "".join(rng.choice("ACGT") for _ in range(n)) for c, n in CONTIGS.items()}
    chr1 = list(seq["chr1"])
    chr1[12_000:13_500] = "N" * 1_500  # an N gap: chr1 has two stretches of sequence
    chr1[8_000:8_012] = "AAAAAAAAAAAA"  # a homopolymer
    seq["chr1"] = "".join(chr1)
    return seq


def _germline(seq: dict[str, str], rng: random.Random) -> list[tuple[str, int, str, str, tuple[int, int]]]:
    out = []
    for c, s in seq.items():
        for pos in range(300, len(s) - 300, 457):
            if s[pos - 1] == "N" or abs(pos - INDEL_CUT) < 20 or 7_990 < pos < 8_030:
                continue
            alt = rng.choice([b for b in "ACGT" if b != s[pos - 1]])
            out.append((c, pos, s[pos - 1], alt, rng.choice([(0, 1), (1, 1)])))
    s = seq["chr1"]
    out.append(("chr1", INDEL_CUT, s[INDEL_CUT - 1 : INDEL_CUT + 3], s[INDEL_CUT - 1], (0, 1)))
    out.append(("chr1", 8_011, "AA", "A", (1, 1)))  # written at the run's end: norm moves it left
    base = seq["chr2"][1_499]
    out.append(("chr2", 1_500, base, base + "GATTC", (0, 1)))
    return sorted(out, key=lambda v: (list(CONTIGS).index(v[0]), v[1]))


def _haplotype(ref: str, variants) -> str:
    out, cur = [], 0
    for pos, r, a in variants:
        out.append(ref[cur : pos - 1] + a)
        cur = pos - 1 + len(r)
    return "".join(out) + ref[cur:]


def _simulate(directory: Path, name: str, seq, variants, rng: random.Random, depth: int = 40) -> tuple[Path, Path]:
    """Error-free 100 bp pairs from the stretches of sequence of each haplotype, and a few errors."""
    r1, r2 = [], []
    for c, ref in seq.items():
        for hap in (0, 1):
            chosen = [(p, r, a) for cc, p, r, a, gt in variants if cc == c and gt[hap]]
            h = _haplotype(ref, chosen)
            for start, end in ((m.start(), m.end()) for m in re.finditer(r"[ACGT]+", h)):
                for _ in range(depth * (end - start) // 400):
                    size = rng.randint(250, 350)
                    s = rng.randint(start, end - size)
                    frag = list(h[s : s + size])
                    if rng.random() < 0.3:
                        k = rng.randrange(size)
                        frag[k] = rng.choice("ACGT")
                    frag = "".join(frag)
                    r1.append(frag[:100])
                    r2.append(revcomp(frag[-100:]))
    paths = []
    for k, reads in ((1, r1), (2, r2)):
        path = directory / f"{name}_R{k}.fastq.gz"
        with gzip.open(path, "wt") as fh:
            fh.writelines(f"@{name}:{i}\n{r}\n+\n{'I' * len(r)}\n" for i, r in enumerate(reads))
        paths.append(path)
    return paths[0], paths[1]


def _bam(directory: Path, index: Path, name: str, reads: tuple[Path, Path]) -> Path:
    align_unsorted(*reads, index, directory / f"{name}.u.bam", name)
    sort_markdup(directory / f"{name}.u.bam", directory / f"{name}.bam", directory / f"{name}.md.txt")
    return directory / f"{name}.bam"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict:
    """A 27.5 kb reference with an N gap, a normal at 40x with its germline variants, and its
    tumour: the same germline variants and three somatic SNVs."""
    d = tmp_path_factory.mktemp("scatter")
    rng = random.Random(20261205)
    seq = _reference(rng)
    fa = d / "ref.fa"
    fa.write_text("".join(f">{c}\n{s}\n" for c, s in seq.items()))
    pysam.faidx(str(fa))
    germline = _germline(seq, rng)
    index = build_index(fa, d / "index", "bwa")
    normal = _bam(d, index, "N1", _simulate(d, "N1", seq, germline, rng))
    # the tumour: 24x of the normal's genome and 16x of a clone with the somatic SNVs on one
    # haplotype (8 of 40 reads: 20% VAF)
    somatic = [(c, p, seq[c][p - 1], "T" if seq[c][p - 1] != "T" else "G") for c, p in SOMATIC]
    clone = sorted(germline + [(c, p, r, a, (0, 1)) for c, p, r, a in somatic], key=lambda v: (v[0], v[1]))
    tumour_reads = [_simulate(d, "T1-0", seq, germline, rng, depth=24), _simulate(d, "T1-1", seq, clone, rng, depth=16)]
    r1, r2 = d / "T1_R1.fastq.gz", d / "T1_R2.fastq.gz"
    for out, k in ((r1, 0), (r2, 1)):
        out.write_bytes(b"".join(pair[k].read_bytes() for pair in tumour_reads))
    tumour = _bam(d, index, "T1", (r1, r2))
    return {"dir": d, "fasta": fa, "normal": normal, "tumour": tumour, "germline": germline, "somatic": somatic}


def _interval_beds(folder: Path, intervals) -> list[tuple[Path, Path]]:
    write_intervals(intervals, folder)
    return [(folder / f"{k:04d}.bed", folder / f"{k:04d}.somatic.bed") for k in range(1, len(intervals) + 1)]


def _hand_cuts(fasta: Path) -> list[dict]:
    """Tiles cut at an indel (just before, at and after its anchor base), inside covered sequence
    elsewhere, and at the homopolymer deletion that normalisation moves left. An interval that
    starts up to a read's length before an indel sees it otherwise than the unscattered caller
    (mpileup's partial BAQ); the margin (READ_REACH) is what makes the cut at 3,980 exact."""
    cuts = [1_000, 3_980, INDEL_CUT - 1, INDEL_CUT, 8_005, 8_011, 21_500 + 2_000]
    bounds = [("chr1", 0)] + [("chr1", c) if c < 21_500 else ("chr2", c - 21_500) for c in cuts] + [("chr2", 6_000)]
    out = []
    for (c0, p0), (c1, p1) in zip(bounds, bounds[1:], strict=False):
        rows = [(c0, p0, p1)] if c0 == c1 else [(c0, p0, CONTIGS[c0]), (c1, 0, p1)]
        rows = [r for r in rows if r[2] > r[1]]
        out.append({"germline": rows, "somatic": rows})
    return out


def _bytes(path: Path) -> tuple[bytes, bytes]:
    return path.read_bytes(), Path(str(path) + ".tbi").read_bytes()


@pytest.mark.parametrize("n", [4, 7, "hand"])
def test_scattered_germline_calls_are_the_unscattered_bytes(data, tmp_path, n):
    fa, bam, params = data["fasta"], data["normal"], CallParams(min_depth=4)
    call_variants([bam], fa, tmp_path / "whole.vcf.gz", params, samples=["N1"])
    intervals = _hand_cuts(fa) if n == "hand" else plan_intervals(fa, n)
    if n != "hand":  # the cuts fall inside covered sequence, not only in the N gap
        inside = [iv["germline"][0] for iv in intervals[1:] if iv["germline"][0][1] not in (0, 12_000, 13_500)]
        assert len(inside) >= n - 2, intervals
    parts = []
    for k, (bed, _somatic) in enumerate(_interval_beds(tmp_path / "iv", intervals)):
        parts.append(tmp_path / f"{k}.bcf")
        pileup_call([bam], fa, parts[-1], params, regions=bed, samples=["N1"], margin=READ_REACH)
    gather_calls(parts, fa, tmp_path / "gathered.vcf.gz", params)
    assert _bytes(tmp_path / "gathered.vcf.gz") == _bytes(tmp_path / "whole.vcf.gz")
    with pysam.VariantFile(str(tmp_path / "whole.vcf.gz")) as fh:
        called = {(r.chrom, r.pos, r.ref, r.alts[0]) for r in fh if "PASS" in r.filter.keys()}
    # the calls are real: the deletion at the cut, the left-aligned homopolymer deletion, the SNVs
    s = data["germline"]
    assert ("chr1", INDEL_CUT, *[(r, a) for c, p, r, a, _g in s if p == INDEL_CUT][0]) in called
    assert any(c == "chr1" and p < 8_011 and len(r) == 2 and len(a) == 1 for c, p, r, a in called)
    snvs = {(c, p, r, a) for c, p, r, a, _g in s if len(r) == len(a) == 1}
    assert len(snvs & called) >= 0.95 * len(snvs)


@pytest.mark.parametrize("n", [4, 7, "hand"])
def test_scattered_somatic_calls_are_the_unscattered_bytes(data, tmp_path, n):
    fa, params = data["fasta"], SomaticParams(min_depth=8)
    args = {"tumour_name": "T1", "params": params, "normal_bam": data["normal"], "normal_name": "N1"}
    whole = call_somatic(data["tumour"], fa, tmp_path / "whole.vcf.gz", **args)
    intervals = _hand_cuts(fa) if n == "hand" else plan_intervals(fa, n)
    parts = []
    for k, (_bed, somatic_bed) in enumerate(_interval_beds(tmp_path / "iv", intervals)):
        vcf = tmp_path / f"{k}.vcf.gz"
        parts.append((vcf, call_somatic(data["tumour"], fa, vcf, regions=somatic_bed, margin=READ_REACH, **args)))
    gathered = gather_somatic(parts, tmp_path / "gathered.vcf.gz")
    assert _bytes(tmp_path / "gathered.vcf.gz") == _bytes(tmp_path / "whole.vcf.gz")
    assert gathered == whole
    # every base of the two stretches is callable at these depths, but not the ends of the reads' reach
    assert 0.9 * 25_500 < whole["callable_bases"] <= 26_000
    with pysam.VariantFile(str(tmp_path / "whole.vcf.gz")) as fh:
        passed = {(r.chrom, r.pos) for r in fh if "PASS" in r.filter.keys()}
    assert {(c, p) for c, p, _r, _a in data["somatic"]} <= passed


def test_targets_restrict_calling_and_set_the_tmb_denominator(data, tmp_path):
    """Targets around two of the somatic SNVs, padded by 100: an SNV 150 bases outside a target
    is not called with targets and is without; one 50 bases outside is called (the padding)."""
    fa = data["fasta"]
    bed = tmp_path / "targets.bed"
    # chr1:2500 lies 150 bp past the first target; chr1:15000 50 bp before the second; chr2:3000 inside
    bed.write_text("chr1\t2000\t2350\tA\nchr1\t15050\t15400\tB\nchr2\t2900\t3100\tC\n")
    ((germ_bed, som_bed),) = _interval_beds(tmp_path / "iv", plan_intervals(fa, 1, targets=bed, padding=100))
    args = {
        "tumour_name": "T1",
        "params": SomaticParams(min_depth=8),
        "normal_bam": data["normal"],
        "normal_name": "N1",
    }
    everywhere = call_somatic(data["tumour"], fa, tmp_path / "all.vcf.gz", **args)
    targeted = call_somatic(data["tumour"], fa, tmp_path / "t.vcf.gz", regions=som_bed, callable_targets=bed, **args)

    def passed(vcf):
        with pysam.VariantFile(str(vcf)) as fh:
            return {(r.chrom, r.pos) for r in fh if "PASS" in r.filter.keys()}

    assert ("chr1", 2500) in passed(tmp_path / "all.vcf.gz")
    assert passed(tmp_path / "t.vcf.gz") == {("chr1", 15000), ("chr2", 3000)}
    # TMB's denominator: callable bases within the targets themselves (900 bases, all at depth),
    # not the padded regions called, nor the genome
    assert targeted["callable_bases"] == 900
    padded = call_somatic(data["tumour"], fa, tmp_path / "p.vcf.gz", regions=som_bed, **args)
    assert padded["callable_bases"] == 900 + 3 * 200 and everywhere["callable_bases"] > 20_000
    # germline calling too: variants outside the padded targets are called only without targets
    params = CallParams(min_depth=4)
    call_variants([data["normal"]], fa, tmp_path / "g_all.vcf.gz", params)
    call_variants([data["normal"]], fa, tmp_path / "g_t.vcf.gz", params, regions=germ_bed)
    inside = {(c, p) for c, p, *_ in data["germline"] if any(
        c == t and s - 100 < p <= e + 100 for t, s, e in (("chr1", 2000, 2350), ("chr1", 15050, 15400), ("chr2", 2900, 3100)))}  # fmt: skip
    assert inside and inside <= passed(tmp_path / "g_t.vcf.gz")
    assert passed(tmp_path / "g_t.vcf.gz") <= inside
    outside = {(c, p) for c, p, *_ in data["germline"]} - inside
    assert len(outside & passed(tmp_path / "g_all.vcf.gz")) > 20


def test_tiles_used_here_cover_the_reference(data):
    """The hand-made cuts tile the genome as plan_intervals' do (so the comparison is fair)."""
    rows = [r for iv in _hand_cuts(data["fasta"]) for r in iv["germline"]]
    assert rows[0] == ("chr1", 0, 1_000) and rows[-1] == ("chr2", 2_000, 6_000)
    assert sum(e - s for _c, s, e in rows) == sum(CONTIGS.values())
    assert tiles([("chr1", 0, 10)], 1, CONTIGS)[0] == [("chr1", 0, CONTIGS["chr1"]), ("chr2", 0, 6_000)]


def test_scattered_exome_calls_are_the_unscattered_bytes(data, tmp_path):
    """Targets: three intervals of whole padded regions give the bytes of one, germline and somatic."""
    fa = data["fasta"]
    bed = tmp_path / "targets.bed"
    bed.write_text("chr1\t2000\t2350\tA\nchr1\t3900\t4100\tB\nchr1\t8000\t8100\tC\nchr1\t15050\t15400\tD\n"
                   "chr2\t1400\t1600\tE\nchr2\t2900\t3100\tF\n")  # fmt: skip
    ((one_g, one_s),) = _interval_beds(tmp_path / "one", plan_intervals(fa, 1, targets=bed))
    three = _interval_beds(tmp_path / "three", plan_intervals(fa, 3, targets=bed))
    params = CallParams(min_depth=4)
    call_variants([data["normal"]], fa, tmp_path / "whole.vcf.gz", params, regions=one_g)
    parts = []
    for k, (g, _s) in enumerate(three):
        parts.append(tmp_path / f"{k}.bcf")
        pileup_call([data["normal"]], fa, parts[-1], params, regions=g)
    gather_calls(parts, fa, tmp_path / "gathered.vcf.gz", params)
    assert _bytes(tmp_path / "gathered.vcf.gz") == _bytes(tmp_path / "whole.vcf.gz")
    args = {"tumour_name": "T1", "params": SomaticParams(min_depth=8), "normal_bam": data["normal"],
            "normal_name": "N1", "callable_targets": bed}  # fmt: skip
    whole = call_somatic(data["tumour"], fa, tmp_path / "s_whole.vcf.gz", regions=one_s, **args)
    somatic = [(tmp_path / f"s{k}.vcf.gz", s) for k, (_g, s) in enumerate(three)]
    parts = [(vcf, call_somatic(data["tumour"], fa, vcf, regions=s, **args)) for vcf, s in somatic]
    assert gather_somatic(parts, tmp_path / "s_gathered.vcf.gz") == whole
    assert _bytes(tmp_path / "s_gathered.vcf.gz") == _bytes(tmp_path / "s_whole.vcf.gz")
    # the targets' positions, all at depth, counted once each (an indel is a second record at its
    # position), less the one base both genomes lack (the homozygous deletion in target C)
    assert whole["callable_bases"] == 350 + 200 + 100 + 350 + 200 + 200 - 1


def test_the_workflow_plans_one_calling_job_per_sample_and_interval(tmp_path):
    """calling.intervals: 4 on the demo: 4 germline calling jobs per aligned sample and 4 somatic
    ones per tumour called from reads, a gather job each, the intervals written once."""
    import os
    import subprocess
    import sys

    import yaml

    repo = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((repo / "config/config.yaml").read_text())
    config["calling"]["intervals"] = 4
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "--configfile", str(tmp_path / "c.yaml")],
                          cwd=repo, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo / "src")})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, re.M))
    sheet = (repo / "config/samples.tsv").read_text().splitlines()[1:]
    tumours = sum(line.split("\t")[2] == "tumor" for line in sheet)
    assert int(jobs["calling_intervals"]) == 1
    assert int(jobs["bcftools_call_interval"]) == 4 * len(sheet) and int(jobs["bcftools_call"]) == len(sheet)
    assert int(jobs["somatic_call_interval"]) == 4 * tumours and int(jobs["somatic_call"]) == tumours
