"""The command line's one convention: every option has help, outputs are named --tsv / --json / --outdir,
--build where coordinates meet a shipped knowledge base, and the old spellings still work for a release."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pysam
import pytest

from seq2rx.cli import BUILDS, _Renamed, build_parser, main

# a one-transcript gene on a 300-base contig: CDS 101-190 (ATG, 28 codons, TAA), variant in codon 2
CDS = "ATG" + "AAAGCTGAACTGGGCTCT" * 4 + "AAAGCTGAACTGGGC" + "TAA"
SEQ = ("ACGTTGCA" * 13)[:100] + CDS + ("TTGACCAG" * 14)[: 300 - 100 - len(CDS)]
GFF3 = [
    "##gff-version 3",
    "chr1\ttest\tgene\t91\t200\t.\t+\t.\tID=gene:G1;Name=GENE1;biotype=protein_coding",
    "chr1\ttest\tmRNA\t91\t200\t.\t+\t.\tID=transcript:T1;Parent=gene:G1;Name=GENE1-201;biotype=protein_coding",
    "chr1\ttest\texon\t91\t200\t.\t+\t.\tParent=transcript:T1",
    "chr1\ttest\tCDS\t101\t190\t.\t+\t0\tParent=transcript:T1",
]
VCF_HEAD = [
    "##fileformat=VCFv4.2",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1",
]


def tiny_gene(folder: Path) -> tuple[Path, Path, Path]:
    """FASTA (+ .fai), GFF3 and a one-record VCF: a missense change in codon 2 (p.Lys2Gln)."""
    fasta, gff3, vcf = folder / "ref.fa", folder / "genes.gff3", folder / "one.vcf"
    fasta.write_text(f">chr1\n{SEQ}\n")
    pysam.faidx(str(fasta))
    gff3.write_text("\n".join(GFF3) + "\n")
    head = [VCF_HEAD[0], f"##contig=<ID=chr1,length={len(SEQ)}>", *VCF_HEAD[1:]]
    vcf.write_text("\n".join([*head, "chr1\t104\t.\tA\tC\t50\tPASS\t.\tGT\t0/1"]) + "\n")
    return fasta, gff3, vcf


def pgx_vcf(path: Path) -> Path:
    """One CYP2C19 record (GRCh38), as tests/unit/test_pgx_matcher.py makes them."""
    head = [VCF_HEAD[0], "##contig=<ID=chr10,length=135000000>", *VCF_HEAD[1:]]
    path.write_text("\n".join([*head, "chr10\t94781859\t.\tG\tA\t.\tPASS\t.\tGT\t1/1"]) + "\n")
    return path


def somatic_vcf(path: Path) -> Path:
    path.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=7>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT\n"
        "7\t140753336\t.\tA\tT\t.\tPASS\t.\tGT:AD\t0/1:30,10\n"
    )
    return path


def parsers(parser: argparse.ArgumentParser, path: str = "seq2rx"):
    """Every parser of the tree with its command path, and each subparser action met on the way."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from parsers(child, f"{path} {name}")


def test_every_option_of_every_command_has_help():
    missing = []
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions if a.help and a.help != argparse.SUPPRESS}
                missing += [f"{path} {name} (subcommand)" for name in action.choices if name not in helped]
            elif not action.help or action.help == argparse.SUPPRESS or not action.help.strip():
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_the_tree_is_what_the_readme_documents():
    commands = {path for path, _ in parsers(build_parser())}
    assert {
        "seq2rx annotate",
        "seq2rx pgx",
        "seq2rx pgx import-definitions",
        "seq2rx pgx import-phenotypes",
        "seq2rx actionable",
        "seq2rx compare-vcf",
        "seq2rx ml cv",
        "seq2rx cohort query",
        "seq2rx cohort export",
        "seq2rx demo",
        "seq2rx verify",
        "seq2rx validate",
    } <= commands
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for path in commands - {"seq2rx", "seq2rx pgx", "seq2rx ml", "seq2rx cohort"}:
        assert f"`{path}" in readme or f"\n{path} " in readme, f"{path} is not in README.md"


def _options(path: str) -> dict[str, argparse.Action]:
    parser = dict(parsers(build_parser()))[path]
    return {s: a for a in parser._actions for s in a.option_strings}


# (command, new spelling, deprecated spelling)
RENAMED = [
    ("seq2rx annotate", "--tsv", "--out"),
    ("seq2rx actionable", "--tsv", "--out"),
    ("seq2rx pgx import-definitions", "--outdir", "--out"),
    ("seq2rx pgx import-phenotypes", "--outdir", "--out"),
    ("seq2rx cohort export", "--outdir", "--out"),
]


def test_the_renamed_options_are_all_listed():
    listed = []
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, _Renamed):
                listed += [(path, action.option_strings[0], old) for old in action.old]
    assert sorted(listed) == sorted(RENAMED)


@pytest.mark.parametrize(("path", "new", "old"), RENAMED, ids=lambda x: x.replace("seq2rx ", "") if " " in x else x)
def test_old_spellings_are_the_same_option_and_deprecated_in_help(path, new, old):
    options = _options(path)
    assert options[old] is options[new]
    assert options[new].option_strings[0] == new  # the dest and the usage line use the new name
    assert f"deprecated spelling: {old}" in options[new].help


def test_old_spellings_parse_to_the_new_name_with_a_note(capsys):
    parser = build_parser()
    args = parser.parse_args(["cohort", "export", "--out", "share", "--key-file", "k"])
    assert args.outdir == "share"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out is deprecated, use --outdir" in err
    args = parser.parse_args(["cohort", "export", "--outdir", "share", "--key-file", "k"])
    assert args.outdir == "share" and capsys.readouterr().err == ""
    for command in (["pgx", "import-definitions"], ["pgx", "import-phenotypes"]):
        assert parser.parse_args([*command, "--from", "x", "--out", "o"]).outdir == "o"
        assert parser.parse_args([*command, "--from", "x"]).outdir == "resources/kb/pgx"


