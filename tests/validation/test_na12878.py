"""Real reads with a known answer: NA12878 (GIAB HG001) on a 12 kb piece of GRCh37 chr22."""

from __future__ import annotations

import pytest

from seq2rx.reads.align import align_unsorted, build_index, sort_markdup
from seq2rx.variants.compare import compare
from seq2rx.variants.germline import CallParams, call_variants

pytestmark = pytest.mark.validation


@pytest.mark.parametrize("aligner", ["bwa", "minimap2"])
def test_all_14_giab_snvs_are_found(shared_data, tmp_path, aligner):
    d = shared_data / "na12878-chr22-tiny"
    index = build_index(d / "q.fa", tmp_path / "index", aligner)
    align_unsorted(
        d / "NA12878.chr22.tiny_R1.fastq.gz",
        d / "NA12878.chr22.tiny_R2.fastq.gz",
        index,
        tmp_path / "u.bam",
        "NA12878",
        aligner=aligner,
        threads=2,
    )
    assert_all_14_snvs(d, tmp_path / "u.bam", tmp_path)


def assert_all_14_snvs(d, unsorted_bam, tmp_path) -> dict:
    """Mark duplicates, call, and compare with the GIAB truth: all 14 SNVs, genotypes right."""
    sort_markdup(unsorted_bam, tmp_path / "NA12878.bam", tmp_path / "md.txt", threads=2)
    call_variants([tmp_path / "NA12878.bam"], d / "q.fa", tmp_path / "calls.vcf.gz", CallParams(), threads=2)
    result = compare(d / "NA12878.chr22.tiny.giab.vcf", tmp_path / "calls.vcf.gz", reference=d / "q.fa")
    snv = result["snv"]
    assert (snv["tp"], snv["fn"]) == (14, 0), result["false_negatives"]
    # the truth file has no confident-region BED, so extra calls are not necessarily wrong:
    # bwa-mem + bcftools also finds two indels that the truth file lacks
    assert snv["fp"] <= 1
    assert result["genotype_concordance"] == 1.0
    return result
