"""fastnn.examples: each example runs with its small flag and writes its figures."""

from __future__ import annotations

import sys

import pytest

from fastnn.examples import perceptron


def test_perceptron_example_prints_its_table_and_saves_the_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "figures"  # created by the example
    assert perceptron.main(["--out", str(out_dir), "--small"]) == 0
    out = capsys.readouterr().out
    separable = next(line.split() for line in out.splitlines() if line.startswith("separable"))
    xor = next(line.split() for line in out.splitlines() if line.startswith("XOR"))
    assert separable[2] == "True" and separable[5] == "100%" and float(separable[6]) > 0
    assert xor[2] == "False" and xor[6] == "-inf"
    for name in ("perceptron_separable.png", "perceptron_xor.png"):
        assert (out_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_perceptron_example_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert perceptron.main(["--out", str(tmp_path), "--small"]) == 1
    assert "pip install matplotlib" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())

