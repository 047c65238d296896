"""Deterministic simulator of the demo data set.

The demo genome is simulated *around real coordinates*: contigs carry GRCh38 names and every base
named by a pharmacogene allele definition or a cancer hotspot is the true GRCh38 reference base
at its true position. The bases in between are random (drawn from the configured seed), and
everything outside the simulated islands is ``N``. Reads are 150 bp pairs with position-dependent
substitution errors, a spread of insert sizes (a few short enough to read into the adapter) and
some PCR duplicates.

The same specification and seed give the same bytes: gzip members carry no timestamp, nothing
depends on dictionaries' iteration order of unordered inputs, and every random draw comes from a
``numpy.random.Generator`` seeded from the spec.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seq2rx.core.io import atomic_output
from seq2rx.genome.sequence import revcomp
from seq2rx.sim.genome import (
    Genome,
    Tract,
    build_genome,
    write_confident,
    write_fasta,
    write_gff3,
    write_targets,
)
from seq2rx.sim.model import GeneModel, Variant, load_pgx_sites, load_spec
from seq2rx.sim.omop import COLUMNS as OMOP_TABLES
from seq2rx.sim.omop import CONCEPTS_FILE
from seq2rx.sim.reads import simulate_reads
from seq2rx.sim.truth import (
    choose_common_snps,
    plant_germline,
    write_common_snps,
    write_outside_calls,
    write_truth_vcf,
)


def demo_layout(outdir: str | Path, spec: dict) -> dict[str, Path | dict]:
    """Every file the simulator writes, without touching the disk (used by the workflow)."""
    outdir = Path(outdir)
    samples = [s["id"] for p in spec["patients"] for s in p["samples"]]
    return {
        "fasta": outdir / "genome.fa.gz",
        "gff3": outdir / "genes.gff3",
        "targets": outdir / "targets.bed",
        "confident": outdir / "confident.bed",
        "sheet": outdir / "samples.tsv",
        "reads": {s: (outdir / "reads" / f"{s}_R1.fastq.gz", outdir / "reads" / f"{s}_R2.fastq.gz") for s in samples},
        "truth": {s: outdir / "truth" / f"{s}.vcf.gz" for s in samples},
        "duplicates": {s: outdir / "truth" / f"{s}.duplicates.tsv" for s in samples},
        # the planted events beyond small variants (amplification, fusion, MSI, sex), one row each
        "events": outdir / "truth" / "events.tsv",
        # every microsatellite planted in the reference, and per MSI tumour the unstable ones
        "microsatellites": outdir / "truth" / "microsatellites.tsv",
        "msi": {
            s["id"]: outdir / "truth" / f"{s['id']}.msi.tsv"
            for p in spec["patients"]
            for s in p["samples"]
            if s.get("msi")
        },
        # common SNPs (50% allele frequency in every patient): the identity check's fingerprint panel
        "fingerprint_sites": outdir / "fingerprint_sites.tsv",
        # the default sheet with one normal's reads replaced by another patient's (identity check)
        "swapped_sheet": outdir / "samples_swapped.tsv",
        # the demo's EHR as an OMOP CDM v5.4 (seq2rx.sim.omop), one CSV per table, and the concept
        # table its config names (written by the workflow's demo_omop step, not by simulate)
        "omop": {t: outdir / "omop" / f"{t}.csv" for t in OMOP_TABLES} | {"concepts": outdir / "omop" / CONCEPTS_FILE},
        # calls "made elsewhere" (CYP2D6, HLA) for the patients whose spec lists them
        "outside": {
            s["id"]: outdir / "outside_calls" / f"{s['id']}.tsv"
            for p in spec["patients"]
            if p.get("outside_calls")
            for s in p["samples"]
        },
    }


def simulate(spec_path: str | Path, sites_path: str | Path, outdir: str | Path, seed: int | None = None) -> dict:
    """Write the whole demo data set under ``outdir``; returns a summary of what was planted."""
    spec = load_spec(spec_path)
    if seed is not None:
        spec["seed"] = seed
    sites = load_pgx_sites(sites_path)
    layout = demo_layout(outdir, spec)
    Path(outdir, "reads").mkdir(parents=True, exist_ok=True)
    Path(outdir, "truth").mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(spec["seed"])
    genome_rng, variant_rng, *sample_seeds = ss.spawn(2 + sum(len(p["samples"]) for p in spec["patients"]))
    genome = build_genome(spec, sites, np.random.default_rng(genome_rng))
    write_fasta(genome, layout["fasta"])
    write_gff3(genome, layout["gff3"])
    write_targets(genome, sites, layout["targets"])
    write_confident(genome, spec["background"]["edge_margin"], layout["confident"])
    variant_rng = np.random.default_rng(variant_rng)
    common = choose_common_snps(spec, genome, sites, variant_rng)
    write_common_snps(common, layout["fingerprint_sites"])
    germline = plant_germline(spec, genome, sites, variant_rng, common)
    events_rng = np.random.default_rng(np.random.SeedSequence([spec["seed"], 15]))
    write_microsatellites(genome, layout["microsatellites"])
    events: list[tuple] = []
    summary = {"samples": {}}
    sheet = ["sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type\toutside_calls"]
    k = 0
    for patient in spec["patients"]:
        for sample in patient["samples"]:
            somatic = []
            for gene, change, chrom, pos, ref, alt, vaf in sample.get("somatic", []):
                if genome.ref(chrom, pos - 1, len(ref)) != ref:
                    raise ValueError(f"{gene} {change}: reference mismatch at {chrom}:{pos}")
                somatic.append((Variant(chrom, pos, ref, alt, f"{gene} {change}"), float(vaf)))
            r1, r2 = layout["reads"][sample["id"]]
            depth, junctions, unstable = plan_events(genome, patient, sample, spec, events_rng, events)
            if unstable:
                write_msi_truth(unstable, layout["msi"][sample["id"]])
            counts = simulate_reads(
                sample["id"],
                genome,
                germline[patient["id"]],
                somatic + [(v, af) for v, af, _t, _shift in unstable],
                spec,
                np.random.default_rng(sample_seeds[k]),
                r1,
                r2,
                island_depth=depth,
                junctions=junctions,
            )
            k += 1
            write_truth_vcf(
                layout["truth"][sample["id"]], genome, sample["id"], germline[patient["id"]], somatic, layout["fasta"]
            )
            dups = counts.pop("duplicate_pairs")
            with atomic_output(layout["duplicates"][sample["id"]]) as tmp:
                Path(tmp).write_text("original\tduplicate\n" + "".join(f"{a}\t{b}\n" for a, b in dups))
            summary["samples"][sample["id"]] = counts
            outside = layout["outside"].get(sample["id"])
            if outside:
                write_outside_calls(patient["outside_calls"], outside)
            sheet.append(
                f"{sample['id']}\t{patient['id']}\t{sample['type']}\t{r1.as_posix()}\t{r2.as_posix()}\t"
                f"{patient['sex']}\t{patient['tumor_type']}\t{outside.as_posix() if outside else ''}"
            )
    with atomic_output(layout["sheet"]) as tmp:
        Path(tmp).write_text("\n".join(sheet) + "\n")
    write_events(events, layout["events"])
    swap = spec.get("swapped_normal")
    if swap and {swap["normal"], swap["reads_of"]} <= set(layout["reads"]):
        write_swapped_sheet(sheet, layout, swap)
    summary["events"] = events
    return summary


EVENT_COLUMNS = ("sample", "patient", "kind", "genes", "chrom", "start", "end", "details")


def _copies(patient: dict) -> dict[str, int]:
    return {"chrX": 2, "chrY": 0} if patient["sex"] == "female" else {"chrX": 1, "chrY": 1}


def _long_intron(gm: GeneModel, codon: int) -> tuple[int, int, int]:
    """(0-based start, end, exon number after it) of the intron before ``codon``'s exon."""
    offset = 3 * (codon - 1)
    for k in range(1, len(gm.exons)):
        if gm.exons[k].cds_start == offset:
            a, b = gm.exons[k - 1], gm.exons[k]
            lo, hi = (a.end, b.start) if gm.strand == "+" else (b.end, a.start)
            return lo, hi, k + 1
    raise ValueError(f"{gm.gene}: no exon starts at codon {codon} (add it to the gene's breaks)")


