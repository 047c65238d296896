"""Actionability matching of a 100k-variant tumour VCF (issue 5, target under 10 s).

Simulates a single-sample somatic VCF of N variants (random GRCh38 positions on chr1-22, with
every knowledge-base hotspot coordinate planted once) and a consequence table for it (10% of
the variants in knowledge-base genes, with random missense, truncating and in-frame changes),
then times, in one process and alternating over rounds:

* floor: pysam reading every record of the VCF (what any VCF-based matcher pays);
* seq2rx: ``actionability.run`` (read, attach consequences, match by protein / codon / exon /
  class and by coordinates, tier, TMB).

    python benchmarks/bench_actionability.py --variants 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pysam

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from seq2rx import actionability as A  # noqa: E402

CLASSES = ["missense"] * 6 + ["stop_gained", "frameshift", "inframe_deletion", "synonymous"]
AA = "ACDEFGHIKLMNPQRSTVWY"


def simulate(kb: A.Knowledge, n: int, workdir: Path, seed: int = 11) -> tuple[Path, Path]:
    rng = random.Random(seed)
    hotspots = sorted(kb.by_coord.get("GRCh38", {}))
    records = {(c, p, r, a) for c, p, r, a in hotspots}
    while len(records) < n:
        chrom = str(rng.randint(1, 22))
        ref = rng.choice("ACGT")
        records.add((chrom, rng.randint(1_000_000, 40_000_000), ref, rng.choice([b for b in "ACGT" if b != ref])))
    rows = sorted(records, key=lambda r: (int(r[0]), r[1]))
    genes = sorted(kb.by_gene)
    plain = workdir / "somatic.vcf"
    with open(plain, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c in range(1, 23):
            fh.write(f"##contig=<ID={c},length=250000000>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write('##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n")
        for c, p, r, a in rows:
            fh.write(f"{c}\t{p}\t.\t{r}\t{a}\t.\tPASS\t.\tGT:AD\t0/1:{rng.randint(20, 80)},{rng.randint(3, 40)}\n")
    vcf = workdir / "somatic.vcf.gz"
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    table = workdir / "consequences.tsv"
    with open(table, "w") as fh:
        fh.write("chrom\tpos\tref\talt\tgene\tconsequence\taa_change\taa_change_csq\n")
        for c, p, r, a in rows:
            if rng.random() < 0.1:
                gene, cls, pos = rng.choice(genes), rng.choice(CLASSES), rng.randint(1, 1200)
                aa = f"{pos}{rng.choice(AA)}>{pos}{rng.choice(AA)}" if cls == "missense" else "."
                fh.write(f"{c}\t{p}\t{r}\t{a}\t{gene}\t{cls}\t{aa}\t.\n")
            else:
                fh.write(f"{c}\t{p}\t{r}\t{a}\t.\tintergenic\t.\t.\n")
    return vcf, table


def floor(vcf: Path) -> int:
    with pysam.VariantFile(str(vcf)) as fh:
        return sum(1 for _ in fh)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variants", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pysam.set_verbosity(0)
    kb = A.load(Path(__file__).resolve().parents[1] / "resources/kb/actionability")
    with tempfile.TemporaryDirectory() as td:
        vcf, table = simulate(kb, args.variants, Path(td))
        times = {"floor": [], "seq2rx": []}
        for _ in range(args.repeats):
            t = time.perf_counter()
            floor(vcf)
            times["floor"].append(time.perf_counter() - t)
            t = time.perf_counter()
            doc = A.run(kb, vcf, None, "LUAD", "GRCh38", consequences=table, callable_bases=30_000_000)
            times["seq2rx"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        json.dumps(
            {
                "variants": doc["somatic_variants"],
                "rows": len(doc["rows"]),
                "tiers": doc["tiers"],
                "floor_s": round(med["floor"], 2),
                "seq2rx_s": round(med["seq2rx"], 2),
                "ratio_to_floor": round(med["seq2rx"] / med["floor"], 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
