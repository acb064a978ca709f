"""fastnn.examples: each example runs with its small flag and writes its figures."""

from __future__ import annotations

import re
import sys

import pytest

from fastnn.examples import digits, hidden_units, init_study, normalization, perceptron, xor

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


def test_xor_example(tmp_path, capsys):
    out, names = _run(xor, tmp_path, capsys)
    assert names == ["xor.png"]
    lines = out.splitlines()
    step = {line.split()[0]: line.split()[1:] for line in lines[2:11]}
    assert step["w13"] == ["0.0037", "0.003688133"] and step["delta1"] == ["0.000315", "0.0003155933"]
    xavier = lines.index(next(line for line in lines if line.startswith("seeded Xavier init")))
    outputs = [float(line.split()[3]) for line in lines[xavier + 2:xavier + 6]]
    assert [o > 0.5 for o in outputs] == [False, True, True, False]


def test_hidden_units_example(tmp_path, capsys):
    out, names = _run(hidden_units, tmp_path, capsys)
    assert names == ["hidden_units.png"]
    rows = [line.split() for line in out.splitlines()[1:8]]
    assert [(int(r[0]), float(r[1])) for r in rows] == [(3, 0), (20, 0), (30, 0), (100, 0),
                                                        (100, 1e-4), (100, 1e-3), (100, 1e-2)]
    assert all(float(r[2].rstrip("%")) > 70 for r in rows)  # every net beats chance on its training data


def test_normalization_example(tmp_path, capsys):
    out, names = _run(normalization, tmp_path, capsys)
    assert names == ["normalization.png"]
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:4]}
    assert set(rows) == {"raw", "standardised", "min-max"}
    # standardised inputs train to a lower loss than raw ones, whatever the learning rate
    assert float(rows["standardised"][2]) < float(rows["raw"][2])


def test_digits_example(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out, names = _run(digits, tmp_path, capsys)
    assert names == ["digits.png"]
    last = [line.split() for line in out.splitlines() if line.startswith("5 ")][0]
    assert float(last[4].rstrip("%")) > 85  # held-out accuracy after 5 epochs
    [timing] = re.findall(r"5 epochs in ([0-9.]+) (µs|ms|s)\n", out)  # a real duration, not "0.0 s"
    assert float(timing[0]) > 0
