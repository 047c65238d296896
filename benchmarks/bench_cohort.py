"""Cohort database at hospital scale: 10,000 simulated patients and 1M variant rows.

Phases, each in its own child process so that its peak memory (max RSS) is its own:

1. simulate: one sample per patient (30% tumours); per-sample Parquet shards of every per-sample
   table, written the way the ``cohort_shard`` rule writes them (same schema and types; here in
   bulk, one file per sample and table), plus the clinical table (TSV) and the sample sheet rows;
2. build: ``build_database`` over the 60,000 shard files (the ``cohort_database`` rule), and as a
   baseline in the same process the floor: DuckDB concatenating the same variant shards into a
   table with nothing else (no sort, no other tables, no fingerprint);
3. cohorts: each shipped cohort file run on the database (the query alone, then the whole
   ``run_cohort``: members, suppressed summary, Kaplan-Meier and log-rank).

It also times ``write_sample_shards`` on ``--shard-samples`` samples from TSV and VCF inputs of
100 variants each (one ``cohort_shard`` job; Snakemake runs these in parallel).

    python benchmarks/bench_cohort.py [--patients 10000] [--variants-per-sample 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

GENES = ("KRAS", "BRAF", "EGFR", "PIK3CA", "TP53", "APC", "DPYD", "CYP2C19")
PGX_GENES = ("CYP2C19", "CYP2C9", "CYP2D6", "DPYD", "SLCO1B1")
PHENOTYPES = ("Poor Metabolizer", "Intermediate Metabolizer", "Normal Metabolizer", "Rapid Metabolizer")
TUMOUR_TYPES = ("COAD", "READ", "LUAD", "PAAD", "BRCA")
PARAMETERS = {"pgx_gene": "CYP2C19", "pgx_drug": "clopidogrel", "driver_gene": "KRAS", "min_age": 65, "max_egfr": 60}


def simulate(folder: Path, patients: int, per_sample: int, seed: int) -> None:
    """Write the shards, the clinical table and the sheet rows with DuckDB's own random numbers."""
    from seq2rx.cohort import SHARD_TABLES, TABLES
    from seq2rx.cohort.build import connect

    con = connect(threads=2)
    con.execute("SELECT setseed($s)", {"s": 1 / (1 + seed)})
    con.execute(
        "CREATE TABLE base AS SELECT i, 'PT' || lpad(CAST(i AS VARCHAR), 5, '0') AS patient, "
        "'PT' || lpad(CAST(i AS VARCHAR), 5, '0') || '-S' AS sample, random() < 0.3 AS tumour, "
        "CAST(30 + floor(random() * 60) AS INTEGER) AS age, round(20 + random() * 100, 1) AS egfr, "
        "random() < 0.2 AS clopidogrel, random() AS r FROM range($n) t(i)",
        {"n": patients},
    )
    tumour_types = list(TUMOUR_TYPES)
    con.execute(
        "CREATE TABLE sheet AS SELECT sample, patient, CASE WHEN tumour THEN 'tumor' ELSE 'germline' END AS type, "
        "CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END AS sex, "
        "CASE WHEN tumour THEN $tt[1 + CAST(floor(r * 5) AS INTEGER)] END AS tumor_type, 'fastq' AS starts_from "
        "FROM base",
        {"tt": tumour_types},
    )
    sql = {
        "samples": "SELECT sample, patient, type, sex, tumor_type, starts_from FROM sheet",
        "qc": "SELECT sample, patient, 'pass', NULL, 40000, 0.99, 0.98, 0.05, 35 + random() * 10, 0.9 FROM base",
        # per_sample variants each; the tumours' first one is a somatic KRAS G12D in 40% of them
        "variants": "SELECT b.sample, b.patient, CASE WHEN b.tumour AND k % 3 = 0 THEN 'somatic' "
        "ELSE 'germline' END, CASE WHEN k = 0 AND b.tumour AND b.r < 0.4 THEN 'chr12' ELSE 'chr' || (1 + k % 22) END, "
        "CASE WHEN k = 0 AND b.tumour AND b.r < 0.4 THEN 25245350 ELSE 1000 + k * 1013 END, 'C', 'T', "
        "CASE WHEN random() < 0.9 THEN 'PASS' ELSE 'LowQual' END, '0/1', "
        "CASE WHEN k = 0 AND b.tumour AND b.r < 0.4 THEN 'KRAS' ELSE $genes[1 + k % 8] END, 'ENST0001', "
        "'protein_coding', '-', CASE WHEN k = 0 AND b.tumour AND b.r < 0.4 THEN 'missense' "
        "WHEN k % 10 = 0 THEN 'missense' ELSE 'intron' END, '12G>12D', '25245350C>T', "
        "CASE WHEN k = 0 AND b.tumour AND b.r < 0.4 THEN 'p.Gly12Asp' END, 12, 189, -1, 94, NULL, NULL "
        "FROM base b, range($per) t(k)",
        "pgx_genes": "SELECT b.sample, b.patient, g.gene, 'called', '*1/*2', "
        "$ph[1 + CAST(floor(random() * 4) AS INTEGER)], NULL, 0, NULL FROM base b, (SELECT unnest($pg) AS gene) g",
        "pgx_drugs": "SELECT b.sample, b.patient, d.drug, 'CYP2C19', 'CYP2C19 Normal Metabolizer', 'standard dosing', "
        "'Strong', 'CPIC' FROM base b, (SELECT unnest(['clopidogrel', 'citalopram', 'voriconazole']) AS drug) d",
        "actionable": "SELECT b.sample, b.patient, 'chr12', 25245350, 'C', 'T', 'KRAS', 'G12D', 0.3, 44, 'II-C', "
        "'cetuximab', 'resistant', 'guideline', 'ancestor', 'COADREAD', 'A001', 'NCCN' FROM base b "
        "WHERE b.tumour AND b.r < 0.4",
    }
    params = {
        "variants": {"genes": list(GENES), "per": per_sample},
        "pgx_genes": {"ph": list(PHENOTYPES), "pg": list(PGX_GENES)},
    }
    shards = folder / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    for name in SHARD_TABLES:
        table = TABLES[name]
        con.execute(table.ddl())
        con.execute(f'INSERT INTO "{name}" {sql[name]}', params.get(name, {}))
        # one Parquet file per sample, keeping the sample column, as the shard rule writes them
        con.table(name).write_parquet(
            str(shards / name), partition_by=["sample"], write_partition_columns=True, overwrite=True
        )
    rows = con.execute(
        "SELECT sample, patient, type, sex, coalesce(tumor_type, 'NA'), starts_from FROM sheet"
    ).fetchall()
    sheet = [dict(zip(("sample", "patient", "type", "sex", "tumor_type", "stage"), r, strict=True)) for r in rows]
    (folder / "sheet.json").write_text(json.dumps(sheet))
    clinical = con.execute(
        "SELECT patient, age, 1, 'II', egfr, '2020-01-01', CASE WHEN clopidogrel THEN 'clopidogrel;simvastatin' "
        "ELSE 'simvastatin' END, 'targeted', 0, round(1 + random() * 60, 1), CAST(random() < 0.6 AS INTEGER) FROM base"
    ).fetchall()
    header = "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent\n"
    (folder / "clinical.tsv").write_text(header + "".join("\t".join(map(str, r)) + "\n" for r in clinical))
    con.close()


