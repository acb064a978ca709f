"""The optimiser updates and the L2 term: fastnn.ops (C) against fastnn.reference (NumPy).

The updates change a parameter and its state arrays in place. Each is run for
several steps in a row, for float32 and float64, on C-ordered, Fortran-ordered,
row-strided and 1-D (also strided and reversed) arrays, with 1 and 2 threads,
and compared with the reference, with PyTorch's optimisers (whose weight_decay
is the gradient term 2 l2 of l2) and with itself across layouts and thread
counts (bit for bit: the kernels are elementwise). Then the L2 term (finite
differences for its gradient), NaN, edge cases and bad arguments, which both
modules refuse with the same message and without touching any array.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import _ops, ops, optim, reference

from conftest import DTYPES, GRAD_TOL, SIMD_LEVELS, TOL, assert_close, randn, rel_error, with_layout

STEPS = 4
MODULE_NAMES = ("ops", "reference")

CONFIGS = [
    ("sgd_update", dict(lr=0.1)),
    ("sgd_update", dict(lr=0.1, momentum=0.9)),
    ("sgd_update", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("sgd_update", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("adagrad_update", dict(lr=0.1)),
    ("adagrad_update", dict(lr=0.1, lr_decay=0.05, eps=1e-6)),
    ("rmsprop_update", dict(lr=0.01)),
    ("rmsprop_update", dict(lr=0.01, momentum=0.5)),
    ("rmsprop_update", dict(lr=0.01, centered=True)),
    ("rmsprop_update", dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True)),
    ("adam_update", dict(lr=0.01)),
    ("adam_update", dict(lr=0.01, beta1=0.8, beta2=0.9, eps=1e-6)),
]
CONFIG_IDS = [f"{kernel[:-7]}-{'-'.join(f'{k}{v}' for k, v in hyper.items())}" for kernel, hyper in CONFIGS]


def _hyper(kernel, hyper):
    """Every hyper-parameter of the call: the kernel's defaults with ``hyper`` over them."""
    params = inspect.signature(getattr(reference, kernel)).parameters
    full = {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}
    full.update(hyper)
    full.pop("first_step", None)
    full.pop("l2", None)
    return full


def _state_names(kernel, hyper):
    """The state arrays this configuration uses (the others are passed as None)."""
    h = _hyper(kernel, hyper)
    if kernel == "sgd_update":
        return ("momentum_buffer",) if h["momentum"] != 0 else ()
    if kernel == "adagrad_update":
        return ("state_sum",)
    if kernel == "rmsprop_update":
        return ("square_avg",) + (("grad_avg",) if h["centered"] else ()) + (
            ("momentum_buffer",) if h["momentum"] > 0 else ())
    return ("m", "v")


ALL_STATES = {"sgd_update": ("momentum_buffer",), "adagrad_update": ("state_sum",),
              "rmsprop_update": ("square_avg", "grad_avg", "momentum_buffer"), "adam_update": ("m", "v")}


def new_state(kernel, hyper, like, make=np.zeros_like):
    """name -> a new state array (``make(like)``) or None, for every state argument of ``kernel``."""
    used = _state_names(kernel, hyper)
    return {name: make(like) if name in used else None for name in ALL_STATES[kernel]}


def update(module, kernel, hyper, param, grad, state, step, l2=0.0):
    """One call of ``kernel``: step is the 1-based update count (SGD's first step fills its buffer)."""
    kwargs = dict(hyper, l2=l2)
    if kernel in ("adagrad_update", "adam_update"):
        kwargs["step"] = step
    if kernel == "sgd_update":
        kwargs["first_step"] = step == 1
    return getattr(module, kernel)(param, grad, **state, **kwargs)


def run_steps(module, kernel, hyper, param, grads, state, l2=0.0, first=1):
    for k, g in enumerate(grads):
        assert update(module, kernel, hyper, param, g, state, first + k, l2) is None


def _arrays(param, state):
    return {"param": param, **{k: v for k, v in state.items() if v is not None}}


def assert_all_close(got, want, dtype, what):
    for name in want:
        assert got[name].dtype == dtype
        assert_close(got[name], want[name], TOL[np.dtype(dtype)], f"{what}: {name}")


# ------------------------------------------------------------------ in-place layouts

