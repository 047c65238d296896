"""Reads to alignments: FASTQ pairs, adapter and quality trimming (cutadapt), alignment (BWA-MEM or
minimap2), duplicate marking, and alignment QC.
"""

from seq2rx.reads.align import align_unsorted, build_index, check_bam_reference, sort_markdup
from seq2rx.reads.fastq import read_pairs
from seq2rx.reads.trim import trim_pairs

__all__ = ["align_unsorted", "build_index", "check_bam_reference", "read_pairs", "sort_markdup", "trim_pairs"]