def shard_files(folder: Path) -> dict[str, list[str]]:
    from seq2rx.cohort import SHARD_TABLES

    return {name: sorted(str(p) for p in (folder / "shards" / name).rglob("*.parquet")) for name in SHARD_TABLES}


def build(folder: Path) -> dict:
    from seq2rx.cohort import build_database
    from seq2rx.cohort.build import connect

    shards = shard_files(folder)
    sheet = json.loads((folder / "sheet.json").read_text())
    t0 = time.perf_counter()
    con = connect(folder / "floor.duckdb", threads=2)
    con.execute("CREATE TABLE variants AS SELECT * FROM read_parquet($f)", {"f": shards["variants"]})
    con.close()
    floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = build_database(folder / "cohort.duckdb", shards, sheet, clinical=folder / "clinical.tsv",
                            fingerprint_path=folder / "tables.tsv", threads=2)  # fmt: skip
    seconds = time.perf_counter() - t0
    return {"build_s": seconds, "floor_variants_only_s": floor, "rows": counts,
            "files": sum(len(v) for v in shards.values()), "db_mb": (folder / "cohort.duckdb").stat().st_size / 1e6}  # fmt: skip


def cohorts(folder: Path, repeats: int) -> dict:
    from seq2rx.cohort import run_cohort
    from seq2rx.cohort.cohorts import members

    out = {}
    for sql in sorted((REPO / "config" / "cohorts").glob("*.sql")):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, rows = members(folder / "cohort.duckdb", sql, PARAMETERS)
            times.append(time.perf_counter() - t0)
        outputs = {k: folder / "cohorts" / sql.stem / f for k, f in
                   (("members", "members.tsv"), ("summary", "summary.tsv"), ("km_svg", "km.svg"), ("km_tsv", "km.tsv"))}  # fmt: skip
        t0 = time.perf_counter()
        result = run_cohort(folder / "cohort.duckdb", sql, PARAMETERS, outputs)
        out[sql.stem] = {"members": len(rows), "query_s": min(times), "query_s_max": max(times),
                         "run_cohort_s": time.perf_counter() - t0, "logrank_p": (result["test"] or {}).get("p_value")}  # fmt: skip
    return out


