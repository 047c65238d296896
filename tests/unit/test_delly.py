"""delly beside our fusion caller, on test_fusions' small genome and BAMs (EML4-ALK inversion,
CD74-ROS1 translocation, CCDC6-RET deletion planted in the tumour; none in the normal).

The tests that run delly skip when it is not on PATH; CI installs it (Debian's package).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest
import test_fusions as planted  # the genome, the BAMs and how our caller is run on them

from seq2rx.core.errors import InputError, ToolError
from seq2rx.tumour.delly import (
    DellyCall,
    compare,
    cross_check,
    delly_version,
    read_delly,
    restrict,
    run_delly,
)
from seq2rx.tumour.fusions import Breakend, write_fusions

world = planted.world
needs_delly = pytest.mark.skipif(
    shutil.which("delly") is None,
    reason="delly is not on PATH (apt-get install delly, or conda env create -f envs/delly.yaml); CI installs it",
)


def _truth(world, end: Breakend) -> str:
    """The planted break an end lies at (within 3 bp): the gene whose cut it is. A kept ``+``
    side ends at the cut's last base, a kept ``-`` side starts at the base after it."""
    found = [
        name
        for name, cut in world["cut"].items()
        if world["genes"][name].chrom == end.chrom and abs(end.pos - (cut if end.side == "+" else cut + 1)) <= 3
    ]
    assert len(found) == 1, (end, found)
    return found[0]


@pytest.fixture(scope="module")
def checked(world, tmp_path_factory):
    """Both callers on the tumour/normal pair, compared within the scanned genes."""
    if shutil.which("delly") is None:
        pytest.skip("delly is not on PATH")
    d, out = world["dir"], tmp_path_factory.mktemp("delly")
    start = time.perf_counter()
    write_fusions(planted._call(world, "tumour"), out / "ours.tsv", out / "ours.json", sample="T1")
    comparison = cross_check(world["bams"]["tumour"], world["bams"]["normal"], d / "ref.fa.gz", out / "ours.json",
                             out / "T1.delly.tsv", out / "T1.delly.json", gff3=d / "genes.gff3")  # fmt: skip
    return {"comparison": comparison, "out": out, "seconds": time.perf_counter() - start}


@needs_delly
def test_delly_version_is_the_pinned_one():
    assert delly_version() == "1.1.6"


@needs_delly
def test_every_planted_fusion_is_found_by_both(world, checked):
    comparison = checked["comparison"]
    agreed = {m.ours["name"]: m.delly for m in comparison.rows if m.status == "agreed"}
    # the balanced inversion gives two junctions (EML4-ALK and its reciprocal), each its own delly record
    assert sorted(agreed) == ["ALK--EML4", "CCDC6--RET", "CD74--ROS1", "EML4--ALK"]
    expected = {"EML4--ALK": ("INV", "3to3"), "ALK--EML4": ("INV", "5to5"),
                "CD74--ROS1": ("BND", {"3to5", "5to3"}), "CCDC6--RET": ("DEL", "3to5")}  # fmt: skip
    for name, call in agreed.items():
        svtype, ct = expected[name]
        assert call.svtype == svtype and call.ct in ({ct} if isinstance(ct, str) else ct), (name, call)
        assert call.filter == "PASS" and call.precise and call.pe >= 2 and call.sr >= 2, call
        assert call.normal_support == 0, call  # somatic: no variant read in the normal
        # delly's ends are the planted breaks (genes in 5'--3' order of our name, either end order)
        assert sorted([_truth(world, call.a), _truth(world, call.b)]) == sorted(name.split("--")), call
    kinds = {m.ours["name"]: m.delly.kind for m in comparison.rows if m.status == "agreed"}
    assert kinds["EML4--ALK"] == "inversion" and kinds["CD74--ROS1"] == "translocation"
    assert kinds["CCDC6--RET"] == "deletion"
    s = comparison.summary
    assert (s["our_fusions"], s["our_fusions_agreed"], s["only_ours"], s["only_delly"]) == (4, 4, 0, 0)
    assert s["kind_differs"] == [] and all(m.distance <= 3 for m in comparison.rows)
    assert s["text"].startswith("delly confirms 4 of our 4 fusion call(s) and 4 of our 4 breakpoint pair(s);")
    assert checked["seconds"] < 10


