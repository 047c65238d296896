"""Sample identity: sex from X/Y depth against the sheet, and the tumour/normal fingerprint.

A tiny genome (two autosomes, chrX, and a chrY whose first third is an N gap, as chrY's is) and
reads written straight into sorted, indexed BAMs: a woman (two X, no Y but a few MAPQ-0 reads that
mis-mapped there), a man (one X, one Y), a man's tumour that lost chrY; and for the fingerprint one
person's normal and tumour (loss of heterozygosity and skewed allele fractions at some sites), a
second person's normal, and a shallow tumour.
"""

from __future__ import annotations

import bisect
import doctest
import json
from pathlib import Path

import numpy as np
import pysam
import pytest

import seq2rx.tumour.identity as identity
from seq2rx.core.errors import InputError
from seq2rx.tumour.identity import (
    IdentityParams,
    Site,
    check_sex,
    concordance,
    detect_build,
    fingerprint,
    identity_qc,
    infer_sex,
    read_sites,
    sample_identity,
    without_par,
    write_json,
)

REPO = Path(__file__).resolve().parents[2]
READ = 100
LENGTHS = {"chr1": 20_000, "chr2": 20_000, "chrX": 20_000, "chrY": 30_000}
Y_GAP = 10_000  # chrY's first bases are N, as in the real chromosome


def genome(rng: np.random.Generator, contigs=LENGTHS) -> dict[str, str]:
    seqs = {c: "".join(rng.choice(list("ACGT"), size=n)) for c, n in contigs.items()}
    if "chrY" in seqs:
        seqs["chrY"] = "N" * Y_GAP + seqs["chrY"][Y_GAP:]
    return seqs


def write_fasta(seqs: dict[str, str], path: Path) -> Path:
    path.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    pysam.faidx(str(path))
    return path


def write_bam(path: Path, seqs: dict[str, str], rng: np.random.Generator, *, depth: float,
              copies: dict[str, int] | None = None, afs: dict[tuple[str, int], float] | None = None,
              mapq0: dict[str, int] | None = None) -> Path:  # fmt: skip
    """Single-end reads at ``depth`` for two copies (``copies`` per contig, default 2), the alternate
    base of each site (contig, 1-based pos) drawn with probability ``afs[site]``, and ``mapq0``
    extra reads of mapping quality 0 per contig."""
    copies, afs, mapq0 = copies or {}, afs or {}, mapq0 or {}
    header = pysam.AlignmentHeader.from_dict({
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": c, "LN": len(s)} for c, s in seqs.items()],
        "RG": [{"ID": path.stem, "SM": path.stem}],
    })  # fmt: skip
    quals = pysam.qualitystring_to_array("I" * READ)
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for tid, (contig, seq) in enumerate(seqs.items()):
            sites = sorted((pos - 1, af) for (c, pos), af in afs.items() if c == contig)
            positions = [p for p, _ in sites]
            usable = len(seq) - seq.count("N")
            n = round(depth * copies.get(contig, 2) / 2 * usable / READ)
            starts = [int(s) for s in rng.integers(0, len(seq) - READ, size=n * 2) if "N" not in seq[s : s + READ]]
            reads = [(s, 60) for s in starts[:n]] + [(int(s), 0) for s in rng.integers(Y_GAP, len(seq) - READ,
                                                                                    size=mapq0.get(contig, 0))]  # fmt: skip
            for i, (start, mapq) in enumerate(sorted(reads)):
                bases = list(seq[start : start + READ])
                for k in range(bisect.bisect_left(positions, start), bisect.bisect_left(positions, start + READ)):
                    pos, af = sites[k]
                    if rng.random() < af:
                        bases[pos - start] = alt_of(seq[pos])
                a = pysam.AlignedSegment(header)
                a.query_name, a.query_sequence, a.flag = f"{contig}_{i}", "".join(bases), 0
                a.reference_id, a.reference_start, a.mapping_quality = tid, start, mapq
                a.cigartuples, a.query_qualities = ((0, READ),), quals
                a.set_tag("RG", path.stem)
                out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    pysam.index(str(path))
    unsorted.unlink()
    return path