def test_output_options_are_named_for_what_they_write():
    """Files are --tsv / --json / --*-tsv / --out-vcf, folders --outdir; no bare --out remains current."""
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            current = action.option_strings[:1]
            assert current != ["--out"], f"{path} still names an output --out"
    assert "--json" in _options("seq2rx pgx") and "--tsv" in _options("seq2rx pgx")
    assert "--json" in _options("seq2rx actionable") and "--tsv" in _options("seq2rx actionable")
    assert "--json" in _options("seq2rx compare-vcf") and "--tsv" in _options("seq2rx compare-vcf")
    assert "--outdir" in _options("seq2rx demo")


def test_build_where_coordinates_meet_a_knowledge_base():
    for path in ("seq2rx pgx", "seq2rx actionable"):
        assert tuple(_options(path)["--build"].choices) == BUILDS
    assert _options("seq2rx pgx")["--build"].default == "GRCh38"
    assert _options("seq2rx actionable")["--build"].required


def test_annotate_out_and_tsv_write_the_same_file(tmp_path, capsys):
    fasta, gff3, vcf = tiny_gene(tmp_path)
    common = ["annotate", "--vcf", str(vcf), "--fasta", str(fasta), "--gff3", str(gff3)]
    assert main([*common, "--out", str(tmp_path / "old.tsv")]) == 0
    assert "--out is deprecated, use --tsv" in capsys.readouterr().err
    assert main([*common, "--tsv", str(tmp_path / "new.tsv")]) == 0
    assert capsys.readouterr().err == ""
    new = (tmp_path / "new.tsv").read_bytes()
    assert new == (tmp_path / "old.tsv").read_bytes()
    assert b"p.Lys2Gln" in new


def test_actionable_out_and_tsv_write_the_same_file(tmp_path, capsys):
    vcf = somatic_vcf(tmp_path / "t.vcf")
    common = ["actionable", "--vcf", str(vcf), "--build", "GRCh38", "--tumor-type", "COAD"]
    assert main([*common, "--out", str(tmp_path / "old.tsv"), "--json", str(tmp_path / "old.json")]) == 0
    assert main([*common, "--tsv", str(tmp_path / "new.tsv"), "--json", str(tmp_path / "new.json")]) == 0
    assert (tmp_path / "new.tsv").read_bytes() == (tmp_path / "old.tsv").read_bytes()
    assert (tmp_path / "new.json").read_bytes() == (tmp_path / "old.json").read_bytes()
    assert b"BRAF" in (tmp_path / "new.tsv").read_bytes()


def test_pgx_build(tmp_path, capsys):
    vcf = pgx_vcf(tmp_path / "p.vcf")
    assert main(["pgx", "--vcf", str(vcf), "--json", str(tmp_path / "a.json")]) == 0
    assert main(["pgx", "--vcf", str(vcf), "--build", "GRCh38", "--json", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    capsys.readouterr()
    assert main(["pgx", "--vcf", str(vcf), "--build", "GRCh37", "--json", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "GRCh38 positions only" in err and "lift the VCF over" in err
    assert not (tmp_path / "c.json").exists()


def test_compare_vcf_tsv_is_the_printed_table(tmp_path, capsys):
    fasta, _gff3, vcf = tiny_gene(tmp_path)
    out = tmp_path / "c.tsv"
    assert (
        main(["compare-vcf", "--truth", str(vcf), "--query", str(vcf), "--reference", str(fasta), "--tsv", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    lines = out.read_text().splitlines()
    assert lines[0] == "type\tTP\tFP\tFN\tprecision\trecall\tF1"
    assert [line.split("\t")[0] for line in lines[1:]] == ["SNV", "INDEL"]
    assert printed.startswith(out.read_text())


def test_cohort_query_tsv_is_what_it_prints(tmp_path, capsys):
    import duckdb

    db = tmp_path / "c.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE pgx_genes AS SELECT * FROM (VALUES ('P1', 'CYP2C19', 'Normal'), ('P2', 'CYP2C19', 'Poor')) t(patient, gene, phenotype)"
    )
    con.close()
    sql = "SELECT patient, phenotype FROM pgx_genes WHERE gene = $g ORDER BY patient"
    assert main(["cohort", "query", sql, "--db", str(db), "--param", "g=CYP2C19"]) == 0
    printed = capsys.readouterr().out
    assert (
        main(["cohort", "query", sql, "--db", str(db), "--param", "g=CYP2C19", "--tsv", str(tmp_path / "q.tsv")]) == 0
    )
    assert (tmp_path / "q.tsv").read_text() == printed
    assert printed.splitlines()[0] == "patient\tphenotype" and len(printed.splitlines()) == 3


def test_help_runs_for_every_command(capsys):
    for path, _ in parsers(build_parser()):
        with pytest.raises(SystemExit) as exit_:
            main([*path.split()[1:], "--help"])
        assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "deprecated spelling: --out" in text
    json.dumps(text)  # plain text, nothing odd


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("fhir", "Write one patient's findings document (results/findings/{patient}.json) as an HL7 FHIR R4"),
        ("pgx import-recommendations", "Compare CPIC's published recommendation records (or a PharmCAT"),
    ],
)
def test_a_subcommands_own_help_says_what_it_does(capsys, command, says):
    """``seq2rx COMMAND --help`` opens with what the command does, not just its options."""
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert says in text
    assert text.index(says) < text.index("options:")