class InPlace:
    """An array an update writes to, stored with a layout; strided layouts are views into a
    buffer whose other slots hold NaN, which must still be NaN after the update."""

    def __init__(self, a, layout):
        a = a.copy()  # never a view of the caller's array, which tests reuse
        self.layout = layout
        self.gaps = None
        if layout == "row_strided":
            big = np.full((2 * a.shape[0], a.shape[1]), np.nan, dtype=a.dtype)
            big[::2] = a
            self.view, self.gaps = big[::2], big[1::2]
        elif layout == "strided_vector":
            big = np.full(3 * a.size, np.nan, dtype=a.dtype)
            big[::3] = a
            self.view, self.gaps = big[::3], big.reshape(-1, 3)[:, 1:]
        elif layout == "reversed_vector":
            self.view = np.ascontiguousarray(a[::-1])[::-1]
        else:
            self.view = with_layout(a, layout) if a.ndim == 2 else a
        assert np.array_equal(self.view, a)

    def untouched_gaps(self):
        return self.gaps is None or bool(np.all(np.isnan(self.gaps)))


IN_PLACE_LAYOUTS = ("C", "F", "transposed", "row_strided")
SHAPES = [(1, 1), (7, 33), (64, 300)]  # the last: more than one piece, pieces start mid-row


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_update_matches_reference_over_several_steps(rng, dtype, layout, num_threads, kernel, hyper, shape):
    # grad in every layout; the arrays written in place in the same one (col_strided, which the
    # C kernels cannot write through, gives them row_strided instead)
    param = randn(rng, shape, dtype)
    grads = [randn(rng, shape, dtype) for _ in range(STEPS)]
    want_param, want_state = param.copy(), new_state(kernel, hyper, param)
    run_steps(reference, kernel, hyper, want_param, grads, want_state, l2=0.01)

    in_layout = "row_strided" if layout == "col_strided" else layout
    state = new_state(kernel, hyper, param)
    stored = {name: InPlace(a, in_layout) for name, a in _arrays(param, state).items()}
    views = {name: s.view for name, s in stored.items()}
    got_state = {k: views.get(k) for k in state}
    run_steps(ops, kernel, hyper, views["param"], [with_layout(g, layout) for g in grads], got_state, l2=0.01)

    assert_all_close(views, _arrays(want_param, want_state), dtype, "vs reference")
    assert all(s.untouched_gaps() for s in stored.values()), "an update wrote outside its view"
    # elementwise: the same values in any layout give the same bits
    plain_param, plain_state = param.copy(), new_state(kernel, hyper, param)
    run_steps(ops, kernel, hyper, plain_param, grads, plain_state, l2=0.01)
    for name, value in _arrays(plain_param, plain_state).items():
        assert np.array_equal(views[name], value), f"{name} depends on the layout"
    if dtype == np.float32:  # and float32 is close to the exact answer
        exact_param, exact_state = param.astype(np.float64), new_state(kernel, hyper, param.astype(np.float64))
        run_steps(reference, kernel, hyper, exact_param, [g.astype(np.float64) for g in grads], exact_state,
                  l2=0.01)
        assert_all_close(views, _arrays(exact_param, exact_state), np.float32, "vs float64 reference")


@pytest.mark.parametrize("layout", ["vector", "strided_vector", "reversed_vector"])
@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_update_of_a_vector_matches_reference(rng, dtype, kernel, hyper, layout):
    param = randn(rng, 300, dtype)
    grads = [randn(rng, 300, dtype)[::-1] for _ in range(STEPS)]  # a reversed view, only read
    want_param, want_state = param.copy(), new_state(kernel, hyper, param)
    run_steps(reference, kernel, hyper, want_param, grads, want_state)
    state = new_state(kernel, hyper, param)
    stored = {name: InPlace(a, layout) for name, a in _arrays(param, state).items()}
    views = {name: s.view for name, s in stored.items()}
    run_steps(ops, kernel, hyper, views["param"], grads, {k: views.get(k) for k in state})
    assert_all_close(views, _arrays(want_param, want_state), dtype, layout)
    assert all(s.untouched_gaps() for s in stored.values())


def test_fortran_ordered_state_of_a_fortran_ordered_parameter_is_updated_through_its_view(rng, dtype):
    # optim's state arrays are np.zeros_like(param): Fortran-ordered for a Fortran-ordered parameter
    p = np.asfortranarray(randn(rng, (6, 9), dtype))
    g = randn(rng, (6, 9), dtype)
    m, v = np.zeros_like(p), np.zeros_like(p)
    assert m.flags.f_contiguous and not m.flags.c_contiguous
    want_p, want_m, want_v = np.ascontiguousarray(p), np.zeros(p.shape, dtype), np.zeros(p.shape, dtype)
    ops.adam_update(p, g, m, v, 0.01, 1)
    ops.adam_update(want_p, g, want_m, want_v, 0.01, 1)
    assert np.array_equal(p, want_p) and np.array_equal(m, want_m) and np.array_equal(v, want_v)


