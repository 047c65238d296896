"""The bad-input catalogue: one test per way a user's input can be wrong.

Each case asserts the three promises: the message names the file, the line (or the key) and
what is wrong, and says what to do; the command or the workflow step exits non-zero; and no
output is left behind that could be taken for a result. Workflow steps are exercised through
their real Snakemake script adapters (``scripts/``), run in a subprocess with a stand-in for the
``snakemake`` object, so the exit status and the log are the ones a run would give.
README.md's "Troubleshooting: bad inputs" table lists every case by its id (``CASES``).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
import yaml
from conftest import write_reference

from seq2rx import cli as cli_module
from seq2rx.actionability import MSI_STATUSES
from seq2rx.cli import main
from seq2rx.core.errors import InputError
from seq2rx.inputs.clinical import read_clinical

REPO = Path(__file__).resolve().parents[2]
SEQ = "GATTACAGTCCACACAGTTGCATGGACTTACGGATCCATGA" * 5

#: case id -> what is wrong; README.md lists each of them
CASES = {
    "R1": "truncated gzip FASTQ",
    "R2": "R1 and R2 with different read counts",
    "R3": "R1 and R2 with different read names",
    "R4": "FASTQ record not starting with @",
    "R5": "FASTQ sequence and quality of different lengths",
    "R6": "FASTQ cut short inside a record",
    "R7": "FASTQ qualities in Phred+64 (Illumina 1.3-1.7)",
    "R8": "FASTQ base that is not a nucleotide",
    "R9": "fastq2 the same file as fastq1",
    "R10": "fastq2 a copy of fastq1",
    "R11": "FASTQ record with an empty read name",
    "R12": "gzip FASTQ named .FASTQ.GZ, plain FASTQ named .gz",
    "R13": "FASTQ compressed with bzip2, xz or zstd",
    "R14": "fastq1 alone whose reads do not pair (not interleaved)",
    "R15": "low properly-paired fraction",
    "R16": "FASTQ '+' line naming another read",
    "R17": "FASTQ quality character outside '!' to '~'",
    "S1": "sample sheet with a duplicate sample ID",
    "S2": "sample sheet with a path-escaping sample ID",
    "S3": "sample sheet naming a missing FASTQ",
    "S4": "sample sheet BAM without an index",
    "S5": "tumour type that is not an OncoTree code",
    "S6": "sample sheet: a tumour with two normals from reads or BAMs",
    "S7": "sample sheet BAM with a .csi index only",
    "S8": "sample sheet with a UTF-8 byte-order mark",
    "S9": "sample sheet that is not UTF-8",
    "S10": "sample sheet: a reserved ID (patient 'cohort')",
    "S11": "sample sheet: IDs whose file names meet (A and A.unsorted)",
    "C1": "config value out of range",
    "C2": "config key with a typo",
    "C3": "reference FASTA without .fai",
    "C4": "config key given twice",
    "C5": "config threshold .nan or .inf",
    "C6": "config that is not UTF-8",
    "C7": "config range with min above max",
    "C8": "cohort file whose name is not an ID",
    "G1": "reference FASTA compressed with plain gzip",
    "G2": "reference FASTA with a contig twice",
    "G3": "GFF3 whose CDS bcftools csq refuses",
    "F1": "disk full",
    "F2": "read-only results folder",
    "V1": "VCF contig names chr1 vs 1",
    "V2": "VCF from the other build (reference alleles)",
    "V3": "VCF from the other build (contig lengths)",
    "V4": "VCF without GT",
    "V5": "empty VCF",
    "V6": "multi-sample VCF without the sheet's sample",
    "V7": "VCF record past its contig's end",
    "V8": "VCF with few records and a wrong REF",
    "V9": "VCF with an INFO tag seq2rx reads (DP, AF, ...) that the header does not declare",
    "V10": "VCF with a FORMAT tag the header does not declare",
    "V11": "sample sheet vcf_sample that is not a column of the VCF",
    "V12": "multi-sample VCF whose columns do not match the sheet, caught by validate",
    "V13": "sample sheet vcf_sample on a row without vcf",
    "V14": "unsorted VCF (sorted, with a warning)",
    "P1": "PGx VCF with a FILTER-failed record at a definition position",
    "P2": "PGx VCF genotype that contradicts its own allele depths",
    "P3": "config pgx.vcf_filters that is not a list of FILTER names",
    "B1": "BAM aligned to a different reference",
    "B2": "BAM with chr1 vs 1 naming",
    "K1": "clinical table: unknown stage",
    "K2": "clinical table: unknown treatment",
    "K3": "clinical table: follow-up time without event",
    "K4": "clinical table: outcome without treatment",
    "K5": "clinical table: outcome column missing",
    "K6": "clinical table: patient not in the sample sheet",
    "K7": "clinical table: impossible date",
    "K8": "clinical table: a responder with no time to respond",
    "D1": "actionability knowledge-base row with an unknown evidence level",
    "D2": "PGx knowledge-base row with a non-numeric position",
    "D3": "outside PGx call that is not a diplotype",
    "D4": "outside MT-RNR1 call that is not one CPIC variant (a diplotype, a heteroplasmy level)",
    "A1": "copy-number segments with a fractional copy number",
    "A2": "fusion file with a breakpoint that is not chrom:pos",
    "A3": "copy-number segments with another format's header",
    "A4": "copy-number segments: a header and no segments",
    "A5": "copy-number segment on a chromosome the build does not have",
    "A6": "copy-number segment past the chromosome's end on the build",
    "A7": "copy-number segments that overlap",
    "A8": "fusion file with another format's header",
    "A9": "fusion file with a negative SplitReads",
    "A10": "fusion breakpoint on a contig that is not a chromosome of the build",
    "A11": "--msi-status other than MSI-H or MSS",
    "A12": "--cna or --fusions file that does not exist",
    "A13": "sample sheet: cna or fusions file on a non-tumour row",
    "A14": "sample sheet: cna or fusions file that does not exist",
    "A15": "config: copy-number keys inconsistent with each other",
    "A16": "identity SNP panel (sites TSV) with a bad row",
    "X1": "a folder where an input file is wanted",
    "X2": "plain-gzip VCF where htslib needs bgzip",
    "X3": "text input that is not UTF-8",
    "X4": "input file of another format (a FASTQ named .vcf.gz)",
    "X5": "outside-call HLA phenotype outside the vocabulary (markup)",
    "X6": "outside-call CYP2D6 allele the knowledge base does not list",
    "X7": "cohort database file that is not a DuckDB database",
    "X8": "BED file with a line that is not BED",
    "N1": "notes TSV without its date column",
    "N2": "notes TSV with a date that is not YYYY-MM-DD",
    "N3": "notes TSV whose text holds a tab",
    "N4": "notes TSV with a note_id used twice",
    "N5": "OMOP CDM CSV folder without note.csv",
    "N6": "ConText term list with an unknown direction",
    "N7": "NegEx annotation file without its Sentence column",
    "N8": "notes file that is comma-separated, not tab-separated",
    "N9": "notes TSV with an impossible date (2024-13-45)",
    "N10": "NegEx annotation file that is not UTF-8",
    "N11": "OMOP CDM CSV folder without person.csv, notes linked by person_source_value",
    "Q1": "OMOP cohort definitions folder with a broken Circe JSON",
    "Q2": "OMOP CDM CSV file with a value not of its column's type (read for the cohort database)",
    "E1": "config clinical_omop.path that does not exist",
    "E2": "OMOP CDM without an observation_period table",
    "E3": "config clinical_notes.path that does not exist",
    "E4": "config clinical_notes.path with no clinical table to fill (no clinical, no clinical_omop.path)",
    "E5": "OMOP CDM CSV folder with two files for one table",
    "E6": "OMOP CDM path that is not a DuckDB database (a TSV)",
    "E7": "OMOP CDM observation period that starts after its end",
}


def assert_clear(message: str, *, file: str | Path, where: str, what: str, todo: str) -> None:
    """The message names the file, the place in it, what is wrong and what to do."""
    for part in (str(file), where, what, todo):
        assert part in message, f"{part!r} missing from: {message}"


def assert_nothing_left(folder: Path) -> None:
    """No file, complete-looking or temporary, was left in ``folder``."""
    left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    assert left == []


RUNNER = """
import json, runpy, sys


class Names(list):
    # enough of Snakemake's Namedlist for the scripts: positions, names and keys()
    def __init__(self, named=None, items=None):
        named = named or {}
        super().__init__(items if items is not None else named.values())
        self._names = dict(named)

    def __getattr__(self, name):
        try:
            return self._names[name]
        except KeyError:
            raise AttributeError(name) from None

    def keys(self):
        return self._names.keys()

    def get(self, name, default=None):
        return self._names.get(name, default)


class Snakemake:
    pass


spec = json.loads(sys.argv[2])
snakemake = Snakemake()
for key in ("input", "output", "params", "wildcards"):
    setattr(snakemake, key, Names(spec.get(key, {})))