def plan_events(
    genome: Genome, patient: dict, sample: dict, spec: dict, rng: np.random.Generator, events: list[tuple]
) -> tuple[list[float], list[tuple[str, int, float]], list[tuple[Variant, float, Tract, int]]]:
    """One sample's island depths, fusion junctions and unstable microsatellites; appends its
    truth rows to ``events``."""
    sid, pid = sample["id"], patient["id"]
    copies = _copies(patient)
    depth = [copies.get(isl.chrom, 2) / 2 for isl in genome.islands]
    events.append((sid, pid, "sex", "", "chrX,chrY", "", "",
                   f"sex={patient['sex']};chrX_copies={copies['chrX']};chrY_copies={copies['chrY']}"))  # fmt: skip
    genes = {g.gene: g for g in genome.genes}
    for amp in sample.get("amplifications", []):
        gm = genes[amp["gene"]]
        lo, hi = min(e.start for e in gm.exons), max(e.end for e in gm.exons)
        hit = [k for k, isl in enumerate(genome.islands) if isl.chrom == gm.chrom and isl.start < hi and isl.end > lo]
        for k in hit:
            depth[k] *= amp["copies"] / 2
        isl_lo = min(genome.islands[k].start for k in hit)
        isl_hi = max(genome.islands[k].end for k in hit)
        events.append((sid, pid, "amplification", gm.gene, gm.chrom, isl_lo + 1, isl_hi,
                       f"total_copies={amp['copies']};depth_ratio={amp['copies'] / 2:g};"
                       f"gene={gm.chrom}:{lo + 1}-{hi}"))  # fmt: skip
    junctions = []
    for fus in sample.get("fusions", []):
        g5, g3 = genes[fus["five_prime"]], genes[fus["three_prime"]]
        lo5, hi5, n5 = _long_intron(g5, fus["five_prime_codon"])
        lo3, hi3, n3 = _long_intron(g3, fus["three_prime_codon"])
        b5, b3 = (lo5 + hi5) // 2, (lo3 + hi3) // 2  # breaks in the middle of both introns
        w = int(fus.get("window", 1000))
        left = genome.ref(g5.chrom, b5 - w, w) if g5.strand == "+" else revcomp(genome.ref(g5.chrom, b5, w))
        right = genome.ref(g3.chrom, b3, w) if g3.strand == "+" else revcomp(genome.ref(g3.chrom, b3 - w, w))
        frac = float(fus["fraction"])
        junctions.append((left + right, w, frac / (1 - frac)))
        # 1-based position of the last base kept on each side of the junction
        p5 = b5 if g5.strand == "+" else b5 + 1
        p3 = b3 + 1 if g3.strand == "+" else b3
        # bases at the end of the 5' side that the 3' partner also has just before its kept part:
        # an aligner may give them to either side, moving the 3' breakend by up to this many bases
        hom = 0
        while hom < 20:
            k = hom + 1
            before3 = genome.ref(g3.chrom, b3 - k, k) if g3.strand == "+" else revcomp(genome.ref(g3.chrom, b3, k))
            if left[-k:] != before3:
                break
            hom = k
        events.append((sid, pid, "fusion", f"{g5.gene}::{g3.gene}", g5.chrom, min(p5, p3), max(p5, p3),
                       f"event={fus.get('event', 'rearrangement')};"
                       f"five_prime={g5.gene}:{g5.transcript}:exon{n5 - 1}:{g5.chrom}:{p5}({g5.strand});"
                       f"three_prime={g3.gene}:{g3.transcript}:exon{n3}:{g3.chrom}:{p3}({g3.strand});"
                       f"first_codon_3prime={fus['three_prime_codon']};in_frame=true;microhomology={hom};"
                       f"junction_read_fraction={frac:g}"))  # fmt: skip
    unstable: list[tuple[Variant, float, Tract, int]] = []
    msi = sample.get("msi")
    if msi:
        n = int(round(msi["unstable_fraction"] * len(genome.tracts)))
        picked = sorted(rng.choice(len(genome.tracts), size=n, replace=False))
        af = float(msi["allele_fraction"])
        for i in picked:
            t = genome.tracts[i]
            shift = int(rng.choice([-2, -1, 1, 2], p=[0.2, 0.5, 0.2, 0.1]))
            anchor = genome.ref(t.chrom, t.start - 1)
            change = t.unit * abs(shift)
            ref, alt = (anchor + change, anchor) if shift < 0 else (anchor, anchor + change)
            unstable.append((Variant(t.chrom, t.start, ref, alt, "microsatellite"), af, t, shift))
        events.append((sid, pid, "msi", "", "", "", "",
                       f"status=MSI-H;tracts={len(genome.tracts)};unstable={n};allele_fraction={af:g}"))  # fmt: skip
    return depth, junctions, unstable