# ------------------------------------------------------------------ threads and SIMD levels

@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_update_is_bit_identical_across_thread_counts_and_simd_levels(rng, dtype, thread_count, restore_simd,
                                                                      kernel, hyper):
    # 300 x 257 elements: several pieces, split between the threads
    param = randn(rng, (300, 257), dtype)
    grads = [randn(rng, param.shape, dtype) for _ in range(3)]
    results = []
    for threads in (1, 2, 3):
        for level in SIMD_LEVELS:
            thread_count.set(threads)
            _ops.set_simd_level(level)
            p, state = param.copy(), new_state(kernel, hyper, param)
            run_steps(ops, kernel, hyper, p, grads, state, l2=0.003)
            results.append(((threads, level), _arrays(p, state)))
    (_, first), *others = results
    for key, arrays in others:
        for name, value in arrays.items():
            assert np.array_equal(value, first[name]), f"{name} differs with {key}"


def test_l2_kernels_are_bit_identical_across_thread_counts(rng, dtype, thread_count):
    W, dW = randn(rng, (300, 257), dtype), randn(rng, (300, 257), dtype)
    results = []
    for threads in (1, 2, 3):
        thread_count.set(threads)
        results.append((ops.l2_penalty(W, 0.01), ops.l2_gradient(dW, W, 0.01)))
    for penalty, grad in results[1:]:
        assert penalty == results[0][0] and np.array_equal(grad, results[0][1])


# ------------------------------------------------------------------ PyTorch

TORCH_OPTIMIZERS = {"sgd_update": "SGD", "adagrad_update": "Adagrad", "rmsprop_update": "RMSprop",
                    "adam_update": "Adam"}


def _torch_optimizer(torch, kernel, hyper, tensors, l2):
    h = _hyper(kernel, hyper)
    if kernel == "adam_update":
        h["betas"] = (h.pop("beta1"), h.pop("beta2"))
    return getattr(torch.optim, TORCH_OPTIMIZERS[kernel])(tensors, weight_decay=2 * l2, **h)


@pytest.mark.parametrize("module_name", MODULE_NAMES)
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_update_matches_torch_optim_over_several_steps(rng, dtype, kernel, hyper, l2, module_name):
    torch = pytest.importorskip("torch")
    module = ops if module_name == "ops" else reference
    param = randn(rng, (5, 7), dtype)
    grads = [randn(rng, param.shape, dtype) for _ in range(6)]
    tensor = torch.tensor(param.copy(), requires_grad=True)
    topt = _torch_optimizer(torch, kernel, hyper, [tensor], l2)
    state = new_state(kernel, hyper, param)
    for step, g in enumerate(grads, start=1):
        tensor.grad = torch.from_numpy(g.copy())
        topt.step()
        update(module, kernel, hyper, param, g, state, step, l2)
    tol = 1e-12 if dtype == np.float64 else TOL[np.dtype(dtype)]
    assert rel_error(param, tensor.detach().numpy()) <= tol


def test_sgd_first_step_sets_the_buffer_to_the_gradient_undamped(module, dtype):
    p, g, buf = np.ones(3, dtype), np.array([1.0, -2.0, 0.5], dtype), np.full(3, 7.0, dtype)
    module.sgd_update(p, g, buf, 0.1, momentum=0.9, dampening=0.5, first_step=True)
    assert np.array_equal(buf, g)
    assert np.allclose(p, 1 - 0.1 * g)
    module.sgd_update(p, g, buf, 0.1, momentum=0.9, dampening=0.5)
    assert np.allclose(buf, 0.9 * g + 0.5 * g)


def test_without_momentum_the_buffer_may_be_none_or_is_left_alone(module, dtype):
    p, g = np.ones(4, dtype), np.full(4, 2.0, dtype)
    module.sgd_update(p, g, None, 0.25)
    assert np.array_equal(p, np.full(4, 0.5, dtype))
    buf = np.full(4, 3.0, dtype)
    module.sgd_update(p, g, buf, 0.25, first_step=True)
    assert np.array_equal(buf, np.full(4, 3.0, dtype)) and np.array_equal(p, np.zeros(4, dtype))
    sq = np.zeros(4, dtype)
    unused = np.full(4, 5.0, dtype)
    module.rmsprop_update(p, g, sq, unused, unused.copy(), 0.1)
    assert np.array_equal(unused, np.full(4, 5.0, dtype))


