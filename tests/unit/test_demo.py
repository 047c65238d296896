"""The demo genome keeps true GRCh38 bases and translates the hotspots to the right codons."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pysam
import pytest
import yaml
from Bio.Seq import Seq

from seq2rx.sim import load_pgx_sites, simulate

REPO = Path(__file__).resolve().parents[2]


def _cds(fasta: pysam.FastaFile, gff3: Path, gene: str) -> tuple[str, str]:
    """The coding sequence of ``gene``'s transcript, in transcript orientation, from FASTA + GFF3."""
    rows = [line.split("\t") for line in gff3.read_text().splitlines() if not line.startswith("#")]
    gene_id = next(r[8].split("ID=gene:")[1].split(";")[0] for r in rows if r[2] == "gene" and f"Name={gene};" in r[8])
    mrna = next(r for r in rows if r[2] == "mRNA" and f"Parent=gene:{gene_id}" in r[8])
    tx = mrna[8].split("ID=transcript:")[1].split(";")[0]
    parts = sorted((int(r[3]), int(r[4])) for r in rows if r[2] == "CDS" and f"Parent=transcript:{tx}" in r[8])
    seq = "".join(fasta.fetch(mrna[0], s - 1, e) for s, e in parts)
    return (seq if mrna[6] == "+" else str(Seq(seq).reverse_complement())), mrna[6]


@pytest.mark.parametrize(
    "gene,codon,aa",
    [
        ("BRAF", 600, "V"),
        ("KRAS", 12, "G"),
        ("KRAS", 13, "G"),
        ("EGFR", 858, "L"),
        ("EGFR", 790, "T"),
        ("EGFR", 797, "C"),
        ("PIK3CA", 1047, "H"),
        ("PIK3CA", 545, "E"),
        ("PIK3CA", 542, "E"),
    ],
)
def test_hotspot_codons_translate(small_demo, gene, codon, aa):
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        cds, _ = _cds(fa, small_demo / "genes.gff3", gene)
    protein = str(Seq(cds).translate())
    assert protein[0] == "M" and protein[-1] == "*" and "*" not in protein[:-1]
    assert protein[codon - 1] == aa


def test_protein_lengths_match_the_real_proteins(small_demo):
    expected = {"BRAF": 766, "KRAS": 189, "EGFR": 1210, "PIK3CA": 1068}
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        for gene, length in expected.items():
            cds, _ = _cds(fa, small_demo / "genes.gff3", gene)
            assert len(cds) == 3 * (length + 1)


def test_exon19_deletion_sequence_is_real(small_demo):
    # EGFR c.2235_2249del (p.E746_A750del) deletes GGAATTAAGAGAAGC at chr7:55174772-55174786
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        assert fa.fetch("chr7", 55174771, 55174786) == "GGAATTAAGAGAAGC"
        assert fa.fetch("chr7", 140753335, 140753336) == "A"  # BRAF c.1799T (minus strand)
        assert fa.fetch("chr12", 25245349, 25245350) == "C"  # KRAS c.35G (minus strand)


def test_every_named_pharmacogene_base_is_the_grch38_reference(small_demo):
    sites = load_pgx_sites(REPO / "resources/kb/pgx/positions.tsv")
    assert len(sites) == 424
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        for _gene, chrom, pos, ref in sites:
            assert fa.fetch(chrom, pos - 1, pos - 1 + len(ref)) == ref, (chrom, pos)


def test_contigs_keep_real_coordinates(small_demo):
    with pysam.FastaFile(str(small_demo / "genome.fa.gz")) as fa:
        lengths = dict(zip(fa.references, fa.lengths, strict=True))
        assert lengths["chr3"] > 179_234_297  # PIK3CA H1047 sits at its real position
        assert fa.fetch("chr3", 1_000_000, 1_000_060) == "N" * 60


