"""Microsatellite instability: sites found in a small reference, tract lengths read from simulated
reads, and the paired, baseline and VCF verdicts (seq2rx.tumour.msi)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pysam
import pytest

from seq2rx.core.errors import InputError
from seq2rx.tumour import msi as M

READ_LEN = 100
DEPTH = 30
#: (unit, copies) of the planted sites, cycled: homopolymers of 10-14 and 2-3 base units of 5-8
PLANTS = [("A", 10), ("CA", 5), ("T", 12), ("AG", 6), ("C", 11), ("CAG", 5), ("G", 14), ("GT", 8)]
N_SITES = 40
SPACING = 260
#: runs just below the thresholds: a 9-base homopolymer and four CA units, on chr2
DECOYS = [("A", 9), ("CA", 4), ("TTG", 4)]


def background(rng: random.Random, n: int) -> list[str]:
    """Random bases with no tandem run of 3 units of any 1-5 base unit (so nothing but the plants
    can be a site)."""
    seq: list[str] = []
    for _ in range(n):
        for _try in range(20):
            b = rng.choice("ACGT")
            # the period-k tract that b would extend: its length after b, from the matches at the end
            too_long = False
            for k in range(1, 6):
                if len(seq) < k or seq[-k] != b:
                    continue
                matches, j = 0, len(seq) - 1
                while j - k >= 0 and seq[j] == seq[j - k]:
                    matches, j = matches + 1, j - 1
                too_long |= matches + 1 + k >= 3 * k
            if not too_long:
                break
        seq.append(b)
    return seq


def plant(seq: list[str], at: int, unit: str, copies: int) -> tuple[int, int]:
    """Write ``unit * copies`` at ``at``, with a base outside the unit on each side so that the
    tract is exactly as long as planted."""
    tract = unit * copies
    end = at + len(tract)
    seq[at:end] = list(tract)
    seq[at - 1] = next(b for b in sorted("TGCA", key=unit.count) if b != unit[-1] and b != seq[at - 2])
    seq[end] = next(b for b in sorted("TGCA", key=unit.count) if b != unit[0] and b != seq[end + 1])
    return at, end


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> dict:
    """chr1 with N_SITES planted microsatellites, chr2 with the decoys only."""
    d = tmp_path_factory.mktemp("msi_ref")
    rng = random.Random(7)
    chr1 = background(rng, SPACING * (N_SITES + 1))
    planted = []
    for i in range(N_SITES):
        unit, copies = PLANTS[i % len(PLANTS)]
        start, end = plant(chr1, SPACING * (i + 1), unit, copies)
        planted.append(("chr1", start, end, unit, copies))
    chr2 = background(random.Random(8), 2000)
    for i, (unit, copies) in enumerate(DECOYS):
        plant(chr2, 300 + 500 * i, unit, copies)
    fasta = d / "ref.fa"
    text = "".join(f">{name}\n" + "".join(s) + "\n" for name, s in (("chr1", chr1), ("chr2", chr2)))
    fasta.write_text(text)
    pysam.faidx(str(fasta))
    return {"fasta": fasta, "planted": planted, "seq": {"chr1": "".join(chr1), "chr2": "".join(chr2)}, "dir": d}


@pytest.fixture(scope="module")
def sites(genome) -> list[M.Microsatellite]:
    return M.find_microsatellites(genome["fasta"])


def simulate(path: Path, genome: dict, sites, shifts, *, depth: int = DEPTH, seed: int = 1, contig: str = "chr1",
             extra=()) -> Path:  # fmt: skip
    """A sorted, indexed BAM of single-end reads that span each site; ``shifts(i, read, site, rng)`` gives
    a read's change of tract length in bases (0: the reference). ``extra`` appends ready reads."""
    rng = random.Random(seed)
    seq = genome["seq"]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": c, "LN": len(seq[k])} for c, k in ((contig, "chr1"), ("chr2", "chr2"))]}  # fmt: skip
    reads = []
    for i, s in enumerate(sites):
        for r in range(depth):
            delta = shifts(i, r, s, rng)
            tract_len = s.end - s.start + delta
            tract = (s.unit * (tract_len // len(s.unit) + 2))[:tract_len]
            left_len = rng.randint(10, READ_LEN - tract_len - 10)
            rs = s.start - left_len
            right_len = READ_LEN - left_len - tract_len
            ref = seq["chr1"]
            bases = ref[rs : s.start] + tract + ref[s.end : s.end + right_len]
            cigar = [(0, left_len)]
            if delta > 0:
                cigar += [(1, delta), (0, s.end - s.start + right_len)]
            elif delta < 0:
                cigar += [(2, -delta), (0, tract_len + right_len)]
            else:
                cigar = [(0, READ_LEN)]
            reads.append((rs, f"s{i}r{r}", bases, cigar, 0, 60))
    reads += list(extra)
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for rs, name, bases, cigar, flag, mapq in sorted(reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.query_sequence, a.flag = name, bases, flag
            a.reference_id, a.reference_start, a.mapping_quality = 0, rs, mapq
            a.cigartuples = cigar
            a.query_qualities = pysam.qualitystring_to_array("I" * len(bases))
            out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    pysam.index(str(path))
    unsorted.unlink()
    return path


def reference_length(i, r, s, rng):
    return 0


def stutter(i, r, s, rng):
    """PCR stutter as in any sample: read 7 of each site a unit short (1 in 30, under the
    baseline's 5%)."""
    return -len(s.unit) if r == 7 else 0


def unstable(i, r, s, rng):
    """An MSI tumour: 24 of 40 sites shrink in about 60% of reads, by one or two units."""
    if i % 5 in (0, 1, 3) and rng.random() < 0.6:
        return -len(s.unit) * rng.choice((1, 2))
    return stutter(i, r, s, rng)


@pytest.fixture(scope="module")
def bams(genome, sites) -> dict:
    d = genome["dir"]
    return {
        "normal": simulate(d / "normal.bam", genome, sites, stutter, seed=1),
        "normal2": simulate(d / "normal2.bam", genome, sites, stutter, seed=2),
        "msi": simulate(d / "msi.bam", genome, sites, unstable, seed=3),
        "mss": simulate(d / "mss.bam", genome, sites, stutter, seed=4),
        "shallow": simulate(d / "shallow.bam", genome, sites, unstable, seed=5, depth=10),
    }


# -- sites ------------------------------------------------------------------------------------


def test_finds_exactly_the_planted_loci(genome, sites):
    found = [(s.chrom, s.start, s.end, s.unit, s.repeat_count) for s in sites]
    assert found == genome["planted"]  # none of the decoys on chr2 (9 A's, 4 CA's, 4 TTG's), none in the background
    first = sites[0]
    assert (first.unit, first.repeat_count, first.end - first.start) == ("A", 10, 10)
    assert first.left_flank == genome["seq"]["chr1"][first.start - 5 : first.start]
    assert first.right_flank == genome["seq"]["chr1"][first.end : first.end + 5]


def test_thresholds_and_regions(genome):
    looser = M.MsiParams(min_homopolymer=9, min_repeat_units=4)
    chr2 = M.find_microsatellites(genome["fasta"], [("chr2", 0, 2000)], params=looser)
    assert [(s.unit, s.repeat_count) for s in chr2] == DECOYS
    one = M.find_microsatellites(genome["fasta"], [("chr1", SPACING * 2 - 3, SPACING * 2 + 1)])
    assert [(s.start, s.unit) for s in one] == [(SPACING * 2, "CA")]


def test_site_list_round_trips(sites, tmp_path):
    M.write_microsatellites(sites, tmp_path / "ms.tsv")
    assert M.read_microsatellites(tmp_path / "ms.tsv") == sites
    assert (tmp_path / "ms.tsv").read_text().splitlines()[0].split("\t") == list(M.SITE_COLUMNS)


# -- lengths per read -------------------------------------------------------------------------


def test_tract_length_per_read(genome, sites, tmp_path):
    s = sites[0]  # A x 10 at chr1:260
    ref = genome["seq"]["chr1"]
    left = ref[s.start - 40 : s.start]

    def read(name, tract, right_len, cigar, flag=0, mapq=60, left_flank=left):
        return (s.start - 40, name, left_flank + tract + ref[s.end : s.end + right_len], cigar, flag, mapq)

    changed = left[:-1] + ("C" if left[-1] != "C" else "G")  # the base next to the tract differs
    extra = [
        read("del2", "A" * 8, 30, [(0, 40), (2, 2), (0, 38)]),
        read("ins1", "A" * 11, 30, [(0, 40), (1, 1), (0, 40)]),
        read("del1_mid", "A" * 9, 30, [(0, 45), (2, 1), (0, 34)]),  # placed mid-tract: the same length
        read("flank_mismatch", "A" * 10, 30, [(0, 80)], left_flank=changed),
        read("dup", "A" * 10, 30, [(0, 80)], flag=1024),
        read("secondary", "A" * 10, 30, [(0, 80)], flag=256),
        read("lowmapq", "A" * 10, 30, [(0, 80)], mapq=5),
        read("ends_in_tract", "A" * 10, 2, [(0, 52)]),  # only 2 bases of right flank
        read("clipped", "A" * 10, 30, [(0, 48), (4, 32)]),  # soft-clipped from the tract on
    ]
    bam = simulate(tmp_path / "one.bam", genome, sites[:1], reference_length, depth=3, extra=extra)
    assert M.repeat_length_distribution(bam, s) == Counter({10: 3, 8: 1, 11: 1, 9: 1})
    assert M.repeat_length_distribution(bam, s, min_mapq=0) == Counter({10: 4, 8: 1, 11: 1, 9: 1})


def test_tract_lengths_after_bwa(genome, sites, tmp_path):
    """Real alignments: BWA places the indels (left-aligned, or wherever it likes) and the
    tract length per read is still the planted one, one unit shorter or longer."""
    import gzip

    from seq2rx.reads.align import align_unsorted, build_index, sort_markdup

    ref, rng = genome["seq"]["chr1"], random.Random(11)
    comp = str.maketrans("ACGT", "TGCA")
    fq1, fq2, expected = [], [], {}
    for i, s in enumerate(sites[:8]):  # every kind of plant: A10, CA5, T12, AG6, C11, CAG5, G14, GT8
        k, length = len(s.unit), s.end - s.start
        expected[s] = Counter({length - k: 10, length + k: 10})
        for r, left_len in enumerate(rng.sample(range(20, READ_LEN - length - 20 - k), 20)):
            delta = -k if r < 10 else k
            read1 = ref[s.start - left_len : s.start] + s.unit * ((length + delta) // k)
            read1 += ref[s.end : s.end + READ_LEN - len(read1)]
            mate_end = s.start - left_len + 250 + r  # the mate stops short of the next site
            read2 = ref[mate_end - READ_LEN : mate_end].translate(comp)[::-1]
            fq1.append(f"@p{i}_{r}\n{read1}\n+\n{'I' * len(read1)}\n")
            fq2.append(f"@p{i}_{r}\n{read2}\n+\n{'I' * len(read2)}\n")
    for name, recs in (("r1.fq.gz", fq1), ("r2.fq.gz", fq2)):
        with gzip.open(tmp_path / name, "wt") as fh:
            fh.write("".join(recs))
    index = build_index(genome["fasta"], tmp_path / "index", "bwa")
    align_unsorted(tmp_path / "r1.fq.gz", tmp_path / "r2.fq.gz", index, tmp_path / "u.bam", "T")
    sort_markdup(tmp_path / "u.bam", tmp_path / "t.bam", tmp_path / "md.txt")
    with pysam.AlignmentFile(str(tmp_path / "t.bam")) as bam:
        for s, want in expected.items():
            assert M.repeat_length_distribution(bam, s) == want, (s.unit, s.repeat_count)


# -- statistics -------------------------------------------------------------------------------


def test_benjamini_hochberg_and_chi_square():
    assert M.benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert M.benjamini_hochberg([]) == []
    # 2 x 2 table [[30, 0], [15, 15]]: chi-square 20.0, 1 degree of freedom
    assert M.chi_square_p(Counter({10: 30}), Counter({10: 15, 9: 15})) == pytest.approx(7.744e-06, rel=1e-3)


def test_paired_calls_msi_high_and_stable(sites, bams):
    t0 = time.perf_counter()
    result, rows = M.msi_paired(bams["msi"], bams["normal"], sites)
    per_site = (time.perf_counter() - t0) / len(sites)
    assert {"status", "score", "unstable_sites", "evaluable_sites", "method", "criterion", "min_sites"} <= set(result)
    assert result["method"] == "msisensor-paired"
    assert result["status"] == "MSI-H"
    assert result["evaluable_sites"] == N_SITES
    assert result["unstable_sites"] == 24  # the 24 sites planted unstable, and no other
    assert result["score"] == pytest.approx(60.0)
    assert "3.5%" in result["criterion"] and "24371154" in result["criterion"]
    assert {i for i, r in enumerate(rows) if r["state"] == "unstable"} == {
        i for i in range(N_SITES) if i % 5 in (0, 1, 3)
    }
    mss, _ = M.msi_paired(bams["mss"], bams["normal"], sites)
    assert (mss["status"], mss["unstable_sites"], mss["score"]) == ("MSS", 0, 0.0)
    assert per_site < 0.05, f"{per_site * 1000:.1f} ms per site"


def test_too_few_sites_with_depth_is_not_assessed(sites, bams):
    result, rows = M.msi_paired(bams["shallow"], bams["normal"], sites)
    assert result["status"] == "not assessed" and result["score"] is None
    assert result["evaluable_sites"] == 0
    assert "30 needed" in result["reason"]
    assert {r["state"] for r in rows} == {"low depth"}
    # enough depth but fewer sites than min_sites: still no verdict, never MSS
    few, _ = M.msi_paired(bams["mss"], bams["normal"], sites[:10])
    assert few["status"] == "not assessed"


def test_baseline_mode_gives_the_same_verdicts(sites, bams, tmp_path):
    baseline = M.build_baseline([bams["normal"], bams["normal2"]], sites)
    assert len(baseline) == N_SITES
    assert all(b.samples == 2 and b.allowed == {b.site.end - b.site.start} for b in baseline)  # stutter is < 5%
    M.write_baseline(baseline, tmp_path / "baseline.tsv")
    baseline = M.read_baseline(tmp_path / "baseline.tsv")
    msi, rows = M.msi_baseline(bams["msi"], baseline)
    assert (msi["method"], msi["status"], msi["unstable_sites"], msi["baseline_samples"]) == (
        "msisensor-baseline", "MSI-H", 24, 2)  # fmt: skip
    assert "20%" in msi["criterion"]
    mss, _ = M.msi_baseline(bams["mss"], baseline)
    assert (mss["status"], mss["unstable_sites"]) == ("MSS", 0)
    shallow, _ = M.msi_baseline(bams["shallow"], baseline)
    assert shallow["status"] == "not assessed"


def test_outputs_are_written(sites, bams, tmp_path):
    result, rows = M.msi_paired(bams["msi"], bams["normal"], sites)
    M.write_json(result, tmp_path / "T.msi.json")
    M.write_sites(rows, tmp_path / "T.msi_sites.tsv")
    lines = (tmp_path / "T.msi_sites.tsv").read_text().splitlines()
    assert len(lines) == N_SITES + 1
    header = lines[0].split("\t")
    assert header[:5] == ["chrom", "start", "end", "unit", "repeat_count"] and "q_value" in header
    first = dict(zip(header, lines[1].split("\t"), strict=True))
    assert first["state"] == "unstable" and first["normal_reads"] == "30"
    assert '"status": "MSI-H"' in (tmp_path / "T.msi.json").read_text()


# -- VCF fallback -----------------------------------------------------------------------------


def vcf(path: Path, genome: dict, records: list[tuple[int, str, str, str]]) -> Path:
    lines = ["##fileformat=VCFv4.2", '##FILTER=<ID=PASS,Description="All filters passed">',
             '##FILTER=<ID=LowQual,Description="Low quality">',
             *(f"##contig=<ID={c},length={len(s)}>" for c, s in genome["seq"].items()),
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]  # fmt: skip
    lines += [f"chr1\t{pos}\t.\t{ref}\t{alt}\t50\t{flt}\t." for pos, ref, alt, flt in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_vcf_indel_profile(genome, sites, tmp_path):
    ref = genome["seq"]["chr1"]
    records = []
    for s in sites[:6]:  # a one-unit deletion at the start of six tracts (anchor = the base before)
        records.append((s.start, ref[s.start - 1 : s.start + len(s.unit)], ref[s.start - 1], "PASS"))
    for pos in (100, 150, 5030, 5090):  # four indels outside any repeat
        records.append((pos + 1, ref[pos], ref[pos] + "G", "PASS"))
    records.append((SPACING * 3 + 1, ref[SPACING * 3] + "TT", ref[SPACING * 3], "LowQual"))  # filtered: ignored
    records.append((2001, ref[2000], "T" if ref[2000] != "T" else "C", "PASS"))  # an SNV: not an indel
    s = sites[8]  # an insertion placed after the last base of a tract (right-aligned) is in it too
    records.append((s.end, ref[s.end - 1], ref[s.end - 1] + s.unit, "PASS"))
    path = vcf(tmp_path / "t.vcf", genome, sorted(records))
    by_sites = M.msi_from_vcf(path, sites=sites)
    assert (by_sites["indels"], by_sites["indels_in_repeats"], by_sites["repeat_fraction"]) == (11, 7, 0.6364)
    assert by_sites["method"] == "vcf-indel-profile" and by_sites["status"] == "not assessed"
    assert "no validated" in by_sites["reason"]
    by_fasta = M.msi_from_vcf(path, fasta=genome["fasta"])
    assert by_fasta["indels_in_repeats"] == 7
    rule = M.MsiParams(vcf_msi_h_fraction=0.5)
    assert M.msi_from_vcf(path, sites=sites, params=rule)["status"] == "MSI-H"
    assert M.msi_from_vcf(path, sites=sites, params=M.MsiParams(vcf_msi_h_fraction=0.7))["status"] == "MSS"
    few = M.MsiParams(vcf_msi_h_fraction=0.5, vcf_min_indels=12)
    assert M.msi_from_vcf(path, sites=sites, params=few)["status"] == "not assessed"


# -- parameters and bad input -----------------------------------------------------------------


def test_params_from_config():
    p = M.MsiParams.from_config({"min_depth": 15, "msi_h_score": 10})
    assert (p.min_depth, p.msi_h_score, p.fdr) == (15, 10, 0.05)
    with pytest.raises(ValueError, match=r"unknown keys \['min_dept'\]"):
        M.MsiParams.from_config({"min_dept": 15})
    with pytest.raises(ValueError, match="msi.fdr must be a fraction"):
        M.MsiParams(fdr=5)


def test_bam_without_index(genome, sites, bams, tmp_path):
    bare = tmp_path / "bare.bam"
    bare.write_bytes(Path(bams["normal"]).read_bytes())
    with pytest.raises(InputError, match=r"bare\.bam: has no index .*samtools index"):
        M.msi_paired(bams["msi"], bare, sites)


def test_fasta_without_fai(genome, tmp_path):
    fa = tmp_path / "noindex.fa"
    fa.write_text(genome["fasta"].read_text())
    with pytest.raises(InputError, match=r"noindex\.fa: has no index \(\.fai\) \(run: samtools faidx"):
        M.find_microsatellites(fa)


def test_mismatched_contigs(genome, sites, tmp_path):
    other = simulate(tmp_path / "named1.bam", genome, sites[:2], reference_length, depth=2, contig="1")
    with pytest.raises(InputError, match=r"named1\.bam: has no contig chr1 of the microsatellite list"):
        M.msi_paired(other, other, sites)
    with pytest.raises(InputError, match="has no contig 'chrX' named by the regions"):
        M.find_microsatellites(genome["fasta"], [("chrX", 0, 10)])
