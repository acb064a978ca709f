"""fastnn/bench/training.py: the training cases of `fastnn bench` and their competitors.

A speed-up of fit over "plain NumPy" or PyTorch only means something if they
train the same network the same way: these tests check that one update of
the plain NumPy network (and of the torch one) leaves the same parameters and
the same loss as fastnn's NumPy backend, from the same initial weights, to
1e-10 in float64. Sizes are tiny and timings are never checked.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import fastnn
from conftest import assert_close
from fastnn import __main__ as cli
from fastnn.bench import training as bt
from fastnn.data import batch_bounds

SAME = 1e-10
TINY_BN = bt.TrainCase((12, 9, 7, 4), True, 40, 40, lr=0.05)  # one full batch: no merge rule involved


def tiny(case: bt.TrainCase) -> bt.TrainCase:
    """``case`` at a few samples and narrow layers, same kind (per, optimiser, BN, threads)."""
    sizes = (*(max(2, s // 64) for s in case.sizes[:-1]), case.sizes[-1])  # distinct names, as the real ones
    return dataclasses.replace(case, sizes=sizes, samples=37, batch=8, epochs=min(case.epochs, 2))


def case_with(optimizer):
    return dataclasses.replace(TINY_BN, optimizer=optimizer, lr=0.05 if optimizer == "sgd" else 0.01)


def reference_run(case, steps):
    """fastnn's NumPy backend: `steps` full-batch updates -> (model, per-update losses before each update)."""
    X, y = bt.make_data(case, "float64")
    model = bt.make_model(case, "float64", backend="numpy")
    initial = bt.dense_parameters(model)
    history = model.fit(X, y, epochs=steps, batch_size=case.samples, optimizer=bt.fastnn_optimizer(case), verbose=0)
    return X, y, initial, model, history.history["loss"]


def assert_same_parameters(model, named, what):
    for i, p in enumerate(bt.dense_parameters(model)):
        for key in ("W", "b", "gamma", "beta"):
            if p[key] is not None:
                assert_close(named[f"{i}.{key}"], p[key], SAME, what=f"{what} {i}.{key}")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_plain_numpy_steps_change_the_loss_as_fastnns_numpy_backend(optimizer):
    case = case_with(optimizer)
    X, y, initial, model, losses = reference_run(case, steps=3)
    plain = bt.PlainMLP(initial, case.optimizer, case.lr)
    plain_losses = [plain.step(X, y) for _ in range(3)]
    # the loss before each update: the first is the same start, the others follow one and two updates
    np.testing.assert_allclose(plain_losses, losses, rtol=SAME, atol=0)
    assert_same_parameters(model, dict(plain.params()), "plain numpy")
    for i, layer in enumerate(layer for layer in model.layers if isinstance(layer, fastnn.layers.BatchNorm)):
        assert_close(plain.running_mean[i], layer.running_mean, SAME, what="running mean")
        assert_close(plain.running_var[i], layer.running_var, SAME, what="running variance")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_torch_competitor_makes_the_same_updates(optimizer):
    torch = pytest.importorskip("torch")
    case = dataclasses.replace(case_with(optimizer), epochs=3)
    X, y, initial, model, _ = reference_run(case, steps=3)
    net = bt.torch_model(torch, case, initial)
    bounds = batch_bounds(case.samples, case.batch, merge_last=True)
    bt.torch_fit(torch, case, net, torch.from_numpy(X), torch.from_numpy(y), bounds, torch.Generator().manual_seed(0))
    params = iter(p.detach().numpy() for p in net.parameters())  # Linear weight (bias), BN weight, bias, ...
    named = {f"{i}.{k}": next(params) for i, p in enumerate(initial)
             for k in ("W", "b", "gamma", "beta") if p[k] is not None}
    assert_same_parameters(model, named, "torch")


def test_plain_numpy_stays_in_float32():
    case = case_with("adam")
    X, y = bt.make_data(case, "float32")
    plain = bt.PlainMLP(bt.dense_parameters(bt.make_model(case, "float32")), "adam", 0.01)
    assert plain.step(X, y).dtype == np.float32
    assert {p.dtype for _, p in plain.params()} == {np.dtype(np.float32)}
    assert all(m.dtype == np.float32 for m, _ in plain.adam.values())