snakemake.log = Names(items=[spec["log"]])
snakemake.threads = 1
runpy.run_path(sys.argv[1], init_globals={"snakemake": snakemake}, run_name="__main__")
"""


def run_script(name: str, work: Path, **spec) -> tuple[int, str]:
    """Run ``scripts/<name>.py`` as Snakemake would; return its exit status and its log."""
    log = work / "logs" / f"{name}.log"
    spec["log"] = str(log)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(REPO / "scripts" / f"{name}.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=work,
    )
    text = log.read_text() if log.exists() else proc.stderr
    assert "Traceback" not in text, text
    return proc.returncode, text


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(map(str, args)))
    return code, capsys.readouterr().err


# --------------------------------------------------------------------------- reads


def _fastq(path: Path, names: list[str], text: str | None = None) -> Path:
    body = text if text is not None else "".join(f"@{n}\nACGTACGTAC\n+\nIIIIIIIIII\n" for n in names)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(body)
    else:
        path.write_text(body)
    return path


def _trim(work: Path, r1: Path, r2: Path | None, *, ok: bool = False, phred64: str = "stop") -> tuple[int, str]:
    out = work / "results"
    code, log = run_script(
        "cutadapt_trim",
        work,
        input={"r1": str(r1), **({"r2": str(r2)} if r2 else {})},
        output={
            "r1": str(out / "S_R1.trimmed.fastq.gz"),
            "r2": str(out / "S_R2.trimmed.fastq.gz"),
            "json": str(out / "S.cutadapt.json"),
            "txt": str(out / "S.cutadapt.txt"),
            "reads": str(out / "S.reads.json"),
            "versions": str(out / "versions.json"),
        },
        params={"adapter_r1": "AGATCGGAAGAGC", "adapter_r2": "AGATCGGAAGAGC", "min_quality": 20, "min_length": 5,
                "phred64": phred64},
    )  # fmt: skip
    if ok:  # a case read with a warning: the step succeeds and its log says what it did
        assert code == 0, log
        return code, log
    assert code != 0
    assert_nothing_left(out)
    return code, log


def test_R1_truncated_gzip_fastq(tmp_path):
    names = [f"r{k}" for k in range(5000)]
    r1 = _fastq(tmp_path / "S_R1.fastq.gz", names)
    r1.write_bytes(r1.read_bytes()[: r1.stat().st_size // 2])
    r2 = _fastq(tmp_path / "S_R2.fastq.gz", names)
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where=", line ", what="gzip stream is truncated or corrupt", todo="gzip -t")


def test_R2_mates_with_different_read_counts(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq.gz", ["a", "b", "c"])
    r2 = _fastq(tmp_path / "S_R2.fastq.gz", ["a", "b"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r2, where="line 9", what=f"ends after 2 reads while its mate file {r1} has more",
                 todo="R1 and R2 must hold the same reads in the same order")  # fmt: skip


def test_R3_mates_with_different_names(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq", ["a/1", "b/1", "c/1"])
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a/2", "x/2", "c/2"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r2, where="line 5", what="read 'x/2' does not match its mate 'b/1'",
                 todo="same reads in the same order")  # fmt: skip


def test_R4_fastq_record_without_at_sign(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq", [], text="@a\nACGT\n+\nIIII\n>b\nACGT\n+\nIIII\n")
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a", "b"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 5", what="must start with '@', found '>b'", todo="each record is 4 lines")


def test_R5_fastq_quality_shorter_than_sequence(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq", [], text="@a\nACGTACGT\n+\nIIII\n")
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 2", what="sequence has 8 bases but quality has 4",
                 todo="every base needs one quality character")  # fmt: skip


def test_R6_fastq_cut_inside_a_record(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq", [], text="@a\nACGT\n+\nIIII\n@b\nACGT\n")
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a", "b"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 5", what="ends inside a FASTQ record", todo="copy or export it again")


def test_R7_phred64_qualities_stop_unless_converted(tmp_path):
    # Illumina 1.3-1.7 wrote Q40 as 'h' and Q2 as 'B': nothing below ';', much at or above 'L'
    text = "".join(f"@r{k}\nACGTACGTAC\n+\nhhhhhhhhhB\n" for k in range(3))
    r1 = _fastq(tmp_path / "S_R1.fastq", [], text=text)
    r2 = _fastq(tmp_path / "S_R2.fastq", [], text=text.replace("ACGTACGTAC", "TTGCATTGCA"))
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 4", what="the qualities are Phred+64 (Illumina 1.3-1.7), not Phred+33",
                 todo="set 'reads: {phred64: convert}' in the config")  # fmt: skip
    # asked to convert: Q40 'h' becomes 'I', Q2 'B' becomes '#', and the summary says so
    _trim(tmp_path, r1, r2, ok=True, phred64="convert")
    with gzip.open(tmp_path / "results/S_R1.trimmed.fastq.gz", "rt") as fh:
        assert fh.read().splitlines()[3] == "I" * 9  # the 3' Q2 base is trimmed at -q 20 (read as Q33 it was not)
    reads = json.loads((tmp_path / "results/S.reads.json").read_text())
    assert reads["quality_encoding"] == "Phred+64, converted to Phred+33"


def test_R8_base_that_is_not_a_nucleotide(tmp_path):
    r1 = _fastq(tmp_path / "S_R1.fastq", [], text="@a\nACGTACGTAC\n+\nIIIIIIIIII\n@b\nACG.ACGTAC\n+\nIIIIIIIIII\n")
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a", "b"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 6", what="base '.' (column 4) is not a nucleotide",
                 todo="write N for an unknown base")  # fmt: skip
    # IUPAC codes other than N are read as N, as BWA reads them, and counted; lower case is read as upper
    r1.write_text("@a\nACGTRCGTAc\n+\nIIIIIIIIII\n@b\nACGTACGTAC\n+\nIIIIIIIIII\n")
    _trim(tmp_path, r1, r2, ok=True)
    with gzip.open(tmp_path / "results/S_R1.trimmed.fastq.gz", "rt") as fh:
        assert fh.read().splitlines()[1] == "ACGTNCGTAC"
    reads = json.loads((tmp_path / "results/S.reads.json").read_text())
    assert (reads["iupac_bases_to_n"], reads["lowercase_bases"]) == (1, 1)


def _same_reads_row(tmp_path: Path, r1: Path, r2: Path) -> str:
    return f"S1\tP1\tgermline\t{r1}\t{r2}\t\t\tfemale\tNA"


def test_R9_fastq2_is_the_same_file_as_fastq1(tmp_path, capsys):
    config = _project(tmp_path, [])
    r1 = tmp_path / "a_R1.fq.gz"
    (tmp_path / "samples.tsv").write_text(f"{HEADER}\n{_same_reads_row(tmp_path, r1, r1)}\n")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'fastq2'",
                 what="is the same file as fastq1", todo="name the read-2 file in fastq2")  # fmt: skip
    # the workflow step says the same, should it be reached some other way
    _, log = _trim(tmp_path, r1, r1)
    assert_clear(log, file=r1, where=str(r1), what="fastq2 is the same file as fastq1",
                 todo="fastq2 must be the read-2 file of the pair")  # fmt: skip


def test_R10_fastq2_is_a_copy_of_fastq1(tmp_path, capsys):
    config = _project(tmp_path, [])
    r1, copy = tmp_path / "a_R1.fq.gz", tmp_path / "copy_R2.fq.gz"
    shutil.copy(r1, copy)
    (tmp_path / "samples.tsv").write_text(f"{HEADER}\n{_same_reads_row(tmp_path, r1, copy)}\n")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'fastq2'",
                 what="is a copy of fastq1 (same size, same first MiB)", todo="name the read-2 file")  # fmt: skip
    # in the workflow step the reads are compared, not the bytes: a recompressed copy is caught too
    r2 = _fastq(tmp_path / "S_R2.fastq", ["r1"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r2, where=str(r2), what="fastq2 holds the same reads as fastq1 (the first 1 pairs",
                 todo="give the read-2 file as fastq2")  # fmt: skip


def _bad_r1(work: Path, text: str, mates: list[str]) -> tuple[Path, str]:
    """Trim a damaged read-1 file against a good read-2 file; the log of the failed step."""
    r1 = _fastq(work / "S_R1.fastq", [], text=text)
    return r1, _trim(work, r1, _fastq(work / "S_R2.fastq", mates))[1]


def test_R11_record_with_an_empty_read_name(tmp_path):
    r1, log = _bad_r1(tmp_path, "@a\nACGT\n+\nIIII\n@\nACGT\n+\nIIII\n", ["a", "b"])
    assert_clear(log, file=r1, where="line 5", what="the record has an empty read name",
                 todo="every read needs a name")  # fmt: skip


def test_R12_compression_is_read_from_the_bytes_not_the_name(tmp_path):
    # a gzip file named in capitals is read; so is a plain file named .gz, with a note in the log
    r1 = tmp_path / "S_R1.FASTQ.GZ"
    with gzip.open(r1, "wt") as fh:
        fh.write("@a\nACGTACGTAC\n+\nIIIIIIIIII\n")
    r2 = _fastq(tmp_path / "S_R2.fastq", [], text="@a\nTTGCATTGCA\n+\nIIIIIIIIII\n")
    r2 = r2.rename(tmp_path / "S_R2.fastq.gz")
    _, log = _trim(tmp_path, r1, r2, ok=True)
    assert "truncated or corrupt" not in log
    assert "S_R2.fastq.gz is not gzip-compressed although its name ends in .gz: read as plain text" in log
    with gzip.open(tmp_path / "results/S_R2.trimmed.fastq.gz", "rt") as fh:
        assert fh.read() == "@a\nTTGCATTGCA\n+\nIIIIIIIIII\n"
    notes = json.loads((tmp_path / "results/S.reads.json").read_text())["notes"]
    assert any("not gzip-compressed" in n for n in notes)


def test_R13_fastq_compressed_with_bzip2(tmp_path):
    import bz2

    r1 = tmp_path / "S_R1.fastq.gz"
    r1.write_bytes(bz2.compress(b"@a\nACGT\n+\nIIII\n"))
    r2 = _fastq(tmp_path / "S_R2.fastq", ["a"])
    _, log = _trim(tmp_path, r1, r2)
    assert_clear(log, file=r1, where="line 1", what="is bzip2-compressed; seq2rx reads gzip-compressed or plain FASTQ",
                 todo="bzcat FILE | gzip")  # fmt: skip


def test_R14_fastq1_alone_must_be_interleaved_pairs(tmp_path):
    # interleaved pairs are read (and said to be); single-end reads are not pairs
    good = _fastq(tmp_path / "S.fastq", [], text="@a/1\nACGTACGTAC\n+\nIIIIIIIIII\n@a/2\nTTGCATTGCA\n+\nIIIIIIIIII\n")
    _, log = _trim(tmp_path, good, None, ok=True)
    assert "S.fastq is read as one interleaved file" in log
    assert json.loads((tmp_path / "results/S.reads.json").read_text())["layout"] == "interleaved"
    (tmp_path / "bad").mkdir()
    single = _fastq(tmp_path / "bad/S_single.fastq", ["a", "b", "c", "d"])
    _, log = _trim(tmp_path / "bad", single, None)
    assert_clear(log, file=single, where="line 5", what="records 1 and 2 ('a', 'b') are not mates",
                 todo="give read 2 in its own file (fastq2)")  # fmt: skip


def test_R15_low_properly_paired_fraction_fails_qc(tmp_path):
    # ten pairs mapped in the same orientation (read 1 given twice aligns like this): none proper
    ref = write_reference(tmp_path, "chr1", SEQ)
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6", "SO": "coordinate"},
                                              "SQ": [{"SN": "chr1", "LN": len(SEQ)}]})  # fmt: skip
    bam = tmp_path / "S.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for k in range(10):
            for flag in (0x1 | 0x40, 0x1 | 0x80):
                rec = pysam.AlignedSegment(header)
                rec.query_name, rec.flag, rec.reference_id, rec.reference_start = f"r{k}", flag, 0, 10 + k
                rec.mapping_quality, rec.cigarstring = 60, "30M"
                rec.query_sequence, rec.query_qualities = SEQ[10 + k : 40 + k], pysam.qualitystring_to_array("I" * 30)
                rec.next_reference_id, rec.next_reference_start = 0, 10 + k
                out.write(rec)
    pysam.index(str(bam))
    (tmp_path / "t.bed").write_text(f"chr1\t0\t{len(SEQ)}\tall\n")
    th = {"min_mean_coverage": 0, "warn_mean_coverage": 0, "max_duplicate_fraction": 1, "min_mapped_fraction": 0.9,
          "min_properly_paired_fraction": 0.8, "min_on_target_fraction": 0, "max_fold_80_base_penalty": 3}  # fmt: skip
    res = tmp_path / "results"
    outputs = {k: str(res / f"S.{k}") for k in ("stats", "flagstat", "idxstats", "coverage", "summary", "versions")}
    code, log = run_script("samtools_stats", tmp_path,
                           input={"bam": str(bam), "bai": f"{bam}.bai", "fasta": str(ref), "targets": str(tmp_path / "t.bed")},
                           output=outputs, params={"thresholds": th, "targets": True, "min_mapq": 20, "min_baseq": 13,
                                                   "build": "GRCh38"},
                           wildcards={"sample": "S"})  # fmt: skip
    assert code == 0, log
    summary = json.loads(Path(outputs["summary"]).read_text())
    assert summary["verdict"] == "fail" and summary["properly_paired_fraction"] == 0.0
    assert summary["reasons"] == ["properly paired fraction 0.000 < 0.8"]


def test_R16_plus_line_naming_another_read(tmp_path):
    r1, log = _bad_r1(tmp_path, "@a\nACGT\n+a\nIIII\n@b\nACGT\n+c\nIIII\n", ["a", "b"])
    assert_clear(log, file=r1, where="line 7", what="the '+' line repeats a different name ('c', the header is 'b')",
                 todo="the '+' line is '+' alone or repeats the header")  # fmt: skip


def test_R17_quality_character_outside_the_fastq_range(tmp_path):
    r1, log = _bad_r1(tmp_path, "@a\nACGT\n+\nII\x7fI\n", ["a"])
    assert_clear(log, file=r1, where="line 4", what="quality character '\\x7f' is not a FASTQ quality",
                 todo="copy or export the file again")  # fmt: skip


# --------------------------------------------------------------------------- sample sheet and config


HEADER = "sample\tpatient\ttype\tfastq1\tfastq2\tbam\tvcf\tsex\ttumor_type"


def _project(tmp_path: Path, rows: list[str], **changes) -> Path:
    """A config and sample sheet of our own data (demo off), in ``tmp_path``; returns the config."""
    ref = write_reference(tmp_path, "chr1", SEQ)
    _fastq(tmp_path / "a_R1.fq.gz", ["r1"])
    _fastq(tmp_path / "a_R2.fq.gz", [], text="@r1\nTTGCATTGCA\n+\nIIIIIIIIII\n")  # read 2 is not read 1 (R9)
    (tmp_path / "samples.tsv").write_text("\n".join([HEADER, *rows]) + "\n")
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg.update(
        samples=str(tmp_path / "samples.tsv"),
        targets="",
        demo={"simulate": False},
        clinical="",
        clinical_omop={},
        clinical_notes={},
    )  # the demo's CDM and notes are the demo's
    cfg["reference"].update(fasta=str(ref), gff3="")
    for dotted, value in changes.items():
        node = cfg
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _row(tmp_path: Path, sample: str = "S1", patient: str = "P1", kind: str = "germline", tumor: str = "NA",
         fq: str = "a") -> str:  # fmt: skip
    return f"{sample}\t{patient}\t{kind}\t{tmp_path}/{fq}_R1.fq.gz\t{tmp_path}/{fq}_R2.fq.gz\t\t\tfemale\t{tumor}"


def _validate(capsys, tmp_path: Path, config: Path) -> str:
    before = sorted(tmp_path.rglob("*"))
    code, err = cli(capsys, "validate", "--configfile", config)
    assert code == 2
    assert sorted(tmp_path.rglob("*")) == before  # validation writes nothing
    return err


def test_S1_duplicate_sample_id(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path), _row(tmp_path, patient="P2")])
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 3, field 'sample'",
                 what="sample 'S1' appears twice (first on line 2)", todo="give each sample its own ID")  # fmt: skip


def test_S2_path_escaping_sample_id(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path, sample="../../etc/S1")])
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'sample'", what="(got '../../etc/S1')",
                 todo="must be 1-64 letters, digits")  # fmt: skip


def test_S3_missing_fastq(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path, fq="missing")])
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'fastq1'",
                 what=f"file '{tmp_path}/missing_R1.fq.gz' does not exist",
                 todo="relative paths are taken from the directory snakemake runs in")  # fmt: skip


def test_S4_bam_without_index(tmp_path, capsys):
    bam = tmp_path / "x.bam"
    bam.write_bytes(b"")
    row = f"S1\tP1\tgermline\t\t\t{bam}\t\tfemale\tNA"
    err = _validate(capsys, tmp_path, _project(tmp_path, [row]))
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'bam'", what="has no index",
                 todo="run 'samtools index' on it")  # fmt: skip


def test_S5_tumour_type_not_an_oncotree_code(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path, sample="T1", kind="tumor", tumor="LUNGCA")])
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'tumor_type'",
                 what="'LUNGCA' is not an OncoTree code", todo="e.g. LUAD, COAD, BRCA")  # fmt: skip


def test_S6_tumour_with_two_normals(tmp_path, capsys):
    rows = [_row(tmp_path, "T1", kind="tumor", tumor="LUAD"), _row(tmp_path, "N1", kind="normal", tumor="LUAD"),
            _row(tmp_path, "N2", kind="germline", tumor="LUAD")]  # fmt: skip
    err = _validate(capsys, tmp_path, _project(tmp_path, rows))
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 4, field 'type'", what="patient 'P1' has a tumour "
                 "and 2 normal or germline samples from reads or BAMs (N1, N2)", todo="keep one normal")  # fmt: skip


def test_S7_bam_with_a_csi_index_only(tmp_path, capsys):
    bam = _bam(tmp_path / "x.bam", "chr1", len(SEQ))
    Path(f"{bam}.bai").unlink()
    pysam.index("-c", str(bam))
    assert Path(f"{bam}.csi").exists()
    row = f"S1\tP1\tgermline\t\t\t{bam}\t\tfemale\tNA"
    err = _validate(capsys, tmp_path, _project(tmp_path, [row]))
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'bam'", what="has a .csi index but no "
                 f".bai; the workflow reads {bam}.bai", todo=f"samtools index -b {bam}")  # fmt: skip


def test_S8_sample_sheet_with_a_byte_order_mark(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    sheet = tmp_path / "samples.tsv"
    sheet.write_bytes(b"\xef\xbb\xbf" + sheet.read_bytes())
    err = _validate(capsys, tmp_path, config)
    assert "\\ufeff" not in err
    assert_clear(err, file=sheet, where="line 1", what="starts with a UTF-8 byte-order mark",
                 todo="save it as plain tab-separated text")  # fmt: skip


def test_S9_sample_sheet_that_is_not_utf8(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    sheet = tmp_path / "samples.tsv"
    sheet.write_bytes(sheet.read_bytes() + "# patient from Liège\n".encode("latin-1"))
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=sheet, where="line 3", what="is not UTF-8 text: byte 0xe8", todo="iconv")


def test_S10_reserved_patient_id(tmp_path, capsys):
    for patient in ("cohort", "Cohort"):
        err = _validate(capsys, tmp_path, _project(tmp_path, [_row(tmp_path, patient=patient)]))
        assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'patient'",
                     what=f"patient ID {patient!r} is taken by a file of the workflow's own",
                     todo="reserved patient IDs: cohort")  # fmt: skip


def test_S11_sample_ids_whose_file_names_meet(tmp_path, capsys):
    rows = [_row(tmp_path, "A.unsorted"), _row(tmp_path, "A", patient="P2")]
    err = _validate(capsys, tmp_path, _project(tmp_path, rows))
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'sample'", what="sample ID 'A.unsorted' is "
                 "sample 'A' followed by '.'", todo="rename one, e.g. A_unsorted")  # fmt: skip


@pytest.mark.parametrize("case", ["S6", "S11"])
def test_the_workflow_refuses_what_validate_refuses(tmp_path, capsys, case):
    """`seq2rx validate` and `snakemake` read the sheet with one function: the same message."""
    if case == "S6":
        rows = [_row(tmp_path, "T1", kind="tumor", tumor="LUAD"), _row(tmp_path, "N1", kind="normal", tumor="LUAD"),
                _row(tmp_path, "N2", kind="germline", tumor="LUAD")]  # fmt: skip
    else:
        rows = [_row(tmp_path, "A.unsorted"), _row(tmp_path, "A", patient="P2")]
    config = _project(tmp_path, rows)
    message = _validate(capsys, tmp_path, config).strip().removeprefix("seq2rx: error: ")
    out = _dry_run_refused(config)
    assert f"seq2rx: configuration error: {message}" in out


def _dry_run_refused(config: Path) -> str:
    """What a dry run of the workflow on ``config`` says; it must stop, without a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(config)],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    return out