def shard_job(folder: Path, samples: int, per_sample: int) -> dict:
    """Time write_sample_shards on realistic per-sample inputs (TSVs and a VCF)."""
    from seq2rx.cohort import SHARD_TABLES, write_sample_shards

    inputs = folder / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    header = ("chrom\tpos\tref\talt\tgenotype\tgene\ttranscript\tbiotype\tstrand\tconsequence\taa_change_csq\t"
              "dna_change_csq\taa_change\thgvs_p\tprotein_pos\tprotein_length\tblosum62\tgrantham\taa_change_agrees\t"
              "clinvar_significance\tclinvar_review\tbcsq\n")  # fmt: skip
    vcf_head = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n"
                '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n")  # fmt: skip
    vcf = inputs / "calls.vcf"
    vcf.write_text(
        vcf_head + "".join(f"chr1\t{1000 + 10 * k}\t.\tC\tT\t50\tPASS\t.\tGT\t0/1\n" for k in range(per_sample))
    )
    csq = inputs / "csq.tsv"
    csq.write_text(header + "".join(f"chr1\t{1000 + 10 * k}\tC\tT\t0/1\tG{k % 8}\tT1\tprotein_coding\t+\tintron"
                                    + "\t." * 12 + "\n" for k in range(per_sample)))  # fmt: skip
    genes = inputs / "genes.tsv"
    genes.write_text("sample\tgene\tstatus\tdiplotypes\tphenotype\tactivity_score\tmissing_positions\twarnings\n"
                     + "".join(f"S\t{g}\tcalled\t*1/*1\tNormal Metabolizer\t2\t0\t.\n" for g in PGX_GENES))  # fmt: skip
    drugs = inputs / "drugs.tsv"
    drugs.write_text("sample\tdrug\tgenes\tphenotype\trecommendation\tstrength\tsource\n"
                     "S\tclopidogrel\tCYP2C19\tNM\tstandard\tStrong\tCPIC\n")  # fmt: skip
    qc = inputs / "qc.json"
    qc.write_text(json.dumps({"verdict": "pass", "reasons": [], "reads": 1, "mapped_fraction": 1.0}))
    times = []
    for i in range(samples):
        row = {
            "sample": f"S{i}",
            "patient": f"P{i}",
            "type": "germline",
            "sex": "female",
            "tumor_type": "NA",
            "stage": "fastq",
        }
        outputs = {t: folder / "jobs" / f"S{i}" / f"{t}.parquet" for t in SHARD_TABLES}
        t0 = time.perf_counter()
        write_sample_shards(row, outputs, qc=qc, variants=[("germline", vcf, csq)], pgx_genes=genes, pgx_drugs=drugs)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"samples": samples, "median_s": times[len(times) // 2], "max_s": times[-1]}


def child(phase: str, folder: Path, args: argparse.Namespace) -> dict:
    """Run one phase in a new process; return its result (with its own peak RSS) and wall time."""
    cmd = [sys.executable, __file__, "--phase", phase, "--dir", str(folder), "--patients", str(args.patients),
           "--variants-per-sample", str(args.variants_per_sample), "--seed", str(args.seed),
           "--repeats", str(args.repeats), "--shard-samples", str(args.shard_samples)]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--variants-per-sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shard-samples", type=int, default=30)
    ap.add_argument("--phase", choices=["simulate", "build", "cohorts", "shard"])
    ap.add_argument("--dir")
    args = ap.parse_args()
    if args.phase:
        folder = Path(args.dir)
        if args.phase == "simulate":
            t0 = time.perf_counter()
            simulate(folder, args.patients, args.variants_per_sample, args.seed)
            result = {"simulate_s": time.perf_counter() - t0}
        elif args.phase == "build":
            result = build(folder)
        elif args.phase == "cohorts":
            result = cohorts(folder, args.repeats)
        else:
            result = shard_job(folder, args.shard_samples, args.variants_per_sample)
        # the phase's own peak resident memory (Linux reports ru_maxrss in KiB)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench_cohort_"))
    try:
        report = {"patients": args.patients, "variants_per_sample": args.variants_per_sample}
        for phase in ("simulate", "build", "cohorts", "shard"):
            report[phase] = child(phase, folder, args)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
