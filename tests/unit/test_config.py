"""The configuration and sample sheet fail early, naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seq2rx.core.errors import InputError
from seq2rx.inputs.config import check_reference, load_yaml, read_sample_sheet, validate_config

REPO = Path(__file__).resolve().parents[2]
CONFIG_SCHEMA = load_yaml(REPO / "config/schemas/config.schema.yaml")
SHEET_SCHEMA = load_yaml(REPO / "config/schemas/samples.schema.yaml")


def shipped_config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_shipped_config_is_valid_and_gets_defaults():
    cfg = validate_config(shipped_config(), CONFIG_SCHEMA, "config/config.yaml")
    assert cfg["align"]["aligner"] == "bwa"
    assert cfg["reads"]["min_length"] == 30  # a default from the schema
    assert cfg["qc"]["min_mean_coverage"] == 20


def test_typo_in_a_key_is_an_error_naming_it():
    cfg = shipped_config()
    cfg["calling"]["min_qaul"] = 30
    with pytest.raises(InputError) as err:
        validate_config(cfg, CONFIG_SCHEMA, "my.yaml")
    msg = str(err.value)
    assert msg.startswith("my.yaml, field 'calling.min_qaul': unknown key 'min_qaul'")
    assert "min_qual" in msg  # the allowed keys are listed


def test_value_out_of_range_names_field_and_value():
    cfg = shipped_config()
    cfg["reads"] = {"min_quality": 99}
    with pytest.raises(
        InputError, match=r"field 'reads.min_quality': must be a Phred quality between 0 and 60 .*\(got 99\)"
    ):
        validate_config(cfg, CONFIG_SCHEMA, "my.yaml")


def test_wrong_build_and_aligner_are_rejected():
    cfg = shipped_config()
    cfg["reference"]["build"] = "hg19"
    with pytest.raises(InputError, match="must be GRCh38 or GRCh37"):
        validate_config(cfg, CONFIG_SCHEMA, "c.yaml")
    cfg = shipped_config()
    cfg["align"]["aligner"] = "bowtie2"
    with pytest.raises(InputError, match="must be bwa .* or minimap2"):
        validate_config(cfg, CONFIG_SCHEMA, "c.yaml")


def test_missing_required_key():
    cfg = shipped_config()
    del cfg["reference"]["fasta"]
    with pytest.raises(InputError, match=r"field 'reference.fasta': is required"):
        validate_config(cfg, CONFIG_SCHEMA, "c.yaml")


def _sheet(
    tmp_path: Path, rows: list[str], header: str = "sample\tpatient\ttype\tfastq1\tfastq2\tsex\ttumor_type"
) -> Path:
    for name in ("a_R1.fq.gz", "a_R2.fq.gz"):
        (tmp_path / name).write_text("")
    path = tmp_path / "samples.tsv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def row(sample="S1", patient="P1", kind="germline", r1=None, r2=None, sex="female", tumor="NA", tmp=None):
    r1 = r1 if r1 is not None else str(tmp / "a_R1.fq.gz")
    r2 = r2 if r2 is not None else str(tmp / "a_R2.fq.gz")
    return "\t".join([sample, patient, kind, r1, r2, sex, tumor])


def test_valid_sheet(tmp_path):
    rows = read_sample_sheet(_sheet(tmp_path, [row(tmp=tmp_path), row("S2", "P2", tmp=tmp_path)]), SHEET_SCHEMA)
    assert [r["sample"] for r in rows] == ["S1", "S2"]
    assert rows[0]["stage"] == "fastq"


def test_duplicate_sample_names_both_lines(tmp_path):
    path = _sheet(tmp_path, [row(tmp=tmp_path), row(tmp=tmp_path)])
    with pytest.raises(InputError) as err:
        read_sample_sheet(path, SHEET_SCHEMA)
    assert str(err.value) == (
        f"{path}, line 3, field 'sample': sample 'S1' appears twice (first on line 2) "
        "(give each sample its own ID; several samples of one patient share the patient column)"
    )


@pytest.mark.parametrize("bad", ["../x", "a/b", "a b", "/abs", ".hidden", ""])
def test_ids_that_could_escape_a_path_are_rejected(tmp_path, bad):
    path = _sheet(tmp_path, [row(sample=bad, tmp=tmp_path)])
    with pytest.raises(InputError, match=r"line 2, field 'sample'"):
        read_sample_sheet(path, SHEET_SCHEMA)


def test_patient_id_is_checked_too(tmp_path):
    path = _sheet(tmp_path, [row(patient="../p", tmp=tmp_path)])
    with pytest.raises(InputError, match=r"field 'patient': must be 1-64 letters"):
        read_sample_sheet(path, SHEET_SCHEMA)


def test_missing_file_names_row_and_column(tmp_path):
    path = _sheet(tmp_path, [row(r2=str(tmp_path / "missing_R2.fq.gz"), tmp=tmp_path)])
    with pytest.raises(InputError, match=r"line 2, field 'fastq2': file '.*missing_R2.fq.gz' does not exist"):
        read_sample_sheet(path, SHEET_SCHEMA)


def test_a_file_the_workflow_will_make_is_accepted(tmp_path):
    path = _sheet(tmp_path, [row(r1="demo/x_R1.fq.gz", r2="demo/x_R2.fq.gz", tmp=tmp_path)])
    rows = read_sample_sheet(path, SHEET_SCHEMA, will_exist=lambda p: p.startswith("demo/"))
    assert rows[0]["fastq1"] == "demo/x_R1.fq.gz"


def test_exactly_one_starting_point(tmp_path):
    header = "sample\tpatient\ttype\tfastq1\tfastq2\tvcf\tsex\ttumor_type"
    (tmp_path / "x.vcf.gz").write_text("")
    line = "\t".join(
        [
            "S1",
            "P1",
            "germline",
            str(tmp_path / "a_R1.fq.gz"),
            str(tmp_path / "a_R2.fq.gz"),
            str(tmp_path / "x.vcf.gz"),
            "male",
            "NA",
        ]
    )
    with pytest.raises(InputError, match="exactly one starting point"):
        read_sample_sheet(_sheet(tmp_path, [line], header=header), SHEET_SCHEMA)


def test_unknown_column_and_bad_type(tmp_path):
    with pytest.raises(InputError, match=r"line 1: unknown column 'sampel'"):
        read_sample_sheet(_sheet(tmp_path, [], header="sampel\tpatient"), SHEET_SCHEMA)
    with pytest.raises(InputError, match=r"line 2, field 'type': must be germline, tumor or normal \(got 'tumour'\)"):
        read_sample_sheet(_sheet(tmp_path, [row(kind="tumour", tmp=tmp_path)]), SHEET_SCHEMA)


def test_inconsistent_patient_attributes(tmp_path):
    rows = [row("T", "P1", "tumor", tumor="LUAD", tmp=tmp_path), row("N", "P1", "normal", tumor="COAD", tmp=tmp_path)]
    with pytest.raises(
        InputError, match=r"line 3, field 'tumor_type': patient 'P1' has tumor_type 'COAD' here but 'LUAD'"
    ):
        read_sample_sheet(_sheet(tmp_path, rows), SHEET_SCHEMA)


def test_reference_without_index(tmp_path):
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr1\nACGT\n")
    cfg = validate_config(
        {"samples": "s.tsv", "reference": {"fasta": str(fa), "build": "GRCh38"}}, CONFIG_SCHEMA, "c.yaml"
    )
    with pytest.raises(InputError, match=r"field 'reference.fasta': the FASTA .* has no .fai index"):
        check_reference(cfg, "c.yaml")


def test_space_separated_sheet_is_named_as_such(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("sample patient type bam sex tumor_type\nS1 P1 germline x.bam male NA\n")
    with pytest.raises(InputError, match=r"line 1: the header has no tabs: the sample sheet must be tab-separated"):
        read_sample_sheet(path, SHEET_SCHEMA)


def test_bam_without_index(tmp_path):
    bam = tmp_path / "x.bam"
    bam.write_bytes(b"")
    path = tmp_path / "s.tsv"
    path.write_text(f"sample\tpatient\ttype\tbam\tsex\ttumor_type\nS1\tP1\tgermline\t{bam}\tmale\tNA\n")
    with pytest.raises(InputError, match=r"line 2, field 'bam': the BAM .* has no index .*samtools index"):
        read_sample_sheet(path, SHEET_SCHEMA)
    (tmp_path / "x.bam.bai").write_bytes(b"")
    assert read_sample_sheet(path, SHEET_SCHEMA)[0]["stage"] == "bam"


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    from seq2rx.core.io import atomic_output

    target = tmp_path / "x.vcf.gz"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        tmp.with_name(tmp.name + ".tbi").write_text("index")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and [p.name for p in tmp_path.iterdir()] == ["x.vcf.gz"]


def test_unreadable_or_invalid_yaml_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"no.yaml: cannot be read"):
        load_yaml(tmp_path / "no.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("calling:\n  min_qual: [1\n")
    with pytest.raises(InputError, match=r"bad.yaml, line \d+: is not valid YAML"):
        load_yaml(bad)


def _matches(constraint: str, text: str) -> bool:
    """Does a path ``<text>.vcf.gz`` match ``{sample}.vcf.gz`` under the constraint, the way
    Snakemake builds the output regex?"""
    import re

    m = re.match(rf"(?P<sample>{constraint})\.vcf\.gz$", f"{text}.vcf.gz")
    return m is not None and m.group("sample") == text


def test_id_constraint_matches_exactly_the_members():
    from seq2rx.inputs.config import id_constraint

    universe = ["P1", "P10", "P2", "P7-N", "P7-T", "V1", "V_2"]
    for members in (universe, ["P1"], ["P7-T", "V_2"], ["P1", "P10", "P2", "P7-N", "P7-T"], []):
        pattern = id_constraint(members, universe)
        for name in universe:
            assert _matches(pattern, name) == (name in members), (members, name, pattern)
        # a longer ID that starts with a member is not that member
        assert not _matches(pattern, "P1.unsorted") and not _matches(pattern, "results/P1")
    # short patterns: the whole sheet is the ID class, the larger part is a lookahead of the smaller
    assert id_constraint(universe, universe) == "[A-Za-z0-9_-]+"
    assert len(id_constraint(universe[:-1], universe)) < 60
    # with a '.' in an ID only the list is exact, and it is used
    assert id_constraint(["S1", "S1.a"], ["S1", "S1.a"]) == "S1|S1\\.a"
    dotted = id_constraint(["S1"], ["S1", "S1.a"])
    assert _matches(dotted, "S1") and not _matches(dotted, "S1.a")
    with pytest.raises(ValueError, match="not in the universe"):
        id_constraint(["X"], universe)


def test_caller_parameters_come_from_their_config_sections():
    """The callers' parameters are built from the validated config by ``from_config``, every field
    from its section (the somatic caller's mapping-quality and depth caps from ``calling``)."""
    from dataclasses import asdict

    from seq2rx.variants.germline import CallParams
    from seq2rx.variants.somatic import CALLING_KEYS, SomaticParams

    cfg = validate_config(shipped_config(), CONFIG_SCHEMA, "config/config.yaml")
    call = asdict(CallParams.from_config(cfg["calling"]))
    assert call == {k: cfg["calling"][k] for k in call}
    somatic = asdict(SomaticParams.from_config(cfg["somatic"], {k: cfg["calling"][k] for k in CALLING_KEYS}))
    assert somatic == {k: (cfg["calling"] if k in CALLING_KEYS else cfg["somatic"])[k] for k in somatic}
    assert somatic["min_baseq"] == cfg["somatic"]["min_baseq"] and somatic["max_depth"] == cfg["calling"]["max_depth"]