def _output_patterns() -> list[tuple[str, str | None, str]]:
    """(folder, ID kind or None for a fixed file, the rest of the path after the ID) of every
    results path the rules write or name."""
    kinds = {"sample": "sample", "s": "sample", "r['sample']": "sample", "patient": "patient", "p": "patient",
             "wildcards.patient": "patient"}  # fmt: skip
    found = []
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for path in __import__("re").findall(r'"(results/[^"]*)"', smk.read_text()):
            path = path.replace("{{", "{").replace("}}", "}")
            parts = __import__("re").split(r"\{([^}]*)\}", path)
            if len(parts) == 1:
                found.append((path.rsplit("/", 1)[0], None, path.rsplit("/", 1)[1]))
            elif parts[1] in kinds and parts[0].endswith("/"):
                rest = "".join(p if k % 2 == 0 else "{x}" for k, p in enumerate(parts[2:]))
                found.append((parts[0].rstrip("/"), kinds[parts[1]], "" if rest.startswith("/") else rest))
    return found


def test_reserved_ids_and_meeting_names_follow_from_the_rules(tmp_path):
    """RESERVED_IDS is what the rules' output paths give (a fixed file named like a per-ID file
    in the same folder), and every two per-ID names of one folder that can meet differ by a
    '.'-suffix, which the sheet's check refuses (A and A.unsorted)."""
    from seq2rx.inputs.config import RESERVED_IDS, check_sheet_rules

    patterns = _output_patterns()
    assert ("results/align", "sample", ".unsorted.bam") in patterns  # the parser sees the rules
    per_id = [(d, kind, rest) for d, kind, rest in patterns if kind]
    reserved: dict[str, set[str]] = {"sample": set(), "patient": set()}
    for folder, kind, name in patterns:
        if kind is None:
            for d, k, rest in per_id:
                if d == folder and name.endswith(rest) and len(name) > len(rest) and "{" not in rest:
                    reserved[k].add(name[: len(name) - len(rest)])
    assert reserved == {k: set(v) for k, v in RESERVED_IDS.items()}
    assert not {d for d, k, _ in per_id if k == "sample"} & {d for d, k, _ in per_id if k == "patient"}
    suffixes = {(k, x[: len(x) - len(y)]) for d, k, x in per_id for d2, k2, y in per_id
                if d == d2 and k == k2 and x != y and x.endswith(y)}  # fmt: skip
    assert ("sample", ".unsorted") in suffixes and ("sample", ".delly") in suffixes
    for kind, suffix in sorted(suffixes):
        assert suffix.startswith("."), suffix
        rows = [{"sample": "A", "patient": "P1", "type": "germline", "stage": "vcf"},
                {"sample": "B", "patient": "P2", "type": "germline", "stage": "vcf"}]  # fmt: skip
        rows[1][kind] = "A" + suffix if kind == "sample" else "P1" + suffix
        with pytest.raises(InputError, match="followed by '.'"):
            check_sheet_rules("s.tsv", rows, {"A": 2, "B": 3, rows[1]["sample"]: 3})


def test_C1_config_value_out_of_range(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)], calling__min_depth=-3)
    err = _validate(capsys, tmp_path, config)
    line = next(k for k, text in enumerate(config.read_text().splitlines(), 1) if "min_depth" in text)
    assert_clear(err, file=config, where=f"line {line}, field 'calling.min_depth'", what="(got -3)",
                 todo="must be an integer >= 0")  # fmt: skip


def test_C2_config_key_typo(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)], calling__min_qaul=30)
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where="field 'calling.min_qaul'", what="unknown key 'min_qaul'",
                 todo="allowed here: interval_bases, intervals, joint, max_depth, min_baseq, min_depth, min_mapq, min_qual, target_padding")  # fmt: skip


def test_C3_reference_without_fai(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    (tmp_path / "ref.fa.fai").unlink()
    err = _validate(capsys, tmp_path, config)
    line = next(k for k, text in enumerate(config.read_text().splitlines(), 1) if "fasta:" in text)
    assert_clear(err, file=config, where=f"line {line}, field 'reference.fasta'", what="has no .fai index",
                 todo="run 'samtools faidx' on it")  # fmt: skip


def _line_of(config: Path, text: str) -> int:
    return next(k for k, line in enumerate(config.read_text().splitlines(), 1) if text in line)


def test_C4_config_key_given_twice(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    first = _line_of(config, "calling:")
    with config.open("a") as fh:
        fh.write("calling:\n  min_qual: 5\n")  # the first calling block would be dropped silently
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where=f"line {len(config.read_text().splitlines()) - 1}",
                 what=f"the key 'calling' is given twice (first on line {first})", todo="merge them into one")  # fmt: skip


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_C5_config_threshold_nan_or_infinity(tmp_path, capsys, value):
    config = _project(tmp_path, [_row(tmp_path)], calling__min_qual=value)
    assert ".nan" in config.read_text() or ".inf" in config.read_text()
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where=f"line {_line_of(config, 'min_qual')}, field 'calling.min_qual'",
                 what=f"(got {value!r}: NaN and infinity are not numbers", todo="write a finite number")  # fmt: skip


def test_C6_config_that_is_not_utf8(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    config.write_bytes(config.read_bytes() + "# réglages du labo\n".encode("latin-1"))
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where=f"line {len(config.read_bytes().splitlines())}",
                 what="not UTF-8", todo="save it as UTF-8")  # fmt: skip
    assert "0xe9" in err


@pytest.mark.parametrize(
    ("changes", "field", "what"),
    [({"annotation__primer_tm_min": 65, "annotation__primer_tm_max": 60}, "annotation.primer_tm_min",
      "primer_tm_min (65) is above primer_tm_max (60)"),
     ({"annotation__amplicon_min": 700}, "annotation.amplicon_min", "amplicon_min (700) is above amplicon_max (600)"),
     ({"similarity__clusters__min": 9}, "similarity.clusters.min", "min (9) is above max (8)"),
     ({"qc__min_mean_coverage": 40}, "qc.min_mean_coverage", "min_mean_coverage (40) is above warn_mean_coverage (30)")],
)  # fmt: skip
def test_C7_config_range_inverted(tmp_path, capsys, changes, field, what):
    config = _project(tmp_path, [_row(tmp_path)], **changes)
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where=f"field '{field}'", what=what, todo="swap them or correct one")
    assert ", line " in err


def test_C8_cohort_file_whose_name_is_not_an_id(tmp_path, capsys):
    folder = tmp_path / "cohorts"
    folder.mkdir()
    (folder / "KRAS colorectal (2024).sql").write_text("SELECT patient FROM patients\n")
    config = _project(tmp_path, [_row(tmp_path)], cohorts__sql_dir=str(folder), clinical="")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=folder / "KRAS colorectal (2024).sql", where="field 'cohorts.sql_dir'",
                 what="the cohort name 'KRAS colorectal (2024)' (the file name without .sql) is not an ID",
                 todo="e.g. kras_colorectal.sql")  # fmt: skip


def test_config_edge_values_that_are_fine(tmp_path, capsys):
    """Equal ends of a range, and a duplicate key in two different mappings, are accepted."""
    config = _project(tmp_path, [_row(tmp_path)], annotation__amplicon_min=600, qc__min_mean_coverage=30, clinical="")
    assert cli(capsys, "validate", "--configfile", config)[0] == 0


# --------------------------------------------------------------------------- reference genome


def test_G1_plain_gzip_fasta_with_an_fai(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)])
    plain = tmp_path / "ref.fa"
    with gzip.open(tmp_path / "ref.fa.gz", "wb") as fh:  # gzip, not bgzip
        fh.write(plain.read_bytes())
    shutil.copy(f"{plain}.fai", tmp_path / "ref.fa.gz.fai")
    text = config.read_text().replace(str(plain), str(plain) + ".gz")
    config.write_text(text)
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where=f"line {_line_of(config, 'fasta:')}, field 'reference.fasta'",
                 what="is compressed with plain gzip; htslib (samtools, pysam) reads only bgzip",
                 todo=f"bgzip {plain} && samtools faidx {plain}.gz")  # fmt: skip


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "bgzip"])
def test_G2_fasta_with_a_contig_twice(tmp_path, capsys, compress):
    config = _project(tmp_path, [_row(tmp_path)])
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">chr1\n{SEQ}\n>chr2\nACGTACGT\n>chr1 a second copy\n{SEQ[::-1]}\n")
    if compress:
        pysam.tabix_compress(str(fasta), f"{fasta}.gz")
        config.write_text(config.read_text().replace(str(fasta), f"{fasta}.gz"))
        fasta = Path(f"{fasta}.gz")
    pysam.faidx(str(fasta))  # samtools keeps the first chr1 and only warns
    assert Path(f"{fasta}.fai").read_text().count("chr1\t") == 1
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=config, where="field 'reference.fasta'", what="holds a second record named 'chr1' "
                 "(after its last indexed record); samtools faidx keeps only the first", todo="one record")  # fmt: skip


