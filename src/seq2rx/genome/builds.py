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

#: every primary chromosome's length per build, named without ``chr`` (GRC assembly reports:
#: GRCh38 GCA_000001405.15, GRCh37 GCA_000001405.1; MT is the revised Cambridge sequence in both),
#: so that coordinates from another caller's file can be checked against the build they claim
PRIMARY_LENGTHS = {
    "GRCh38": {
        "1": 248956422, "2": 242193529, "3": 198295559, "4": 190214555, "5": 181538259, "6": 170805979,
        "7": 159345973, "8": 145138636, "9": 138394717, "10": 133797422, "11": 135086622, "12": 133275309,
        "13": 114364328, "14": 107043718, "15": 101991189, "16": 90338345, "17": 83257441, "18": 80373285,
        "19": 58617616, "20": 64444167, "21": 46709983, "22": 50818468, "X": 156040895, "Y": 57227415,
        "MT": 16569,
    },
    "GRCh37": {
        "1": 249250621, "2": 243199373, "3": 198022430, "4": 191154276, "5": 180915260, "6": 171115067,
        "7": 159138663, "8": 146364022, "9": 141213431, "10": 135534747, "11": 135006516, "12": 133851895,
        "13": 115169878, "14": 107349540, "15": 102531392, "16": 90354753, "17": 81195210, "18": 78077248,
        "19": 59128983, "20": 63025520, "21": 48129895, "22": 51304566, "X": 155270560, "Y": 59373566,
        "MT": 16569,
    },
}  # fmt: skip


#: the sex chromosomes' lengths per build (GRC assembly reports), so that a BAM's header tells the
#: build whose pseudo-autosomal regions apply
SEX_CHROMOSOME_LENGTHS = {
    "GRCh37": {"X": 155270560, "Y": 59373566},
    "GRCh38": {"X": 156040895, "Y": 57227415},
}

#: the pseudo-autosomal regions (PAR1, PAR2) per build and sex chromosome, as 0-based half-open
#: intervals. X and Y are identical there, so reads in them say nothing about sex. Source: the
#: Genome Reference Consortium's assembly definitions (GRCh38: X and Y 10,001-2,781,479;
#: X 155,701,383-156,030,895 and Y 56,887,903-57,217,415. GRCh37: X 60,001-2,699,520 and
#: Y 10,001-2,649,520; X 154,931,044-155,260,560 and Y 59,034,050-59,363,566; 1-based,
#: inclusive), as Ensembl lists them (https://www.ensembl.org/info/genome/genebuild/human_PARS.html).
PSEUDOAUTOSOMAL = {
    "GRCh37": {"X": ((60000, 2699520), (154931043, 155260560)), "Y": ((10000, 2649520), (59034049, 59363566))},
    "GRCh38": {"X": ((10000, 2781479), (155701382, 156030895)), "Y": ((10000, 2781479), (56887902, 57217415))},
}
