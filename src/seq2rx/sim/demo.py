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
from seq2rx.sim.genome import build_genome, write_confident, write_fasta, write_gff3, write_targets
from seq2rx.sim.model import Variant, load_pgx_sites, load_spec
from seq2rx.sim.reads import simulate_reads
from seq2rx.sim.truth import plant_germline, write_outside_calls, write_truth_vcf


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
    germline = plant_germline(spec, genome, sites, np.random.default_rng(variant_rng))
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
            counts = simulate_reads(
                sample["id"],
                genome,
                germline[patient["id"]],
                somatic,
                spec,
                np.random.default_rng(sample_seeds[k]),
                r1,
                r2,
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
    return summary