def test_truth_has_planted_star_alleles_and_somatic_hotspots(small_demo):
    with pysam.VariantFile(str(small_demo / "truth/P1.vcf.gz")) as fh:
        calls = {(r.chrom, r.pos, r.ref, r.alts[0]): r.samples[0]["GT"] for r in fh}
    # P1 is CYP2C19 *2/*2: rs4244285 (chr10:94781859 G>A) homozygous
    assert calls[("chr10", 94781859, "G", "A")] == (1, 1)
    assert calls[("chr12", 21178615, "T", "C")] == (0, 1)  # SLCO1B1 *1/*5
    with pysam.VariantFile(str(small_demo / "truth/P8-T.vcf.gz")) as fh:
        somatic = {(r.chrom, r.pos, r.ref, r.alts[0]): r.info["VAF"] for r in fh if r.info.get("SOMATIC")}
    assert somatic == {
        ("chr7", 140753336, "A", "T"): pytest.approx(0.30),
        ("chr3", 179234297, "A", "G"): pytest.approx(0.15),
    }


def test_reads_have_duplicates_and_adapters(small_demo):
    dups = (small_demo / "truth/P1.duplicates.tsv").read_text().splitlines()[1:]
    assert len(dups) > 50
    import gzip

    with gzip.open(small_demo / "reads/P1_R1.fastq.gz", "rt") as fh:
        seqs = [line.strip() for k, line in enumerate(fh) if k % 4 == 1]
    assert all(len(s) == 150 for s in seqs)
    assert sum("AGATCGGAAGAGC" in s for s in seqs) > 10  # short inserts read into the adapter