def _transcript_gff3(path: Path, first_cds_end: int) -> Path:
    rows = [("gene", 11, 320, ".", "ID=gene:G1;Name=GENE1;biotype=protein_coding"),
            ("mRNA", 11, 320, ".", "ID=transcript:T1;Parent=gene:G1;Name=GENE1-201;biotype=protein_coding"),
            ("exon", 11, 130, ".", "Parent=transcript:T1"), ("CDS", 11, first_cds_end, "0", "Parent=transcript:T1"),
            ("exon", 141, 320, ".", "Parent=transcript:T1"), ("CDS", 141, 320, "0", "Parent=transcript:T1")]  # fmt: skip
    path.write_text(
        "##gff-version 3\n" + "".join(f"chr1\tt\t{k}\t{s}\t{e}\t.\t+\t{p}\t{a}\n" for k, s, e, p, a in rows)
    )
    return path


def test_G3_gff3_cds_that_csq_refuses(tmp_path):
    seq = "C" * 10 + "ATG" + "GCT" * 100 + "TAA" + "C" * 50
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">chr1\n{seq}\n")
    pysam.faidx(str(fasta))
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n" f"##contig=<ID=chr1,length={len(seq)}>\n"
                   '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                   f"chr1\t160\t.\t{seq[159]}\tA\t50\tPASS\t.\tGT\t0/1\n")  # fmt: skip
    out = tmp_path / "results"

    def csq(gff3: Path) -> tuple[int, str]:
        return run_script(
            "bcftools_csq", tmp_path, input={"vcf": str(vcf), "fasta": str(fasta), "gff3": str(gff3), "clinvar": ""},
            output={"vcf": str(out / "S1.csq.vcf.gz"), "tbi": str(out / "S1.csq.vcf.gz.tbi"),
                    "table": str(out / "S1.consequences.tsv"), "versions": str(out / "versions.json")},
            wildcards={"sample": "S1"},
        )  # fmt: skip

    code, _ = csq(_transcript_gff3(tmp_path / "good.gff3", 130))  # the same transcript, intact: a missense
    assert code == 0 and "\tmissense\t" in (out / "S1.consequences.tsv").read_text()
    shutil.rmtree(out)
    # the first CDS one base short: with --force, csq called this coding variant "intron"
    gff3 = _transcript_gff3(tmp_path / "bad.gff3", 129)
    code, log = csq(gff3)
    assert code != 0
    assert_nothing_left(out)
    assert_clear(log, file=gff3, where="seq2rx: input error: ", what="bcftools csq refuses the gene models: GFF3 "
                 "assumption failed for transcript T1, CDS=141: phase!=len%3", todo="does not run csq with --force")  # fmt: skip


# --------------------------------------------------------------------------- filesystem


FULL_DISK = """
import errno, os
def _refuse(src, dst, *args, **kwargs):
    raise OSError(errno.{code}, os.strerror(errno.{code}), src, None, dst)
os.replace = _refuse
"""


@pytest.mark.parametrize(("case", "code", "what"), [("F1", "ENOSPC", "No space left on device"),
                                                    ("F2", "EROFS", "the file system is read-only")])  # fmt: skip
def test_F1_F2_disk_full_or_read_only_in_a_workflow_step(tmp_path, monkeypatch, case, code, what):
    """A step whose output cannot be written (the rename that completes it fails) ends its log
    with one line naming the output and the reason."""
    monkeypatch.setattr(sys.modules[__name__], "RUNNER", FULL_DISK.format(code=code) + RUNNER)
    bed = tmp_path / "targets.bed"
    bed.write_text("chr1\t0\t100\n")
    out = tmp_path / "results"
    code_, log = run_script("qc_targets", tmp_path, input={"targets": str(bed), "islands_map": ""},
                            output={"bed": str(out / "targets.bed")})  # fmt: skip
    assert code_ != 0
    assert f"seq2rx: output error: cannot write {out / 'targets.bed'}: {what}" in log
    assert_nothing_left(out)


def test_F1_disk_full_on_the_command_line(tmp_path, capsys, monkeypatch):
    import errno
    import os

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", full)
    out = tmp_path / "out" / "S1.pgx.json"
    code, err = cli(capsys, "pgx", "--vcf", _vcf(tmp_path / "in.vcf", [_snv(10)]), "--json", out)
    assert code == 1 and "Traceback" not in err
    assert (
        err == f"seq2rx: error: cannot write {out}: No space left on device (free space there, or run in a "
        "folder on another disk)\n"
    )
    assert_nothing_left(out.parent)


