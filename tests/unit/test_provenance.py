"""The provenance record: checksums chained over every output, and `seq2rx verify`."""

from __future__ import annotations

import json

from seq2rx import provenance
from seq2rx.cli import main


def _run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    (results / "calls").mkdir(parents=True)
    (results / "calls/S1.vcf").write_text("##fileformat=VCFv4.2\n")
    (results / "reports").mkdir()
    (results / "reports/P1.html").write_text("<html></html>\n")
    reads = tmp_path / "reads.fq"
    reads.write_text("@r\nACGT\n+\nIIII\n")
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "rules.tsv").write_text("gene\tdate\nBRAF\t2024-01\nKRAS\t2025-06\n")
    record = provenance.build(results, "ab" * 32, {"bcftools_call": {"bcftools": "1.22"}}, {"kb": kb}, [reads], "0.1")
    provenance.write(record, results)
    return results, record


def test_record_lists_and_chains_every_output(tmp_path, monkeypatch):
    results, record = _run(tmp_path, monkeypatch)
    assert [e["path"] for e in record["outputs"]] == ["calls/S1.vcf", "reports/P1.html"]
    assert record["inputs"] == [{"path": "reads.fq", "sha256": provenance.sha256(tmp_path / "reads.fq")}]
    assert record["knowledge_bases"]["kb"]["latest_row_date"] == "2025-06"
    assert record["head"] == record["outputs"][-1]["chain"]
    assert str(tmp_path) not in (results / "provenance.json").read_text()  # no absolute paths
    assert provenance.verify(results) == {"edited": [], "removed": [], "added": [], "record": []}


def test_verify_names_edited_removed_and_added_files(tmp_path, monkeypatch, capsys):
    results, _ = _run(tmp_path, monkeypatch)
    (results / "reports/P1.html").write_text("<html>changed</html>\n")
    (results / "calls/S1.vcf").unlink()
    (results / "calls/S2.vcf").write_text("new\n")
    problems = provenance.verify(results)
    assert problems["edited"] == ["reports/P1.html"]
    assert problems["removed"] == ["calls/S1.vcf"]
    assert problems["added"] == ["calls/S2.vcf"]
    assert main(["verify", str(results)]) == 1
    out = capsys.readouterr().out
    assert "edited\treports/P1.html" in out and "added\tcalls/S2.vcf" in out


def test_an_edited_record_breaks_the_chain(tmp_path, monkeypatch):
    results, record = _run(tmp_path, monkeypatch)
    (results / "reports/P1.html").write_text("<html>forged</html>\n")
    record["outputs"][1]["sha256"] = provenance.sha256(results / "reports/P1.html")  # hide the edit
    (results / "provenance.json").write_text(json.dumps(record))
    problems = provenance.verify(results)
    assert problems["record"] and "reports/P1.html" in problems["record"][0]
    assert main(["verify", str(results)]) == 1


def test_editing_the_run_description_breaks_the_chain(tmp_path, monkeypatch):
    results, record = _run(tmp_path, monkeypatch)
    record["config_sha256"] = "cd" * 32
    (results / "provenance.json").write_text(json.dumps(record))
    assert provenance.verify(results)["record"]


def test_a_malformed_record_is_an_input_error(tmp_path, monkeypatch):
    import pytest

    from seq2rx.core.errors import InputError

    results, _ = _run(tmp_path, monkeypatch)
    (results / "provenance.json").write_text('{"outputs": [{"path": "x"}]}')
    with pytest.raises(InputError, match="provenance.json"):
        provenance.verify(results)
