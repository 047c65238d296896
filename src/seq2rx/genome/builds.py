"""Genome builds: contig lengths that tell GRCh37 from GRCh38, so that coordinates are never
compared across builds silently."""

#: contig lengths that identify GRCh37 (the PGx knowledge base is GRCh38)
GRCH37_LENGTHS = {
    "1": 249250621, "2": 243199373, "4": 191154276, "6": 171115067, "7": 159138663, "8": 146364022,
    "10": 135534747, "12": 133851895, "13": 115169878, "16": 90354753, "19": 59128983,
}  # fmt: skip


#: the same contigs' GRCh38 lengths
GRCH38_LENGTHS = {
    "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "6": 170805979, "7": 159345973,
    "8": 145138636, "10": 133797422, "12": 133275309, "13": 114364328, "16": 90338345, "19": 58617616,
}  # fmt: skip


#: per build, the lengths of the contigs that tell the two apart
BUILD_LENGTHS = {"GRCh37": {**GRCH37_LENGTHS, "3": 198022430}, "GRCh38": GRCH38_LENGTHS}
