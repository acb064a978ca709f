"""fastnn/bench/kernels.py: the kernel cases of `fastnn bench` and their competitors.

A speed-up only means something if the competitors compute the same thing:
these tests run every case's callables once and compare their outputs. The
tolerance (1e-10 relative, float64) separates "same quantity, summed in a
different order" from a different computation (an error of order 1); the
kernels' own accuracy is tested in tests/test_ops.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastnn
from conftest import assert_close
from fastnn import ops
from fastnn.bench import kernels

SAME = 1e-10


def outputs(call):
    """The outputs of one competitor call, as a list of float64 arrays."""
    result = call()
    items = result if isinstance(result, tuple) else (result,)
    return [np.asarray(x.detach().numpy() if hasattr(x, "detach") else x, dtype=np.float64) for x in items]


def assert_same_outputs(case, backends):
    calls = dict(kernels.case_competitors(case, "float64", backends=backends))
    expected = outputs(calls.pop("numpy"))
    for name, call in calls.items():
        actual = outputs(call)
        assert len(actual) == len(expected), f"{name}: {len(actual)} outputs, numpy has {len(expected)}"
        for k, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, SAME, what=f"{case.name}, {name} output {k}")


@pytest.mark.parametrize("case", kernels.BENCH_CASES, ids=lambda c: c.name)
def test_c_computes_what_numpy_computes(case):
    assert_same_outputs(case, ["c", "numpy"])


@pytest.mark.parametrize("case", kernels.BENCH_CASES, ids=lambda c: c.name)
def test_torch_computes_what_numpy_computes(case):
    pytest.importorskip("torch")
    assert_same_outputs(case, ["torch", "numpy"])


def test_asking_for_torch_without_it_is_an_import_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    case = kernels.BENCH_CASES[0]
    with pytest.raises(ImportError, match="PyTorch"):
        kernels.case_competitors(case, "float32", backends=["torch"])
    assert [name for name, _ in kernels.case_competitors(case, "float32")] == ["c", "numpy"]


def test_the_cases_are_the_coursework_layer_sizes():
    names = {c.name for c in kernels.BENCH_CASES}
    linear = {f"{op} {size}" for op in ("linear_forward", "linear_backward")
              for size in ("100x3072->50", "256x784->512")}
    assert {"linear_forward 1024x1024->1024", "batchnorm fwd+bwd 256x512",
            "softmax_cross_entropy 256x10", "softmax_cross_entropy 256x1000"} | linear <= names
    assert {f"activation({a}) fwd+bwd 256x4096" for a in kernels.ACTIVATIONS} <= names
    assert [c.shape[0] for c in kernels.scaling_cases()] == [1, 8, 64, 256, 1024]
    assert len(names) == len(kernels.BENCH_CASES)  # no case twice


@pytest.mark.parametrize("op, shape, flops", [
    ("linear_forward", (1024, 1024, 1024), 2 * 1024**3),
    ("linear_backward", (256, 784, 512), 4 * 256 * 784 * 512),
    ("dense_forward", (256, 784, 512), 2 * 256 * 784 * 512),
    ("batchnorm", (256, 512), None),
])
def test_flops_count_the_matrix_products(op, shape, flops):
    assert kernels.Case(op, shape, "relu" if op == "dense_forward" else None).flops == flops


def test_a_fused_dense_forward_is_used_and_named_when_the_build_has_it(monkeypatch):
    calls = []

    def dense_forward(X, W, b, activation, alpha=None):
        calls.append(activation)
        S = ops.linear_forward(X, W, b)
        return S, ops.activation_forward(activation, S)

    case = kernels.Case("dense_forward", (8, 16, 4), "relu")
    monkeypatch.delattr(ops, "dense_forward", raising=False)
    assert case.label == "linear_forward+activation(relu)"
    [(_, unfused)] = kernels.case_competitors(case, "float64", backends=["c"])
    unfused()
    assert calls == []
    monkeypatch.setattr(ops, "dense_forward", dense_forward, raising=False)
    assert case.label == "dense_forward(relu)"
    [(_, fused)] = kernels.case_competitors(case, "float64", backends=["c"])
    fused()
    assert calls == ["relu"]


def test_numpys_probe_judges_only_the_matrix_products(monkeypatch):
    """The reference's elementwise kernels do not run on NumPy's BLAS threads, which its probe measures."""
    from fastnn.bench import kernels, timing

    def fake_sampling(competitors, probes, **options):
        return ({name: [1.0, 1.0, 1.0] for name, _ in competitors},
                {name: [5.0, 5.0, 5.0] for name, _ in probes}, [0, 0, 0])

    monkeypatch.setattr(kernels, "sample_with_probes", fake_sampling)
    probes = [("c", None), ("numpy", None)]
    floors = timing.ProbeFloors()
    product = kernels.run_case(kernels.Case("linear_forward", (8, 16, 4)), "float64", 0, 1, probes, floors)
    elementwise = kernels.run_case(kernels.Case("batchnorm", (8, 16)), "float64", 0, 1, probes, floors)
    assert set(product.probes) == {"c", "numpy"} and set(elementwise.probes) == {"c"}
    assert floors.floor == {"c": 5.0, "numpy": 5.0}
    assert product.runnable == [0, 0, 0] and product.threads == fastnn.get_num_threads()