def test_first_adam_step_moves_each_element_by_lr(module, dtype):
    p, g = np.zeros(3, dtype), np.array([3.0, -0.5, 1e-3], dtype)
    module.adam_update(p, g, np.zeros(3, dtype), np.zeros(3, dtype), 0.1, 1)
    assert np.allclose(p, [-0.1, 0.1, -0.1], rtol=1e-4)


# ------------------------------------------------------------------ the L2 term

L2_LAYOUTS = ("C", "F", "transposed", "row_strided", "col_strided", "reversed")


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 300)], ids=lambda s: "x".join(map(str, s)))
def test_l2_penalty_matches_reference_and_the_exact_sum(rng, dtype, shape):
    W = randn(rng, shape, dtype)
    exact = 0.01 * math.fsum(float(x) ** 2 for x in W.astype(np.float64).ravel())
    got = ops.l2_penalty(W, 0.01)
    assert isinstance(got, float) and isinstance(reference.l2_penalty(W, 0.01), float)
    assert abs(got - exact) <= 1e-13 * exact
    assert abs(reference.l2_penalty(W, 0.01) - exact) <= 1e-13 * exact
    # the squares are summed in the elements' row-major order, whatever the layout
    for layout in L2_LAYOUTS:
        assert ops.l2_penalty(with_layout(W, layout), 0.01) == got, layout
    assert ops.l2_penalty(W.ravel(), 0.01) == got


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 300)], ids=lambda s: "x".join(map(str, s)))
def test_l2_gradient_matches_reference(rng, dtype, layout, num_threads, shape):
    W, dW = randn(rng, shape, dtype), randn(rng, shape, dtype)
    want = reference.l2_gradient(dW, W, 0.05)
    got = ops.l2_gradient(with_layout(dW, layout), with_layout(W, layout), 0.05)
    assert got.dtype == dtype and got.flags.c_contiguous
    assert_close(got, want, TOL[dtype])
    assert np.array_equal(got, ops.l2_gradient(dW, W, 0.05))  # whatever the layout
    vector = ops.l2_gradient(dW[0], W[0, ::-1][::-1], 0.05)
    assert vector.shape == (shape[1],) and np.array_equal(vector, got[0])


def test_l2_gradient_is_the_gradient_of_l2_penalty(module, rng):
    W = randn(rng, (4, 6), np.float64)
    fd = np.empty_like(W)
    for k in np.ndindex(W.shape):
        up, down = W.copy(), W.copy()
        up[k] += 0.5  # the penalty is quadratic: no truncation error at any step
        down[k] -= 0.5
        fd[k] = (module.l2_penalty(up, 0.3) - module.l2_penalty(down, 0.3)) / 1.0
    assert_close(module.l2_gradient(np.zeros_like(W), W, 0.3), fd, GRAD_TOL, "dW")


def test_l2_of_zero_adds_nothing(module, dtype):
    # not even 0 * W: an infinite weight would turn that into NaN
    W = np.array([[np.inf, 1.0], [-np.inf, 2.0]], dtype)
    dW = np.array([[1.0, 2.0], [3.0, 4.0]], dtype)
    out = module.l2_gradient(dW, W, 0.0)
    assert np.array_equal(out, dW) and not np.shares_memory(out, dW)
    p = np.array([np.inf, 1.0], dtype)
    module.sgd_update(p, np.array([1.0, 1.0], dtype), None, 0.5, l2=0.0)
    assert np.array_equal(p, np.array([np.inf, 0.5], dtype))


@pytest.mark.parametrize("module_name", MODULE_NAMES)
@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_l2_inside_an_update_is_l2_gradient_then_the_update(rng, dtype, kernel, hyper, module_name):
    # the engine passes l2 to the update; Sequential adds l2_gradient first and passes 0
    module = ops if module_name == "ops" else reference
    param = randn(rng, (9, 11), dtype)
    grads = [randn(rng, param.shape, dtype) for _ in range(STEPS)]
    fused, fused_state = param.copy(), new_state(kernel, hyper, param)
    run_steps(module, kernel, hyper, fused, grads, fused_state, l2=0.02)
    split, split_state = param.copy(), new_state(kernel, hyper, param)
    for step, g in enumerate(grads, start=1):
        update(module, kernel, hyper, split, module.l2_gradient(g, split, 0.02), split_state, step)
    for name, value in _arrays(split, split_state).items():
        assert np.array_equal(_arrays(fused, fused_state)[name], value), name