def test_F2_read_only_folder_for_real(tmp_path, capsys):
    """A read-only bind mount (root ignores file modes, so chmod would not do); skipped where
    mounting is not allowed."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode != 0:
        pytest.skip("mount --bind is not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("a read-only remount is not allowed here")
        vcf = _vcf(tmp_path / "in.vcf", [_snv(10)])
        code, err = cli(capsys, "pgx", "--vcf", vcf, "--json", folder / "S1.pgx.json")
        assert code == 1 and "Traceback" not in err
        assert err.startswith(f"seq2rx: error: cannot write {folder}") and "read-only" in err
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


# --------------------------------------------------------------------------- VCF from the sample sheet


def _vcf(path: Path, rows: list[str], contig: str = "chr1", length: int = len(SEQ), samples=("S1",),
         gt: bool = True) -> Path:  # fmt: skip
    head = ["##fileformat=VCFv4.2", f"##contig=<ID={contig},length={length}>"]
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if gt:
        head.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
        columns += "\tFORMAT\t" + "\t".join(samples)
    path.write_text("\n".join([*head, columns, *rows]) + "\n")
    return path


def _snv(pos: int, contig: str = "chr1", ref: str | None = None, n: int = 1) -> str:
    base = ref or SEQ[pos - 1]
    alt = "C" if base != "C" else "G"
    return f"{contig}\t{pos}\t.\t{base}\t{alt}\t50\tPASS\t.\tGT" + "\t0/1" * n


def _norm(work: Path, vcf: Path, build: str = "GRCh38") -> str:
    ref = write_reference(work, "chr1", SEQ)
    out = work / "results"
    out.mkdir()
    code, log = run_script(
        "bcftools_norm_input",
        work,
        input={"vcf": str(vcf), "fasta": str(ref)},
        output={"vcf": str(out / "S1.vcf.gz"), "versions": str(out / "versions.json")},
        params={"build": build},
        wildcards={"sample": "S1"},
    )
    assert code != 0
    assert_nothing_left(out)
    return log


def test_V1_vcf_contig_names_chr1_vs_1(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10, contig="1")], contig="1")
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 5, field 'CHROM'", what="uses contig name '1' where the reference has 'chr1'",
                 todo="bcftools annotate --rename-chrs")  # fmt: skip


def test_V2_vcf_from_the_other_build_by_reference_alleles(tmp_path):
    rows = [_snv(p, ref="T" if SEQ[p - 1] != "T" else "A") for p in range(3, 60, 5)]
    vcf = _vcf(tmp_path / "in.vcf", rows)
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="field 'REF'", what="REF disagrees with the reference at 12 of 12 positions "
                 "(first: line 5, chr1:3 REF A but the reference has T)", todo="lift the VCF over to GRCh38")  # fmt: skip


def test_V3_vcf_from_the_other_build_by_contig_length(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10)], length=249250621)  # GRCh37's chr1
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 2, field '##contig'", what="chr1 has length 249250621, the GRCh37 length",
                 todo="lift the VCF over to GRCh38")  # fmt: skip


def test_V4_vcf_without_gt(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", ["chr1\t10\t.\tC\tG\t50\tPASS\t."], gt=False)
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 3, field 'FORMAT/GT'", what="has no genotypes",
                 todo="give the VCF with its sample genotype columns")  # fmt: skip


def test_V5_empty_vcf(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [])
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 4", what="holds no variant records",
                 todo="check that the caller finished")  # fmt: skip


def test_V6_multi_sample_vcf_without_the_sheets_sample(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10, n=2)], samples=("A", "B"))
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 4, field '#CHROM'", what="has sample columns ['A', 'B'] but none is "
                 "called 'S1'", todo="add a vcf_sample column to the sample sheet naming this row's column, e.g. A")  # fmt: skip
    assert "bcftools view" not in log  # pip's install has no bcftools command


def _vcf_lines(path: Path, head: list[str], rows: list[str], samples=("S1",)) -> Path:
    """A VCF with exactly these header lines (GT declared) and rows."""
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID=chr1,length={len(SEQ)}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">', *head,
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples), *rows]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_V7_vcf_record_past_its_contigs_end(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10), f"chr1\t{len(SEQ) + 5}\t.\tA\tC\t50\tPASS\t.\tGT\t0/1"])
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 6, field 'POS'", what=f"past the end of chr1 ({len(SEQ)} bp in ref.fa)",
                 todo="call it again against the configured reference")  # fmt: skip


def test_V8_vcf_with_few_records_and_a_wrong_ref(tmp_path):
    wrong = "T" if SEQ[29] != "T" else "A"
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10), _snv(30, ref=wrong)])
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="field 'REF'", what=f"REF disagrees with the reference at 1 of 2 positions "
                 f"(first: line 6, chr1:30 REF {wrong} but the reference has {SEQ[29]}); with fewer than 20 records "
                 "every REF must match", todo="lift the VCF over to GRCh38")  # fmt: skip


def test_V9_vcf_with_an_undeclared_info_tag(tmp_path):
    # a tag whose numbers seq2rx reads (INFO/DP) stops; a caller's own flag is only warned about
    vcf = _vcf(tmp_path / "in.vcf", [_snv(10).replace("\tPASS\t.\t", "\tPASS\tDP=30\t")])
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 5, field 'INFO/DP'",
                 what="INFO tag 'DP' at chr1:10 is not declared in the header",
                 todo="add a header line above #CHROM, e.g. ##INFO=<ID=DP,")  # fmt: skip


def test_V10_vcf_with_an_undeclared_format_tag(tmp_path):
    vcf = _vcf_lines(tmp_path / "in.vcf", [], [f"chr1\t10\t.\t{SEQ[9]}\tC\t50\tPASS\t.\tGT:AD\t0/1:4,5"])
    log = _norm(tmp_path, vcf)
    assert_clear(log, file=vcf, where="line 5, field 'FORMAT/AD'", what="FORMAT tag 'AD' at chr1:10 is not declared",
                 todo="##FORMAT=<ID=AD,")  # fmt: skip


VCF_HEADER = "sample\tpatient\ttype\tvcf\tvcf_sample\tsex\ttumor_type"


def _vcf_project(tmp_path: Path, cell: str) -> tuple[Path, Path]:
    """A project whose one row starts from a two-column VCF (NORMAL, TUMOR); returns (config, vcf)."""
    vcf = _vcf(tmp_path / "pair.vcf", [_snv(10, n=2)], samples=("NORMAL", "TUMOR"))
    config = _project(tmp_path, [])
    row = f"T1\tP1\ttumor\t{vcf}\t{cell}\tfemale\tLUAD"
    (tmp_path / "samples.tsv").write_text("\n".join([VCF_HEADER, row]) + "\n")
    return config, vcf


def test_V11_vcf_sample_not_a_column_of_the_vcf(tmp_path, capsys):
    config, vcf = _vcf_project(tmp_path, "TUMOUR")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'vcf_sample'",
                 what=f"sample 'T1': {vcf}, line 4, field '#CHROM': has no sample column 'TUMOUR'",
                 todo="set the sheet's vcf_sample cell to one of those column names")  # fmt: skip
    assert "NORMAL, TUMOR" in err


def test_V12_multi_sample_vcf_not_matching_the_sheet_caught_by_validate(tmp_path, capsys):
    config, vcf = _vcf_project(tmp_path, "")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'vcf'",
                 what="has sample columns ['NORMAL', 'TUMOR'] but none is called 'T1'",
                 todo="add a vcf_sample column to the sample sheet naming this row's column, e.g. NORMAL")  # fmt: skip
    assert "bcftools" not in err
    # with vcf_sample the same sheet is valid
    (tmp_path / "samples.tsv").write_text(
        (tmp_path / "samples.tsv").read_text().replace("\t\tfemale", "\tTUMOR\tfemale")
    )
    assert main(["validate", "--configfile", str(config)]) == 0


def test_V13_vcf_sample_on_a_row_without_vcf(tmp_path, capsys):
    config = _project(tmp_path, [])
    (tmp_path / "samples.tsv").write_text("\n".join([HEADER + "\tvcf_sample", _row(tmp_path) + "\tTUMOR"]) + "\n")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'vcf_sample'",
                 what="vcf_sample names a column of the row's VCF, but this row has no vcf",
                 todo="leave vcf_sample empty on rows that start from reads or a BAM")  # fmt: skip


def test_V14_unsorted_vcf_is_sorted_with_a_warning(tmp_path):
    vcf = _vcf(tmp_path / "in.vcf", [_snv(30), _snv(10), _snv(50)])
    ref = write_reference(tmp_path, "chr1", SEQ)
    out = tmp_path / "results"
    code, log = run_script(
        "bcftools_norm_input", tmp_path, input={"vcf": str(vcf), "fasta": str(ref)},
        output={"vcf": str(out / "S1.vcf.gz"), "versions": str(out / "versions.json")},
        params={"build": "GRCh38"}, wildcards={"sample": "S1"},
    )  # fmt: skip
    assert code == 0, log
    note = "the supplied VCF in.vcf was not sorted by position (first out of order: line 6); seq2rx sorted it"
    assert f"seq2rx: warning: {note}" in log
    with pysam.VariantFile(str(out / "S1.vcf.gz")) as fh:
        assert [r.pos for r in fh] == [10, 30, 50]
    from seq2rx.findings.document import calls_method
    from seq2rx.variants.inputs import input_notes

    assert input_notes(out / "S1.vcf.gz") == [note]
    method = calls_method({"stage": "vcf", "vcf": str(vcf)}, {}, None, input_notes(out / "S1.vcf.gz"))
    assert method["text"] == f"from the supplied VCF (in.vcf); not called by seq2rx; {note}"


# --------------------------------------------------------------------------- PGx on a VCF from elsewhere

#: CYP2C19's *2 position (rs4244285) and VKORC1 rs9923231, GRCh38
PGX_ROWS = ("chr10\t94781859\trs4244285\tG\tA\t50\t{filt}\t.\tGT:AD\t{gt}",
            "chr16\t31096368\trs9923231\tC\tT\t50\tPASS\t.\tGT:AD\t0/1:15,15")  # fmt: skip


def _pgx_vcf(path: Path, filt: str = "PASS", gt: str = "0/1:12,14") -> Path:
    head = ["##fileformat=VCFv4.2", '##FILTER=<ID=WeakSomatic,Description="weak somatic evidence">',
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allele depths">',
            "##contig=<ID=chr10,length=133797422>", "##contig=<ID=chr16,length=90338345>",
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR"]  # fmt: skip
    path.write_text("\n".join([*head, PGX_ROWS[0].format(filt=filt, gt=gt), PGX_ROWS[1]]) + "\n")
    return path


def _pgx(capsys, vcf: Path, *extra: str) -> dict:
    out = vcf.with_suffix(".json")
    code, err = cli(capsys, "pgx", "--vcf", vcf, "--json", out, *extra)
    assert code == 0, err
    return json.loads(out.read_text())


def test_P1_pgx_vcf_with_a_filter_failed_record_at_a_definition_position(tmp_path, capsys):
    vcf = _pgx_vcf(tmp_path / "t.vcf", filt="WeakSomatic")
    r = _pgx(capsys, vcf)["genes"]["CYP2C19"]
    assert (
        "chr10:94781859: FILTER WeakSomatic (not one of PASS); not used, position treated as missing" in r["warnings"]
    )
    assert any(m.startswith("chr10:94781859 (rs4244285): FILTER WeakSomatic") for m in r["missing_positions"])
    kept = _pgx(capsys, vcf, "--filters", "PASS", "WeakSomatic")
    assert not any(m.startswith("chr10:94781859 ") for m in kept["genes"]["CYP2C19"]["missing_positions"])
    assert kept["vcf_reading"]["filters"] == ["PASS", "WeakSomatic"]


def test_P2_pgx_vcf_genotype_that_contradicts_its_own_allele_depths(tmp_path, capsys):
    vcf = _pgx_vcf(tmp_path / "t.vcf", gt="0/1:0,25")  # heterozygous, yet every read carries the ALT
    r = _pgx(capsys, vcf)["genes"]["CYP2C19"]
    assert ("chr10:94781859: genotype 0/1 contradicts the sample's own AD 0,25; not used, position treated as "
            "missing") in r["warnings"]  # fmt: skip
    assert any(m.startswith("chr10:94781859 (rs4244285): genotype 0/1 contradicts") for m in r["missing_positions"])


def test_P3_config_pgx_vcf_filters_not_a_list_of_filter_names(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)], pgx__vcf_filters=[])
    err = _validate(capsys, tmp_path, config)
    line = next(
        n for n, text in enumerate(config.read_text().splitlines(), 1) if text.strip().startswith("vcf_filters:")
    )
    assert_clear(err, file=config, where=f"line {line}, field 'pgx.vcf_filters'",
                 what="must be a list of FILTER names", todo="e.g. [PASS] or [PASS, LowDepth]")  # fmt: skip


# --------------------------------------------------------------------------- BAM from the sample sheet


def _bam(path: Path, contig: str, length: int) -> Path:
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": contig, "LN": length}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as fh:
        rec = pysam.AlignedSegment(fh.header)
        rec.query_name, rec.query_sequence, rec.flag = "r1", SEQ[:20], 0
        rec.reference_id, rec.reference_start, rec.mapping_quality = 0, 0, 60
        rec.cigarstring, rec.query_qualities = "20M", pysam.qualitystring_to_array("I" * 20)
        fh.write(rec)
    pysam.index(str(path))
    return path


def _call(work: Path, bam: Path) -> str:
    ref = write_reference(work, "chr1", SEQ)
    out = work / "results"
    out.mkdir()
    code, log = run_script(
        "bcftools_call",
        work,
        input={"bam": str(bam), "bai": str(bam) + ".bai", "fasta": str(ref)},
        output={"vcf": str(out / "S1.vcf.gz"), "tbi": str(out / "S1.vcf.gz.tbi"), "versions": str(out / "v.json")},
        params={"calling": {"min_mapq": 20, "min_baseq": 13, "max_depth": 1000, "min_qual": 20, "min_depth": 1},
                "samples": ["S1"]},
    )  # fmt: skip
    assert code != 0
    assert_nothing_left(out)
    return log


def test_B1_bam_aligned_to_a_different_reference(tmp_path):
    bam = _bam(tmp_path / "in.bam", "chr1", 248956422)
    log = _call(tmp_path, bam)
    assert_clear(log, file=bam, where="line 2, field '@SQ LN'", what=f"has length 248956422 but {tmp_path}/ref.fa says "
                 f"{len(SEQ)}", todo="align the reads again to")  # fmt: skip


def test_B2_bam_with_other_contig_naming(tmp_path):
    bam = _bam(tmp_path / "in.bam", "1", len(SEQ))
    log = _call(tmp_path, bam)
    assert_clear(log, file=bam, where="line 2, field '@SQ SN'", what="the reference names it 'chr1'",
                 todo="configure the reference the BAM was aligned to")  # fmt: skip


# --------------------------------------------------------------------------- clinical table

CLINICAL = (
    "patient\tage\tecog\tstage\tegfr\tdiagnosis_date\tmedications\ttreatment\tresponse\ttime_months\tevent\tnotes",
    "P1\t64\t1\tIII\t72.5\t2024-03-07\tclopidogrel;simvastatin\ttargeted\t1\t14.2\t0\tpartial response",
    "P2\tNA\t\tIV\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t",
)


def _clinical(tmp_path: Path, line: int | None = None, column: str | None = None, value: str | None = None) -> Path:
    """The good table above with one cell replaced (``line`` counts the header as 1)."""
    rows = [r.split("\t") for r in CLINICAL]
    if line is not None:
        rows[line - 1][rows[0].index(column)] = value
    path = tmp_path / "clinical.tsv"
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return path


def test_the_good_clinical_table_is_read_with_types(tmp_path):
    df = read_clinical(_clinical(tmp_path), patients=["P1", "P2", "P3"])
    assert list(df["patient"]) == ["P1", "P2"]
    p1, p2 = df.iloc[0], df.iloc[1]
    assert (p1["age"], p1["ecog"], p1["stage"], p1["egfr"]) == (64, 1, "III", 72.5)
    assert str(p1["diagnosis_date"].date()) == "2024-03-07" and p1["medications"] == "clopidogrel;simvastatin"
    assert (p1["treatment"], p1["response"], p1["time_months"], p1["event"]) == ("targeted", 1, 14.2, 0)
    assert p2[["age", "ecog", "egfr", "treatment", "response", "event"]].isna().all()
    assert list(df["stage"].cat.categories) == ["I", "II", "III", "IV"] and df["stage"].cat.ordered
    assert str(df["age"].dtype) == "Int64" and str(df["diagnosis_date"].dtype).startswith("datetime64")


def _clinical_error(path: Path, patients=None) -> str:
    with pytest.raises(InputError) as err:
        read_clinical(path, patients=patients)
    return str(err.value)


def test_K1_clinical_unknown_stage(tmp_path):
    path = _clinical(tmp_path, 3, "stage", "V")
    assert_clear(_clinical_error(path), file=path, where="line 3, field 'stage'", what="patient 'P2': 'V' is not a "
                 "known stage", todo="write one of I, II, III, IV, or NA")  # fmt: skip


def test_K2_clinical_unknown_treatment(tmp_path):
    path = _clinical(tmp_path, 2, "treatment", "immunotherapy")
    assert_clear(_clinical_error(path), file=path, where="line 2, field 'treatment'", what="'immunotherapy' is not a "
                 "known treatment", todo="write one of chemotherapy, targeted")  # fmt: skip


def test_K3_clinical_time_without_event(tmp_path):
    path = _clinical(tmp_path, 2, "event", "NA")
    assert_clear(_clinical_error(path), file=path, where="line 2, field 'event'", what="time_months is given but "
                 "event is missing", todo="censored (0)")  # fmt: skip


def test_K4_clinical_outcome_without_treatment(tmp_path):
    path = _clinical(tmp_path, 3, "response", "1")
    assert_clear(_clinical_error(path), file=path, where="line 3, field 'treatment'", what="response is given but "
                 "treatment is missing", todo="an outcome belongs to a treatment")  # fmt: skip


def test_K5_clinical_outcome_column_missing(tmp_path):
    path = tmp_path / "clinical.tsv"
    path.write_text("\n".join("\t".join(r.split("\t")[:8] + r.split("\t")[11:]) for r in CLINICAL) + "\n")
    assert_clear(_clinical_error(path), file=path, where="line 1, field 'response'", what="the header lacks "
                 "column(s) response, time_months, event", todo="leave unknown values as NA")  # fmt: skip


def test_K6_clinical_patient_not_in_the_sheet(tmp_path):
    path = _clinical(tmp_path)
    assert_clear(_clinical_error(path, patients=["P1", "P3"]), file=path, where="line 3, field 'patient'",
                 what="patient 'P2' is not in the sample sheet", todo="remove the row")  # fmt: skip


def test_K7_clinical_impossible_date(tmp_path):
    path = _clinical(tmp_path, 2, "diagnosis_date", "2024-02-30")
    assert_clear(_clinical_error(path), file=path, where="line 2, field 'diagnosis_date'",
                 what="'2024-02-30' is not a calendar date", todo="YYYY-MM-DD")  # fmt: skip


def test_K8_clinical_responder_without_time_to_respond(tmp_path):
    # P1 responded (response 1); 0 months to progression leaves no time for the assessment that saw it
    path = _clinical(tmp_path, 2, "time_months", "0")
    assert_clear(_clinical_error(path), file=path, where="line 2, field 'time_months'",
                 what="patient 'P1': response is 1 but time_months is 0", todo="write response 0")  # fmt: skip
    path = _clinical(tmp_path, 2, "time_months", "0.9")  # under a month is too short as well
    assert "time_months is 0.9" in _clinical_error(path)
    path = _clinical(tmp_path, 2, "time_months", "1")  # a month is enough
    assert read_clinical(path).loc[0, "time_months"] == 1.0


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [("age", "121", "121 is out of range"), ("age", "6O", "'6O' is not a whole number"),
     ("ecog", "5", "5 is out of range"), ("egfr", "-1", "'-1' is out of range"), ("egfr", "nan", "out of range"),
     ("response", "yes", "'yes' is not 0 or 1"), ("medications", "Clopidogrel", "not a drug name in lower case"),
     ("patient", "../P1", "is not a patient ID")],
)  # fmt: skip
def test_clinical_cells_are_checked_by_type(tmp_path, column, value, what):
    path = _clinical(tmp_path, 2, column, value)
    assert_clear(_clinical_error(path), file=path, where=f"line 2, field '{column}'", what=what, todo="")


def test_clinical_table_shape_errors(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text(CLINICAL[0] + "\tsmoker\n")
    assert "field 'smoker': unknown column 'smoker'" in _clinical_error(path)
    path.write_text(CLINICAL[0] + "\n" + CLINICAL[1] + "\n" + CLINICAL[1] + "\n")
    assert "line 3, field 'patient': patient 'P1' appears twice (first on line 2)" in _clinical_error(path)
    path.write_text(CLINICAL[0] + "\nP1\t64\n")
    assert "line 2: has 2 cells but the header has 12 columns" in _clinical_error(path)
    path.write_text(CLINICAL[0] + "\n")
    assert "has a header but no patients" in _clinical_error(path)


# --------------------------------------------------------------------------- knowledge bases


def _copy_kb(tmp_path: Path, name: str) -> Path:
    kb = tmp_path / name
    shutil.copytree(REPO / "resources/kb" / name, kb)
    return kb


def _edit_row(path: Path, line: int, column: str, value: str) -> None:
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    cells = lines[line - 1].split("\t")
    cells[header.index(column)] = value
    lines[line - 1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")


def test_D1_actionability_row_fails_its_schema(tmp_path, capsys):
    kb = _copy_kb(tmp_path, "actionability")
    _edit_row(kb / "biomarkers.tsv", 5, "evidence", "anecdote")
    vcf = _vcf(tmp_path / "t.vcf", [_snv(10)])
    out = tmp_path / "out"
    code, err = cli(capsys, "actionable", "--vcf", vcf, "--build", "GRCh38", "--tumor-type", "LUAD",
                    "--tsv", out / "t.tsv", "--json", out / "t.json", "--kb", kb)  # fmt: skip
    assert code == 2
    assert_nothing_left(out)
    assert_clear(err, file=kb / "biomarkers.tsv", where="line 5, field 'evidence'",
                 what="'anecdote' is not allowed; must be one of FDA-approved", todo="correct the row")  # fmt: skip


def test_D2_pgx_definition_row_fails_its_schema(tmp_path, capsys):
    kb = _copy_kb(tmp_path, "pgx")
    _edit_row(kb / "allele_definitions.tsv", 3, "pos", "88131l71")
    vcf = _vcf(tmp_path / "p.vcf", [_snv(10)])
    out = tmp_path / "out"
    code, err = cli(capsys, "pgx", "--vcf", vcf, "--json", out / "p.json", "--kb", kb)
    assert code == 2
    assert_nothing_left(out)
    assert_clear(err, file=kb / "allele_definitions.tsv", where="line 3, field 'pos'",
                 what="pos must be an integer, got '88131l71'", todo="seq2rx pgx import-definitions")  # fmt: skip


def test_D3_outside_call_that_is_not_a_diplotype(tmp_path, capsys):
    outside = tmp_path / "outside.tsv"
    outside.write_text("CYP2D6\t*1/*4\nHLA-B\t*57:01+*07:02\n")
    vcf = _vcf(tmp_path / "p.vcf", [_snv(10)])
    out = tmp_path / "out"
    code, err = cli(capsys, "pgx", "--vcf", vcf, "--json", out / "p.json", "--outside-calls", outside)
    assert code == 2
    assert_nothing_left(out)
    assert_clear(err, file=outside, where="line 2, field 'diplotype'", what="'*57:01+*07:02' is not ALLELE/ALLELE",
                 todo="e.g. *1/*4")  # fmt: skip


def test_D4_outside_mt_rnr1_call_that_is_not_one_cpic_variant(tmp_path, capsys):
    vcf = _vcf(tmp_path / "p.vcf", [_snv(10)])
    outside, out = tmp_path / "outside.tsv", tmp_path / "out"
    for written, what in [("m.1555A>G/m.1555A>G", "MT-RNR1 is mitochondrial (one allele)"),
                          ("m.1555A>G 80%", "'m.1555A>G 80%' is not an MT-RNR1 variant seq2rx knows")]:  # fmt: skip
        outside.write_text(f"CYP2D6\t*1/*4\nMT-RNR1\t{written}\n")
        code, err = cli(capsys, "pgx", "--vcf", vcf, "--json", out / "p.json", "--outside-calls", outside)
        assert code == 2 and "Traceback" not in err
        assert_nothing_left(out)
        assert_clear(err, file=outside, where="line 2, field 'diplotype'", what=what,
                     todo="without a heteroplasmy level")  # fmt: skip


# --------------------------------------------------------------------------- other callers' tumour files


def _actionable(capsys, tmp_path: Path, option: str, path: Path | str, *more: str, build: str = "GRCh38") -> str:
    vcf = _vcf(tmp_path / "t.vcf", [_snv(10)])
    out = tmp_path / "out"
    code, err = cli(capsys, "actionable", "--vcf", vcf, "--build", build, "--tumor-type", "BRCA",
                    "--tsv", out / "t.tsv", "--json", out / "t.json", option, path, *more)  # fmt: skip
    assert code == 2
    assert_nothing_left(out)
    return err


def test_A1_copy_number_segments_with_a_fractional_copy_number(tmp_path, capsys):
    cna = tmp_path / "t.cna.tsv"
    cna.write_text("Chromosome\tStart\tEnd\tnMajor\tnMinor\n17\t39600010\t40000000\t8.6\t1\n")
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 2, field 'nMajor'",
                 what="'8.6' is not a whole number", todo="round a caller's fractional copy numbers")  # fmt: skip


def test_A2_fusion_file_with_a_breakpoint_that_is_not_chrom_pos(tmp_path, capsys):
    fusions = tmp_path / "t.fusions.tsv"
    fusions.write_text("FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads\n"
                       "EML4--ALK\t2:42295554\t2p23\t100\n")  # fmt: skip
    assert_clear(_actionable(capsys, tmp_path, "--fusions", fusions), file=fusions,
                 where="line 2, field 'RightBreakpoint'", what="'2p23' is not chrom:position",
                 todo="e.g. 2:29223528")  # fmt: skip


SEGMENTS = "Chromosome\tStart\tEnd\tnMajor\tnMinor\n"
FUSIONS = "FusionGene\tLeftBreakpoint\tRightBreakpoint\tSplitReads\n"


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_A3_copy_number_segments_with_another_formats_header(tmp_path, capsys):
    cna = _file(tmp_path, "t.cns", "chromosome\tstart\tend\tgene\tlog2\tcn\n17\t39600010\t40000000\tERBB2\t2.1\t9\n")
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 1",
                 what="the header lacks column(s) Chromosome, Start, End, nMajor, nMinor; it has 'chromosome', "
                 "'start', 'end', 'gene', 'log2', 'cn' (column names are case-sensitive: 'chromosome' for "
                 "'Chromosome'", todo="give PCGR's segment format")  # fmt: skip


def test_A4_copy_number_segments_with_a_header_and_no_segments(tmp_path, capsys):
    # PCGR refuses such a file too: a caller's segments cover the genome, neutral ones included
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS)
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 1",
                 what="holds no segments (only a header)",
                 todo="leave the file out and copy number is reported as not assessed")  # fmt: skip


def test_A5_copy_number_segment_on_a_chromosome_the_build_lacks(tmp_path, capsys):
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS + "17\t39600010\t40000000\t8\t1\n23\t1000\t2000\t1\t0\n")
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 3, field 'Chromosome'",
                 what="'23' is not a chromosome of GRCh38 (1-22, X, Y, MT)", todo="write X for 23")  # fmt: skip
    alt = _file(tmp_path, "alt.cna.tsv", SEGMENTS + "chr1_KI270706v1_random\t1\t100\t1\t1\n")
    assert_clear(_actionable(capsys, tmp_path, "--cna", alt), file=alt, where="line 2, field 'Chromosome'",
                 what="'chr1_KI270706v1_random' is not a chromosome", todo="leave out rows on unplaced")  # fmt: skip


def test_A6_copy_number_segment_past_the_chromosome_end_on_the_build(tmp_path, capsys):
    # chromosome 17 is 81,195,210 bases on GRCh37 and 83,257,441 on GRCh38: a GRCh38 file read as GRCh37
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS + "chr17\t82000000\t83000000\t1\t1\n")
    err = _actionable(capsys, tmp_path, "--cna", cna, build="GRCh37")
    assert_clear(err, file=cna, where="line 2, field 'Start'", what="Start 82000000 is past the end of chromosome "
                 "17 on GRCh37 (81195210 bp); it fits GRCh38: is the file on GRCh38?",
                 todo="give positions on GRCh37 (the build given with --build")  # fmt: skip


def test_A7_copy_number_segments_that_overlap(tmp_path, capsys):
    rows = "17\t39600010\t40000000\t8\t1\n9\t1\t1000\t1\t1\n17\t39700000\t39800000\t0\t0\n"
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS + rows)
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 4, field 'Start'",
                 what="the segment 17:39700000-39800000 overlaps 17:39600010-40000000 on line 2",
                 todo="keep that sample's rows")  # fmt: skip
    zero = _file(tmp_path, "z.cna.tsv", SEGMENTS + "17\t1\t1000\t1\t1\n17\t1000\t2000\t1\t1\n")
    assert "add 1 to each Start" in _actionable(capsys, tmp_path, "--cna", zero)  # 0-based starts
    # named in the sample sheet, the same file stops the run before any job (seq2rx validate, snakemake)
    config = _project(tmp_path, [])
    header, row = _tumour_row(tmp_path, "tumor", "cna", str(cna))
    (tmp_path / "samples.tsv").write_text(f"{header}\n{row}\n")
    assert f"{cna}, line 4, field 'Start': the segment 17:39700000-39800000 overlaps" in (
        _validate(capsys, tmp_path, config))  # fmt: skip


def test_A8_fusion_file_with_another_formats_header(tmp_path, capsys):
    star = _file(tmp_path, "star-fusion.tsv", "#FusionName\tJunctionReadCount\tSpanningFragCount\tLeftBreakpoint\t"
                 "RightBreakpoint\nEML4--ALK\t12\t4\tchr2:42295554:+\tchr2:29223528:-\n")  # fmt: skip
    assert_clear(_actionable(capsys, tmp_path, "--fusions", star), file=star, where="line 1",
                 what="the header lacks column(s) FusionGene, SplitReads; it has '#FusionName'",
                 todo="give PCGR's fusion format")  # fmt: skip


def test_A9_fusion_file_with_negative_split_reads(tmp_path, capsys):
    fusions = _file(tmp_path, "t.fusions.tsv", FUSIONS + "EML4--ALK\t2:42295554\t2:29223528\t-5\n")
    assert_clear(_actionable(capsys, tmp_path, "--fusions", fusions), file=fusions, where="line 2, field 'SplitReads'",
                 what="-5 split reads is negative", todo="0 or more")  # fmt: skip


def test_A10_fusion_breakpoint_on_a_contig_the_build_lacks(tmp_path, capsys):
    fusions = _file(tmp_path, "t.fusions.tsv", FUSIONS + "EML4--ALK\t2:42295554\tchrUn_KI270742v1:5000\t9\n")
    assert_clear(_actionable(capsys, tmp_path, "--fusions", fusions), file=fusions,
                 where="line 2, field 'RightBreakpoint'", what="'chrUn_KI270742v1' is not a chromosome of GRCh38",
                 todo="leave out rows on unplaced, alternate and decoy contigs")  # fmt: skip
    plink = _file(tmp_path, "p.fusions.tsv", FUSIONS + "EML4--ALK\t2:42295554\t23:29223528\t9\n")
    assert "field 'RightBreakpoint': '23' is not a chromosome of GRCh38 (1-22, X, Y, MT) (write X for 23" in (
        _actionable(capsys, tmp_path, "--fusions", plink))  # fmt: skip


def test_A11_msi_status_other_than_msi_h_or_mss(tmp_path, capsys):
    err = _actionable(capsys, tmp_path, "--msi-status", "MSI-L")
    assert_clear(err, file="--msi-status", where="--msi-status", what="'MSI-L' is not one of MSI-H, MSS",
                 todo="give --msi-status MSS")  # fmt: skip
    assert err.startswith("seq2rx: error:") and "usage:" not in err
    assert "give the MSI caller's call: MSI-H (unstable) or MSS" in _actionable(
        capsys, tmp_path, "--msi-status", "high"
    )
    # the case is not a mistake: msi-h is MSI-H
    vcf, out = _vcf(tmp_path / "h.vcf", [_snv(10)]), tmp_path / "ok"
    code, _ = cli(capsys, "actionable", "--vcf", vcf, "--build", "GRCh38", "--tumor-type", "COAD",
                  "--tsv", out / "t.tsv", "--json", out / "t.json", "--msi-status", "msi-h")  # fmt: skip
    assert code == 0 and json.loads((out / "t.json").read_text())["msi"]["status"] == "MSI-H"
    assert cli_module.MSI_STATUSES == MSI_STATUSES  # the command line's list is the knowledge base's


def test_cna_thresholds_on_the_command_line_name_the_option(tmp_path, capsys):
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS + "17\t39600010\t40000000\t8\t1\n")
    err = _actionable(capsys, tmp_path, "--cna", cna, "--cna-amp-copies", "2")
    assert "seq2rx: error: --cna-amp-copies: 2 is not above 2 (an amplification is a gain over the 2 copies" in err
    err = _actionable(capsys, tmp_path, "--cna", cna, "--cna-min-overlap", "50")
    assert "--cna-min-overlap: 50 is not a fraction in (0, 1] (the share of a gene one segment must cover" in err


def test_A12_cna_or_fusions_file_that_does_not_exist(tmp_path, capsys):
    for option in ("--cna", "--fusions"):
        missing = tmp_path / "no" / "t.tsv"
        assert_clear(_actionable(capsys, tmp_path, option, missing), file=missing, where=str(missing),
                     what="does not exist", todo="check the path")  # fmt: skip


def _tumour_row(tmp_path: Path, kind: str, column: str, path: str) -> tuple[str, str]:
    header = HEADER + f"\t{column}"
    return header, f"{_row(tmp_path, sample='T1', kind=kind, tumor='BRCA' if kind == 'tumor' else 'NA')}\t{path}"


def test_A13_sheet_cna_or_fusions_on_a_non_tumour_row(tmp_path, capsys):
    cna = _file(tmp_path, "t.cna.tsv", SEGMENTS + "17\t39600010\t40000000\t8\t1\n")
    config = _project(tmp_path, [])
    header, row = _tumour_row(tmp_path, "germline", "cna", str(cna))
    (tmp_path / "samples.tsv").write_text(f"{header}\n{row}\n")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'cna'",
                 what="cna is another caller's result for a tumour sample; this row is germline",
                 todo="leave the cell empty for normal and germline samples")  # fmt: skip


def test_A14_sheet_cna_or_fusions_file_that_does_not_exist(tmp_path, capsys):
    config = _project(tmp_path, [])
    header, row = _tumour_row(tmp_path, "tumor", "fusions", f"{tmp_path}/T1.fusions.tsv")
    (tmp_path / "samples.tsv").write_text(f"{header}\n{row}\n")
    err = _validate(capsys, tmp_path, config)
    assert_clear(err, file=tmp_path / "samples.tsv", where="line 2, field 'fusions'",
                 what=f"file '{tmp_path}/T1.fusions.tsv' does not exist",
                 todo="relative paths are taken from the directory snakemake runs in")  # fmt: skip


def test_A15_config_copy_number_keys_inconsistent(tmp_path, capsys):
    config = _project(tmp_path, [_row(tmp_path)], copy_number__amplification_min_cn=3, copy_number__ploidy=4)
    err = _validate(capsys, tmp_path, config)
    line = next(k for k, text in enumerate(config.read_text().splitlines(), 1) if "amplification_min_cn" in text)
    assert_clear(err, file=config, where=f"line {line}, field 'copy_number.amplification_min_cn'",
                 what="amplification_min_cn (3) must be above the ploidy (4)",
                 todo="keys named together are checked against each other")  # fmt: skip
    config = _project(tmp_path, [_row(tmp_path)], copy_number__thresholds=[0.7, 0.2, -0.25, -1.1])
    assert "field 'copy_number.thresholds': thresholds must be 4 increasing log2 ratios" in (
        _validate(capsys, tmp_path, config))  # fmt: skip
    config = _project(tmp_path, [_row(tmp_path)], identity__hom_ref_max_af=0.95)
    assert "field 'identity.hom_ref_max_af': hom_ref_max_af (0.95) must be below hom_alt_min_af (0.9)" in (
        _validate(capsys, tmp_path, config))  # fmt: skip


def test_A16_identity_sites_tsv_with_a_bad_row(tmp_path):
    ref = write_reference(tmp_path, "chr1", SEQ)
    bam = _bam(tmp_path / "T1.bam", "chr1", len(SEQ))
    normal = _bam(tmp_path / "N1.bam", "chr1", len(SEQ))
    sites = _file(tmp_path, "sites.tsv", "chrom\tpos\tref\talt\nchr1\t12\tA\tG\nchr1\t1O5\tC\tT\n")
    out = tmp_path / "results"
    code, log = run_script(
        "identity_check",
        tmp_path,
        input={"bam": str(bam), "normal_bam": str(normal), "sites": str(sites), "fasta": str(ref)},
        output={"json": str(out / "T1.json"), "versions": str(out / "v.json")},
        params={"sex": "female", "normal": "N1", "build": "GRCh38", "identity": {}},
        wildcards={"sample": "T1"},
    )
    assert code != 0
    assert_nothing_left(out)
    assert_clear(log, file=sites, where="line 3, field 'pos'", what="'1O5' is not a position",
                 todo="positions are whole numbers from 1")  # fmt: skip


# --------------------------------------------------------------------------- files as they come (X)


def test_X1_a_folder_where_an_input_file_is_wanted(tmp_path, capsys):
    folder = tmp_path / "truth.vcf.gz"
    folder.mkdir()
    code, err = cli(capsys, "compare-vcf", "--truth", folder, "--query", _vcf(tmp_path / "q.vcf", [_snv(10)]))
    assert code == 2 and "Traceback" not in err
    assert_clear(err, file=folder, where=str(folder), what="is a folder where a file is wanted",
                 todo="give the file inside it")  # fmt: skip
    (tmp_path / "work" / "demo").mkdir(parents=True)
    (tmp_path / "work" / "demo" / "targets.bed").mkdir()
    code, log = run_script("qc_targets", tmp_path / "work", input={"islands_map": [], "targets": "demo/targets.bed"},
                           output={"bed": "results/qc/targets.bed"})  # fmt: skip
    assert code == 1
    assert_nothing_left(tmp_path / "work" / "results")
    assert_clear(log, file="demo/targets.bed", where="seq2rx: input error: demo/targets.bed",
                 what="is a folder where a file is wanted", todo="give the file inside it")  # fmt: skip


def test_X2_plain_gzip_vcf(tmp_path, capsys):
    plain = tmp_path / "p.vcf.gz"
    plain.write_bytes(gzip.compress(_vcf(tmp_path / "p.vcf", [_snv(10)]).read_bytes()))
    out = tmp_path / "out"
    code, err = cli(capsys, "pgx", "--vcf", plain, "--json", out / "p.json")
    assert code == 2
    assert_nothing_left(out)
    assert_clear(err, file=plain, where=str(plain), what="is plain gzip, not bgzip",
                 todo="compress it again with bgzip")  # fmt: skip


def test_X3_text_input_that_is_not_utf8(tmp_path, capsys):
    cna = tmp_path / "t.cna.tsv"
    cna.write_bytes("Chromosome\tStart\tEnd\tnMajor\tnMinor\n# Zürich lab\n".encode("latin-1"))
    assert_clear(_actionable(capsys, tmp_path, "--cna", cna), file=cna, where="line 2",
                 what="holds text that is not UTF-8", todo="save it as UTF-8 text")  # fmt: skip


def test_X4_input_file_of_another_format(tmp_path, capsys):
    fastq = tmp_path / "reads.vcf.gz"
    pysam.tabix_compress(str(_fastq(tmp_path / "r.fastq", ["a", "b"])), str(fastq))
    out = tmp_path / "out"
    code, err = cli(capsys, "pgx", "--vcf", fastq, "--json", out / "p.json")
    assert code == 2
    assert_nothing_left(out)
    assert_clear(err, file=fastq, where=str(fastq), what="does not start like a VCF file", todo="is it a VCF file?")


def _outside(tmp_path: Path, capsys, text: str) -> tuple[Path, str]:
    outside = tmp_path / "outside.tsv"
    outside.write_text(text)
    out = tmp_path / "out"
    code, err = cli(capsys, "pgx", "--vcf", _vcf(tmp_path / "p.vcf", [_snv(10)]), "--json", out / "p.json",
                    "--outside-calls", outside)  # fmt: skip
    assert code == 2
    assert_nothing_left(out)
    return outside, err


def test_X5_outside_call_hla_phenotype_outside_the_vocabulary(tmp_path, capsys):
    evil = "<img src=x onerror=alert(1)>"
    outside, err = _outside(tmp_path, capsys, f"CYP2D6\t*1/*4\nHLA-B\t*57:01/*07:02\t{evil}\n")
    assert_clear(err, file=outside, where="line 2, field 'phenotype'", what="is not an HLA-B phenotype",
                 todo="e.g. *57:01 positive or *57:01 negative")  # fmt: skip


def test_X6_outside_call_allele_the_knowledge_base_does_not_list(tmp_path, capsys):
    outside, err = _outside(tmp_path, capsys, "CYP2D6\t*1/*4000\n")
    assert_clear(err, file=outside, where="line 1, field 'diplotype'", what="'*4000' is not a CYP2D6 allele",
                 todo="outside_allele_functions.tsv")  # fmt: skip


def test_X7_cohort_database_that_is_not_one(tmp_path, capsys):
    db = tmp_path / "cohort.duckdb"
    db.write_text("patient\tsample\nP1\tS1\n")
    code, err = cli(capsys, "cohort", "query", "SELECT 1", "--db", db)
    assert code == 2 and "Traceback" not in err
    assert_clear(err, file=db, where=str(db), what="cannot be opened as a DuckDB database",
                 todo="give the cohort.duckdb the workflow wrote")  # fmt: skip


def test_X8_bed_line_that_is_not_bed(tmp_path):
    work = tmp_path / "work"
    (work / "demo").mkdir(parents=True)
    (work / "demo" / "targets.bed").write_text("chr1\t100\t200\tT1\nchr1 300 400 T2\n")
    code, log = run_script("qc_targets", work, input={"islands_map": [], "targets": "demo/targets.bed"},
                           output={"bed": "results/qc/targets.bed"})  # fmt: skip
    assert code == 1
    assert_nothing_left(work / "results")
    assert_clear(log, file="demo/targets.bed", where="line 2", what="is not a BED line", todo="is it a BED file?")


# --------------------------------------------------------------------------- clinical notes (N)


def _notes_extract(capsys, tmp_path: Path, notes: Path, *extra: str) -> str:
    out = tmp_path / "out" / "items.json"
    code, err = cli(capsys, "notes", "extract", "--notes", notes, "--json", out, *extra)
    assert code == 2 and "Traceback" not in err
    assert_nothing_left(tmp_path / "out")
    return err


def _bad_notes_tsv(capsys, tmp_path: Path, content: str, **expected: str) -> None:
    notes = tmp_path / "notes.tsv"
    notes.write_text(content)
    assert_clear(_notes_extract(capsys, tmp_path, notes), file=notes, **expected)


def test_N1_notes_tsv_without_a_date_column(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "patient\ttext\nP1\tECOG 1\n", where="line 1", what="misses the column(s) date",
                   todo="notes are a TSV with the columns patient, date, text")  # fmt: skip


def test_N2_notes_tsv_date_that_is_not_iso(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "patient\tdate\ttext\nP1\t2024-01-02\tECOG 1\nP2\t03/01/2024\tECOG 2\n",
                   where="line 3, field 'date'", what="'03/01/2024' is not a date", todo="write YYYY-MM-DD")  # fmt: skip


def test_N3_notes_tsv_text_with_a_tab(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "patient\tdate\ttext\nP1\t2024-01-02\tECOG 1\tformer smoker\n", where="line 2",
                   what="has a different number of fields than the header", todo="write tabs in it as spaces")  # fmt: skip


def test_N4_notes_tsv_note_id_used_twice(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "note_id\tpatient\tdate\ttext\nA\tP1\t2024-01-02\tE\nA\tP2\t2024-01-02\tE\n",
                   where="line 3, field 'note_id'", what="note_id 'A' is used twice", todo="give each note its own id")  # fmt: skip


def test_N5_cdm_csv_folder_without_note_csv(tmp_path, capsys):
    cdm = tmp_path / "cdm"
    cdm.mkdir()
    (cdm / "person.csv").write_text("person_id,person_source_value\n1,P1\n")
    err = _notes_extract(capsys, tmp_path, cdm)
    assert_clear(err, file=cdm, where=str(cdm), what="holds no note.csv",
                 todo="export the CDM's NOTE table as note.csv")  # fmt: skip


def test_N6_context_terms_with_an_unknown_direction(tmp_path, capsys):
    notes = tmp_path / "notes.tsv"
    notes.write_text("patient\tdate\ttext\nP1\t2024-01-02\tNo rash on phenytoin\n")
    terms = tmp_path / "terms.tsv"
    terms.write_text("term\tcategory\tdirection\tsource\tdate\nno\tnegated\tforward\tNegEx\t2026-12\n")
    err = _notes_extract(capsys, tmp_path, notes, "--terms", terms)
    assert_clear(err, file=terms, where="line 2, field 'direction'", what="'forward' is not a direction",
                 todo="use one of preceding, following, pseudo, termination")  # fmt: skip


def test_N7_negex_annotations_without_a_sentence_column(tmp_path, capsys):
    src = tmp_path / "annotations.tsv"
    src.write_text("Report No.\tConcept\tText\n1\tfever\tNo fever.\n")
    out = tmp_path / "out" / "asserted.tsv"
    code, err = cli(capsys, "notes", "assert", "--in", src, "--out", out)
    assert code == 2 and "Traceback" not in err
    assert_nothing_left(tmp_path / "out")
    assert_clear(err, file=src, where="line 1", what="misses the column(s) Sentence",
                 todo="NegEx's annotation format has the columns Report No., Concept, Sentence")  # fmt: skip


def test_N8_notes_file_that_is_comma_separated(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "patient,date,text\nP1,2024-01-02,ECOG 1\n", where="line 1",
                   what="is not tab-separated", todo="save the notes as tab-separated text (TSV)")  # fmt: skip


def test_N9_notes_tsv_with_an_impossible_date(tmp_path, capsys):
    _bad_notes_tsv(capsys, tmp_path, "patient\tdate\ttext\nP1\t2024-13-45\tECOG 1\n", where="line 2, field 'date'",
                   what="'2024-13-45' is not a date", todo="write YYYY-MM-DD, a real day")  # fmt: skip


def test_N10_negex_annotations_that_are_not_utf8(tmp_path, capsys):
    src = tmp_path / "annotations.tsv"
    src.write_bytes("Report No.\tConcept\tSentence\n1\tfièvre\tPas de fièvre.\n".encode("latin-1"))
    out = tmp_path / "out" / "asserted.tsv"
    code, err = cli(capsys, "notes", "assert", "--in", src, "--out", out)
    assert code == 2 and "Traceback" not in err
    assert_nothing_left(tmp_path / "out")
    assert_clear(err, file=src, where=str(src), what="is not UTF-8 text", todo="save the annotation file as UTF-8")


def test_N11_cdm_csv_folder_without_person_csv(tmp_path, capsys):
    cdm = tmp_path / "cdm"
    cdm.mkdir()
    (cdm / "note.csv").write_text("note_id,person_id,note_date,note_text\n1,7,2024-01-02,ECOG 1\n")
    err = _notes_extract(capsys, tmp_path, cdm)
    assert_clear(err, file=cdm, where=str(cdm), what="holds no person.csv to link notes by person_source_value",
                 todo="or link by person_id")  # fmt: skip


def _cohort_database_with_cdm(work: Path, cdm: Path, definitions: Path) -> tuple[int, str]:
    from seq2rx.cohort import SHARD_TABLES

    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "config" / "samples.tsv").write_text("sample\tpatient\ttype\nALICE-0001\tALICE-0001\tgermline\n")
    row = {"sample": "ALICE-0001", "patient": "ALICE-0001", "type": "germline", "sex": "female", "tumor_type": "NA",
           "stage": "vcf"}  # fmt: skip
    return run_script(
        "cohort_database", work,
        input={"shards": [], "sheet": "config/samples.tsv", "clinical": [], "predictions": [], "cdm": str(cdm),
               "omop_definitions": sorted(str(p) for p in definitions.glob("*.json"))},
        output={"db": "results/cohort.duckdb", "tables": "results/cohort/tables.tsv"},
        params={"rows": [row], "tables": list(SHARD_TABLES), "cdm": str(cdm), "link": "person_source_value",
                "omop_definitions": str(definitions)},
    )  # fmt: skip


def test_Q1_omop_definitions_folder_with_a_broken_circe_json(tmp_path):
    from test_cohort_ehr import write_cdm

    work = tmp_path / "work"
    definitions = work / "definitions"
    definitions.mkdir(parents=True)
    good = (REPO / "config" / "cohorts" / "omop" / "clopidogrel_new_users.json").read_text()
    (definitions / "clopidogrel_new_users.json").write_text(good)
    (definitions / "broken.json").write_text(good.replace('"First": true', '"First": true,', 1))
    line = good.split('"First": true', 1)[0].count("\n") + 2  # the line after the stray comma
    code, log = _cohort_database_with_cdm(work, write_cdm(tmp_path / "omop"), definitions)
    assert code == 1
    assert_nothing_left(work / "results")
    assert_clear(log, file=definitions / "broken.json", where=f"line {line}", what="is not valid JSON",
                 todo="export the cohort definition from ATLAS again")  # fmt: skip


def test_Q2_omop_cdm_csv_value_not_of_its_columns_type(tmp_path):
    from test_cohort_ehr import write_cdm

    work = tmp_path / "work"
    cdm = write_cdm(tmp_path / "omop")
    text = (cdm / "drug_exposure.csv").read_text().splitlines()
    cells = text[1].split(",")
    header = text[0].split(",")
    cells[header.index("visit_occurrence_id")] = "V12"
    (cdm / "drug_exposure.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    definitions = REPO / "config" / "cohorts" / "omop"
    code, log = _cohort_database_with_cdm(work, cdm, definitions)
    assert code == 1
    assert_nothing_left(work / "results")
    assert_clear(log, file=cdm / "drug_exposure.csv", where="field 'visit_occurrence_id'",
                 what="'V12' is not a whole number", todo="holds whole numbers")  # fmt: skip


# --------------------------------------------------------------------------- OMOP CDM (issue 20)


def _omop_refused(tmp_path: Path, capsys, cdm: Path) -> tuple[str, str]:
    """`seq2rx validate` and a dry run of the workflow on a config naming ``cdm``: both messages."""
    config = _project(tmp_path, [_row(tmp_path)], clinical_omop__path=str(cdm))
    err = _validate(capsys, tmp_path, config)
    out = _dry_run_refused(config)
    assert "seq2rx: configuration error: " in out
    return err, out


def test_E1_config_cdm_path_that_does_not_exist(tmp_path, capsys):
    for text in _omop_refused(tmp_path, capsys, tmp_path / "ehr" / "cdm.duckdb"):
        assert_clear(text, file=tmp_path / "ehr" / "cdm.duckdb", where="field 'clinical_omop.path'",
                     what="no such file or folder", todo="give a .duckdb file or a folder of CDM CSV files")  # fmt: skip


def test_E2_cdm_without_an_observation_period_table(tmp_path, capsys):
    cdm = tmp_path / "omop"
    cdm.mkdir()
    (cdm / "person.csv").write_text("person_id,gender_concept_id,year_of_birth,person_source_value\n1,8532,1960,P1\n")
    for text in _omop_refused(tmp_path, capsys, cdm):
        assert_clear(text, file=cdm, where="field 'clinical_omop.path'", what="the CDM has no observation_period.csv",
                     todo="an OMOP CDM needs person, observation_period, concept, concept_ancestor")  # fmt: skip


def test_E3_config_notes_path_that_does_not_exist(tmp_path, capsys):
    notes = tmp_path / "ehr" / "notes.tsv"
    config = _project(tmp_path, [_row(tmp_path)], clinical_notes__path=str(notes))
    assert_clear(_validate(capsys, tmp_path, config), file=notes, where="field 'clinical_notes.path'",
                 what="no such file or folder", todo="give a notes TSV (patient, date, text)")  # fmt: skip
    out = _dry_run_refused(config)
    assert_clear(out, file=notes, where="field 'clinical_notes.path'", what="no such file or folder",
                 todo="give a notes TSV (patient, date, text)")  # fmt: skip


def test_E4_config_notes_without_a_clinical_table(tmp_path, capsys):
    notes = tmp_path / "notes.tsv"
    notes.write_text("patient\tdate\ttext\nP1\t2024-01-02\tECOG 1.\n")
    config = _project(tmp_path, [_row(tmp_path)], clinical_notes__path=str(notes))
    expected = dict(file=config, where="field 'clinical_notes.path'",
                    what="there is no clinical table for the notes to fill",
                    todo="set clinical (a clinical TSV) or clinical_omop.path (an OMOP CDM)")  # fmt: skip
    assert_clear(_validate(capsys, tmp_path, config), **expected)
    assert_clear(_dry_run_refused(config), **expected)


def test_E5_cdm_folder_with_two_files_for_one_table(tmp_path, capsys):
    from test_cohort_ehr import write_cdm

    cdm = write_cdm(tmp_path / "omop")
    (cdm / "PERSON.csv").write_text((cdm / "person.csv").read_text())
    for text in _omop_refused(tmp_path, capsys, cdm):
        assert_clear(text, file=cdm, where="field 'clinical_omop.path'",
                     what="two files for table person: PERSON.csv and person.csv", todo="keep one of them")  # fmt: skip


def test_E6_cdm_that_is_not_a_duckdb_database(tmp_path, capsys):
    tsv = tmp_path / "ehr" / "clinical.tsv"
    tsv.parent.mkdir()
    tsv.write_text("patient\tage\nP1\t60\n")
    for text in _omop_refused(tmp_path, capsys, tsv):
        assert_clear(text, file=tsv, where="field 'clinical_omop.path'", what="is not a DuckDB database",
                     todo="give an OMOP CDM: a .duckdb file or a folder of CDM CSV files")  # fmt: skip
    out = tmp_path / "cohort.json"
    definition = REPO / "config" / "cohorts" / "omop" / "clopidogrel_new_users.json"
    code, err = cli(capsys, "ehr", "cohort", "--cdm", tsv, "--definition", definition, "--json", out)
    assert code == 2 and not out.exists() and "Traceback" not in err
    assert_clear(err, file=tsv, where=str(tsv), what="is not a DuckDB database",
                 todo="give an OMOP CDM: a .duckdb file or a folder of CDM CSV files")  # fmt: skip


def test_E7_cdm_observation_period_that_starts_after_its_end(tmp_path, capsys):
    from test_cohort_ehr import write_cdm

    cdm = write_cdm(tmp_path / "omop")
    periods = cdm / "observation_period.csv"
    periods.write_text(periods.read_text().replace("2,2,2018-01-01,2024-12-31", "2,2,2024-12-31,2018-01-01"))
    out = tmp_path / "clinical.tsv"
    code, err = cli(capsys, "ehr", "clinical", "--cdm", cdm, "--tsv", out)
    assert code == 2 and not out.exists() and "Traceback" not in err
    assert_clear(err, file=periods, where="field 'observation_period_start_date'",
                 what="person 2: observation_period_start_date 2024-12-31 is after observation_period_end_date",
                 todo="fix or drop the row in the CDM")  # fmt: skip
    config = _project(tmp_path, [_row(tmp_path)], clinical_omop__path=str(cdm))
    assert_clear(_validate(capsys, tmp_path, config), file=periods, where="field 'observation_period_start_date'",
                 what="person 2: observation_period_start_date 2024-12-31 is after", todo="fix or drop the row")  # fmt: skip


# --------------------------------------------------------------------------- the catalogue itself


def test_every_case_has_a_test_and_a_readme_row():
    tests = {name.split("_")[1] for name in globals() if name.startswith("test_") and name.split("_")[1] in CASES}
    assert tests == set(CASES)
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Troubleshooting: bad inputs", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ") and "|" in line[2:]}
    assert set(CASES) <= rows
    assert len(CASES) >= 20


def test_a_killed_attempts_temporary_files_are_cleared_by_the_next(tmp_path):
    from seq2rx.core.io import atomic_output, scratch_dir

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has ended
    out = tmp_path / "P1.vcf.gz"
    stale = [tmp_path / f".tmp.{pid}.P1.vcf.gz", tmp_path / f".tmp.{pid}.P1.vcf.gz.tbi"]
    (tmp_path / f".tmp.{pid}.P1.vcf.gz.d").mkdir()
    for path in stale:
        path.write_text("half")
    other = tmp_path / f".tmp.{pid}.P10.vcf.gz"  # another output's leftover: not this attempt's business
    other.write_text("half")
    live = tmp_path / ".tmp.1.P1.vcf.gz"  # pid 1 runs: a writer that is still at work
    live.write_text("busy")
    with scratch_dir(out) as work:
        assert Path(work).is_dir()
        with atomic_output(out) as tmp:
            Path(tmp).write_text("whole")
    assert out.read_text() == "whole"
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["P1.vcf.gz", other.name, live.name])
