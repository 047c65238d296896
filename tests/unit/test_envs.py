"""The conda environments tell the truth: every pin in envs/*.yaml equals the version this test
suite is running with, and every rule names one of those environments. A program that is not a
Python distribution (delly) is checked by its own ``--version`` when it is on PATH.

Conda channels are out of reach here, so the environments cannot be built in CI; this is the
check available: an env that drifts from what was tested fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted((REPO / "envs").glob("*.yaml"))
#: conda package names that differ from the installed distribution's name
CONDA_TO_DIST = {"pyyaml": "PyYAML"}
#: pinned for the environment itself, not a Python distribution
NOT_PYTHON = {"python", "pip"}
#: programs pinned in an env that are not Python distributions: the command that prints the
#: version, and the pattern that finds it in what it prints (checked when on PATH, else skipped)
PROGRAMS = {"delly": (["delly", "--version"], r"Delly version: v?(\S+)")}


def program_version(name: str) -> str | None:
    """The installed version of a pinned program, or None when it is not on PATH."""
    command, pattern = PROGRAMS[name]
    if shutil.which(command[0]) is None:
        return None
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    m = re.search(pattern, done.stdout + done.stderr)
    assert m, f"{' '.join(command)} printed no version: {(done.stdout + done.stderr)[:200]!r}"
    return m.group(1)


def pins(env: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(env.read_text())
    out = []
    for dep in doc["dependencies"]:
        if isinstance(dep, dict):
            for item in dep.get("pip", []):
                name, _, ver = item.partition("==")
                out.append((name.strip(), ver.strip()))
        else:
            name, _, ver = dep.partition("=")
            if name not in NOT_PYTHON:
                out.append((name, ver))
    return out


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_every_pin_is_what_the_tests_ran_with(env):
    found = pins(env)
    assert found, f"{env.name} pins nothing"
    absent = []
    for name, pinned in found:
        assert pinned, f"{env.name}: {name} is not pinned"
        if name in PROGRAMS:
            installed = program_version(name)
            if installed is None:
                absent.append(name)
            else:
                assert installed == pinned, f"{env.name}: {name} pinned {pinned}, tests ran with {installed}"
            continue
        try:
            installed = version(CONDA_TO_DIST.get(name, name))
        except PackageNotFoundError:
            pytest.fail(f"{env.name} pins {name}={pinned}, which is not installed where the tests run")
        assert installed == pinned, f"{env.name}: {name} pinned {pinned}, tests ran with {installed}"
    if absent:
        pytest.skip(f"{env.name}: {absent} not on PATH, so its pin was not checked (CI installs it with apt-get)")


def test_python_is_the_tested_minor_version():
    import sys

    for env in ENVS:
        text = env.read_text()
        m = re.search(r"- python=(\d+\.\d+)", text)
        assert m and m.group(1) == f"{sys.version_info.major}.{sys.version_info.minor}", env.name


def test_every_rule_uses_a_pinned_env():
    names = {p.name for p in ENVS}
    rules = 0
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for block in re.split(r"\n(?=(?:    )?(?:rule|checkpoint) )", text):
            if not re.match(r"\s*(?:rule|checkpoint) \w+:", block):
                continue
            rules += 1
            m = re.search(r'conda:\s*\n\s*"\.\./envs/([\w.-]+)"', block)
            assert m and m.group(1) in names, f"{smk.name}: {block.splitlines()[0].strip()} has no env in envs/"
    assert rules >= 20