# ------------------------------------------------------------------ NaN, empty arrays

@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_nan_in_the_gradient_stays_in_its_element(module, rng, dtype, kernel, hyper):
    param = randn(rng, (3, 4), dtype)
    grad = randn(rng, (3, 4), dtype)
    grad[1, 2] = np.nan
    state = new_state(kernel, hyper, param)
    update(module, kernel, hyper, param, grad, state, 1)
    nan = np.zeros((3, 4), bool)
    nan[1, 2] = True
    for name, value in _arrays(param, state).items():
        assert np.array_equal(np.isnan(value), nan), name


def test_nan_propagates_through_the_l2_term(module, dtype):
    W = np.array([1.0, np.nan, 2.0], dtype)
    assert np.isnan(module.l2_penalty(W, 0.1))
    assert np.array_equal(np.isnan(module.l2_gradient(np.ones(3, dtype), W, 0.1)), [False, True, False])


@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0)])
@pytest.mark.parametrize("kernel, hyper", CONFIGS, ids=CONFIG_IDS)
def test_empty_parameters(module, dtype, kernel, hyper, shape):
    param = np.zeros(shape, dtype)
    update(module, kernel, hyper, param, np.zeros(shape, dtype), new_state(kernel, hyper, param), 1, l2=0.1)
    assert module.l2_penalty(param, 0.1) == 0.0
    assert module.l2_gradient(param, param, 0.1).shape == shape


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from(CONFIGS), n=st.integers(0, 30), d=st.integers(0, 70),
       dtype=st.sampled_from([np.dtype(t) for t in DTYPES]), layout=st.sampled_from(IN_PLACE_LAYOUTS),
       grad_layout=st.sampled_from(("C", "F", "row_strided", "col_strided")), l2=st.sampled_from([0.0, 0.1]),
       seed=st.integers(0, 2**32 - 1))
def test_update_random_shapes(config, n, d, dtype, layout, grad_layout, l2, seed):
    kernel, hyper = config
    rng = np.random.default_rng(seed)
    param, grad = randn(rng, (n, d), dtype), randn(rng, (n, d), dtype)
    want_param, want_state = param.copy(), new_state(kernel, hyper, param)
    update(reference, kernel, hyper, want_param, grad, want_state, 1, l2)
    state = new_state(kernel, hyper, param)
    stored = {name: InPlace(a, layout) for name, a in _arrays(param, state).items()}
    views = {name: s.view for name, s in stored.items()}
    update(ops, kernel, hyper, views["param"], with_layout(grad, grad_layout),
           {k: views.get(k) for k in state}, 1, l2)
    assert_all_close(views, _arrays(want_param, want_state), dtype, "random shape")
    assert all(s.untouched_gaps() for s in stored.values())


# ------------------------------------------------------------------ bad arguments

def _valid_call(kernel):
    """A valid float64 call of ``kernel`` as keyword arguments, every state array present."""
    rng = np.random.default_rng(0)
    param, grad = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    if kernel == "l2_penalty":
        return dict(W=param, l2=0.1)
    if kernel == "l2_gradient":
        return dict(dW=grad, W=param, l2=0.1)
    states = {name: np.zeros_like(param) for name in ALL_STATES[kernel]}
    extra = {"sgd_update": dict(lr=0.1, momentum=0.9, first_step=True),
             "adagrad_update": dict(lr=0.1, step=1),
             "rmsprop_update": dict(lr=0.1, momentum=0.5, centered=True),
             "adam_update": dict(lr=0.1, step=1)}[kernel]
    return dict(param=param, grad=grad, **states, **extra, l2=0.1)


