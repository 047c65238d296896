"""Cohort-sized PGx (issue 18): ``seq2rx pgx --all-samples`` reads the VCF once into compact
genotypes and writes each sample's result as it is made, so memory does not grow with the cohort,
the output is the same bytes as the whole document written at once, and a failure leaves none.
The cohorts are simulated (``seq2rx.sim.cohort``) at every definition position of the shipped
knowledge base."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seq2rx.core.data import data_path
from seq2rx.core.io import write_json
from seq2rx.pgx.matcher import natural_key
from seq2rx.pgx.pipeline import GENE_COLUMNS, PgxKnowledge, ResultsWriter, call_cohort, call_vcf
from seq2rx.pgx.vcf import read_cohort, read_genotypes
from seq2rx.sim.cohort import write_cohort_vcf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb() -> PgxKnowledge:
    return PgxKnowledge.load(data_path("kb", "pgx"))


@pytest.fixture(scope="module")
def cohort(kb, tmp_path_factory) -> tuple[Path, dict]:
    vcf = tmp_path_factory.mktemp("cohort") / "c.vcf.gz"
    return vcf, write_cohort_vcf(kb.definitions, 12, vcf, seed=7)


def test_simulated_cohort_is_seeded_and_called_back(kb, cohort, tmp_path):
    vcf, drawn = cohort
    again = write_cohort_vcf(kb.definitions, 12, tmp_path / "again.vcf.gz", seed=7)
    assert again == drawn
    assert gzip.decompress(vcf.read_bytes()) == gzip.decompress((tmp_path / "again.vcf.gz").read_bytes())
    other = write_cohort_vcf(kb.definitions, 12, tmp_path / "other.vcf.gz", seed=8)
    assert other != drawn
    docs = call_vcf(kb, vcf, absent_as_reference=True)
    assert [d["sample"] for d in docs] == [f"S{i:04d}" for i in range(1, 13)]
    # phased genotypes of two named alleles: every drawn diplotype is the single call
    for i, doc in enumerate(docs):
        for gene, pairs in drawn.items():
            assert doc["genes"][gene]["diplotypes"] == ["/".join(sorted(pairs[i], key=natural_key))], (i, gene)


def test_one_sample_reads_the_same_alone_or_in_the_cohort(kb, cohort):
    """The compact store gives each sample the genotypes it has when read on its own."""
    vcf, _ = cohort
    whole = read_cohort(vcf, kb.definitions, absent_as_reference=True)
    assert len(whole) == 12
    for i in (0, 5, 11):
        sample = whole.samples[i]
        alone = read_genotypes(vcf, kb.definitions, [sample], absent_as_reference=True)[sample]
        assert whole.sample(i) == alone


def test_streamed_json_and_tables_are_the_whole_document(kb, cohort, tmp_path):
    vcf, _ = cohort
    docs = call_vcf(kb, vcf, absent_as_reference=True)
    write_json({"samples": docs}, tmp_path / "whole.json", sort_keys=False, ensure_ascii=False)
    genotypes = read_cohort(vcf, kb.definitions, absent_as_reference=True)
    with ResultsWriter(tmp_path / "s.json", genes_tsv=tmp_path / "g.tsv", drugs_tsv=tmp_path / "d.tsv") as out:
        for doc in call_cohort(kb, genotypes):
            out.add(doc)
    assert (tmp_path / "s.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    assert out.written == 12
    rows = (tmp_path / "g.tsv").read_text().splitlines()
    assert rows[0].split("\t") == list(GENE_COLUMNS)
    assert len(rows) == 1 + 12 * len(kb.definitions)
    drugs = (tmp_path / "d.tsv").read_text().splitlines()
    assert len(drugs) == 1 + sum(len(d["recommendations"]) for d in docs)
    # one sample: the document alone, as before
    write_json(docs[3], tmp_path / "one.json", sort_keys=False, ensure_ascii=False)
    with ResultsWriter(tmp_path / "s1.json", single=True) as out:
        out.add(docs[3])
    assert (tmp_path / "s1.json").read_bytes() == (tmp_path / "one.json").read_bytes()


def test_a_failure_part_way_leaves_no_output(kb, cohort, tmp_path):
    vcf, _ = cohort
    genotypes = read_cohort(vcf, kb.definitions, absent_as_reference=True)
    with pytest.raises(RuntimeError), ResultsWriter(tmp_path / "r.json", genes_tsv=tmp_path / "g.tsv") as out:
        for n, doc in enumerate(call_cohort(kb, genotypes)):
            out.add(doc)
            if n == 5:
                raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)")
def test_all_samples_memory_does_not_grow_with_the_cohort(kb, tmp_path):
    """``benchmarks/bench_pgx.py --simulate 60 600``: each size runs ``seq2rx pgx --all-samples``
    in its own process, which reports its own peak memory. Holding every result (as before) cost
    about 0.35 MiB per sample, some 200 MiB more at 600 than at 60; streamed, the difference is
    the compact genotypes (a byte per sample and record) and allocator noise. About 3 s of CPU."""
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(REPO / "benchmarks/bench_pgx.py"), "--simulate", "60", "600", "--repeats", "1",
           "--workdir", str(tmp_path), "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    small, large = json.loads(out.read_text())["cohorts"]
    assert (small["samples"], large["samples"]) == (60, 600)
    assert large["peak_rss_mib"] - small["peak_rss_mib"] < 25, (small, large)
    # every result was written, and right: each drawn diplotype is the single call
    pairs = 600 * len(kb.definitions)
    assert large["diplotypes_as_drawn"] == f"{pairs}/{pairs}"