@needs_delly
def test_cross_check_writes_a_table_and_json(checked):
    out = checked["out"]
    lines = (out / "T1.delly.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    assert head[:4] == ["status", "our_fusion", "our_kind", "our_call"] and len(lines) == 5
    row = dict(zip(head, next(x for x in lines if "\tEML4--ALK\t" in x).split("\t"), strict=True))
    assert (row["status"], row["delly_type"], row["ct"], row["filter"]) == ("agreed", "INV", "3to3", "PASS")
    doc = json.loads((out / "T1.delly.json").read_text())
    assert doc["sample"] == "T1" and doc["delly_version"] == "1.1.6" and doc["tolerance"] == 10
    assert doc["command"] == ["delly", "call", "-t", "BND,INV,DEL,DUP", "-g", "ref.fa.gz", "-o", "delly.bcf",
                              "tumour.bam", "normal.bam"]  # fmt: skip
    assert doc["delly_calls"] == 4
    assert doc["restricted_to_genes"] == ["ALK", "RET", "ROS1"] and len(doc["rows"]) == 4


@needs_delly
def test_the_normal_bam_gives_neither(world, tmp_path):
    run_delly(world["bams"]["normal"], world["dir"] / "ref.fa.gz", tmp_path / "normal.bcf")
    assert read_delly(tmp_path / "normal.bcf") == []
    assert [f for f in planted._call(world, "normal").fusions if f.call == "fusion"] == []


def _ours(name, a, b, precise=True, call="fusion", kind="inversion"):
    return {"five_prime": name[0], "three_prime": name[1], "kind": kind, "call": call, "precise": precise,
            "breakends": [a, b], "split_reads": 3, "spanning_pairs": 3}  # fmt: skip


def _delly(a, b, svtype="INV", precise=True, ident="D1"):
    ct = "to".join("3" if e.side == "+" else "5" for e in (a, b))
    return DellyCall(ident, svtype, a, b, ct, 5, 5 if precise else 0, "PASS", precise)


def test_compare_needs_the_same_contigs_sides_and_positions():
    d1 = _delly(Breakend("c2", 1002, "+"), Breakend("c2", 5000, "+"))  # our ends in the other order
    d2 = _delly(Breakend("c2", 1000, "-"), Breakend("c2", 5000, "-"), ident="D2")  # other kept sides
    d3 = _delly(Breakend("c7", 1000, "+"), Breakend("c2", 5000, "-"), svtype="BND", ident="D3")
    ours = [
        _ours("AB", "c2:5000:+", "c2:1000:+"),
        _ours("CD", "c2:4000:+", "c2:1000:+"),  # 1000 bp from d1: no
        _ours("EF", "c2:5000:+", "c2:1001:+"),  # nearer d1 than AB is: d1 goes to EF alone
    ]
    found = compare([d1, d2, d3], ours, tolerance=10)
    status = {(m.status, m.ours["name"] if m.ours else m.delly.id) for m in found.rows}
    assert status == {("agreed", "E--F"), ("only_ours", "A--B"), ("only_ours", "C--D"),
                      ("only_delly", "D2"), ("only_delly", "D3")}  # fmt: skip
    assert next(m for m in found.rows if m.status == "agreed").distance == 1
    assert found.summary["our_fusions"] == 3 and found.summary["our_fusions_agreed"] == 1


def test_compare_widens_for_imprecise_calls():
    d = _delly(Breakend("c1", 1000, "+"), Breakend("c3", 9000, "-"), svtype="BND", precise=False)
    ours = [_ours("AB", "c1:700:+", "c3:9300:-", precise=True, kind="translocation")]
    assert compare([d], ours, tolerance=10, imprecise_tolerance=500).rows[0].status == "agreed"
    assert compare([d], ours, tolerance=10, imprecise_tolerance=200).rows[0].status == "only_ours"


def test_without_delly_the_error_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match=r"delly: not found on PATH.*apt-get install delly.*envs/delly\.yaml"):
        delly_version()
    with pytest.raises(ToolError, match="not found on PATH"):
        cross_check("t.bam", None, "ref.fa", tmp_path / "none.json", tmp_path / "o.tsv", tmp_path / "o.json")


def test_a_failing_delly_is_a_tool_error_with_its_last_words(monkeypatch, world, tmp_path):
    fake = tmp_path / "bin" / "delly"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Delly version: v0.0.1'\necho 'Error: genome and BAM disagree' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    assert delly_version() == "0.0.1"
    with pytest.raises(ToolError, match=r"failed with status 3: Error: genome and BAM disagree"):
        run_delly(world["bams"]["tumour"], world["dir"] / "ref.fa.gz", tmp_path / "t.bcf")
    with pytest.raises(InputError, match=r"has no .fai index \(run samtools faidx on it\)"):
        run_delly(world["bams"]["tumour"], tmp_path / "bare.fa", tmp_path / "t.bcf")


def test_restrict_keeps_calls_with_an_end_in_a_region():
    inside = _delly(Breakend("c1", 150, "+"), Breakend("c9", 5, "-"), svtype="BND")
    outside = _delly(Breakend("c1", 250, "+"), Breakend("c1", 900, "+"), ident="D2")
    assert restrict([inside, outside], [("c1", 100, 200)]) == [inside]


def test_scripts_report_a_tool_error_in_one_line(tmp_path):
    log = tmp_path / "job.log"
    code = (
        "from seq2rx.core.io import log_stderr\nfrom seq2rx.core.errors import ToolError\n"
        f"log_stderr({str(log)!r})\nraise ToolError('delly', 'not found on PATH', hint='apt-get install delly')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert log.read_text() == "seq2rx: tool error: delly: not found on PATH (apt-get install delly)\n"
