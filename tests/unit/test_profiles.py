"""Every rule carries what a cluster needs: the SLURM profile maps threads, mem_mb and runtime onto
sbatch, so a rule without them would run with the profile's defaults."""

from __future__ import annotations

import re

import yaml

RULE = re.compile(r"^([ \t]*)(?:local)?(?:rule|checkpoint) (\w+):\n((?:\1[ \t]+.*\n|[ \t]*\n)*)", re.M)


def _rules(repo) -> dict[str, str]:
    rules = {}
    for smk in sorted((repo / "rules").glob("*.smk")):
        for m in RULE.finditer(smk.read_text()):
            rules[m.group(2)] = m.group(3)
    return rules


def test_every_rule_declares_threads_memory_and_runtime(repo):
    rules = _rules(repo)
    assert len(rules) >= 25  # all the stages' rules were found, not an empty pass
    missing = {
        name: [k for k in ("threads:", "mem_mb=", "runtime=", "log:", "benchmark:") if k not in body]
        for name, body in rules.items()
    }
    assert {name: keys for name, keys in missing.items() if keys} == {}


def test_the_slurm_profile_uses_the_slurm_executor(repo):
    profile = yaml.safe_load((repo / "profiles/slurm/config.yaml").read_text())
    assert profile["executor"] == "slurm"
    # defaults only: a rule's own threads and resources win over them
    assert set(profile["default-resources"]) == {"mem_mb", "runtime"}
    assert "set-resources" not in profile and "set-threads" not in profile
