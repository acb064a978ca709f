"""README.md: its Python examples run as written, and its set-up commands are the ones CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import fastnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_stays_short_and_has_its_quickstart():
    assert len(README.splitlines()) <= 250
    assert "## Quickstart" in README and len(BLOCKS) >= 2
    quickstart = README.split("## Quickstart", 1)[1]
    assert re.search(r"```python\n(.*?)```", quickstart, re.S).group(1).count("\n") <= 10


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_each_python_example_runs(index, tmp_path):
    code = BLOCKS[index]
    if "load_digits" in code:
        pytest.importorskip("sklearn")
    # a fresh interpreter in an empty folder, as a reader pasting the example
    # the fastnn these tests import (the installed one, or a tree built in place)
    where = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()  # every example prints what its comment says


def test_the_quickstart_reaches_the_accuracy_it_promises(tmp_path):
    pytest.importorskip("sklearn")
    quickstart = re.search(r"```python\n(.*?)```", README.split("## Quickstart", 1)[1], re.S).group(1)
    code = quickstart.replace("print(model.evaluate(", "result = (model.evaluate(")
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README quickstart", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert namespace["result"]["accuracy"] >= 0.97
    assert (tmp_path / "digits.npz").exists()


def test_ci_sets_up_and_tests_the_way_the_readme_says():
    ci = open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8").read()
    for command in ('pip install ".[test]"', "pytest -q -p no:cacheprovider"):
        assert command in README
        assert command in ci
