"""fastnn.examples: each example runs with its small flag and writes its figures."""

from __future__ import annotations

import sys

import pytest

from fastnn.examples import init_study, perceptron

PNG = b"\x89PNG\r\n\x1a\n"


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
        assert (out_dir / name).read_bytes()[:8] == PNG


def test_perceptron_example_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert perceptron.main(["--out", str(tmp_path), "--small"]) == 1
    assert "pip install matplotlib" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())



def _run(module, tmp_path, capsys):
    """Run an example with --small into tmp_path; returns (stdout, names of the files written)."""
    pytest.importorskip("matplotlib")
    assert module.main(["--out", str(tmp_path), "--small"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == PNG, name
    return capsys.readouterr().out, names


def test_init_study_example(tmp_path, capsys):
    out, names = _run(init_study, tmp_path, capsys)
    assert names == sorted(["init_stds.png"] + [f"init_{a}_{t}.png" for a in ("tanh", "relu")
                                                for t in ("small", "large", "xavier", "he")])
    rows = {line.rsplit(None, 6)[0]: [float(v) for v in line.split()[-6:]]
            for line in out.splitlines() if line.startswith(("tanh ", "relu "))}
    assert len(rows) == 8 and all(len(v) == 4 + 2 for v in rows.values())  # 4 layers, 2 gradient stds
    # 100-unit layers: tanh with N(0, 0.01^2) shrinks the std about tenfold per layer; ReLU with
    # N(0, 1) multiplies it by about sqrt(100 / 2)
    assert rows["tanh N(0, 0.01^2)"][3] < 1e-2 * rows["tanh N(0, 0.01^2)"][0]
    assert rows["relu N(0, 1)"][3] > 1e2 * rows["relu N(0, 1)"][0]
