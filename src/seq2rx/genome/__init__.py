"""The reference genome: FASTA contigs and N-gap islands, builds, and the protein-level tables
(codons, HGVS p., BLOSUM62, Grantham).
"""

from seq2rx.genome.builds import BUILD_LENGTHS, GRCH37_LENGTHS, GRCH38_LENGTHS, PRIMARY_LENGTHS
from seq2rx.genome.reference import IslandMap, fasta_contigs, find_islands, scan_islands, write_islands
from seq2rx.genome.sequence import revcomp

__all__ = [
    "BUILD_LENGTHS",
    "GRCH37_LENGTHS",
    "GRCH38_LENGTHS",
    "IslandMap",
    "PRIMARY_LENGTHS",
    "fasta_contigs",
    "find_islands",
    "scan_islands",
    "revcomp",
    "write_islands",
]
