"""fastnn.examples: each example runs with its small flag and writes its figures."""

from __future__ import annotations

import math
import os
import pickle
import re
import subprocess
import sys

import pytest

import fastnn
from fastnn.examples import (
    cifar_assignment,
    digits,
    hidden_units,
    init_study,
    normalization,
    perceptron,
    xor,
)

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


ASSIGNMENT_FIGURES = ["2layer.png", "final.png", "klayer.png", "lambda_search.png"]


def _final_accuracy(out):
    """The percentage of the line 'final test accuracy: 75.20%', as a fraction."""
    found = re.findall(r"^final test accuracy: (\d+\.\d\d)%$", out, flags=re.MULTILINE)
    assert len(found) == 1, out
    return float(found[0]) / 100


def _search_rows(out):
    """[(stage, lambda, validation accuracy)] from the lambda search's table."""
    rows = re.findall(r"^  (coarse|fine) +(\S+) +(\d+\.\d\d)%", out, flags=re.MULTILINE)
    return [(stage, float(lam), float(acc) / 100) for stage, lam, acc in rows]


def test_cifar_assignment_runs_synthetic_small_in_a_fresh_interpreter(tmp_path):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "figures"  # created by the script
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    run = subprocess.run([sys.executable, "-m", "fastnn.examples.cifar_assignment", "--synthetic", "--small",
                          "--seed", "0", "--out", str(out_dir)],
                         env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ASSIGNMENT_FIGURES
    for name in ASSIGNMENT_FIGURES:
        assert (out_dir / name).read_bytes()[:8] == PNG, name
    # n_s = 2 floor(n / n_batch) for the 2,000 training samples in batches of 100
    assert "n_s = 2 floor(2000 / 100) = 40" in out
    model_check = re.search(r"the first 20 entries of 0.W: (\S+)$", out, flags=re.MULTILINE)
    assert float(model_check.group(1)) < 1e-6
    # coarse: log10 lambda in [-5, -1]; fine: within 0.5 of the best coarse lambda
    rows = _search_rows(out)
    coarse = [r for r in rows if r[0] == "coarse"]
    fine = [r for r in rows if r[0] == "fine"]
    assert len(coarse) == 3 and len(fine) == 3
    assert all(1e-5 <= lam <= 1e-1 for _, lam, _ in coarse)
    best = max(coarse, key=lambda r: r[2])[1]
    assert all(abs(math.log10(lam) - math.log10(best)) <= 0.5 for _, lam, _ in fine)
    # ten overlapping classes: far above chance (10%), yet not separable
    assert 0.5 < _final_accuracy(out) < 0.99


def _write_cifar_folder(folder, per_file, seed):
    """A CIFAR-10 python-version folder (five training batches and a test batch) of synthetic images."""
    X, y = cifar_assignment.synthetic_cifar(6 * per_file, seed=seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        part = slice(i * per_file, (i + 1) * per_file)
        batch = {b"batch_label": name.encode(), b"labels": y[part].tolist(), b"data": X[part],
                 b"filenames": [b"%d.png" % j for j in range(per_file)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def test_cifar_assignment_reads_cifar_batches_and_repeats_itself_with_a_seed(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    data_dir = tmp_path / "cifar-10-batches-py"
    data_dir.mkdir()
    _write_cifar_folder(data_dir, per_file=260, seed=5)
    outputs = []
    for run in range(2):
        out_dir = tmp_path / "figures"
        assert cifar_assignment.main(["--data", str(data_dir), "--small", "--seed", "7", "--out", str(out_dir)]) == 0
        out = capsys.readouterr().out
        outputs.append([line for line in out.splitlines() if not line.startswith("finished in")])
    assert outputs[0] == outputs[1]
    out = "\n".join(outputs[0])
    # 1,300 training images: the last 500 validate, 800 train; the 260 test images are all used
    assert out.startswith(f"data: CIFAR-10 from {data_dir}: 800 training, 500 validation and 260 test samples "
                          "of 3072 features")
    assert _final_accuracy(out) > 0.3
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ASSIGNMENT_FIGURES


def test_cifar_assignment_names_data_and_the_files_it_needs(tmp_path, capsys):
    (tmp_path / "data_batch_1").write_bytes(b"")
    out_dir = tmp_path / "figures"
    assert cifar_assignment.main(["--data", str(tmp_path), "--small", "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert f"--data {tmp_path}" in err and "data_batch_2" in err and "test_batch" in err
    assert not out_dir.exists()
    for name in ["data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps([1, 2, 3]))
    assert cifar_assignment.main(["--data", str(tmp_path), "--small", "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert f"--data {tmp_path}: " in err and "data_batch_1: not a CIFAR-10 python batch" in err
    assert not out_dir.exists()


def test_cifar_assignment_needs_one_data_source(capsys):
    with pytest.raises(SystemExit) as exit_:
        cifar_assignment.main(["--small"])
    assert exit_.value.code == 2
    assert "one of the arguments --data --synthetic --digits is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cifar_assignment.main(["--synthetic", "--seed", "-1"])
    assert "--seed: must be an integer >= 0, got -1" in capsys.readouterr().err


def test_digits_through_the_assignment_recipe_reaches_97_percent(tmp_path, capsys):
    """The full recipe on a real data set: [50, 50] with batch norm, cyclical rates, the lambda search."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    assert cifar_assignment.main(["--digits", "--seed", "0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "k-layer network [64, 50, 50, 10] with batch norm" in out
    assert len(_search_rows(out)) == 16
    assert _final_accuracy(out) >= 0.97