UPDATES = tuple(ALL_STATES)


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _bad_cases():
    cases = []

    def add(kernel, arg, id_, change):
        cases.append(pytest.param(kernel, arg, change, id=f"{kernel}-{id_}"))

    for kernel in UPDATES:
        add(kernel, "param", "param-None", lambda a: a.update(param=None))
        add(kernel, "param", "param-list", lambda a: a.update(param=a["param"].tolist()))
        add(kernel, "param", "param-int", lambda a: a.update(param=a["param"].astype(np.int64)))
        add(kernel, "param", "param-3d", lambda a: a.update(param=a["param"][None]))
        add(kernel, "param", "param-read-only", lambda a: a.update(param=_read_only(a["param"])))
        add(kernel, "grad", "grad-None", lambda a: a.update(grad=None))
        add(kernel, "grad", "grad-shape", lambda a: a.update(grad=a["grad"][:, :3]))
        add(kernel, "grad", "grad-float32", lambda a: a.update(grad=a["grad"].astype(np.float32)))
        add(kernel, "grad", "grad-shares-param", lambda a: a.update(grad=a["param"]))
        for name in ALL_STATES[kernel]:
            add(kernel, name, f"{name}-None", lambda a, n=name: a.update({n: None}))
            add(kernel, name, f"{name}-list", lambda a, n=name: a.update({n: a[n].tolist()}))
            add(kernel, name, f"{name}-shape", lambda a, n=name: a.update({n: a[n].ravel()}))
            add(kernel, name, f"{name}-float32", lambda a, n=name: a.update({n: a[n].astype(np.float32)}))
            add(kernel, name, f"{name}-read-only", lambda a, n=name: a.update({n: _read_only(a[n])}))
            add(kernel, name, f"{name}-is-param", lambda a, n=name: a.update({n: a["param"]}))
        add(kernel, "lr", "lr-negative", lambda a: a.update(lr=-0.1))
        add(kernel, "lr", "lr-nan", lambda a: a.update(lr=float("nan")))
        add(kernel, "lr", "lr-string", lambda a: a.update(lr="0.1"))
        add(kernel, "l2", "l2-negative", lambda a: a.update(l2=-1.0))
        add(kernel, "l2", "l2-inf", lambda a: a.update(l2=float("inf")))
    for kernel in ("adagrad_update", "adam_update"):
        add(kernel, "step", "step-0", lambda a: a.update(step=0))
        add(kernel, "step", "step-float", lambda a: a.update(step=1.0))
        add(kernel, "step", "step-bool", lambda a: a.update(step=True))
        add(kernel, "eps", "eps-negative", lambda a: a.update(eps=-1e-8))
    add("sgd_update", "momentum", "momentum-negative", lambda a: a.update(momentum=-0.9))
    add("sgd_update", "dampening", "dampening-2", lambda a: a.update(dampening=2.0))
    add("sgd_update", "nesterov", "nesterov-int", lambda a: a.update(nesterov=1))
    add("sgd_update", "nesterov", "nesterov-with-dampening", lambda a: a.update(nesterov=True, dampening=0.1))
    add("sgd_update", "nesterov", "nesterov-without-momentum", lambda a: a.update(nesterov=True, momentum=0.0))
    add("sgd_update", "first_step", "first_step-None", lambda a: a.update(first_step=None))
    add("adagrad_update", "lr_decay", "lr_decay-negative", lambda a: a.update(lr_decay=-0.1))
    add("rmsprop_update", "alpha", "alpha-1.5", lambda a: a.update(alpha=1.5))
    add("rmsprop_update", "centered", "centered-string", lambda a: a.update(centered="yes"))
    add("rmsprop_update", "momentum", "momentum-nan", lambda a: a.update(momentum=float("nan")))
    add("adam_update", "beta1", "beta1-1", lambda a: a.update(beta1=1.0))
    add("adam_update", "beta2", "beta2-negative", lambda a: a.update(beta2=-0.1))
    for kernel, arrays in (("l2_penalty", ("W",)), ("l2_gradient", ("dW", "W"))):
        for name in arrays:
            add(kernel, name, f"{name}-None", lambda a, n=name: a.update({n: None}))
            add(kernel, name, f"{name}-int", lambda a, n=name: a.update({n: a[n].astype(np.int32)}))
            add(kernel, name, f"{name}-3d", lambda a, n=name: a.update({n: a[n][None]}))
        add(kernel, "l2", "l2-negative", lambda a: a.update(l2=-0.1))
        add(kernel, "l2", "l2-nan", lambda a: a.update(l2=float("nan")))
    add("l2_gradient", "dW", "dW-shape", lambda a: a.update(dW=a["dW"].T))
    add("l2_gradient", "dW", "dW-float32", lambda a: a.update(dW=a["dW"].astype(np.float32)))
    return cases


BAD_CASES = _bad_cases()


def _bad_call(kernel, change):
    args = _valid_call(kernel)
    change(args)
    return args


@pytest.mark.parametrize("kernel", UPDATES + ("l2_penalty", "l2_gradient"))
def test_the_valid_calls_are_accepted(module, kernel):
    # the baseline every bad case edits must itself be fine, or the cases prove nothing
    getattr(module, kernel)(**_valid_call(kernel))