def test_the_cases_are_the_coursework_networks():
    by_name = {c.name: c for c in bt.TRAIN_CASES}
    assert len(by_name) == len(bt.TRAIN_CASES) and all(name.startswith("train ") for name in by_name)
    expected = {
        "train 3072-50-50-10 bn sgd": ((3072, 50, 50, 10), 10_000, 100, 1, "epoch"),
        "train 784-512-512-10 bn sgd": ((784, 512, 512, 10), 10_000, 256, 1, "epoch"),
        "train 64-100-10 bn adam 50 epochs": ((64, 100, 10), 1347, 32, 50, "run"),
        "train 2-16-2 sgd 20 epochs": ((2, 16, 2), 1024, 32, 20, "run"),
        "train 784-512-512-10 bn sgd threads 1 vs 2": ((784, 512, 512, 10), 10_000, 256, 1, "epoch"),
        "train 500-500x10-10 bn sgd": ((500, *[500] * 10, 10), 10_000, 256, 1, "epoch"),
    }
    assert set(by_name) == set(expected)
    for name, (sizes, samples, batch, epochs, per) in expected.items():
        case = by_name[name]
        assert (case.sizes, case.samples, case.batch, case.epochs, case.per) == (sizes, samples, batch, epochs, per)
        assert case.batch_norm == (" bn " in name)
    assert by_name["train 784-512-512-10 bn sgd"].updates_per_epoch == 39  # 10,000 = 39 x 256 + 16, merged
    # --quick: a tenth of the samples per epoch, or of the epochs of a whole run (the name says so)
    assert by_name["train 784-512-512-10 bn sgd"].quick().samples == 1000
    assert by_name["train 64-100-10 bn adam 50 epochs"].quick().name == "train 64-100-10 bn adam 5 epochs"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", bt.TRAIN_CASES, ids=lambda c: c.name)
def test_every_competitor_trains(case, dtype, thread_count):
    small = tiny(case)
    competitors = bt.train_competitors(small, dtype)
    names = [name for name, _ in competitors]
    torch = pytest.importorskip("torch") if "torch" in names else None
    assert names == bt.backend_names(small, torch is not None)
    for _, fit in competitors:
        fit()
    result = bt.run_train_case(small, dtype, rounds=1)
    assert set(result.seconds) == set(names) and all(s > 0 for s in result.seconds.values())
    record = result.as_dict()
    assert record["group"] == ("threads" if case.threads else "training")
    assert record["samples"] == 37 and record["epochs"] == small.epochs
    assert record["updates_per_epoch"] == len(batch_bounds(37, 8, merge_last=case.batch_norm))


def test_the_threads_case_puts_the_thread_count_back(thread_count):
    fastnn.set_num_threads(1)
    case = tiny(next(c for c in bt.TRAIN_CASES if c.threads))
    result = bt.run_train_case(case, "float32", rounds=1)
    assert set(result.seconds) == {"c", "c1"} and fastnn.get_num_threads() == 1


def test_unknown_backends_are_refused():
    with pytest.raises(ValueError, match="must be among"):
        bt.train_competitors(tiny(bt.TRAIN_CASES[0]), "float32", backends=["c1"])


def test_bench_cases_train_prints_the_training_table_and_the_threads_line(capsys, monkeypatch, tmp_path,
                                                                          thread_count):
    # the real cases in quick mode take several seconds; the same kinds at tiny sizes take a fraction
    monkeypatch.setattr(bt, "TRAIN_CASES", tuple(tiny(c) for c in bt.TRAIN_CASES))
    path = tmp_path / "bench.json"
    code = cli.main(["bench", "--quick", "--dtype", "float64", "--cases", "train", "--rounds", "1",
                     "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "float64: training, ms per epoch" in out
    header = next(line for line in out.splitlines() if line.startswith("case"))
    assert header.split()[:5] == ["case", "size", "per", "c", "ms"] and "numpy/c" in header
    rows = [line for line in out.splitlines() if line.startswith("train ")]
    assert len(rows) == len(bt.TRAIN_CASES) - 1  # the threads case has its own line
    assert "fastnn's own scaling" in out and "1 thread" in out and "2 threads" in out
    assert "--quick: 10x fewer samples" in out
    assert "linear_forward" not in out  # --cases train selects the training cases only
    record = json.loads(path.read_text())
    assert record["settings"]["training_rounds"] == 1
    assert [r["case"] for r in record["results"]] == [c.quick().name for c in bt.TRAIN_CASES]