def test_same_seed_same_bytes(tmp_path):
    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["coverage"] = 2
    spec["patients"] = spec["patients"][:1]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    digests = []
    for run in ("a", "b"):
        simulate(tmp_path / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", tmp_path / run)
        files = sorted(p for p in (tmp_path / run).rglob("*") if p.is_file())
        digests.append(
            {
                p.relative_to(tmp_path / run).as_posix(): hashlib.sha256(
                    p.read_bytes().replace(str(tmp_path / run).encode(), b"OUT")
                ).hexdigest()
                for p in files
            }
        )
    assert digests[0] == digests[1]
    assert "reads/P1_R1.fastq.gz" in digests[0]


# --------------------------------------------------------------------------- planted events (issue 15)

EVENT_PATIENTS = ("P1", "P2", "P5", "P8", "P10", "P11")


@pytest.fixture(scope="module")
def event_demo(tmp_path_factory) -> Path:
    """The patients that carry the copy-number, fusion, MSI, sex and identity events, at 16x."""
    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["coverage"] = 16
    spec["patients"] = [p for p in spec["patients"] if p["id"] in EVENT_PATIENTS]
    out = tmp_path_factory.mktemp("event_demo")
    (out / "spec.yaml").write_text(yaml.safe_dump(spec))
    simulate(out / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", out / "data")
    return out / "data"


def _events(demo: Path) -> list[dict]:
    lines = (demo / "truth/events.tsv").read_text().splitlines()
    cols = lines[0].split("\t")
    return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines[1:]]


def _reads(demo: Path, sample: str) -> list[str]:
    import gzip

    seqs = []
    for mate in ("R1", "R2"):
        with gzip.open(demo / f"reads/{sample}_{mate}.fastq.gz", "rt") as fh:
            seqs += [line.strip() for k, line in enumerate(fh) if k % 4 == 1]
    return seqs


def _rc(seq: str) -> str:
    return str(Seq(seq).reverse_complement())


K = 31


def _reads_by_region(demo: Path, sample: str, regions: dict[str, list[tuple[str, int, int]]]) -> dict[str, int]:
    """Reads whose first K bases (either strand) come from each named set of reference intervals."""
    owner = {}
    with pysam.FastaFile(str(demo / "genome.fa.gz")) as fa:
        for name, intervals in regions.items():
            for chrom, start, end in intervals:
                seq = fa.fetch(chrom, start, end)
                for i in range(len(seq) - K + 1):
                    owner[seq[i : i + K]] = name
                    owner[_rc(seq[i : i + K])] = name
    counts = dict.fromkeys(regions, 0)
    for read in _reads(demo, sample):
        name = owner.get(read[:K])
        if name:
            counts[name] += 1
    return counts


def _islands(demo: Path, chrom: str, lo: int = 0, hi: int = 10**10) -> list[tuple[str, int, int]]:
    rows = [line.split("\t") for line in (demo / "targets.bed").read_text().splitlines()]
    return [(c, int(s), int(e)) for c, s, e, _g in rows if c == chrom and int(s) < hi and int(e) > lo]


@pytest.mark.parametrize("gene,length", [("ERBB2", 1255), ("EML4", 981), ("ALK", 1620)])
def test_new_gene_models_translate_to_the_real_protein_length(event_demo, gene, length):
    with pysam.FastaFile(str(event_demo / "genome.fa.gz")) as fa:
        cds, _ = _cds(fa, event_demo / "genes.gff3", gene)
    protein = str(Seq(cds).translate())
    assert len(protein) == length + 1 and protein[0] == "M" and protein[-1] == "*" and "*" not in protein[:-1]


def test_alk_exon_20_starts_at_codon_1058_and_eml4_exon_13_ends_at_codon_669(event_demo):
    rows = [line.split("\t") for line in (event_demo / "genes.gff3").read_text().splitlines() if line[0] != "#"]
    for tx, exon, codon in (("ENST00000389048", 20, 1058), ("ENST00000318522", 14, 670)):
        cds = [r for r in rows if r[2] == "CDS" and f"transcript:{tx}" in r[8]]
        cds.sort(key=lambda r: int(r[3]), reverse=cds[0][6] == "-")  # transcript order
        before = sum(int(r[4]) - int(r[3]) + 1 for r in cds[: exon - 1])
        assert before == 3 * (codon - 1) and cds[exon - 1][7] == "0"  # whole codons, phase 0


def test_erbb2_amplified_in_p10_t_with_neutral_flanks(event_demo):
    amp = next(e for e in _events(event_demo) if e["kind"] == "amplification")
    assert (amp["sample"], amp["genes"], amp["chrom"]) == ("P10-T", "ERBB2", "chr17")
    assert "total_copies=9" in amp["details"]
    start, end = int(amp["start"]) - 1, int(amp["end"])
    assert 39_650_000 < start < 39_730_000
    flanks = [r for r in _islands(event_demo, "chr17") if r[2] <= start or r[1] >= end]
    assert len(flanks) == 2  # neutral islands either side
    regions = {"erbb2": [("chr17", start, end)], "flanks": flanks}
    tumour = _reads_by_region(event_demo, "P10-T", regions)
    normal = _reads_by_region(event_demo, "P1", regions)
    ratio_t = tumour["erbb2"] / tumour["flanks"]
    ratio_n = normal["erbb2"] / normal["flanks"]
    assert 3.8 < ratio_t / ratio_n < 5.2  # ~4.5x the normal depth
    assert 0.75 < tumour["flanks"] / normal["flanks"] < 1.33  # the flanks stay neutral


def test_eml4_alk_junction_reads_only_in_the_tumour(event_demo):
    fusion = next(e for e in _events(event_demo) if e["kind"] == "fusion")
    assert (fusion["sample"], fusion["genes"]) == ("P11-T", "EML4::ALK")
    fields = dict(kv.split("=", 1) for kv in fusion["details"].split(";"))
    assert fields["event"] == "inversion" and fields["in_frame"] == "true" and int(fields["microhomology"]) >= 0
    assert fields["five_prime"].split(":")[2] == "exon13" and fields["three_prime"].split(":")[2] == "exon20"
    p5 = int(fields["five_prime"].split(":")[4].split("(")[0])
    p3 = int(fields["three_prime"].split(":")[4].split("(")[0])
    with pysam.FastaFile(str(event_demo / "genome.fa.gz")) as fa:
        junction = fa.fetch("chr2", p5 - 20, p5) + _rc(fa.fetch("chr2", p3 - 20, p3))  # EML4 + :: ALK -
    hits = {s: sum(junction in r or _rc(junction) in r for r in _reads(event_demo, s)) for s in ("P11-T", "P11-N")}
    assert hits["P11-N"] == 0
    assert hits["P11-T"] >= 5  # reads across the junction (BWA splits them: SA tags)


def _tract_lengths(reads: list[str], left: str, unit: str, right: str) -> dict[int, int]:
    """Counts of repeat lengths (in units) between ``left`` and ``right`` in reads of either strand."""
    import re

    pattern = re.compile(f"{left}((?:{unit})+){right}")
    pattern_rc = re.compile(f"{_rc(right)}((?:{_rc(unit)})+){_rc(left)}")
    out: dict[int, int] = {}
    for r in reads:
        m = pattern.search(r) or pattern_rc.search(r)
        if m:
            n = len(m.group(1)) // len(unit)
            out[n] = out.get(n, 0) + 1
    return out


def test_msi_tumour_reads_show_shifted_tract_lengths(event_demo):
    tracts = [line.split("\t") for line in (event_demo / "truth/microsatellites.tsv").read_text().splitlines()[1:]]
    homo = [t for t in tracts if len(t[3]) == 1]
    di = [t for t in tracts if len(t[3]) == 2]
    assert len(tracts) >= 60 and len(homo) >= 30 and len(di) >= 30
    assert all(10 <= int(t[4]) <= 20 for t in homo) and all(6 <= int(t[4]) <= 12 for t in di)
    unstable = [line.split("\t") for line in (event_demo / "truth/P8-T.msi.tsv").read_text().splitlines()[1:]]
    assert 0.3 <= len(unstable) / len(tracts) <= 0.5
    assert not (event_demo / "truth/P10-T.msi.tsv").exists()  # the other tumours are MSS
    msi = [e for e in _events(event_demo) if e["kind"] == "msi"]
    assert [e["sample"] for e in msi] == ["P8-T"] and "status=MSI-H" in msi[0]["details"]
    reads = {s: _reads(event_demo, s) for s in ("P8-T", "P10-T", "P1")}
    shifted = {s: 0 for s in reads}
    with pysam.FastaFile(str(event_demo / "genome.fa.gz")) as fa:
        for chrom, start, end, unit, count, shift, tumour_count, _af in unstable[:12]:
            start, end = int(start), int(end)
            left, right = fa.fetch(chrom, start - 8, start), fa.fetch(chrom, end, end + 8)
            for s, rs in reads.items():
                lengths = _tract_lengths(rs, left, unit, right)
                assert lengths.get(int(count), 0) > 0, (s, chrom, start)  # the reference length
                shifted[s] += lengths.get(int(tumour_count), 0)
    assert shifted["P8-T"] >= 12 and shifted["P10-T"] == 0 and shifted["P1"] == 0
    # no planted germline or somatic variant of the truth VCFs falls in a tract
    with pysam.VariantFile(str(event_demo / "truth/P8-T.vcf.gz")) as fh:
        for rec in fh:
            assert not any(t[0] == rec.chrom and int(t[1]) - 10 <= rec.pos <= int(t[2]) + 10 for t in tracts)


def test_sex_chromosome_depth_follows_the_patients_sex(event_demo):
    x, y = _islands(event_demo, "chrX"), _islands(event_demo, "chrY")
    assert sum(e - s for _c, s, e in x) >= 20_000 and sum(e - s for _c, s, e in y) >= 20_000
    assert all(s > 2_781_479 for _c, s, _e in x + y)  # outside PAR1 (and far from PAR2)
    auto = _islands(event_demo, "chr17", 39_590_000, 39_810_000)[:1]  # a neutral autosomal island
    counts = {s: _reads_by_region(event_demo, s, {"x": x, "y": y, "auto": auto}) for s in ("P1", "P2", "P5")}
    auto_len = sum(e - s for _c, s, e in auto)
    x_len, y_len = sum(e - s for _c, s, e in x), sum(e - s for _c, s, e in y)
    for sample, copies_x, copies_y in (("P1", 2, 0), ("P5", 2, 0), ("P2", 1, 1)):
        c = counts[sample]
        per_copy = c["auto"] / auto_len / 2
        assert abs(c["x"] / x_len / per_copy - copies_x) < 0.35, (sample, c)
        assert abs(c["y"] / y_len / per_copy - copies_y) < 0.35, (sample, c)
    sexes = {e["sample"]: e["details"] for e in _events(event_demo) if e["kind"] == "sex"}
    assert sexes["P2"] == "sex=male;chrX_copies=1;chrY_copies=1"
    assert sexes["P10-T"] == "sex=female;chrX_copies=2;chrY_copies=0"


def test_swapped_normal_sheet(event_demo):
    default = (event_demo / "samples.tsv").read_text().splitlines()
    swapped = (event_demo / "samples_swapped.tsv").read_text().splitlines()
    assert default[0] == swapped[0] and len(default) == len(swapped)
    changed = [(a.split("\t"), b.split("\t")) for a, b in zip(default, swapped, strict=True) if a != b]
    assert len(changed) == 1
    before, after = changed[0]
    assert after[:3] == ["P11-N", "P11", "normal"] and after[5] == "female"
    assert after[3].endswith("reads/P5_R1.fastq.gz") and after[4].endswith("reads/P5_R2.fastq.gz")
    assert before[3].endswith("reads/P11-N_R1.fastq.gz")
    assert any(line.startswith("P11-T\tP11\ttumor\t") for line in swapped)


def test_same_seed_same_bytes_with_every_event(tmp_path):
    spec = yaml.safe_load((REPO / "resources/demo/demo.yaml").read_text())
    spec["coverage"] = 2
    spec["patients"] = [p for p in spec["patients"] if p["id"] in EVENT_PATIENTS]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    digests = []
    for run in ("a", "b"):
        simulate(tmp_path / "spec.yaml", REPO / "resources/kb/pgx/positions.tsv", tmp_path / run)
        root = tmp_path / run
        digests.append(
            {
                p.relative_to(root).as_posix(): hashlib.sha256(
                    p.read_bytes().replace(str(root).encode(), b"OUT")
                ).hexdigest()
                for p in sorted(root.rglob("*"))
                if p.is_file()
            }
        )
    assert digests[0] == digests[1]
    assert {"truth/events.tsv", "truth/P8-T.msi.tsv", "samples_swapped.tsv", "reads/P11-T_R1.fastq.gz"} <= set(
        digests[0]
    )


def test_common_snps_tell_the_swapped_normal_apart(event_demo):
    """The fingerprint panel: 64 SNVs at 50% allele frequency; P11 and P5 (whose reads the swapped
    sheet gives P11-N) disagree at many of them, and P11-N and P11-T share every genotype."""
    from seq2rx.tumour.identity import read_sites

    panel = read_sites(event_demo / "fingerprint_sites.tsv")
    assert len(panel) == 64 and all(s.chrom not in ("chrX", "chrY") for s in panel)

    def genotypes(sample):
        with pysam.VariantFile(str(event_demo / f"truth/{sample}.vcf.gz")) as fh:
            gts = {(r.chrom, r.pos): sum(r.samples[0]["GT"]) for r in fh}
        return [gts.get((s.chrom, s.pos), 0) for s in panel]

    p11n, p11t, p5 = genotypes("P11-N"), genotypes("P11-T"), genotypes("P5")
    assert p11n == p11t
    assert sum(a != b for a, b in zip(p11n, p5, strict=True)) >= 20
    assert 0.3 < sum(p11n) / (2 * len(panel)) < 0.7  # about half the alleles are alternate