@pytest.mark.parametrize("kernel, arg, change", BAD_CASES)
def test_bad_arguments_are_refused_the_same_way_naming_the_argument(kernel, arg, change):
    errors = []
    for module in (ops, reference):
        args = _bad_call(kernel, change)
        before = {k: v.copy() for k, v in args.items() if isinstance(v, np.ndarray)}
        with pytest.raises((TypeError, ValueError), match=rf"\b{re.escape(arg)}\b") as info:
            getattr(module, kernel)(**args)
        errors.append((info.type, str(info.value)))
        for k, v in before.items():  # a refused call changes nothing
            assert np.array_equal(args[k], v), f"{module.__name__}.{kernel} changed {k}"
    assert errors[0] == errors[1]


@pytest.mark.parametrize("layout", ["col_strided", "mixed"])
def test_ops_refuses_in_place_arrays_it_cannot_write_through(rng, layout):
    # no copy-in/copy-out: without an axis along which every in-place array is contiguous,
    # ops refuses (the reference, plain NumPy, can update any view)
    p = randn(rng, (4, 5), np.float64)
    g = randn(rng, (4, 5), np.float64)
    m, v = np.zeros((4, 5)), np.zeros((4, 5))
    if layout == "col_strided":
        p = with_layout(p, "col_strided")
    else:
        m = np.asfortranarray(m)
    before = p.copy()
    with pytest.raises(ValueError, match=r"updated in place need one axis.*param strides"):
        ops.adam_update(p, g, m, v, 0.1, 1)
    assert np.array_equal(p, before) and not m.any() and not v.any()
    reference.adam_update(p, g, m, v, 0.1, 1)
    assert not np.array_equal(p, before)


def test_direct_calls_of_the_compiled_twins_check_shapes():
    p, g = np.zeros((3, 4)), np.zeros((3, 4))
    with pytest.raises(ValueError, match="grad must have shape"):
        _ops.sgd_update(p, g[:, :2], None, 0.1, 0.0, 0.0, False, False, 0.0)
    with pytest.raises(ValueError, match="momentum needs a momentum_buffer"):
        _ops.sgd_update(p, g, None, 0.1, 0.9, 0.0, False, False, 0.0)
    with pytest.raises(ValueError, match="step counts from 1"):
        _ops.adam_update(p, g, np.zeros((3, 4)), np.zeros((3, 4)), 0.1, 0, 0.9, 0.999, 1e-8, 0.0)
    with pytest.raises(ValueError, match="contiguous columns"):
        _ops.adagrad_update(p, g, np.zeros((3, 8))[:, ::2], 0.1, 1, 0.0, 1e-10, 0.0)


# ------------------------------------------------------------------ the optimisers call these kernels

@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_optimizers_run_their_backend_kernel(backend, monkeypatch):
    module = ops if backend == "c" else reference
    calls = []
    for name in UPDATES:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    params = {"w": np.ones((2, 3)), "b": np.zeros(3)}
    grads = {"w": np.full((2, 3), 0.5), "b": np.ones(3)}
    for opt in (optim.SGD(0.1, momentum=0.9), optim.AdaGrad(), optim.RMSProp(centered=True), optim.Adam()):
        opt.step(params, grads, backend=backend)
        opt.step(params, grads, backend=module)
    assert calls == [name for name in UPDATES for _ in range(4)]


def test_optimizer_step_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        optim.SGD(0.1).step({"w": np.ones(2)}, {"w": np.ones(2)}, backend="cuda")
    with pytest.raises(TypeError, match="backend must be one of"):
        optim.SGD(0.1).step({"w": np.ones(2)}, {"w": np.ones(2)}, backend=np)


# ------------------------------------------------------------------ gradient clipping by global norm

def _clip_inputs(rng, dtype, scale):
    return [randn(rng, (4, 5), dtype, scale), randn(rng, (5,), dtype, scale), randn(rng, (3, 2), dtype, scale)]