def alt_of(ref: str) -> str:
    return "ACGT"["ACGT".index(ref) - 1]


# -------------------------------------------------------------------------------------------- sex


@pytest.fixture(scope="module")
def sex_data(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("sex")
    rng = np.random.default_rng(20261204)
    seqs = genome(rng)
    no_y = {c: s for c, s in seqs.items() if c != "chrY"}
    return {
        "fasta": write_fasta(seqs, tmp / "ref.fa"),
        "fasta_no_y": write_fasta(no_y, tmp / "ref_no_y.fa"),
        "female": write_bam(tmp / "female.bam", seqs, rng, depth=10, copies={"chrY": 0}, mapq0={"chrY": 300}),
        "male": write_bam(tmp / "male.bam", seqs, rng, depth=10, copies={"chrX": 1, "chrY": 1}),
        "male_tumour_loy": write_bam(tmp / "loy.bam", seqs, rng, depth=10, copies={"chrX": 1, "chrY": 0}),
        "shallow": write_bam(tmp / "shallow.bam", seqs, rng, depth=0.2, copies={"chrX": 1, "chrY": 1}),
        "female_no_y": write_bam(tmp / "female_no_y.bam", no_y, rng, depth=10),
    }


def test_female_and_male_are_told_apart(sex_data):
    female = infer_sex(sex_data["female"], fasta=sex_data["fasta"])
    male = infer_sex(sex_data["male"], fasta=sex_data["fasta"])
    assert (female["status"], female["sex"], female["reason"]) == ("assessed", "female", None)
    assert (male["status"], male["sex"], male["reason"]) == ("assessed", "male", None)
    assert female["x_ratio"] == pytest.approx(1.0, abs=0.05)
    assert female["y_ratio"] == 0.0  # the 300 mis-mapped reads on chrY have MAPQ 0 and are not counted
    assert male["x_ratio"] == pytest.approx(0.5, abs=0.05)
    # chrY's N gap is left out of its bases: counted in, it would pull the ratio to 0.33
    assert male["y_ratio"] == pytest.approx(0.5, abs=0.05)
    assert male["y_bases"] == LENGTHS["chrY"] - Y_GAP
    assert male["build"] is None and male["par_excluded"] is False  # a toy genome: no PAR to cut
    json.dumps(male)


def test_a_bed_of_targets_gives_the_same_call(sex_data, tmp_path):
    bed = tmp_path / "targets.bed"
    bed.write_text("chr1\t0\t15000\tA\nchr2\t5000\t20000\tB\nX\t0\t20000\tC\nchrY\t12000\t30000\tD\n")
    male = infer_sex(sex_data["male"], regions=bed)
    assert male["sex"] == "male" and male["x_bases"] == 20000 and male["y_bases"] == 18000
    no_y = tmp_path / "no_y.bed"
    no_y.write_text("chr1\t0\t15000\nchrX\t0\t20000\n")
    out = infer_sex(sex_data["male"], regions=no_y)
    assert out["status"] == "not assessed" and out["sex"] is None
    assert out["reason"] == "no callable base on chrY in the regions given"
    # on GRCh38, chrX and chrY from base 10,001 on are pseudo-autosomal: cut out, they leave no chrY
    par = infer_sex(sex_data["male"], regions=bed, build="GRCh38")
    assert par["par_excluded"] is True and par["x_bases"] == 10000 and par["y_bases"] == 0
    assert par["reason"] == "no callable base on chrY in the regions given"


def test_sheet_female_but_data_male_is_a_fail(sex_data):
    male = infer_sex(sex_data["male"], fasta=sex_data["fasta"])
    check = check_sex(male, "female")
    assert check["verdict"] == "fail"
    assert check["reason"].startswith("sex mismatch: the sheet says female, X/Y depth says male (X ratio 0.")
    assert check_sex(male, "male") == {"sheet_sex": "male", "inferred_sex": "male", "verdict": "pass",
                                       "reason": None}  # fmt: skip
    unknown = check_sex(male, "unknown")
    assert unknown["verdict"] == "not assessed" and "the sheet's sex is unknown" in unknown["reason"]
    with pytest.raises(ValueError, match="sheet sex must be one of"):
        check_sex(male, "M")


def test_a_tumour_that_lost_chry_is_ambiguous_not_a_mismatch(sex_data):
    loy = infer_sex(sex_data["male_tumour_loy"], fasta=sex_data["fasta"])
    assert loy["status"] == "assessed" and loy["sex"] == "ambiguous"
    assert loy["reason"].startswith("one X without a Y")
    check = check_sex(loy, "male")
    assert check["verdict"] == "warn" and "a tumour that lost chrY" in check["reason"]


def test_a_reference_without_chry_is_not_assessed(sex_data):
    out = infer_sex(sex_data["female_no_y"], fasta=sex_data["fasta_no_y"])
    assert out["status"] == "not assessed" and out["sex"] is None
    assert out["reason"] == "the reference has no chrY"
    check = check_sex(out, "female")
    assert check["verdict"] == "not assessed" and check["reason"] == "sex not assessed: the reference has no chrY"


def test_too_little_depth_is_not_assessed(sex_data):
    out = infer_sex(sex_data["shallow"], fasta=sex_data["fasta"])
    assert out["status"] == "not assessed"
    assert out["reason"].startswith("depth too low: autosomal depth 0.")
    assert "(< 100)" in out["reason"]


def test_whole_contigs_need_the_reference(sex_data):
    with pytest.raises(ValueError, match="needs the reference fasta"):
        infer_sex(sex_data["male"])


def test_pseudo_autosomal_regions_are_cut_by_build():
    assert detect_build({"chrX": 156040895, "chrY": 57227415}) == "GRCh38"
    assert detect_build({"X": 155270560}) == "GRCh37"
    assert detect_build({"chrX": 20000}) is None
    # GRCh37 chrX: PAR1 60,001-2,699,520 and PAR2 154,931,044-155,260,560 (1-based)
    assert without_par("X", [(0, 155270560)], "GRCh37") == [(0, 60000), (2699520, 154931043), (155260560, 155270560)]
    assert without_par("X", [(100, 200), (150, 300)], None) == [(100, 300)]


# ------------------------------------------------------------------------------------ fingerprint

N_SITES = 50


@pytest.fixture(scope="module")
def fp_data(tmp_path_factory) -> dict:
    """Person A: 15 hom-alt, 20 het and 15 hom-ref sites; A's tumour lost one allele at 8 of the
    hets (pure, so the fraction is 0 or 1) and gained one at 6 (0.7 or 0.3). Person B's genotypes are
    drawn anew."""
    tmp = tmp_path_factory.mktemp("fp")
    rng = np.random.default_rng(4)
    seqs = genome(rng, {"chr1": 12_000, "chr2": 12_000})
    sites = [(c, 1000 + 400 * i) for c in ("chr1", "chr2") for i in range(N_SITES // 2)]
    a = rng.permutation([2] * 15 + [1] * 20 + [0] * 15)
    b = rng.choice([0, 1, 2], size=N_SITES, p=[0.25, 0.5, 0.25])
    hets = [i for i in range(N_SITES) if a[i] == 1]
    tumour_af = {i: g / 2 for i, g in enumerate(a)}
    tumour_gt = dict(enumerate(a))
    for k, i in enumerate(hets[:8]):  # loss of heterozygosity
        tumour_af[i], tumour_gt[i] = (1.0, 2) if k % 2 else (0.0, 0)
    for k, i in enumerate(hets[8:14]):  # a gained allele
        tumour_af[i] = 0.7 if k % 2 else 0.3
    tsv = tmp / "sites.tsv"
    tsv.write_text("chrom\tpos\tref\talts\n" + "".join(f"{c}\t{p}\t{seqs[c][p - 1]}\t{alt_of(seqs[c][p - 1])}\n"
                                                       for c, p in sites))  # fmt: skip
    afs = {
        "A_normal": {s: g / 2 for s, g in zip(sites, a, strict=True)},
        "A_tumour": {s: tumour_af[i] for i, s in enumerate(sites)},
        "B_normal": {s: g / 2 for s, g in zip(sites, b, strict=True)},
    }
    write_fasta(seqs, tmp / "ref.fa")
    bams = {name: write_bam(tmp / f"{name}.bam", seqs, rng, depth=30, afs=af) for name, af in afs.items()}
    bams["A_tumour_shallow"] = write_bam(tmp / "shallow.bam", seqs, rng, depth=4, afs=afs["A_tumour"])
    return {"sites": read_sites(tsv), "tsv": tsv, "fasta": tmp / "ref.fa", "bams": bams, "b": b, "tumour_gt": tumour_gt}


def test_a_tumour_and_its_normal_are_one_person(fp_data):
    bams = fp_data["bams"]
    out = fingerprint(bams["A_normal"], bams["A_tumour"], fp_data["sites"], normal="P9-N", tumour="P9-T")
    assert out["n_sites"] == out["n_called_both"] == N_SITES
    # 35 sites non-reference in the normal; the tumour differs at the 8 that lost an allele
    assert out["n_informative"] == 35 and out["concordance"] == pytest.approx(27 / 35, abs=1e-4)
    # loss of heterozygosity never touches the 15 homozygous-alternate sites
    assert out["n_hom"] == 15 and out["hom_concordance"] == 1.0
    assert (out["same_person"], out["verdict"], out["reason"], out["status"]) == (True, "pass", None, "assessed")
    # LOH pulls the allele-fraction correlation below NGSCheckMate's 0.87 for matched pairs: why the
    # verdict rests on the homozygous sites
    assert 0.5 < out["af_correlation"] < 0.87
    assert {r["tumour_gt"] for r in out["sites"]} == {0, 1, 2}
    json.dumps(out)


def test_a_swapped_normal_is_a_fail(fp_data):
    bams = fp_data["bams"]
    out = fingerprint(bams["B_normal"], bams["A_tumour"], fp_data["sites"], normal="P9-N", tumour="P9-T")
    expected = concordance([(int(b), int(fp_data["tumour_gt"][i])) for i, b in enumerate(fp_data["b"])])
    assert {k: out[k] for k in expected} == expected  # the genotypes are called as simulated
    assert out["hom_concordance"] <= 0.4 and out["n_hom"] >= 10
    assert out["same_person"] is False and out["verdict"] == "fail"
    assert out["af_correlation"] < 0.31  # NGSCheckMate's unmatched pairs sit near 0.31
    assert out["reason"].startswith("P9-T and P9-N are not from the same person: homozygous-site concordance 0.")
    qc = identity_qc("P9-T", fingerprint=out)
    assert qc["verdict"] == "fail" and qc["reasons"] == [out["reason"]]


def test_one_call_gives_a_samples_identity_qc(fp_data):
    bams = fp_data["bams"]
    qc = sample_identity("P9-T", bams["A_tumour"], sheet_sex="female", fasta=fp_data["fasta"],
                         normal_bam=bams["B_normal"], normal="P9-N", sites=fp_data["tsv"])  # fmt: skip
    assert qc["verdict"] == "fail" and qc["fingerprint"]["same_person"] is False
    # the toy genome has no sex chromosomes: said, not failed
    assert qc["sex"]["verdict"] == "not assessed" and qc["sex"]["inference"]["sex"] is None
    assert qc["reasons"][0] == "sex not assessed: the reference has no chrX and no chrY"
    assert qc["reasons"][1].startswith("P9-T and P9-N are not from the same person")
    alone = sample_identity("P9-N", bams["A_normal"], sheet_sex="unknown", fasta=fp_data["fasta"])
    assert alone["fingerprint"] is None and alone["verdict"] == "not assessed"
    json.dumps(qc)


def test_too_few_sites_with_depth_give_no_verdict(fp_data):
    bams = fp_data["bams"]
    out = fingerprint(bams["A_normal"], bams["A_tumour_shallow"], fp_data["sites"])
    assert out["same_person"] is None and out["status"] == "not assessed" and out["verdict"] == "not assessed"
    assert out["n_hom"] < 10 and out["n_called_both"] < 10
    assert out["reason"].startswith("too few sites to compare tumour with normal: ")
    # a site on a contig the BAMs lack is skipped, not an error
    more = fp_data["sites"][:3] + [Site("chr7", 100, "A", ("G",))]
    assert fingerprint(bams["A_normal"], bams["A_tumour"], more)["n_called_both"] == 3


def test_concordance_by_hand():
    # normal het -> tumour hom is loss of heterozygosity: it lowers concordance, not hom_concordance
    assert concordance([(1, 2), (1, 0), (2, 2), (0, 0)]) == {
        "n_informative": 3, "concordance": pytest.approx(1 / 3, abs=1e-4), "n_hom": 1, "hom_concordance": 1.0,
    }  # fmt: skip
    assert concordance([(0, 0)]) == {"n_informative": 0, "concordance": None, "n_hom": 0, "hom_concordance": None}


# ------------------------------------------------------------------------------------ sites files


def test_sites_files_in_three_formats(tmp_path):
    fasta = write_fasta({"chr1": "ACGTACGTAC" * 10}, tmp_path / "ref.fa")
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t2\trs1\tC\tT\t.\t.\t.\nchr1\t3\trs2\tGT\tG\t.\t.\t.\nchr1\t5\trs3\tA\tG,C\t.\t.\t.\n"
    )
    assert read_sites(vcf) == [Site("chr1", 2, "C", ("T",)), Site("chr1", 5, "A", ("G", "C"))]
    bed = tmp_path / "sites.bed"
    bed.write_text("chr1\t1\t2\nchr1\t1\t2\nchr1\t9\t10\n")
    assert read_sites(bed, fasta) == [Site("chr1", 2, "C"), Site("chr1", 10, "C")]
    with pytest.raises(InputError, match="needs the reference FASTA"):
        read_sites(bed)
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tpos\nchr1\tten\n")
    with pytest.raises(InputError, match="line 2, field 'pos': 'ten' is not a position"):
        read_sites(bad)
    bad.write_text("chrom\tpos\nchr1\t5\nchr1\n")
    with pytest.raises(InputError, match="line 3: has 1 cells but the header has 2 columns"):
        read_sites(bad)
    bad.write_text("chrom\tposition\nchr1\t0\n")
    with pytest.raises(InputError, match="line 2, field 'position': '0' is not a position"):
        read_sites(bad)


def test_the_pgx_positions_are_a_usable_default_panel():
    sites = read_sites(REPO / "resources/kb/pgx/positions.tsv")
    assert 380 < len(sites) < 425  # the indels and duplicate positions are left out
    assert all(len(s.ref) == 1 and all(len(a) == 1 for a in s.alts) for s in sites)
    assert Site("chr10", 94781859, "G", ("A",)) in sites  # CYP2C19*2, rs4244285


# ---------------------------------------------------------------------------------- params and QC


def test_params_from_config():
    assert IdentityParams.from_config(None) == IdentityParams()
    assert IdentityParams.from_config({"min_site_depth": 20}).min_site_depth == 20
    with pytest.raises(ValueError, match=r"unknown keys \['min_depth'\]; allowed: \["):
        IdentityParams.from_config({"min_depth": 20})
    with pytest.raises(ValueError, match="hom_ref_max_af .* must be below hom_alt_min_af"):
        IdentityParams(hom_ref_max_af=0.9, hom_alt_min_af=0.8)
    with pytest.raises(ValueError, match="must be between 0 and 1, got 1.5"):
        IdentityParams(min_concordance_same=1.5)


def test_identity_qc_takes_the_worst_verdict(tmp_path):
    sex = {"verdict": "fail", "reason": "sex mismatch: ..."}
    fp = {"verdict": "pass", "reason": None}
    qc = identity_qc("S1", sex=sex, fingerprint=fp)
    assert qc["verdict"] == "fail" and qc["reasons"] == ["sex mismatch: ..."]
    assert identity_qc("S1", sex={"verdict": "not assessed", "reason": "x"})["verdict"] == "not assessed"
    assert identity_qc("S1", sex={"verdict": "not assessed", "reason": "x"}, fingerprint=fp)["verdict"] == "pass"
    write_json(qc, tmp_path / "S1.identity.json")
    assert json.loads((tmp_path / "S1.identity.json").read_text()) == qc


def test_docstring_examples():
    assert doctest.testmod(identity).failed == 0