def write_microsatellites(genome: Genome, path: Path) -> None:
    rows = ["chrom\tstart\tend\tunit\trepeat_count"]
    rows += [f"{t.chrom}\t{t.start}\t{t.end}\t{t.unit}\t{t.count}" for t in genome.tracts]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(rows) + "\n")


def write_msi_truth(unstable: list[tuple[Variant, float, Tract, int]], path: Path) -> None:
    """The unstable tracts of an MSI tumour (0-based start, BED-like) and the tumour allele."""
    rows = ["chrom\tstart\tend\tunit\trepeat_count\tshift_units\ttumour_repeat_count\tallele_fraction"]
    for _v, af, t, shift in unstable:
        rows.append(f"{t.chrom}\t{t.start}\t{t.end}\t{t.unit}\t{t.count}\t{shift}\t{t.count + shift}\t{af:g}")
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(rows) + "\n")


def write_events(events: list[tuple], path: Path) -> None:
    rows = ["\t".join(EVENT_COLUMNS)] + ["\t".join(str(x) for x in e) for e in events]
    with atomic_output(path) as tmp:
        Path(tmp).write_text("\n".join(rows) + "\n")


def write_swapped_sheet(sheet: list[str], layout: dict, swap: dict) -> None:
    """The default sheet, but ``swap["normal"]`` reads ``swap["reads_of"]``'s FASTQ files."""
    r1, r2 = layout["reads"][swap["reads_of"]]
    out = [sheet[0]]
    for line in sheet[1:]:
        cols = line.split("\t")
        if cols[0] == swap["normal"]:
            cols[3], cols[4] = r1.as_posix(), r2.as_posix()
        out.append("\t".join(cols))
    with atomic_output(layout["swapped_sheet"]) as tmp:
        Path(tmp).write_text("\n".join(out) + "\n")