@pytest.mark.parametrize("max_norm", [0.5, 1e3], ids=["clips", "keeps"])
def test_clip_grad_norm_matches_the_reference(rng, dtype, layout, num_threads, simd_level, max_norm):
    grads = _clip_inputs(rng, dtype, 1.0)
    expected = [g.copy() for g in grads]
    norm_ref = reference.clip_grad_norm(expected, max_norm)
    actual = [with_layout(grads[0], layout), grads[1], with_layout(grads[2], layout)]
    norm = ops.clip_grad_norm(actual, max_norm)
    assert rel_error(norm, norm_ref) <= TOL[np.dtype(dtype)]
    for a, e in zip(actual, expected):
        assert a.dtype == dtype
        assert_close(a, e, TOL[np.dtype(dtype)])
    total = math.sqrt(sum(float(np.sum(e.astype(np.float64) ** 2)) for e in expected))
    if max_norm < norm_ref:
        assert abs(total - max_norm) <= 1e-5 * max_norm  # clipped to max_norm (less 1e-6)
    else:
        assert all(np.array_equal(a, g) for a, g in zip(actual, grads))  # untouched


def test_clip_grad_norm_matches_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    grads = _clip_inputs(rng, dtype, 3.0)
    tensors = [torch.zeros(g.shape, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                           requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g.copy())
    expected = float(torch.nn.utils.clip_grad_norm_(tensors, 2.0))
    for module in (ops, reference):
        mine = [g.copy() for g in grads]
        assert rel_error(module.clip_grad_norm(mine, 2.0), expected) <= TOL[np.dtype(dtype)] * 10
        for m, t in zip(mine, tensors):
            assert_close(m, t.grad.numpy(), TOL[np.dtype(dtype)] * 10)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_clip_grad_norm_propagates_nan_and_infinity_as_torch(module, bad):
    grads = [np.ones((2, 3)), np.ones(4)]
    grads[0][1, 2] = bad
    norm = module.clip_grad_norm(grads, 1.0)
    assert np.isnan(norm) if np.isnan(bad) else np.isinf(norm)
    # a NaN norm scales by NaN; an infinite one by 0, and inf * 0 is NaN
    assert np.isnan(grads[0][1, 2])
    assert np.isnan(grads[1]).all() if np.isnan(bad) else not grads[1].any()


def test_clip_grad_norm_of_nothing_and_of_zeros(module):
    assert module.clip_grad_norm([], 1.0) == 0.0
    zeros = [np.zeros((2, 2), np.float32)]
    assert module.clip_grad_norm(zeros, 1.0) == 0.0 and not zeros[0].any()


@pytest.mark.parametrize("call, arg", [
    (lambda m: m.clip_grad_norm(np.ones((2, 2)), 1.0), "grads"),
    (lambda m: m.clip_grad_norm([np.ones(2), [1.0, 2.0]], 1.0), "grads[1]"),
    (lambda m: m.clip_grad_norm([np.ones(2), np.ones(2, np.float32)], 1.0), "grads[1]"),
    (lambda m: m.clip_grad_norm([np.ones(2, np.int64)], 1.0), "grads[0]"),
    (lambda m: m.clip_grad_norm([np.ones((2, 2, 2))], 1.0), "grads[0]"),
    (lambda m: m.clip_grad_norm([np.ones(2), np.ones(2)], 0.0), "max_norm"),
    (lambda m: m.clip_grad_norm([np.ones(2)], float("nan")), "max_norm"),
    (lambda m: m.clip_grad_norm([np.ones(2)], "1"), "max_norm"),
], ids=["not-a-list", "a-list-inside", "mixed-dtypes", "ints", "3-d", "zero-norm", "nan-norm", "string-norm"])
def test_clip_grad_norm_refuses_bad_arguments_the_same_way(call, arg):
    errors = []
    for module in (ops, reference):
        with pytest.raises((TypeError, ValueError), match=re.escape(arg)) as info:
            call(module)
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1]


def test_clip_grad_norm_refuses_read_only_and_shared_arrays(module):
    g = np.ones(4)
    g.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        module.clip_grad_norm([g], 1.0)
    a = np.ones(6)
    with pytest.raises(ValueError, match="share memory"):
        module.clip_grad_norm([a[:4], a[2:]], 1.0)


def test_optimizer_step_clips_all_gradients_together(module):
    params = {"w": np.zeros((2, 3)), "b": np.zeros(3)}
    grads = {"w": np.full((2, 3), 3.0), "b": np.full(3, 4.0)}  # global norm sqrt(54 + 48)
    optim.SGD(1.0, max_grad_norm=1.0).step(params, grads, backend=module)
    norm = math.sqrt(54 + 48)
    assert_close(params["w"], np.full((2, 3), -3.0 / (norm + 1e-6)), 1e-12)
    assert_close(params["b"], np.full(3, -4.0 / (norm + 1e-6)), 1e-12)
